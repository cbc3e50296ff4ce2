package store_test

import (
	"context"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkCrawlIngest crawls and ingests a generated warehouse of 10,000
// tables and 102,000 columns end to end: first into an empty catalog, then
// again unchanged (which must write no catalog rows).
func BenchmarkCrawlIngest(b *testing.B) {
	ctx := context.Background()
	whURL := pgtest.EmptyDB(b)
	start := time.Now()
	pgtest.BuildWarehouse(b, whURL, 100, 100, 10)
	b.Logf("built warehouse of 10,000 tables in %s", time.Since(start).Round(time.Millisecond))
	cfg := postgres.Config{Source: "postgres:bench", URL: whURL, Namespace: "postgres://bench:5432"}
	harvest := func(ctx context.Context) (catalog.Harvest, error) { return postgres.Crawl(ctx, cfg) }

	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			pool, _ := pgtest.NewDB(b)
			st := store.New(pool)
			b.StartTimer()
			run, err := st.Crawl(ctx, "postgres:bench", harvest)
			if err != nil {
				b.Fatal(err)
			}
			if run.Counts.Created != 10000 || run.Counts.Columns < 100000 {
				b.Fatalf("counts %+v", run.Counts)
			}
		}
		b.ReportMetric(10000*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		pool, _ := pgtest.NewDB(b)
		st := store.New(pool)
		if _, err := st.Crawl(ctx, "postgres:bench", harvest); err != nil {
			b.Fatal(err)
		}
		var before int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&before); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			run, err := st.Crawl(ctx, "postgres:bench", harvest)
			if err != nil {
				b.Fatal(err)
			}
			if run.Counts.Unchanged != 10000 {
				b.Fatalf("counts %+v", run.Counts)
			}
		}
		var after int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&after); err != nil {
			b.Fatal(err)
		}
		if after != before {
			b.Fatalf("an unchanged crawl appended %d change log entries", after-before)
		}
	})
}
