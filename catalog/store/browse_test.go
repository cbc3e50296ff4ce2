package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestBrowseAndSorts checks the facets the home page browses by, the
// attention counts against the lists they link to, and each order of the
// listing, on a warehouse where orders fails a check and is stale,
// customers is documented and read by two jobs.
func TestBrowseAndSorts(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	h := lineageHarvest("11111111-1111-1111-1111-111111111111", time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC))
	h.Jobs = append(h.Jobs, catalog.JobFacts{
		Key: catalog.JobKey{Namespace: jobNS, Name: "model.shop.customer_ltv"}, Type: catalog.JobDBTModel,
		Inputs: []catalog.Key{key("shop.public.customers")}, Outputs: []catalog.Key{key("shop.public.customer_ltv")},
	})
	h.Datasets[1].Owners = []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam}, {Name: "ada@corp", Kind: catalog.OwnerUser}}
	crawlHarvest(t, st, h)
	// customers changed last
	if _, err := pool.Exec(ctx, `UPDATE datasets SET updated_at = now() + interval '1 hour' WHERE name = 'shop.public.customers'`); err != nil {
		t.Fatal(err)
	}
	// customers was late once, but its source's latest observation
	// passed: it is not stale.
	if _, err := pool.Exec(ctx, `
		INSERT INTO freshness_observations (source, dataset_namespace, dataset_name, observed_at, status)
		VALUES ('dbt:shop', $1, 'shop.public.customers', now() - interval '2 days', 'error'),
		       ('dbt:shop', $1, 'shop.public.customers', now() - interval '1 day', 'pass')`, ns); err != nil {
		t.Fatal(err)
	}

	b, err := st.Browse(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Browse{
		Platforms: []store.Count{{Value: "postgres", Datasets: 3}},
		Schemas:   []store.Count{{Namespace: ns, Value: "shop.public", Datasets: 3}},
		Kinds:     []store.Count{{Value: "table", Datasets: 2}, {Value: "view", Datasets: 1}},
		Teams:     []store.Count{{Value: "payments", Datasets: 1}},
		People:    []store.Count{{Value: "ada@corp", Datasets: 1}},
		Attention: map[store.Attention]int{store.AttentionFailing: 1, store.AttentionStale: 1, store.AttentionUndocumented: 2},
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("browse (-want +got):\n%s", diff)
	}

	names := func(f store.DatasetFilter, p store.Paging) []string {
		t.Helper()
		p.Limit = 10
		page, err := st.FindDatasets(ctx, f, p)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := st.DatasetsByIDs(ctx, page.IDs)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Key.Name[len("shop.public."):])
		}
		return out
	}
	cases := []struct {
		name string
		f    store.DatasetFilter
		p    store.Paging
		want []string
	}{
		{"by name", store.DatasetFilter{}, store.Paging{}, []string{"big_orders", "customers", "orders"}},
		{"recently changed", store.DatasetFilter{}, store.Paging{Sort: store.SortChanged}, []string{"customers", "big_orders", "orders"}},
		{"popular", store.DatasetFilter{}, store.Paging{Sort: store.SortPopular}, []string{"customers", "big_orders", "orders"}},
		{"health", store.DatasetFilter{}, store.Paging{Sort: store.SortHealth}, []string{"orders", "big_orders", "customers"}},
		{"failing", store.DatasetFilter{Attention: store.AttentionFailing}, store.Paging{}, []string{"orders"}},
		{"stale", store.DatasetFilter{Attention: store.AttentionStale}, store.Paging{}, []string{"orders"}},
		{"undocumented", store.DatasetFilter{Attention: store.AttentionUndocumented}, store.Paging{}, []string{"big_orders", "orders"}},
		{"platform", store.DatasetFilter{Platform: "postgres", Kind: catalog.KindView}, store.Paging{}, []string{"big_orders"}},
		{"team", store.DatasetFilter{Owner: "payments", OwnerKind: catalog.OwnerTeam}, store.Paging{}, []string{"orders"}},
		{"team by another kind", store.DatasetFilter{Owner: "payments", OwnerKind: catalog.OwnerUser}, store.Paging{}, nil},
		{"any team", store.DatasetFilter{OwnerKind: catalog.OwnerTeam}, store.Paging{}, []string{"orders"}},
	}
	for _, c := range cases {
		if got := names(c.f, c.p); !cmp.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// Pages of the health order, of one or two, whatever their offset,
	// join into the whole order: across the datasets needing attention
	// and the rest.
	for _, limit := range []int{1, 2} {
		var ids []int64
		for off := 0; off < 4; off += limit {
			page, err := st.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Sort: store.SortHealth, Limit: limit, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.IDs) > limit {
				t.Errorf("health order, limit %d offset %d: %d datasets", limit, off, len(page.IDs))
			}
			ids = append(ids, page.IDs...)
		}
		ds, err := st.DatasetsByIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Key.Name[len("shop.public."):])
		}
		if want := []string{"orders", "big_orders", "customers"}; !cmp.Equal(got, want) {
			t.Errorf("health order in pages of %d: got %v, want %v", limit, got, want)
		}
	}
	// The "recently changed" order is ties broken by name, so the sorts
	// above are stable; the attention counts equal their lists' lengths.
	for a, n := range b.Attention {
		page, err := st.FindDatasets(ctx, store.DatasetFilter{Attention: a}, store.Paging{Limit: 100, Total: true})
		if err != nil || page.Total != n {
			t.Errorf("%s: count card says %d, its list holds %d (%v)", a, n, page.Total, err)
		}
	}

	for _, bad := range []struct {
		f store.DatasetFilter
		p store.Paging
	}{
		{store.DatasetFilter{Attention: "bored"}, store.Paging{Limit: 1}},
		{store.DatasetFilter{}, store.Paging{Limit: 1, Sort: "random"}},
		{store.DatasetFilter{}, store.Paging{Limit: 1, Sort: store.SortPopular, After: &catalog.Key{Namespace: ns, Name: "a"}}},
	} {
		if _, err := st.FindDatasets(ctx, bad.f, bad.p); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%+v %+v: got %v, want ErrInvalid", bad.f, bad.p, err)
		}
	}
}
