package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestCheckScheduleSpread places 1,000 hourly checks: their slots cover
// every minute of the hour, none with more than about twice its share,
// and a check's slot is the same whenever it is asked for (a restart, a
// new leader, another replica).
func TestCheckScheduleSpread(t *testing.T) {
	const n = 1000
	perMinute := make([]int, 60)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		name := fmt.Sprintf("check_%04d", i)
		s := CheckSchedule(name, time.Hour)
		next := s.Next(base)
		if !next.After(base) || next.Sub(base) > time.Hour {
			t.Fatalf("%s: Next(%s) = %s, want within the hour after", name, base, next)
		}
		if got := next.Sub(base); got != CheckOffset(name, time.Hour) && got != time.Hour {
			t.Errorf("%s: slot %s after the hour, want its offset %s", name, got, CheckOffset(name, time.Hour))
		}
		perMinute[next.Sub(base)/time.Minute%60]++
		// Stable: asked from any time of the interval, or by a fresh
		// schedule, the slot is the same, and the next is an interval on.
		for _, from := range []time.Time{base.Add(time.Second), next.Add(-time.Nanosecond)} {
			if got := CheckSchedule(name, time.Hour).Next(from); !got.Equal(next) {
				t.Fatalf("%s: Next(%s) = %s, want %s", name, from, got, next)
			}
		}
		if got := s.Next(next); !got.Equal(next.Add(time.Hour)) {
			t.Fatalf("%s: Next(its slot %s) = %s, want an hour on", name, next, got)
		}
	}
	for m, c := range perMinute {
		if c == 0 || c > 2*n/60 {
			t.Errorf("minute %d has %d of %d checks, want between 1 and %d (per minute: %v)", m, c, n, 2*n/60, perMinute)
		}
	}
	// The offset is part of the schedule's contract across releases:
	// changing the hash moves every check's slot.
	if got, want := CheckOffset("orders_customer_not_null", time.Hour), time.Duration(1855399301225); got != want {
		t.Errorf("offset of orders_customer_not_null = %s, want %s as in earlier releases", got, want)
	}
	if got := CheckOffset("orders_customer_not_null", 24*time.Hour); got < 0 || got >= 24*time.Hour {
		t.Errorf("daily offset %s outside the day", got)
	}
	// Slots are counted from the Unix epoch, also before it.
	s := phasedSchedule{every: time.Hour, offset: 10 * time.Minute}
	for _, tc := range []struct{ at, want time.Time }{
		{time.Unix(0, 0).UTC(), time.Unix(600, 0).UTC()},
		{time.Unix(600, 0).UTC(), time.Unix(4200, 0).UTC()},
		{time.Unix(-1, 0).UTC(), time.Unix(600, 0).UTC()},
		{time.Unix(-3000, 0).UTC(), time.Unix(-3000, 0).UTC().Add(time.Hour)},
		{time.Unix(-3001, 0).UTC(), time.Unix(-3000, 0).UTC()},
	} {
		if got := s.Next(tc.at); !got.Equal(tc.want) {
			t.Errorf("Next(%d) = %d, want %d", tc.at.Unix(), got.Unix(), tc.want.Unix())
		}
	}
}

// TestOverdueChecksCaughtUp starts two replicas' schedulers with two
// hourly checks whose slots are not near: the one that never ran is
// queued at start and runs once; the one with a result since its
// previous slot is left to its slot.
func TestOverdueChecksCaughtUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE t (id int)`)
	st := store.New(pool)
	key := catalog.Key{Namespace: "postgres://localhost:5432", Name: "wh.public.t"}
	expect, _ := sqlcheck.ParseExpectation("= 0")
	now := time.Now()
	// Names whose slot is not in the next minutes, so that no scheduled
	// run interferes.
	var names []string
	for i := 0; len(names) < 2; i++ {
		name := fmt.Sprintf("chk%d", i)
		if next := CheckSchedule(name, time.Hour).Next(now); next.Sub(now) > 5*time.Minute && next.Sub(now) < 55*time.Minute {
			names = append(names, name)
		}
	}
	never, recent := names[0], names[1]
	var checks []Check
	for _, name := range names {
		checks = append(checks, Check{Check: sqlcheck.Check{Name: name, Dataset: key, Type: "sql", SQL: "SELECT count(*) FROM t", Expect: expect},
			URL: whURL, Every: time.Hour})
	}
	if err := st.ApplyPush(ctx, catalog.Push{Source: "sql:" + recent, Results: []catalog.QualityResult{
		{Check: recent, Dataset: key, Status: catalog.QualityPass, StartedAt: now.Add(-time.Second), RunID: "earlier"},
	}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		sched, err := NewScheduler(NewRunner(st, log, nil), nil, Options{Checks: checks})
		if err != nil {
			t.Fatal(err)
		}
		if err := sched.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sched.Stop(context.Background()) })
	}
	pages := []store.ResultPage{{Source: "sql:" + never, Check: never, Limit: 10}, {Source: "sql:" + recent, Check: recent, Limit: 10}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := st.ResultPages(ctx, pages)
		if err != nil {
			t.Fatal(err)
		}
		if len(m[pages[0]]) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the check that never ran did not run within 30 s of start")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // give the other replica and the other check every chance to run
	m, err := st.ResultPages(ctx, pages)
	if err != nil {
		t.Fatal(err)
	}
	if r := m[pages[0]]; len(r) != 1 {
		t.Errorf("%s (never ran) has %d results, want 1 (queued once across replicas)", never, len(r))
	}
	if r := m[pages[1]]; len(r) != 1 || r[0].RunID != "earlier" {
		t.Errorf("%s (ran since its previous slot) results = %+v, want only the earlier one", recent, r)
	}
}
