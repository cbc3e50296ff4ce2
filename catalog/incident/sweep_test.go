package incident_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/incident"
	"almanac/catalog/store"
)

// clock is a fixed clock that a test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sweep sweeps with det and fails unless it swept as want says.
func (f *fixture) sweep(step string, det *incident.Detector, want bool) {
	f.t.Helper()
	swept, err := det.Sweep(context.Background())
	if err != nil {
		f.t.Fatalf("%s: sweep: %v", step, err)
	}
	if swept != want {
		f.t.Fatalf("%s: swept = %v, want %v", step, swept, want)
	}
}

// TestSweepRunningLate: a run that is still running opens no incident
// while within its job's usual time; once past it, the sweep alone opens
// a run_late incident, once however many sweeps and detectors see it;
// one sweep per interval across detectors; the run completing late keeps
// that one incident, and the next run within its usual time resolves it.
func TestSweepRunningLate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, catalog.SeverityError)
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	c := &clock{now: t0}
	const every = time.Minute
	f.det = incident.New(f.st, incident.Config{Now: c.Now, SweepEvery: every})
	other := incident.New(f.st, incident.Config{Now: c.Now, SweepEvery: every})

	f.crawl("postgres:wh", warehouse(id, amount))
	took := func(id string, start time.Time, d time.Duration) catalog.Run {
		end := start.Add(d)
		return catalog.Run{ID: id, Job: job, State: catalog.RunComplete, StateAt: end, StartedAt: &start, EndedAt: &end}
	}
	// Three usual runs of 10 minutes: the late threshold is 15 minutes.
	f.crawl("dbt:shop", dbt(nil, took("r1", t0, 10*time.Minute), took("r2", t0.Add(time.Hour), 10*time.Minute),
		took("r3", t0.Add(2*time.Hour), 10*time.Minute)))
	start := t0.Add(3 * time.Hour)
	f.crawl("dbt:shop", dbt(nil, catalog.Run{ID: "r4", Job: job, State: catalog.RunRunning, StateAt: start, StartedAt: &start}))

	c.now = start.Add(14 * time.Minute)
	f.sweep("within its usual time", f.det, true)
	f.want("running 14 minutes: not late")
	f.sweep("again within the interval", f.det, false)
	f.sweep("another detector within the interval", other, false)

	c.add(every) // 15 minutes: at the threshold, not over it
	f.sweep("at the threshold", other, true)
	f.want("running 15 minutes: not late")

	c.add(every)
	f.sweep("past the threshold", f.det, true)
	f.want("running 16 minutes: late", "open run_late dbt/model.shop.revenue on shop.mart.revenue")
	all, err := f.st.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := all[0].Title; !strings.Contains(got, "run r4") || !strings.Contains(got, "has been running for 16m0s") {
		t.Errorf("title %q, want the run and how long it has been running", got)
	}
	if !all[0].OpenedAt.Equal(c.Now()) {
		t.Errorf("opened at %s, want the detector's clock %s", all[0].OpenedAt, c.Now())
	}

	// Later sweeps, by either detector and both at once, see the same
	// evidence: nothing new.
	for i := range 3 {
		c.add(every)
		det := f.det
		if i%2 == 1 {
			det = other
		}
		f.sweep("later sweep", det, true)
	}
	c.add(every)
	var wg sync.WaitGroup
	swept := make([]bool, 2)
	for i, det := range []*incident.Detector{f.det, other} {
		wg.Go(func() {
			ok, err := det.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			swept[i] = ok
		})
	}
	wg.Wait()
	if swept[0] == swept[1] {
		t.Errorf("two detectors sweeping at once: swept %v, want exactly one", swept)
	}
	f.want("still one incident", "open run_late dbt/model.shop.revenue on shop.mart.revenue")
	events, err := f.st.IncidentEvents(ctx, all[0].ID)
	if err != nil || len(events) != 1 {
		t.Errorf("timeline %v, %v; want only its opening", events, err)
	}

	// The run completes, late: the same incident, seen again.
	f.crawl("dbt:shop", dbt(nil, took("r4", start, 40*time.Minute)))
	c.now = start.Add(time.Hour)
	f.sweep("after the run completed", f.det, true)
	f.want("completed late: the same incident", "open run_late dbt/model.shop.revenue on shop.mart.revenue")
	f.crawl("dbt:shop", dbt(nil, took("r5", t0.Add(5*time.Hour), 11*time.Minute)))
	f.want("the next run within its usual time", "resolved run_late dbt/model.shop.revenue on shop.mart.revenue")

	// A run running late whose incident a person resolved is not
	// reopened by later sweeps; the next late run is news.
	start6 := t0.Add(6 * time.Hour)
	f.crawl("dbt:shop", dbt(nil, catalog.Run{ID: "r6", Job: job, State: catalog.RunStart, StateAt: start6, StartedAt: &start6}))
	c.now = start6.Add(20 * time.Minute)
	f.sweep("r6 late", f.det, true)
	f.want("r6 late", "open run_late dbt/model.shop.revenue on shop.mart.revenue", "resolved run_late dbt/model.shop.revenue on shop.mart.revenue")
	all, err = f.st.Incidents(ctx, store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ResolveIncident(ctx, alice, all[0].ID, "known: a backfill"); err != nil {
		t.Fatal(err)
	}
	c.add(every)
	f.sweep("after a person resolved it", f.det, true)
	f.want("not reopened", "resolved run_late dbt/model.shop.revenue on shop.mart.revenue", "resolved run_late dbt/model.shop.revenue on shop.mart.revenue")
}
