package search

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"almanac/catalog"
)

// FuzzSearch runs arbitrary queries on an index large enough for words
// to be common (more than commonMin datasets, every one with t in its
// name), so that unscored and narrowing terms, the fallback, typos and
// the facet records all take part: a query either is refused as invalid
// or answers, with no more hits than its total and no facet value counted
// more often than there are matches.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"t042", "s003 t042", "customer email", "ordr itemz", `"order items" -customer`,
		"owner:team_3 order", "-tag:pii t", "table 40 schema 3", "where is revenue", "kind:view t0"} {
		f.Add(s)
	}
	ds := corpus()
	for i := range 1200 {
		ds = append(ds, Dataset{ID: int64(100_000 + i), Platform: "postgres", Kind: catalog.KindTable,
			Key:    catalog.Key{Namespace: "postgres://wh:5432", Name: fmt.Sprintf("db.s%02d.t%03d", i/100, i%100)},
			Owners: []string{fmt.Sprintf("team_%d", i%7), "data_platform"}, Tags: []string{"raw", fmt.Sprintf("tag_%d", i%5)}})
	}
	x := buildDatasets(f, ds, Options{NoCache: true})
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil || q.Empty() {
			return
		}
		res, err := x.Search(context.Background(), Request{Query: q, Limit: 20})
		if errors.Is(err, catalog.ErrInvalid) {
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if len(res.Hits) > 20 || len(res.Hits) > res.Total {
			t.Fatalf("%q: %d hits of %d", s, len(res.Hits), res.Total)
		}
		for _, fc := range res.Facets {
			if fc.Other < 0 {
				t.Fatalf("%q: facet %s counts %d others", s, fc.Key, fc.Other)
			}
			for _, v := range fc.Values {
				if v.Count < 1 || v.Count > res.Total {
					t.Fatalf("%q: facet %s value %q counted %d times in %d matches", s, fc.Key, v.Value, v.Count, res.Total)
				}
			}
		}
	})
}
