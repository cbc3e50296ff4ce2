package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/store"
)

// blockedCrawl starts a crawl of source whose harvest waits until release
// is closed or its context ends, and waits until its run is recorded. It
// returns the run and the crawl's outcome, to come.
func blockedCrawl(t *testing.T, st *store.Store, source string, release <-chan struct{}) (catalog.CrawlRun, <-chan error) {
	t.Helper()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := st.Crawl(ctx, source, func(ctx context.Context) (catalog.Harvest, error) {
			select {
			case <-release:
				return catalog.Harvest{Datasets: warehouse()}, nil
			case <-ctx.Done():
				return catalog.Harvest{}, ctx.Err()
			}
		})
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); ; {
		runs, err := st.CrawlRuns(ctx, source, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Status == catalog.CrawlRunning {
			return runs[0], done
		}
		if time.Now().After(deadline) {
			t.Fatalf("no running crawl of %s: %+v", source, runs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrawlLock runs a crawl while another crawl of its source runs: it is
// refused without a trace, while a crawl of another source runs, and the
// running crawl is not taken for interrupted.
func TestCrawlLock(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	store.SetCrawlLockTimings(t, 500*time.Millisecond, time.Second)
	release := make(chan struct{})
	running, done := blockedCrawl(t, st, "postgres:shop", release)

	_, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...))
	if !errors.Is(err, store.ErrCrawlRunning) || !errors.Is(err, catalog.ErrConflict) || !strings.Contains(err.Error(), "postgres:shop") {
		t.Errorf("second crawl of postgres:shop: %v, want ErrCrawlRunning naming the source", err)
	}
	if run, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil || run.Status != catalog.CrawlSucceeded {
		t.Errorf("crawl of dbt:shop beside it: %+v, %v", run, err)
	}
	if failed, err := st.FailInterruptedRuns(ctx); err != nil || len(failed) != 0 {
		t.Errorf("FailInterruptedRuns during a live crawl = %+v, %v; want none", failed, err)
	}
	// Longer than the lock check: the crawl keeps its lock.
	time.Sleep(1500 * time.Millisecond)

	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runs, err := st.CrawlRuns(ctx, "postgres:shop", 10)
	if err != nil || len(runs) != 1 || runs[0].ID != running.ID || runs[0].Status != catalog.CrawlSucceeded {
		t.Errorf("runs of postgres:shop = %+v, %v; want the first crawl's, succeeded", runs, err)
	}
	// The lock is released with the crawl.
	if run, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil || run.Status != catalog.CrawlSucceeded {
		t.Errorf("crawl after the first finished: %+v, %v", run, err)
	}
}

// TestFailInterruptedRuns marks failed, interrupted, a run left running
// by a process that is gone, and only that run: not a live crawl's, nor a
// finished one.
func TestFailInterruptedRuns(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	dead, err := st.StartDeadRun(ctx, "postgres:shop")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	live, done := blockedCrawl(t, st, "dbt:shop", release)

	failed, err := st.FailInterruptedRuns(ctx)
	if err != nil || len(failed) != 1 {
		t.Fatalf("FailInterruptedRuns = %+v, %v; want the dead run", failed, err)
	}
	if r := failed[0]; r.ID != dead.ID || r.Status != catalog.CrawlFailed || r.FinishedAt == nil ||
		len(r.Errors) != 1 || r.Errors[0].Object != "postgres:shop" || !strings.HasPrefix(r.Errors[0].Message, "interrupted: ") {
		t.Errorf("interrupted run = %+v", r)
	}
	if r, err := st.CrawlRun(ctx, dead.ID); err != nil || r.Status != catalog.CrawlFailed {
		t.Errorf("stored run = %+v, %v; want failed", r, err)
	}
	if again, err := st.FailInterruptedRuns(ctx); err != nil || len(again) != 0 {
		t.Errorf("FailInterruptedRuns again = %+v, %v; want none", again, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r, err := st.CrawlRun(ctx, live.ID); err != nil || r.Status != catalog.CrawlSucceeded {
		t.Errorf("live crawl's run = %+v, %v; want succeeded", r, err)
	}
}

// TestCrawlLostLock cuts the connection that holds a running crawl's
// lock, as an administrator or a network could while the crawling process
// lives on: the crawl stops within a lock check, its run failed, rather
// than go on beside the next crawl of its source.
func TestCrawlLostLock(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	store.SetCrawlLockTimings(t, 500*time.Millisecond, 200*time.Millisecond)
	release := make(chan struct{})
	defer close(release)
	running, done := blockedCrawl(t, st, "postgres:shop", release)
	terminate(t, pool, "almanac crawl postgres:shop")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "lost the connection holding the crawl lock") {
			t.Errorf("crawl that lost its lock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the crawl went on without its lock")
	}
	if r, err := st.CrawlRun(ctx, running.ID); err != nil || r.Status != catalog.CrawlFailed {
		t.Errorf("run = %+v, %v; want failed", r, err)
	}
	// The next crawl runs.
	if r, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil || r.Status != catalog.CrawlSucceeded {
		t.Errorf("next crawl: %+v, %v", r, err)
	}
}

// terminate ends the server sessions named application.
func terminate(t *testing.T, pool *pgxpool.Pool, application string) {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, application).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d sessions named %q: %v", n, application, err)
	}
	// pg_terminate_backend only signals: wait for the session to end.
	for deadline := time.Now().Add(5 * time.Second); ; {
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, application).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %q still there", application)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNextCrawlEndsDeadRun starts a crawl of a source whose earlier run
// was left "running" by a process that is gone, before anything called
// FailInterruptedRuns: the crawl, holding the source's lock, marks that
// run interrupted as it starts.
func TestNextCrawlEndsDeadRun(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	dead, err := st.StartDeadRun(ctx, "postgres:shop")
	if err != nil {
		t.Fatal(err)
	}
	next, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...))
	if err != nil || next.Status != catalog.CrawlSucceeded {
		t.Fatalf("next crawl = %+v, %v; want succeeded", next, err)
	}
	r, err := st.CrawlRun(ctx, dead.ID)
	if err != nil || r.Status != catalog.CrawlFailed || r.FinishedAt == nil ||
		len(r.Errors) != 1 || !strings.HasPrefix(r.Errors[0].Message, "interrupted: ") {
		t.Errorf("dead run after the next crawl = %+v, %v; want failed, interrupted", r, err)
	}
}
