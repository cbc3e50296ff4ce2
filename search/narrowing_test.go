package search

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"almanac/catalog"
)

// TestCommonWordNarrows checks that a query word in nearly every dataset's
// name, as the t of a table named t042 is, still has to match but is not
// scored (commonality.narrowing): the same datasets match as when it is
// scored, and datasets without it do not.
func TestCommonWordNarrows(t *testing.T) {
	var ds []Dataset
	for i := range 2000 {
		ds = append(ds, Dataset{ID: int64(i + 1), Platform: "postgres", Kind: catalog.KindTable,
			Key: catalog.Key{Namespace: "postgres://wh:5432", Name: fmt.Sprintf("db.s%02d.t%03d", i/100, i%100)}})
	}
	// Named with 042 but no t: the t of the query keeps them out.
	for i := range 20 {
		ds = append(ds, Dataset{ID: int64(3000 + i), Platform: "postgres", Kind: catalog.KindTable,
			Key: catalog.Key{Namespace: "postgres://wh:5432", Name: fmt.Sprintf("db.x%02d.x_042", i)}})
	}
	x := buildDatasets(t, ds, Options{NoCache: true})
	ctx := context.Background()
	q, err := Parse("t042")
	if err != nil {
		t.Fatal(err)
	}
	p := newPlan(q, x.lex)
	if !slices.Contains(p.terms, "t") {
		t.Fatalf("t042 is analysed as %q, without t: the test no longer tests narrowing", p.terms)
	}
	common, err := x.commonFields(ctx, p.terms)
	if err != nil {
		t.Fatal(err)
	}
	if !common.narrowing["t"] || common.narrowing["042"] {
		t.Fatalf("narrowing words %v, want t alone", common.narrowing)
	}
	ids := func(common commonality) (total int, out []string) {
		res, err := x.run(ctx, Request{Query: q, Limit: MaxLimit}, p, common, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			out = append(out, h.Key.Name)
		}
		slices.Sort(out)
		return res.Total, out
	}
	total, got := ids(common)
	scoredTotal, scored := ids(commonality{fields: common.fields})
	if total != 20 || scoredTotal != total || !slices.Equal(got, scored) {
		t.Errorf("t042 matched %d: %q; scoring t, %d: %q; want the 20 tables t042", total, got, scoredTotal, scored)
	}
	for _, n := range got {
		if !slices.Contains([]string{"t042"}, n[len(n)-4:]) {
			t.Errorf("t042 matched %s", n)
		}
	}
}
