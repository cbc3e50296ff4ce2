package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkChecksBesideCrawls measures how 1,000 scheduled SQL checks
// (each @every 1h) affect crawls: a Postgres crawl of 200 tables is timed
// alone, then while the scheduler runs the checks. None has run before,
// so all 1,000 are overdue and queued at start (catchUpChecks) rather
// than at their own slots of the hour: the worst case, a first start. The checks run on their own River queue (two
// workers), so they never hold up a crawl's job; what is measured is the
// contention for the database and the CPU.
func BenchmarkChecksBesideCrawls(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	whURL := pgtest.EmptyDB(b)
	var ddl strings.Builder
	for i := range 200 {
		fmt.Fprintf(&ddl, "CREATE TABLE t%03d (id bigint PRIMARY KEY, name text, amount numeric, at timestamptz); INSERT INTO t%03d SELECT g, 'n', g, now() FROM generate_series(1, 100) g;\n", i, i)
	}
	execSQL(b, whURL, ddl.String())
	st := store.New(pool)
	r := NewRunner(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	src := Source{Name: "wh", Type: "postgres", URL: whURL}
	crawl := func() time.Duration {
		t0 := time.Now()
		run, err := r.Crawl(ctx, src)
		if err != nil || run.Status != catalog.CrawlSucceeded {
			b.Fatalf("crawl: %v %+v", err, run.Errors)
		}
		return time.Since(t0)
	}
	crawl() // the first crawl creates the 200 datasets
	const rounds = 10
	var alone []time.Duration
	for range rounds {
		alone = append(alone, crawl())
	}

	expect, err := sqlcheck.ParseExpectation("= 0")
	if err != nil {
		b.Fatal(err)
	}
	var checks []Check
	for i := range 1000 {
		t := i % 200
		key := catalog.Key{Namespace: "postgres://localhost:5432", Name: fmt.Sprintf("wh.public.t%03d", t)}
		checks = append(checks, Check{Check: sqlcheck.Check{Name: fmt.Sprintf("c%04d", i), Dataset: key, Type: "sql",
			SQL: fmt.Sprintf("SELECT count(*) FROM t%03d WHERE amount < 0", t), Expect: expect, Timeout: 10 * time.Second},
			URL: whURL, Every: time.Hour})
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sched, err := NewScheduler(r, nil, Options{Checks: checks})
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	if err := sched.Start(sctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sched.Stop(context.Background()) })
	ran := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM quality_results WHERE source LIKE 'sql:%'`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	var beside []time.Duration
	during := 0
	for range b.N {
		for range rounds {
			if ran() >= len(checks) {
				break
			}
			beside = append(beside, crawl())
			during++
		}
	}
	for ran() < len(checks) {
		if time.Since(started) > 10*time.Minute {
			b.Fatalf("%d of %d checks ran in 10 minutes", ran(), len(checks))
		}
		time.Sleep(100 * time.Millisecond)
	}
	drained := time.Since(started)
	if during == 0 {
		b.Fatal("the checks finished before a crawl ran beside them")
	}
	ms := func(d []time.Duration, q float64) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(alone, 0.5), "alone-p50-ms")
	b.ReportMetric(ms(alone, 1), "alone-max-ms")
	b.ReportMetric(ms(beside, 0.5), "beside-p50-ms")
	b.ReportMetric(ms(beside, 1), "beside-max-ms")
	b.ReportMetric(float64(during), "crawls-beside")
	b.ReportMetric(drained.Seconds(), "s-for-1000-checks")
	b.ReportMetric(0, "ns/op")
}
