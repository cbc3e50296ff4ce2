package crawl

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

func execSQL(t testing.TB, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// TestScheduledCrawlRunsOnce starts two replicas' schedulers on one
// catalog: a scheduled source is crawled once, not once per replica.
func TestScheduledCrawlRunsOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE t (id int PRIMARY KEY)`)
	sources := []Source{{Name: "wh", Type: "postgres", URL: whURL, Every: time.Hour}}
	st := store.New(pool)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		sched, err := NewScheduler(NewRunner(st, log, nil), sources, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := sched.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sched.Stop(context.Background()) })
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, err := st.CrawlRuns(ctx, "postgres:wh", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 && runs[0].Status != catalog.CrawlRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no scheduled crawl within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Give the second replica every chance to crawl too.
	time.Sleep(3 * time.Second)
	runs, err := st.CrawlRuns(ctx, "postgres:wh", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != catalog.CrawlSucceeded || runs[0].Counts.Created != 1 {
		t.Errorf("runs = %+v, want one succeeded run that created the table", runs)
	}
}
