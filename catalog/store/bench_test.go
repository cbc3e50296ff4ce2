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

// BenchmarkChangeFeed reads pages of 500 from a change log of 1,000,000
// entries: from a cursor in the middle unfiltered, and filtered to a kind
// and to an entity that are each one entry in a thousand (the worst case
// of a filter: without an index the scan goes past many entries to fill
// a page).
func BenchmarkChangeFeed(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	start := time.Now()
	if _, err := pool.Exec(ctx, `
		INSERT INTO change_log (entity, entity_id, namespace, name, kind, source, at, details)
		SELECT CASE WHEN i % 1000 = 1 THEN 'job' ELSE 'dataset' END, i % 10000, 'postgres://bench:5432', 'db.s.t' || (i % 10000),
			CASE WHEN i % 1000 = 0 THEN 'schema_changed' ELSE 'updated' END, 'postgres:bench', now(),
			'[{"field": "tag", "before": null, "after": "x"}]'
		FROM generate_series(1, 1000000) AS i`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE change_log`); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled the change log in %s", time.Since(start).Round(time.Millisecond))
	for _, bc := range []struct {
		name string
		f    catalog.ChangeFilter
		want int
	}{
		{"all", catalog.ChangeFilter{}, 500},
		{"rare kind", catalog.ChangeFilter{Entity: "dataset", Kinds: []catalog.ChangeKind{catalog.ChangeSchemaChanged}}, 500},
		{"rare entity", catalog.ChangeFilter{Entity: "job"}, 500},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got, err := st.ChangeFeed(ctx, 400000, bc.f, 500)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) != bc.want {
					b.Fatalf("%d changes, want %d", len(got), bc.want)
				}
			}
		})
	}
}
