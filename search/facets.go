package search

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
)

// Facets are counted from a table of every document's facet values kept
// in memory, not by bleve: bleve decodes the doc values of five fields for
// every match, which was most of the time of a query matching thousands
// of datasets. The table holds, per index segment (segments never change
// once written), each document's values as small integer codes, read once
// from the segment's doc values; a search counts the codes of its matches
// as bleve hands them to the collector.

// facetTable is the facet values of the documents of an index's segments.
// It is safe for concurrent use.
type facetTable struct {
	mu sync.Mutex
	// codes numbers the values of each facet (FacetKeys order); values
	// is the reverse. Codes are never reused, so a view taken earlier
	// stays valid as values are added.
	codes  []map[string]uint32
	values [][]string
	segs   map[uint64]*segFacets // by scorch segment id
}

// segFacets is the facet values of a segment's documents, a record of
// recordLen codes a document so that counting a match reads one cache
// line: at a million datasets the table is larger than the processor's
// caches, and a layout of one array a facet cost a cache miss a facet a
// match (a seventh of a query's time). Record d holds, for each facet in
// FacetKeys order, the document's first value's code, or noCode; and at
// recordLen-1 where the document's further values start in more (they
// end where record d+1's start). rows has a record more than the segment
// has documents, for that end.
type segFacets struct {
	rows []uint32
	more []facetCode
}

// facetCode is a further value of a document's facet: an owner or a tag
// after its first.
type facetCode struct{ facet, code uint32 }

// noCode marks a facet a document has no value for.
const noCode = ^uint32(0)

var recordLen = len(FacetKeys) + 1

func newFacetTable() *facetTable {
	t := &facetTable{segs: map[uint64]*segFacets{}}
	for range FacetKeys {
		t.codes = append(t.codes, map[string]uint32{})
		t.values = append(t.values, nil)
	}
	return t
}

// facetView is the facet table of one index snapshot.
type facetView struct {
	offsets []uint64 // first global document number of each segment
	segs    []*segFacets
	values  [][]string
}

// view returns the table of snapshot r, reading the doc values of the
// segments it has not seen. It forgets segments r no longer has (merged
// away).
func (t *facetTable) view(r *scorch.IndexSnapshot) (*facetView, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := &facetView{}
	var off uint64
	live := map[uint64]bool{}
	for _, ss := range r.Segments() {
		sf, ok := t.segs[ss.Id()]
		n := ss.Segment().Count()
		if !ok {
			var err error
			if sf, err = t.read(r, off, n); err != nil {
				return nil, err
			}
			t.segs[ss.Id()] = sf
		}
		live[ss.Id()] = true
		v.offsets = append(v.offsets, off)
		v.segs = append(v.segs, sf)
		off += n
	}
	for id := range t.segs {
		if !live[id] {
			delete(t.segs, id)
		}
	}
	for _, vals := range t.values {
		v.values = append(v.values, slices.Clip(vals))
	}
	return v, nil
}

// read reads the facet values of the n documents of the segment whose
// first global document number is off.
func (t *facetTable) read(r *scorch.IndexSnapshot, off, n uint64) (*segFacets, error) {
	dvr, err := r.DocValueReader(FacetKeys)
	if err != nil {
		return nil, fmt.Errorf("search: read facet values: %w", err)
	}
	sf := &segFacets{rows: make([]uint32, 0, (n+1)*uint64(recordLen))}
	id := make([]byte, 8)
	var rec []uint32
	visit := func(field string, term []byte) {
		k := slices.Index(FacetKeys, field)
		if k < 0 {
			return
		}
		c, ok := t.codes[k][string(term)]
		if !ok {
			c = uint32(len(t.values[k]))
			s := string(term)
			t.codes[k][s] = c
			t.values[k] = append(t.values[k], s)
		}
		if rec[k] == noCode {
			rec[k] = c
		} else {
			sf.more = append(sf.more, facetCode{uint32(k), c})
		}
	}
	for d := range n + 1 {
		start := len(sf.rows)
		for range len(FacetKeys) {
			sf.rows = append(sf.rows, noCode)
		}
		sf.rows = append(sf.rows, uint32(len(sf.more)))
		if d == n {
			break // the end of the last document's further values
		}
		rec = sf.rows[start:]
		binary.BigEndian.PutUint64(id, off+d) // as scorch numbers documents
		if err := dvr.VisitDocValues(id, visit); err != nil {
			return nil, fmt.Errorf("search: read facet values: %w", err)
		}
	}
	return sf, nil
}

