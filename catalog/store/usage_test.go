package store_test

import (
	"context"
	"testing"
	"time"

	"almanac/catalog"
)

// TestQueryDeltas ingests snapshots of statement statistics as crawls
// would and checks the reads counted: a first snapshot of statistics
// reset long ago is the baseline, later ones count the calls between
// crawls, a count that went down (reset, with no reset time to say so)
// counts the new calls, and a statement new since the previous crawl
// counts all of its calls.
func TestQueryDeltas(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders := key("shop.public.orders")
	crawlHarvest(t, st, catalog.Harvest{Datasets: warehouse()})
	ids, err := st.DatasetIDs(ctx, []catalog.Key{orders})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[orders]
	longAgo := time.Now().Add(-90 * 24 * time.Hour)
	snapshot := func(calls ...int64) {
		t.Helper()
		qs := catalog.QueryStats{Namespace: ns, Database: "shop", StatsReset: longAgo}
		for i, c := range calls {
			qs.Statements = append(qs.Statements, catalog.QueryStat{QueryID: int64(i + 1), Role: "app",
				Query: "SELECT * FROM orders WHERE id = $1", Calls: c, Reads: []catalog.Key{orders}})
		}
		if _, err := st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Queries: []catalog.QueryStats{qs}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name  string
		calls []int64
		want  int64
	}{
		{"baseline", []int64{1000}, 0},
		{"100 more", []int64{1100}, 100},
		{"unchanged", []int64{1100}, 100},
		{"went down: reset", []int64{40}, 140},
		{"a new statement", []int64{40, 7}, 147},
	} {
		snapshot(step.calls...)
		u, err := st.UsageOf(ctx, []int64{id}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := u[id]
		if got.Queries != step.want || !got.QuerySources {
			t.Errorf("%s: %d queries (sources %v), want %d", step.name, got.Queries, got.QuerySources, step.want)
		}
		if step.want > 0 && got.Score != catalog.Popularity(0, 0, step.want) {
			t.Errorf("%s: popularity %v, want %v", step.name, got.Score, catalog.Popularity(0, 0, step.want))
		}
	}
}
