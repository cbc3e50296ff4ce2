package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestOutageIsUnavailable takes the catalog database away from a store
// in use, as a network outage does, and checks that every way of reading
// then fails as catalog.ErrUnavailable: a pool connection opened before
// the outage, a new one, a batch, a row, a ping.
func TestOutageIsUnavailable(t *testing.T) {
	ctx := context.Background()
	_, dbURL := pgtest.NewDB(t)
	outage := pgtest.NewOutage(t, dbURL)
	pool, err := pgxpool.New(ctx, outage.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	key := catalog.Key{Namespace: "postgres://db:5432", Name: "shop.public.orders"}
	// Before: a dataset that does not exist is not found, nothing else.
	if _, err := readDataset(ctx, st, key); !errors.Is(err, catalog.ErrNotFound) || errors.Is(err, catalog.ErrUnavailable) {
		t.Fatalf("before the outage: %v, want not found", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	outage.Cut()
	for name, read := range map[string]func() error{
		"dataset": func() error { _, err := readDataset(ctx, st, key); return err },
		"stats":   func() error { _, err := st.Stats(ctx); return err },
		"sources": func() error { _, err := st.Sources(ctx); return err },
		"find": func() error {
			_, err := st.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Limit: 10, Total: true})
			return err
		},
		"ping": func() error { return st.Ping(ctx) },
	} {
		// Twice: the first may meet a pooled connection the outage broke,
		// the second opens a new one.
		for i := range 2 {
			err := read()
			if !errors.Is(err, catalog.ErrUnavailable) {
				t.Errorf("%s (try %d) during the outage: %v, want catalog.ErrUnavailable", name, i+1, err)
			}
			if errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("%s (try %d): an outage is not a missing dataset: %v", name, i+1, err)
			}
		}
	}
}

// TestAdminShutdownIsUnavailable terminates the store's connections from
// the server's side (SQLSTATE 57P01) and forbids new ones: the store says
// unavailable, not internal error.
func TestAdminShutdownIsUnavailable(t *testing.T) {
	ctx := context.Background()
	pool, dbURL := pgtest.NewDB(t)
	st := store.New(pool)
	if _, err := st.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := pgxpool.New(ctx, pgtest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	db := dbName(t, dbURL)
	// No new connections, then end the open ones.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %q ALLOW_CONNECTIONS false`, db)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), fmt.Sprintf(`ALTER DATABASE %q ALLOW_CONNECTIONS true`, db)) })
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, db); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := st.Stats(ctx); !errors.Is(err, catalog.ErrUnavailable) {
			t.Errorf("stats (try %d) after the connections were terminated: %v, want catalog.ErrUnavailable", i+1, err)
		}
	}
}

func dbName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// TestUnavailable pins which driver errors mean an outage.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "08006"}, true},                         // connection failure
		{fmt.Errorf("read: %w", &pgconn.PgError{Code: "57P01"}), true}, // admin shutdown
		{&pgconn.PgError{Code: "57P03"}, true},                         // cannot connect now
		{&pgconn.PgError{Code: "57014"}, false},                        // query cancelled
		{&pgconn.PgError{Code: "23505"}, false},                        // unique violation
		{&pgconn.PgError{Code: "40001"}, false},                        // serialization failure: retry the transaction, the database is up
		{catalog.ErrNotFound, false},
		{context.DeadlineExceeded, false},
		{errors.New("closed pool"), false},
	} {
		err := store.Unavailable(tc.err)
		if got := errors.Is(err, catalog.ErrUnavailable); got != tc.want {
			t.Errorf("Unavailable(%v) is unavailable: %v, want %v", tc.err, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("Unavailable(%v) = %v, lost the cause", tc.err, err)
		}
		if tc.want && !strings.Contains(err.Error(), tc.err.Error()) {
			t.Errorf("Unavailable(%v) = %q, hides the cause from the log", tc.err, err)
		}
	}
}

// TestReadsTranslateDriverErrors checks that what a read's statement meets
// in the database comes back as an error kind, whichever read it is: a NUL
// byte, which PostgreSQL cannot hold in text, is catalog.ErrInvalid (a
// 400), not the driver's error (a 500).
func TestReadsTranslateDriverErrors(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	bad := "ns\x00"
	for name, read := range map[string]func() error{
		"jobs":       func() error { _, err := st.FindJobs(ctx, bad, false, nil, 10); return err },
		"crawl runs": func() error { _, err := st.CrawlRuns(ctx, bad, 0, 10); return err },
		"tags":       func() error { _, err := st.Tags(ctx, bad, 10); return err },
		"jobs around": func() error {
			_, err := st.JobsOfDatasets(ctx, []catalog.Key{{Namespace: bad, Name: "t"}})
			return err
		},
	} {
		if err := read(); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("%s of %q: %v, want catalog.ErrInvalid", name, bad, err)
		}
	}
}
