package crawl

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestScheduledChecks starts two replicas' schedulers with a scheduled
// check: it runs once, its result is recorded under sql:<name>, and the
// quality history older than the retention is pruned at start.
func TestScheduledChecks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (NULL), (NULL)`)
	st := store.New(pool)
	key := catalog.Key{Namespace: "postgres://localhost:5432", Name: "wh.public.t"}

	// An old result of another check, and an older one to prune.
	old := time.Now().Add(-48 * time.Hour)
	if err := st.ApplyPush(ctx, catalog.Push{Source: "sql:old", Results: []catalog.QualityResult{
		{Check: "old", Dataset: key, Status: catalog.QualityPass, StartedAt: old, RunID: "a"},
		{Check: "old", Dataset: key, Status: catalog.QualityPass, StartedAt: old.Add(time.Hour), RunID: "b"},
	}}); err != nil {
		t.Fatal(err)
	}

	sql, args, err := sqlcheck.Expand(sqlcheck.Template{Kind: "not_null", Table: "t", Column: "id"})
	if err != nil {
		t.Fatal(err)
	}
	expect, _ := sqlcheck.ParseExpectation("= 0")
	checks := []Check{{Check: sqlcheck.Check{Name: "t_id_not_null", Dataset: key, Column: "id", Type: "not_null", SQL: sql, Args: args, Expect: expect},
		URL: whURL, Every: time.Hour}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		sched, err := NewScheduler(NewRunner(st, log, nil), nil, Options{Checks: checks, QualityRetention: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if err := sched.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sched.Stop(context.Background()) })
	}
	page := store.ResultPage{Source: "sql:t_id_not_null", Check: "t_id_not_null", Limit: 10}
	deadline := time.Now().Add(30 * time.Second)
	var results []catalog.QualityResult
	for len(results) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled check within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
		m, err := st.ResultPages(ctx, []store.ResultPage{page})
		if err != nil {
			t.Fatal(err)
		}
		results = m[page]
	}
	time.Sleep(3 * time.Second) // give the other replica every chance to run it too
	m, err := st.ResultPages(ctx, []store.ResultPage{page})
	if err != nil {
		t.Fatal(err)
	}
	if r := m[page]; len(r) != 1 || r[0].Status != catalog.QualityFail || r[0].Observed != "2" || r[0].Failures == nil || *r[0].Failures != 2 {
		t.Errorf("results = %+v, want one failure observing 2 nulls", r)
	}
	checksOf, err := st.ChecksOf(ctx, []catalog.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range checksOf[key] {
		if c.Source == "sql:t_id_not_null" && c.Definition == sql && c.Properties["expect"] == "= 0" {
			found = true
		}
	}
	if !found {
		t.Errorf("checks = %+v, want the SQL check with its definition", checksOf[key])
	}
	// Pruning is a periodic job run on start by the job queue's leader,
	// which a replica may take seconds to become: wait for it.
	old2 := store.ResultPage{Source: "sql:old", Check: "old", Limit: 10}
	for {
		m, err = st.ResultPages(ctx, []store.ResultPage{old2})
		if err != nil {
			t.Fatal(err)
		}
		r := m[old2]
		if len(r) == 1 && r[0].RunID == "b" {
			break
		}
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("old results after pruning = %+v, want only the newest, b", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRunCheckChange judges a relative expectation against the check's
// earlier results.
func TestRunCheckChange(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)`)
	st := store.New(pool)
	r := NewRunner(st, nil, nil)
	key := catalog.Key{Namespace: "postgres://localhost:5432", Name: "wh.public.t"}
	expect, _ := sqlcheck.ParseExpectation("change within 10% of last 3 runs")
	c := Check{Check: sqlcheck.Check{Name: "rows", Dataset: key, Type: "row_count", SQL: "SELECT count(*) FROM t", Expect: expect}, URL: whURL}
	for i, want := range []string{catalog.QualityPass, catalog.QualityPass} {
		res, err := r.RunCheck(ctx, c)
		if err != nil || res.Status != want {
			t.Fatalf("run %d: %s %q, %v; want %s", i, res.Status, res.Message, err, want)
		}
	}
	execSQL(t, whURL, `INSERT INTO t SELECT generate_series(1, 50)`)
	res, err := r.RunCheck(ctx, c)
	if err != nil || res.Status != catalog.QualityFail || res.Message != "got 150, 50.0% from the mean 100 of the last 2 runs; want within 10%" {
		t.Errorf("after a jump: %s %q, %v", res.Status, res.Message, err)
	}
}

// TestChecksDoNotDelayCrawls keeps every check worker busy with slow
// checks: a scheduled crawl still runs at once, on its own queue.
func TestChecksDoNotDelayCrawls(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE t (id int)`)
	st := store.New(pool)
	key := catalog.Key{Namespace: "postgres://localhost:5432", Name: "wh.public.t"}
	expect, _ := sqlcheck.ParseExpectation("= 0")
	var checks []Check
	for _, name := range []string{"slow1", "slow2", "slow3", "slow4"} {
		checks = append(checks, Check{Check: sqlcheck.Check{Name: name, Dataset: key, Type: "sql",
			SQL: "SELECT count(*) FROM pg_sleep(4)", Expect: expect, Timeout: 10 * time.Second}, URL: whURL, Every: time.Hour})
	}
	start := time.Now()
	sched, err := NewScheduler(NewRunner(st, nil, nil), []Source{{Name: "wh", Type: "postgres", URL: whURL, Every: time.Hour}}, Options{Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sched.Stop(context.Background()) })
	for {
		runs, err := st.CrawlRuns(ctx, "postgres:wh", 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 && runs[0].Status == catalog.CrawlSucceeded {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatal("no crawl within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	crawled := time.Since(start)
	// The checks were running meanwhile: none had finished.
	m, err := st.ResultPages(ctx, []store.ResultPage{{Source: "sql:slow1", Check: "slow1", Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range m {
		if len(rs) > 0 {
			t.Logf("a slow check finished before the crawl (crawl after %s)", crawled)
		}
	}
	if crawled > 4*time.Second {
		t.Errorf("the crawl finished %s after start, behind the 4 s checks", crawled)
	}
}
