package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// TestDatasetStatements checks that reading one dataset by id takes one
// batch of statements, and by key one more to find its id,
// and that both reads agree with each other and with ReferencedBy.
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
	counter.reset()

	customers, err := st.Dataset(ctx, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	stmts, trips := counter.reset()
	t.Logf("Dataset: %d statements in %d round trips", stmts, trips)
	if stmts > 7 || trips > 2 {
		t.Errorf("Dataset: %d statements in %d round trips, want at most 7 in 2", stmts, trips)
	}
	if len(customers.Referenced) == 0 || len(customers.Columns) == 0 || len(customers.Owners) == 0 || len(customers.Sources) != 2 {
		t.Errorf("Dataset(customers) = %+v, want columns, owners, two sources and the foreign key of orders", customers)
	}

	byID, err := st.DatasetByID(ctx, customers.ID)
	if err != nil {
		t.Fatal(err)
	}
	stmts, trips = counter.reset()
	t.Logf("DatasetByID: %d statements in %d round trips", stmts, trips)
	if stmts > 6 || trips > 1 {
		t.Errorf("DatasetByID: %d statements in %d round trips, want at most 6 in 1", stmts, trips)
	}
	if diff := cmp.Diff(customers, byID); diff != "" {
		t.Errorf("DatasetByID differs from Dataset (-want +got):\n%s", diff)
	}

	refs, err := st.ReferencedBy(ctx, []catalog.Key{customers.Key})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(refs[customers.Key], customers.Referenced); diff != "" {
		t.Errorf("Dataset(customers).Referenced differs from ReferencedBy (-want +got):\n%s", diff)
	}

	if _, err := st.Dataset(ctx, key("shop.public.nothing")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Dataset of an unknown key: %v, want ErrNotFound", err)
	}
	if _, err := st.DatasetByID(ctx, 9999); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("DatasetByID of an unknown id: %v, want ErrNotFound", err)
	}
}
