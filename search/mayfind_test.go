package search

import (
	"context"
	"slices"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
)

// TestMayFind checks mayFind against bleve on every query of the explain
// corpus, exact, with typos and as the fallback's "at least k words",
// with and without removed datasets, for datasets and for jobs, on an
// index of several segments holding updated and deleted datasets: it must
// say a query may find something whenever bleve finds something, and,
// for queries without phrases (which it does not check), that it finds
// nothing whenever bleve finds nothing.
func TestMayFind(t *testing.T) {
	ds, qs := explainCorpus(t)
	ds[3].Removed = true
	x := buildDatasets(t, ds, Options{NoCache: true})
	w := newBatchWriter(x.idx)
	for _, d := range ds[:10] {
		d.Tags = []string{"updated"}
		if err := w.add(d); err != nil {
			t.Fatal(err)
		}
	}
	w.delete(ds[10].ID)
	w.delete(ds[11].ID)
	if err := w.flushSeq(1); err != nil {
		t.Fatal(err)
	}
	adv, err := x.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	r, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.(*scorch.IndexSnapshot).Segments()); n < 2 {
		t.Errorf("index has %d segments; the test needs several", n)
	}
	r.Close()

	qs = append(qs, ds[10].Key.Name, ds[3].Key.Name, "tag:updated "+ds[12].Key.Name, "tag:updated "+ds[2].Key.Name,
		"order -order", "kalo order -kalo")
	ctx := context.Background()
	checked, empty := 0, 0
	for _, text := range qs {
		q, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		// Phrases of several words are not checked: their queries
		// only may find what they seem to.
		phrases := len(q.Phrases) > 0 || slices.ContainsFunc(q.Excluded, func(e string) bool { return len(terms(names, e)) > 1 })
		p := newPlan(q, x.lex)
		common, err := x.commonFields(ctx, p.terms)
		if err != nil {
			t.Fatal(err)
		}
		for _, minMatch := range []int{0, 1, 2} {
			p.minMatch = minMatch
			for _, fuzzy := range []bool{false, true} {
				for _, removed := range []bool{false, true} {
					for _, jobs := range []bool{false, true} {
						bq := p.bleveQuery(removed, jobs, fuzzy, common)
						res, err := x.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(bq, 0, 0, false))
						if err != nil {
							t.Fatal(err)
						}
						may, err := x.mayFind(bq)
						if err != nil {
							t.Fatal(err)
						}
						found := res.Total > 0
						if found && !may || !found && may && !phrases {
							t.Errorf("%q (at least %d, typos %v, removed %v, jobs %v): bleve found %d, mayFind %v",
								text, minMatch, fuzzy, removed, jobs, res.Total, may)
						}
						checked++
						if !found {
							empty++
						}
					}
				}
			}
		}
	}
	// Both answers must have been checked, often.
	if empty < checked/10 || empty > checked*9/10 {
		t.Errorf("%d of %d searches found nothing", empty, checked)
	}
}
