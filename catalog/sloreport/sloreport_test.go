package sloreport_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/sloreport"
	"almanac/catalog/store"
)

const wh = "postgres://wh:5432"

var (
	orders  = catalog.Key{Namespace: wh, Name: "shop.public.orders"}
	revenue = catalog.Key{Namespace: wh, Name: "shop.mart.revenue"}
	job     = catalog.JobKey{Namespace: "dbt", Name: "model.shop.revenue"}
)

// clock is a settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

type fixture struct {
	t        *testing.T
	st       *store.Store
	clock    *clock
	declared []slo.SLO
	ev       *sloreport.Evaluator
}

func newFixture(t *testing.T, now time.Time) *fixture {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	c := &clock{now}
	declared := []slo.SLO{
		{Name: "checks pass", Dataset: orders, Source: "config", Origin: "almanac.yaml:3",
			Spec: slo.Spec{Kind: slo.Quality, Objective: 0.9, Window: 10 * 24 * time.Hour}},
		{Name: "runs succeed", Dataset: revenue, Source: "config", Origin: "almanac.yaml:9",
			Spec: slo.Spec{Kind: slo.Pipeline, Objective: 0.9, Window: 10 * 24 * time.Hour}},
	}
	f := &fixture{t: t, st: st, clock: c, declared: declared,
		ev: sloreport.New(st, sloreport.Config{SLOs: declared, Now: c.Now})}
	if _, err := st.Crawl(context.Background(), "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{
			{Key: orders, Platform: "postgres", Kind: catalog.KindTable},
			{Key: revenue, Platform: "postgres", Kind: catalog.KindTable},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// results pushes one result a day of check "a" on orders for the days
// given (days before now), failing or passing.
func (f *fixture) results(status string, days ...int) {
	f.t.Helper()
	p := catalog.Push{Source: "sql:x"}
	for _, d := range days {
		at := f.clock.now.Add(-time.Duration(d)*24*time.Hour - time.Hour)
		p.Results = append(p.Results, catalog.QualityResult{Check: "a", Dataset: orders, Status: status, StartedAt: at,
			RunID: fmt.Sprint(status, at.Unix())})
	}
	if err := f.st.ApplyPush(context.Background(), p); err != nil {
		f.t.Fatal(err)
	}
}

// read reads the evaluation of key as a page does, at the clock's time.
func (f *fixture) read(key catalog.Key, declared []slo.SLO) store.Evaluation {
	f.t.Helper()
	evals, err := f.st.Evaluations(context.Background(), []catalog.Key{key}, declared, f.clock.now)
	if err != nil {
		f.t.Fatal(err)
	}
	return evals[key]
}

func (f *fixture) catchUp() {
	f.t.Helper()
	if err := f.ev.CatchUp(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// check says what a read shows: whether it was stored and the first
// SLO's status and attainment.
func (f *fixture) check(step string, e store.Evaluation, stored bool, status slo.Status, attainment float64) {
	f.t.Helper()
	if e.Stored != stored {
		f.t.Errorf("%s: stored = %v, want %v", step, e.Stored, stored)
	}
	if len(e.SLOs) != 1 {
		f.t.Fatalf("%s: %d SLO reports, want 1: %+v", step, len(e.SLOs), e.SLOs)
	}
	r := e.SLOs[0]
	if r.Err != nil || r.Report.Status != status || fmt.Sprintf("%.4f", r.Report.Attainment) != fmt.Sprintf("%.4f", attainment) {
		f.t.Errorf("%s: status %s, attainment %.4f, err %v; want %s, %.4f", step, r.Report.Status, r.Report.Attainment, r.Err, status, attainment)
	}
}

// TestEvaluationsStayCurrent follows one dataset's quality SLO through
// the evaluator: stored after a catch-up; not used once a new result is
// recorded (the read evaluates, and shows the new result) until the
// evaluator catches up; not used once older than MaxEvaluationAge, nor by
// a reader whose configuration declares other SLOs.
func TestEvaluationsStayCurrent(t *testing.T) {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	f.results(catalog.QualityPass, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)

	f.check("before any evaluation", f.read(orders, f.declared), false, slo.StatusOK, 1)
	f.catchUp()
	e := f.read(orders, f.declared)
	f.check("after catching up", e, true, slo.StatusOK, 1)
	if !e.EvaluatedAt.Equal(now) {
		t.Errorf("evaluated at %s, want %s", e.EvaluatedAt, now)
	}

	// Two failing results: 10 of 12 pass, under the objective of 90 %.
	f.results(catalog.QualityFail, 0, 1)
	f.check("a new result, before the evaluator", f.read(orders, f.declared), false, slo.StatusBreached, 10.0/12)
	f.catchUp()
	f.check("a new result, after the evaluator", f.read(orders, f.declared), true, slo.StatusBreached, 10.0/12)

	// Another dataset's change leaves it current.
	if err := f.st.ApplyPush(context.Background(), catalog.Push{Source: "sql:x", Results: []catalog.QualityResult{
		{Check: "r", Dataset: revenue, Status: catalog.QualityPass, StartedAt: now, RunID: "r1"}}}); err != nil {
		t.Fatal(err)
	}
	f.check("another dataset's change", f.read(orders, f.declared), true, slo.StatusBreached, 10.0/12)

	// A reader configured otherwise evaluates itself.
	other := []slo.SLO{f.declared[0]}
	other[0].Spec.Objective = 0.8
	f.check("other configuration", f.read(orders, other), false, slo.StatusAtRisk, 10.0/12)

	// Time alone: a day later the window holds the same results, but the
	// stored evaluation is too old to use until the evaluator refreshes it.
	f.clock.now = now.Add(store.MaxEvaluationAge)
	f.check("too old", f.read(orders, f.declared), false, slo.StatusBreached, 10.0/12)
	f.catchUp()
	e = f.read(orders, f.declared)
	f.check("refreshed", e, true, slo.StatusBreached, 10.0/12)
	if !e.EvaluatedAt.Equal(f.clock.now) {
		t.Errorf("refreshed at %s, want %s", e.EvaluatedAt, f.clock.now)
	}
}

// TestEvaluationsFollowRuns: a run of a job writing a dataset makes the
// dataset's stored evaluation stale, and the evaluator evaluates the
// job's outputs again.
func TestEvaluationsFollowRuns(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	run := func(id string, state catalog.RunState, at time.Time) {
		t.Helper()
		start, end := at.Add(-10*time.Minute), at
		if _, err := f.st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{
				Jobs: []catalog.JobFacts{{Key: job, Type: catalog.JobDBTModel, Inputs: []catalog.Key{orders}, Outputs: []catalog.Key{revenue}}},
				Runs: []catalog.Run{{ID: id, Job: job, State: state, StartedAt: &start, EndedAt: &end, StateAt: end}},
			}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	run("r1", catalog.RunComplete, now.Add(-2*time.Hour))
	f.catchUp()
	f.check("a successful run", f.read(revenue, f.declared), true, slo.StatusOK, 1)
	run("r2", catalog.RunFail, now.Add(-time.Hour))
	f.check("a failed run, before the evaluator", f.read(revenue, f.declared), false, slo.StatusBreached, 0.5)
	f.catchUp()
	f.check("a failed run, after the evaluator", f.read(revenue, f.declared), true, slo.StatusBreached, 0.5)
}

// TestSLOHistory: each evaluation records its day's report of each SLO;
// a later evaluation on the same day replaces it.
func TestSLOHistory(t *testing.T) {
	ctx := context.Background()
	day0 := time.Date(2025, 6, 8, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, day0)
	f.results(catalog.QualityPass, 0, 1, 2, 3)
	f.catchUp()
	f.clock.now = day0.Add(24 * time.Hour)
	f.results(catalog.QualityFail, 0)
	f.catchUp()
	f.clock.now = day0.Add(26 * time.Hour)
	f.results(catalog.QualityPass, 0)
	f.catchUp()

	page := store.SLOHistoryPage{Dataset: orders, Source: "config", Name: "checks pass", Since: day0.Add(-48 * time.Hour)}
	hist, err := f.st.SLOHistories(ctx, []store.SLOHistoryPage{page})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range hist[page] {
		got = append(got, fmt.Sprintf("%s %s %.4f %g/%g at %s", d.Day.Format(time.DateOnly), d.Status, *d.Attainment, d.Good, d.Total,
			d.EvaluatedAt.UTC().Format("15:04")))
	}
	want := []string{
		"2025-06-08 ok 1.0000 4/4 at 12:00",
		"2025-06-09 breached 0.8333 5/6 at 14:00",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history:\n got %q\nwant %q", got, want)
	}

	// The quality retention prunes it.
	if _, err := f.st.PruneQuality(ctx, day0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	hist, err = f.st.SLOHistories(ctx, []store.SLOHistoryPage{page})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist[page]) != 1 {
		t.Errorf("after pruning, %d days, want 1", len(hist[page]))
	}
}

// TestOneReplicaEvaluates: replicas on one database evaluate one at a
// time. While another holds the evaluator's lock, a catch-up does
// nothing; the replica that evaluates next starts where the last one
// stopped, rather than evaluating again what its own position says it
// has not.
func TestOneReplicaEvaluates(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	bClock := &clock{now.Add(time.Minute)}
	b := sloreport.New(f.st, sloreport.Config{SLOs: f.declared, Now: bClock.Now})
	f.catchUp() // f's first catch-up, which evaluates the configuration's datasets
	f.results(catalog.QualityPass, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)

	release, ok, err := f.st.LockSLOEvaluator(ctx)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	released := false
	t.Cleanup(func() {
		if !released {
			release()
		}
	})
	f.catchUp()
	if e := f.read(orders, f.declared); e.Stored {
		t.Fatalf("a replica evaluated while another held the lock: %+v", e)
	}
	if seq, err := f.st.SLOEvaluatorSeq(ctx); err != nil || seq != f.ev.Seq() {
		t.Fatalf("evaluator position %d %v, want f's %d", seq, err, f.ev.Seq())
	}
	release()
	released = true

	// Replica b evaluates, then f catches up: f starts at b's position, so
	// the stored evaluation is still b's.
	if err := b.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.now = now.Add(2 * time.Minute)
	f.catchUp()
	e := f.read(orders, f.declared)
	f.check("evaluated by b", e, true, slo.StatusOK, 1)
	if !e.EvaluatedAt.Equal(bClock.now) {
		t.Errorf("evaluated at %s, want b's %s: f evaluated again what b had", e.EvaluatedAt, bClock.now)
	}
	if f.ev.Seq() != b.Seq() || b.Seq() == 0 {
		t.Errorf("positions: f %d, b %d; want equal and past 0", f.ev.Seq(), b.Seq())
	}

	// A new result: f, holding the lock now, evaluates it.
	f.results(catalog.QualityFail, 0, 1)
	f.catchUp()
	e = f.read(orders, f.declared)
	f.check("evaluated by f", e, true, slo.StatusBreached, 10.0/12)
	if !e.EvaluatedAt.Equal(f.clock.now) {
		t.Errorf("evaluated at %s, want f's %s", e.EvaluatedAt, f.clock.now)
	}
}

// TestEvaluatorAfterRestore: an evaluator left running while its catalog
// is restored from a backup underneath it (or fails over to a standby
// that lagged) goes on from the restored catalog's position, and
// evaluates what the restored log records under sequences it had applied
// already.
func TestEvaluatorAfterRestore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, now)
	f.results(catalog.QualityPass, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	f.catchUp()
	backup, err := f.st.LastChangeSeq(ctx)
	if err != nil || f.ev.Seq() != backup {
		t.Fatalf("evaluator at %d, log at %d (%v)", f.ev.Seq(), backup, err)
	}
	// The original catalog goes on: results of another dataset.
	for i := range 5 {
		if err := f.st.ApplyPush(ctx, catalog.Push{Source: "sql:x", Results: []catalog.QualityResult{
			{Check: "r", Dataset: revenue, Status: catalog.QualityPass, StartedAt: now.Add(-time.Duration(i) * time.Hour), RunID: fmt.Sprint("r", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	f.catchUp()
	applied := f.ev.Seq()

	// Restored: the log, its sequence and the evaluator's position as they
	// were at the backup.
	pgtest.RestoreChangeLog(t, f.st.Pool(), backup, "slo_evaluator")
	// The restored catalog's own failing results, logged under sequences
	// the evaluator applied on the original.
	f.results(catalog.QualityFail, 0, 1)
	if last, err := f.st.LastChangeSeq(ctx); err != nil || last > applied {
		t.Fatalf("the restored catalog's changes end at %d (%v), past %d the evaluator applied: the test needs more changes on the original", last, err, applied)
	}
	f.catchUp()
	f.check("after the restore", f.read(orders, f.declared), true, slo.StatusBreached, 10.0/12)
	if last, _ := f.st.LastChangeSeq(ctx); f.ev.Seq() != last {
		t.Errorf("evaluator at %d, want the restored log's end %d", f.ev.Seq(), last)
	}
}
