package search

import (
	"context"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
	"github.com/blevesearch/vellum/levenshtein"
)

// Typo tolerance searches each query word in five fields. bleve's fuzzy
// query builds the word's Levenshtein automaton once per field, and for a
// word of eight letters or more (two typos) that took most of the time of
// the slowest searches. fuzzyQuery is bleve's fuzzy query with the
// automaton built once per word and shared by its fields; the candidate
// terms, their edit distances and the scoring are bleve's.

// levBuilders are the automaton builders for one and two typos, as bleve
// makes them (with transpositions).
var levBuilders = sync.OnceValues(func() ([2]*levenshtein.LevenshteinAutomatonBuilder, error) {
	var b [2]*levenshtein.LevenshteinAutomatonBuilder
	for i := range b {
		var err error
		if b[i], err = levenshtein.NewLevenshteinAutomatonBuilder(uint8(i+1), true); err != nil {
			return b, err
		}
	}
	return b, nil
})

// fuzzyWord is a query word with the automaton of its typos, built on
// first use.
type fuzzyWord struct {
	term      string
	fuzziness int // 1 or 2
	dfa       func() (*levenshtein.DFA, error)
	// cands keeps each field's candidates in a segment: mayFind and the
	// search both walk the dictionaries with the automaton, which is
	// most of the cost of a search with typos.
	mu    sync.Mutex
	cands map[candKey][]candidate
}

type candKey struct {
	seg   uint64 // scorch segment id
	field string
}

type candidate struct {
	term string
	dist uint8
}

func newFuzzyWord(term string, fuzziness int) *fuzzyWord {
	w := &fuzzyWord{term: term, fuzziness: fuzziness}
	w.dfa = sync.OnceValues(func() (*levenshtein.DFA, error) {
		b, err := levBuilders()
		if err != nil {
			return nil, err
		}
		return b[fuzziness-1].BuildDfa(term, uint8(fuzziness))
	})
	return w
}

// matches reports whether tok is within the word's typo distance and
// shares its first letter: a term the fuzzy query matches. The highlighter
// uses it so that it marks exactly what the query found, transpositions
// included.
func (w *fuzzyWord) matches(tok string) bool {
	if !sameFirstRune(tok, w.term) {
		return false
	}
	dfa, err := w.dfa()
	if err != nil {
		return false
	}
	ok, _ := dfa.MatchAndDistance(tok)
	return ok
}

// fuzzyQuery matches the terms of field within the word's typo distance
// that share its first letter, like a bleve fuzzy query with prefix 1.
type fuzzyQuery struct {
	word  *fuzzyWord
	field string
	boost float64
}

// Searcher returns bleve's fuzzy searcher for the candidate terms.
func (q *fuzzyQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	r, ok := i.(*scorch.IndexSnapshot)
	if !ok {
		fq := query.NewFuzzyQuery(q.word.term)
		fq.SetField(q.field)
		fq.SetFuzziness(q.word.fuzziness)
		fq.SetPrefix(1)
		fq.SetBoost(q.boost)
		return fq.Searcher(ctx, i, m, options)
	}
	dist := map[string]uint8{}
	for _, ss := range r.Segments() {
		err := q.word.eachCandidate(ss, q.field, func(term string, d uint8) { dist[term] = d })
		if err != nil {
			return nil, err
		}
	}
	terms := make([]string, 0, len(dist))
	for t := range dist {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	if len(terms) == 0 || (len(terms) == 1 && terms[0] == q.word.term) {
		return searcher.NewTermSearcher(ctx, i, q.word.term, q.field, q.boost, options)
	}
	dists := make([]uint8, len(terms))
	for k, t := range terms {
		dists[k] = dist[t]
	}
	return searcher.NewMultiTermSearcherBoosted(ctx, i, terms, q.field, q.boost, dists, options, true)
}

// eachCandidate calls f with each term of field in the segment within the word's
// typo distance that shares its first letter, and its edit distance.
func (w *fuzzyWord) eachCandidate(ss *scorch.SegmentSnapshot, field string, f func(term string, dist uint8)) error {
	k := candKey{ss.Id(), field}
	w.mu.Lock()
	cs, ok := w.cands[k]
	w.mu.Unlock()
	if !ok {
		err := w.walk(ss.Segment(), field, func(term string, dist uint8) { cs = append(cs, candidate{term, dist}) })
		if err != nil {
			return err
		}
		w.mu.Lock()
		if w.cands == nil {
			w.cands = map[candKey][]candidate{}
		}
		w.cands[k] = cs
		w.mu.Unlock()
	}
	for _, c := range cs {
		f(c.term, c.dist)
	}
	return nil
}

// walk is eachCandidate without the memory.
func (w *fuzzyWord) walk(seg segment.Segment, field string, f func(term string, dist uint8)) error {
	dfa, err := w.dfa()
	if err != nil {
		return err
	}
	_, n := utf8.DecodeRuneInString(w.term)
	beg := []byte(w.term[:n])
	end := prefixEnd(beg)
	dict, err := seg.Dictionary(field)
	if err != nil {
		return err
	}
	var itr segment.DictionaryIterator
	if oc, ok := dict.(interface {
		AutomatonIteratorOmitCount(a segment.Automaton, start, end []byte) segment.DictionaryIterator
	}); ok {
		itr = oc.AutomatonIteratorOmitCount(dfa, beg, end)
	} else {
		itr = dict.AutomatonIterator(dfa, beg, end)
	}
	for {
		e, err := itr.Next()
		if err != nil {
			return err
		}
		if e == nil {
			return nil
		}
		f(e.Term, e.EditDistance)
	}
}

// prefixEnd is the first key after every key starting with prefix.
func prefixEnd(prefix []byte) []byte {
	end := slices.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end
		}
	}
	return nil
}
