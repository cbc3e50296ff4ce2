package search

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	gocmp "github.com/google/go-cmp/cmp"
)

// TestFacetsMatchBleve checks that the facet table counts what bleve's
// terms facets count, on an index of several segments holding updated and
// deleted datasets.
func TestFacetsMatchBleve(t *testing.T) {
	x := buildCorpus(t)
	ds := corpus()
	w := newBatchWriter(x.idx)
	for _, d := range ds[:10] {
		d.Owners = append(d.Owners, "team_"+d.Platform)
		d.Tags = []string{"updated"}
		if err := w.add(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.flushSeq(1); err != nil {
		t.Fatal(err)
	}
	w = newBatchWriter(x.idx)
	w.delete(ds[10].ID)
	w.delete(ds[11].ID)
	d := ds[12]
	d.Platform = "bigquery"
	if err := w.add(d); err != nil {
		t.Fatal(err)
	}
	if err := w.flushSeq(2); err != nil {
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

	ctx := context.Background()
	for _, q := range []string{"order", "customers", "revenue tag:updated", "-orders", "platform:bigquery", "wrhouse", "nothingmatchesthis"} {
		pq, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		p := newPlan(pq, x.lex)
		for _, fuzzy := range []bool{false, true} {
			common, err := x.commonFields(ctx, p.terms)
			if err != nil {
				t.Fatal(err)
			}
			sr := bleve.NewSearchRequestOptions(p.bleveQuery(false, false, fuzzy, common), 20, 0, false)
			for _, k := range FacetKeys {
				sr.AddFacet(k, bleve.NewFacetRequest(k, facetSize))
			}
			fc := &facetCounter{t: x.facets}
			res, err := x.idx.SearchInContext(context.WithValue(ctx, search.MakeDocumentMatchHandlerKey, fc.handler()), sr)
			if err != nil {
				t.Fatal(err)
			}
			var want []Facet
			for _, k := range FacetKeys {
				f := Facet{Key: k}
				if fr := res.Facets[k]; fr != nil {
					for _, tf := range fr.Terms.Terms() {
						f.Values = append(f.Values, FacetValue{Value: tf.Term, Count: tf.Count})
					}
					f.Other = fr.Other
				}
				slices.SortFunc(f.Values, func(a, b FacetValue) int {
					return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Value, b.Value))
				})
				want = append(want, f)
			}
			if diff := gocmp.Diff(want, fc.facets()); diff != "" {
				t.Errorf("%q (fuzzy %v): facets (-bleve +table):\n%s", q, fuzzy, diff)
			}
		}
	}
}
