package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestTableDroppedWhileWaiting: another session holds an ACCESS EXCLUSIVE
// lock on a table when the crawl starts, so the crawl's snapshot still
// lists the table, and drops it once the crawl waits for the lock to read
// its size. PostgreSQL then answers the size query with NULL. The crawl
// must report the table as an error naming it, not as a table whose size
// is now unknown: the run is partial, and the store keeps what the last
// complete crawl said of the table until a crawl no longer sees it. A
// partition dropped so fails its partitioned table alike.
func TestTableDroppedWhileWaiting(t *testing.T) {
	for _, tc := range []struct {
		name, locked, dataset string
		// removed is what the next crawl marks removed.
		removed int
	}{
		{name: "table", locked: "victim", dataset: "victim", removed: 1},
		{name: "partition", locked: "events_2024", dataset: "events", removed: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			droppedWhileWaiting(t, tc.locked, tc.dataset, tc.removed)
		})
	}
}

func droppedWhileWaiting(t *testing.T, locked, dataset string, removed int) {
	ctx := t.Context()
	dbURL := pgtest.EmptyDB(t)
	db := dbName(t, dbURL)
	exec(t, dbURL, `
		CREATE TABLE victim (id int PRIMARY KEY, note text);
		INSERT INTO victim SELECT g, 'x' FROM generate_series(1, 1000) g;
		CREATE TABLE kept (id int);
		CREATE TABLE events (at date, n int) PARTITION BY RANGE (at);
		CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
		CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
		INSERT INTO events SELECT '2024-06-01', g FROM generate_series(1, 1000) g;
		CREATE SCHEMA other;
		CREATE TABLE other.t (id int);`)
	const ns = "postgres://wh:5432"
	cfg := Config{Source: "postgres:x", URL: dbURL, Namespace: ns}
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	harvest := func(ctx context.Context) (catalog.Harvest, error) { return Crawl(ctx, cfg) }
	if run, err := st.Crawl(ctx, cfg.Source, harvest); err != nil || run.Status != catalog.CrawlSucceeded {
		t.Fatalf("first crawl: %+v, %v", run, err)
	}
	victim := catalog.Key{Namespace: ns, Name: db + ".public." + dataset}
	before, err := readDataset(ctx, st, victim)
	if err != nil {
		t.Fatal(err)
	}

	holder, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.WithoutCancel(ctx))
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var oid uint32
	if err := tx.QueryRow(ctx, "SELECT $1::regclass::oid", locked).Scan(&oid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+locked+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	type result struct {
		run catalog.CrawlRun
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := st.Crawl(ctx, cfg.Source, harvest)
		done <- result{run, err}
	}()
	// Wait until the crawl waits for the lock, well inside lockTimeout.
	watch, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(lockTimeout / 2)
	for {
		var waiting bool
		err := watch.QueryRow(ctx, `
			SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
			               WHERE NOT l.granted AND l.relation = $1 AND a.application_name = 'almanac-crawler')`,
			oid).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the crawl never waited for the lock on %s", locked)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+locked); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	run := res.run
	want := []catalog.CrawlError{{Object: db + ".public." + locked, Message: "read size: dropped during the crawl"}}
	if diff := cmp.Diff(want, run.Errors); run.Status != catalog.CrawlPartial || diff != "" {
		t.Fatalf("crawl %s, want partial; errors (-want +got):\n%s", run.Status, diff)
	}
	if run.Counts.Updated != 0 || run.Counts.Removed != 0 {
		t.Errorf("counts %+v, want nothing updated or removed", run.Counts)
	}
	after, err := readDataset(ctx, st, victim)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("%s changed (-before +after):\n%s", dataset, diff)
	}
	// The next crawl no longer sees it.
	run, err = st.Crawl(ctx, cfg.Source, harvest)
	if err != nil || run.Status != catalog.CrawlSucceeded || run.Counts.Removed != removed {
		t.Errorf("next crawl: %+v, %v, want %d removed", run, err, removed)
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}
