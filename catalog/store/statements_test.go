package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// roundTrips counts what a pool sends: statements (queries and each
// statement of a batch) and round trips (a query, or a whole batch).
type roundTrips struct{ stmts, trips atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.stmts.Add(1)
	r.trips.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.trips.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	r.stmts.Add(1)
}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *roundTrips) reset() (stmts, trips int64) { return r.stmts.Swap(0), r.trips.Swap(0) }

// TestDatasetStatements checks that the batched reads of datasets take one
// round trip each, whatever the number of datasets: the ids of keys in one
// statement, the datasets in one batch of five, and the foreign keys
// pointing at them in one.
func TestDatasetStatements(t *testing.T) {
	ctx := context.Background()
	_, url := pgtest.NewDB(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	counter := &roundTrips{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	var keys []catalog.Key
	for _, f := range warehouse() {
		keys = append(keys, f.Key)
	}
	for _, n := range []int{1, len(keys)} {
		counter.reset()
		ids, err := st.DatasetIDs(ctx, append(keys[:n:n], key("shop.public.nothing")))
		if err != nil || len(ids) != n {
			t.Fatalf("DatasetIDs = %v, %v; want %d, the unknown key left out", ids, err, n)
		}
		if stmts, trips := counter.reset(); stmts != 1 || trips != 1 {
			t.Errorf("DatasetIDs of %d keys: %d statements in %d round trips, want 1 in 1", n, stmts, trips)
		}
		list := []int64{9999}
		for _, k := range keys[:n] {
			list = append(list, ids[k])
		}
		ds, err := st.DatasetsByIDs(ctx, list)
		if err != nil || len(ds) != n {
			t.Fatalf("DatasetsByIDs = %d datasets, %v; want %d, the unknown id left out", len(ds), err, n)
		}
		if stmts, trips := counter.reset(); stmts != 5 || trips != 1 {
			t.Errorf("DatasetsByIDs of %d ids: %d statements in %d round trips, want 5 in 1", n, stmts, trips)
		}
		if ds, err := st.DatasetHeadsByIDs(ctx, list); err != nil || len(ds) != n {
			t.Fatalf("DatasetHeadsByIDs = %d datasets, %v; want %d", len(ds), err, n)
		}
		if stmts, trips := counter.reset(); stmts != 3 || trips != 1 {
			t.Errorf("DatasetHeadsByIDs of %d ids: %d statements in %d round trips, want 3 in 1", n, stmts, trips)
		}
		if _, err := st.ReferencedBy(ctx, keys[:n]); err != nil {
			t.Fatal(err)
		}
		if stmts, trips := counter.reset(); stmts != 1 || trips != 1 {
			t.Errorf("ReferencedBy of %d keys: %d statements in %d round trips, want 1 in 1", n, stmts, trips)
		}
	}
	customers, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	if len(customers.Referenced) == 0 || len(customers.Columns) == 0 || len(customers.Owners) == 0 || len(customers.Sources) != 2 {
		t.Errorf("customers = %+v, want columns, owners, two sources and the foreign key of orders", customers)
	}
	if _, err := readDataset(ctx, st, key("shop.public.nothing")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("an unknown key: %v, want ErrNotFound", err)
	}
}
