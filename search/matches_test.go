package search_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/search"
)

// TestMatches judges saved searches with the search index: the
// datasets among those named that the query finds, in any namespace.
func TestMatches(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	orders := catalog.Key{Namespace: "postgres://wh:5432", Name: "shop.public.orders"}
	revenue := catalog.Key{Namespace: "postgres://wh:5432", Name: "shop.mart.revenue"}
	lake := catalog.Key{Namespace: "s3://lake", Name: "raw/orders"}
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{
			{Key: orders, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam}}},
			{Key: revenue, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}},
			{Key: lake, Platform: "delta", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam}}},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(ctx, filepath.Join(t.TempDir(), "index"), st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	all := []catalog.Key{orders, revenue, lake}
	for query, want := range map[string]map[catalog.Key]bool{
		"orders":                        {orders: true, lake: true},
		"owner:payments":                {orders: true, lake: true},
		"owner:finance":                 {revenue: true},
		"owner:payments platform:delta": {lake: true},
		"nothing-matches-this":          {},
	} {
		got, err := idx.Matches(ctx, query, all)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", query, diff)
		}
	}
	var closed *search.Index
	if got, err := closed.Matches(ctx, "orders", all); err != nil || len(got) != 0 {
		t.Errorf("before the index is open: %v, %v", got, err)
	}
}
