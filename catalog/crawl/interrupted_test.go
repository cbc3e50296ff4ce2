package crawl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// The test binary re-executed with these variables set is a replica that
// schedules crawls of the warehouse until it is killed (see TestMain).
const (
	childCatalogEnv   = "ALMANAC_TEST_SCHEDULER_CATALOG"
	childWarehouseEnv = "ALMANAC_TEST_SCHEDULER_WAREHOUSE"
)

func TestMain(m *testing.M) {
	if url := os.Getenv(childCatalogEnv); url != "" {
		if err := scheduleUntilKilled(url, os.Getenv(childWarehouseEnv)); err != nil {
			fmt.Fprintln(os.Stderr, "scheduler:", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// warehouseSource is the scheduled source of the crash tests: crawled at
// start, then hourly.
func warehouseSource(url string) Source {
	return Source{Name: "wh", Type: "postgres", URL: url, Every: time.Hour}
}

// scheduleUntilKilled is the child process: a scheduler of the warehouse
// at whURL over the catalog at catalogURL, logging to stderr.
func scheduleUntilKilled(catalogURL, whURL string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, catalogURL)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sched, err := NewScheduler(NewRunner(store.New(pool), log, nil), []Source{warehouseSource(whURL)}, Options{})
	if err != nil {
		return err
	}
	if err := sched.Start(ctx); err != nil {
		return err
	}
	select {}
}

// TestKilledCrawlThenNextScheduled kills a process with kill -9 in the
// middle of a scheduled crawl, then starts a fresh scheduler, as a
// restarted server would: the killed crawl's run is marked failed,
// interrupted, and the source's next crawl (the one a scheduler makes at
// start) runs and succeeds within seconds.
func TestKilledCrawlThenNextScheduled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, catalogURL := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE orders (id int PRIMARY KEY); CREATE TABLE slow (id int)`)
	st := store.New(pool)

	// The crawl stalls on a table another session holds locked (up to the
	// crawler's lock timeout), which keeps it in the middle of its run.
	locker, err := pgx.Connect(ctx, whURL)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	lockTx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTx.Exec(ctx, `LOCK TABLE slow IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	var childLog bytes.Buffer
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childCatalogEnv+"="+catalogURL, childWarehouseEnv+"="+whURL)
	child.Stdout, child.Stderr = &childLog, &childLog
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("killed scheduler's log:\n%s", childLog.String())
		}
	}()

	// Kill it once its crawl waits for the lock.
	for deadline := time.Now().Add(60 * time.Second); ; {
		var waiting bool
		err := lockTx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'slow'::regclass AND NOT granted)`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the scheduler exited before crawling: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not start crawling within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	<-exited
	runs, err := st.CrawlRuns(ctx, "postgres:wh", 0, 10)
	if err != nil || len(runs) != 1 || runs[0].Status != catalog.CrawlRunning {
		t.Fatalf("runs after the kill: %+v, %v; want one running", runs, err)
	}
	killed := runs[0]
	if err := lockTx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// The restarted server.
	restarted := time.Now()
	sched, err := NewScheduler(NewRunner(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil), []Source{warehouseSource(whURL)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sched.Stop(context.Background()) })
	for deadline := restarted.Add(60 * time.Second); ; {
		runs, err = st.CrawlRuns(ctx, "postgres:wh", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 2 && runs[0].Status != catalog.CrawlRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the restart, runs = %+v; want the killed one and a new one, finished", runs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("next crawl finished %s after the restart", time.Since(restarted).Round(time.Millisecond))
	next, old := runs[0], runs[1]
	if next.Status != catalog.CrawlSucceeded || next.Counts.Created != 2 {
		t.Errorf("next crawl: %+v; want succeeded, creating both tables", next)
	}
	if old.ID != killed.ID || old.Status != catalog.CrawlFailed || old.FinishedAt == nil ||
		len(old.Errors) != 1 || !strings.Contains(old.Errors[0].Message, "interrupted") {
		t.Errorf("killed crawl's run: %+v; want it failed, interrupted", old)
	}
}