// warmFacets reads the facet values of the index's segments in the
// background, once an index is in place (opened, or rebuilt), so that the
// first search does not: at a million datasets, two million documents
// with the jobs, reading them takes about a second. A search meanwhile
// waits for the table as it would have read it itself.
func (x *Index) warmFacets() {
	x.bg.Add(1)
	go func() {
		defer x.bg.Done()
		if x.bgCtx.Err() != nil {
			return // closing
		}
		err := x.use(x.bgCtx, "read facet values", func() error {
			adv, err := x.idx.Advanced()
			if err != nil {
				return err
			}
			r, err := adv.Reader()
			if err != nil {
				return err
			}
			defer r.Close()
			snap, ok := r.(*scorch.IndexSnapshot)
			if !ok {
				return nil // a search reports it
			}
			_, err = x.facets.view(snap)
			return err
		})
		if err != nil && !errors.Is(err, errClosed) && !errors.Is(err, ErrRebuilding) {
			x.log.WarnContext(x.bgCtx, "read facet values of the search index", "err", err)
		}
	}()
}

// facetCounter counts the facet values of a search's matches.
type facetCounter struct {
	t      *facetTable
	v      *facetView
	counts [][]int
	total  []int // values counted per facet, for Facet.Other
	seg    int   // segment of the last document, the likely next one
}

func (c *facetCounter) init(v *facetView) {
	c.v = v
	c.counts = make([][]int, len(v.values))
	c.total = make([]int, len(v.values))
	for k, vals := range v.values {
		c.counts[k] = make([]int, len(vals))
	}
}

// add counts the values of the document with global number d.
func (c *facetCounter) add(d uint64) {
	offs := c.v.offsets
	if s := c.seg; !(offs[s] <= d && (s+1 == len(offs) || d < offs[s+1])) {
		// Matches come in document order: usually the next segment.
		s, _ = slices.BinarySearch(offs, d+1)
		c.seg = s - 1
	}
	sf, local := c.v.segs[c.seg], int(d-offs[c.seg])
	rec := sf.rows[local*recordLen : (local+2)*recordLen]
	for k, code := range rec[:len(FacetKeys)] {
		if code != noCode {
			c.counts[k][code]++
			c.total[k]++
		}
	}
	for _, m := range sf.more[rec[recordLen-1]:rec[2*recordLen-1]] {
		c.counts[m.facet][m.code]++
		c.total[m.facet]++
	}
}

// handler returns a bleve document match handler that counts every
// match and then hands it to bleve's own top-N handler. It reads the
// table of the snapshot the search runs on.
func (c *facetCounter) handler() search.MakeDocumentMatchHandler {
	return func(sctx *search.SearchContext) (search.DocumentMatchHandler, bool, error) {
		r, ok := sctx.IndexReader.(*scorch.IndexSnapshot)
		if !ok {
			return nil, false, fmt.Errorf("search: count facets: index reader is a %T, not scorch's", sctx.IndexReader)
		}
		v, err := c.t.view(r)
		if err != nil {
			return nil, false, err
		}
		c.init(v)
		next, loadID, err := collector.MakeTopNDocumentMatchHandler(sctx)
		if err != nil {
			return nil, false, err
		}
		return func(dm *search.DocumentMatch) error {
			if dm != nil {
				c.add(binary.BigEndian.Uint64(dm.IndexInternalID))
			}
			return next(dm)
		}, loadID, nil
	}
}

// facets returns the counted facets, in FacetKeys order: the facetSize
// most frequent values of each (ties by value), as bleve's terms facet
// orders them.
func (c *facetCounter) facets() []Facet {
	out := make([]Facet, 0, len(FacetKeys))
	for k, key := range FacetKeys {
		f := Facet{Key: key}
		if c.v == nil {
			out = append(out, f) // the search matched nothing to count
			continue
		}
		for code, n := range c.counts[k] {
			if n > 0 {
				f.Values = append(f.Values, FacetValue{Value: c.v.values[k][code], Count: n})
			}
		}
		slices.SortFunc(f.Values, func(a, b FacetValue) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
		})
		f.Values = f.Values[:min(len(f.Values), facetSize)]
		f.Other = c.total[k]
		for _, fv := range f.Values {
			f.Other -= fv.Count
		}
		out = append(out, f)
	}
	return out
}
