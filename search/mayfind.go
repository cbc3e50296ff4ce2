package search

import (
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// A search that finds nothing costs bleve as much as one that finds
// plenty: it scores every document matching any one of the required words
// while it looks for one matching all. A query whose words never meet
// (a column name of one table in five with a comment's word of one table
// in ten) ran three such passes (exact, with typos, then most words)
// before the one that found something. mayFind answers "could this find
// anything?" from the posting lists as bitmaps, a segment at a time,
// which is a few roaring operations rather than a step per posting, so
// that such passes are skipped.

// mayFind reports whether q can match any document of the index's
// current snapshot (see the function mayFind).
func (x *Index) mayFind(q query.Query) (bool, error) {
	found := true
	if _, err := x.withSnapshot(func(snap *scorch.IndexSnapshot) error {
		var err error
		found, err = mayFind(snap, q)
		return err
	}); err != nil {
		return true, err
	}
	return found, nil
}

// withSnapshot calls f with the index's current snapshot, open for the
// call; ok is false, and f not called, when the index is not scorch's.
func (x *Index) withSnapshot(f func(*scorch.IndexSnapshot) error) (ok bool, err error) {
	adv, err := x.idx.Advanced()
	if err != nil {
		return false, err
	}
	r, err := adv.Reader()
	if err != nil {
		return false, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return false, nil
	}
	return true, f(snap)
}

// docSet is a set of a segment's documents: exact, or a superset of the
// documents a query matches when exact is false. A nil bits is every
// document.
type docSet struct {
	bits  *roaring.Bitmap
	exact bool
}

// mayFind reports whether q can match any document of r. It is never
// false when bleve would find a document; it may be true when bleve
// finds none (phrases are not checked, for one).
func mayFind(r *scorch.IndexSnapshot, q query.Query) (bool, error) {
	for _, ss := range r.Segments() {
		e := setEval{ss: ss, seg: ss.Segment(), deleted: ss.Deleted()}
		s, err := e.eval(q)
		if err != nil {
			return true, err
		}
		if s.bits == nil {
			return true, nil
		}
		if d := e.deleted; d != nil {
			s.bits.AndNot(d)
		}
		if !s.bits.IsEmpty() {
			return true, nil
		}
	}
	return false, nil
}

// setEval evaluates queries as document sets on one segment.
type setEval struct {
	ss      *scorch.SegmentSnapshot
	seg     segment.Segment
	deleted *roaring.Bitmap
	dicts   map[string]segment.TermDictionary
}

// postings returns the documents of the segment where field holds term.
func (e *setEval) postings(field, term string) (*roaring.Bitmap, error) {
	if e.dicts == nil {
		e.dicts = map[string]segment.TermDictionary{}
	}
	d, ok := e.dicts[field]
	if !ok {
		var err error
		if d, err = e.seg.Dictionary(field); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		e.dicts[field] = d
	}
	bm := roaring.New()
	if d == nil {
		return bm, nil
	}
	pl, err := d.PostingsList([]byte(term), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	oi, ok := pl.(interface{ OrInto(*roaring.Bitmap) })
	if !ok {
		return nil, nil // cannot tell: every document
	}
	oi.OrInto(bm)
	return bm, nil
}

// eval returns the documents q matches on the segment, or a superset.
func (e *setEval) eval(q query.Query) (docSet, error) {
	switch q := q.(type) {
	case termQuery:
		bm, err := e.postings(q.Field(), q.Term)
		return docSet{bm, bm != nil}, err
	case *query.TermQuery:
		bm, err := e.postings(q.Field(), q.Term)
		return docSet{bm, bm != nil}, err
	case *fuzzyQuery:
		return e.fuzzy(q)
	case *query.MatchAllQuery:
		return docSet{nil, true}, nil
	case *query.ConjunctionQuery:
		out := docSet{nil, true}
		for _, c := range q.Conjuncts {
			s, err := e.eval(c)
			if err != nil {
				return docSet{}, err
			}
			out = and(out, s)
		}
		return out, nil
	case *query.DisjunctionQuery:
		return e.disjunction(q)
	case *query.BooleanQuery:
		out := docSet{nil, true}
		for _, c := range []query.Query{q.Must, q.Filter} {
			if c == nil {
				continue
			}
			s, err := e.eval(c)
			if err != nil {
				return docSet{}, err
			}
			out = and(out, s)
		}
		if q.Must == nil && q.Should != nil {
			// Without a must clause a should clause is required; a
			// superset ignores it.
			out.exact = false
		}
		if q.MustNot != nil && out.bits != nil {
			s, err := e.eval(q.MustNot)
			if err != nil {
				return docSet{}, err
			}
			// Only documents certainly excluded can be taken out.
			if s.exact && s.bits != nil {
				out.bits.AndNot(s.bits)
			} else if !s.exact {
				out.exact = false
			}
		}
		return out, nil
	}
	return docSet{nil, false}, nil // phrases and the rest: unknown
}

// disjunction evaluates q: the documents matching at least max(1, Min) of
// its clauses.
func (e *setEval) disjunction(q *query.DisjunctionQuery) (docSet, error) {
	k := max(1, int(q.Min))
	if k > len(q.Disjuncts) {
		return docSet{roaring.New(), true}, nil
	}
	// atLeast[j] holds the documents matching at least j+1 clauses so far.
	atLeast := make([]*roaring.Bitmap, k)
	for j := range atLeast {
		atLeast[j] = roaring.New()
	}
	exact := true
	for _, c := range q.Disjuncts {
		s, err := e.eval(c)
		if err != nil {
			return docSet{}, err
		}
		if s.bits == nil || (!s.exact && k > 1) {
			// A clause that may match anywhere, or at least k of
			// clauses some of which are supersets: unknown.
			return docSet{nil, false}, nil
		}
		if !s.exact {
			atLeast[0].Or(s.bits)
			exact = false
			continue
		}
		for j := k - 1; j >= 1; j-- {
			atLeast[j].Or(roaring.And(atLeast[j-1], s.bits))
		}
		atLeast[0].Or(s.bits)
	}
	return docSet{atLeast[k-1], exact}, nil
}

// fuzzy is the union of the postings of the terms q's searcher would
// find (fuzzyWord.eachCandidate).
func (e *setEval) fuzzy(q *fuzzyQuery) (docSet, error) {
	var terms []string
	if err := q.word.eachCandidate(e.ss, q.field, func(t string, _ uint8) { terms = append(terms, t) }); err != nil {
		return docSet{}, fmt.Errorf("search: %w", err)
	}
	out := roaring.New()
	for _, t := range terms {
		bm, err := e.postings(q.field, t)
		if err != nil {
			return docSet{}, err
		}
		if bm == nil {
			return docSet{nil, false}, nil
		}
		out.Or(bm)
	}
	return docSet{out, true}, nil
}

func and(a, b docSet) docSet {
	out := docSet{exact: a.exact && b.exact}
	switch {
	case a.bits == nil:
		out.bits = b.bits
	case b.bits == nil:
		out.bits = a.bits
	default:
		out.bits = roaring.And(a.bits, b.bits)
	}
	return out
}
