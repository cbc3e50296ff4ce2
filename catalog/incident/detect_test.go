package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/incident"
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
	finance = catalog.Owner{Name: "finance", Kind: catalog.OwnerTeam}
	alice   = catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
)

// warehouse is the Postgres crawl: orders with the columns given, and
// revenue owned by finance.
func warehouse(ordersColumns ...catalog.Column) catalog.Harvest {
	return catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: orders, Platform: "postgres", Kind: catalog.KindTable, Columns: ordersColumns},
		{Key: revenue, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{finance},
			Columns: []catalog.Column{{Name: "day", Ordinal: 1, Type: "date"}, {Name: "total", Ordinal: 2, Type: "numeric"}}},
	}}
}

var (
	id     = catalog.Column{Name: "id", Ordinal: 1, Type: "bigint"}
	amount = catalog.Column{Name: "amount", Ordinal: 2, Type: "numeric"}
	status = catalog.Column{Name: "status", Ordinal: 3, Type: "text"}
)

// dbt is the dbt crawl: the job writing revenue from orders (total from
// amount), two checks on orders, and the results and runs given.
func dbt(results []catalog.QualityResult, runs ...catalog.Run) catalog.Harvest {
	return catalog.Harvest{
		Jobs: []catalog.JobFacts{{Key: job, Type: catalog.JobDBTModel, Inputs: []catalog.Key{orders}, Outputs: []catalog.Key{revenue}}},
		Checks: []catalog.QualityCheck{
			{Dataset: orders, Column: "id", Name: "test.not_null_orders_id", Type: "not_null", Severity: "ERROR"},
			{Dataset: orders, Name: "test.orders_rowcount", Type: "custom", Severity: "warn"},
		},
		ColumnLineage: []catalog.ColumnLineage{{Output: revenue, Column: "total", Input: orders, InputColumn: "amount", Type: "DIRECT", Subtype: "AGGREGATION"}},
		Results:       results,
		Runs:          runs,
	}
}

func result(check, st string, at time.Time) catalog.QualityResult {
	return catalog.QualityResult{Check: check, Dataset: orders, Status: st, StartedAt: at, RunID: "inv-" + at.Format("150405.000")}
}

func run(id string, state catalog.RunState, at time.Time) catalog.Run {
	return catalog.Run{ID: id, Job: job, State: state, StateAt: at, ErrorMessage: map[bool]string{true: "relation does not exist"}[state == catalog.RunFail]}
}

type fixture struct {
	t   *testing.T
	st  *store.Store
	det *incident.Detector
	// eval, when set, stores SLO reports after each crawl, before the
	// detector catches up, as serve's evaluator does.
	eval *sloreport.Evaluator
}

func newFixture(t *testing.T, min catalog.Severity) *fixture {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	// Downstream of orders is revenue, whose owners are read when an
	// incident opens (cmd/almanac passes the lineage graph's).
	impact := func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ImpactedDataset, error) {
		owners, err := st.DatasetOwners(ctx, []catalog.Key{revenue})
		out := map[catalog.Key][]catalog.ImpactedDataset{}
		for _, k := range keys {
			if k == orders {
				out[k] = []catalog.ImpactedDataset{{Dataset: revenue, Distance: 1, Owners: owners[revenue]}}
			}
		}
		return out, err
	}
	return &fixture{t: t, st: st, det: incident.New(st, incident.Config{MinCheckSeverity: min, Impact: impact})}
}

func (f *fixture) crawl(source string, h catalog.Harvest) {
	f.t.Helper()
	run, err := f.st.Crawl(context.Background(), source, func(context.Context) (catalog.Harvest, error) { return h, nil })
	if err != nil {
		f.t.Fatal(err)
	}
	if len(run.Errors) > 0 {
		f.t.Fatalf("crawl %s: %v", source, run.Errors)
	}
	if f.eval != nil {
		if err := f.eval.CatchUp(context.Background()); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.det.CatchUp(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// incidents lists every incident as "state cause key on dataset",
// newest first.
func (f *fixture) incidents() []string {
	f.t.Helper()
	all, err := f.st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, i := range all {
		out = append(out, i.State()+" "+string(i.Cause)+" "+i.CauseKey+" on "+i.Dataset.Name)
	}
	return out
}

func (f *fixture) want(step string, want ...string) {
	f.t.Helper()
	if diff := cmp.Diff(want, f.incidents()); diff != "" {
		f.t.Fatalf("%s: incidents (-want +got):\n%s", step, diff)
	}
}

// TestDetectLifecycle runs a fixed series of crawls through the
// detector: failures open incidents (once however often they are seen),
// passes and successful runs resolve them, a later failure opens a new
// one, and one that a person resolved is not reopened by the evidence it
// was opened for.
func TestDetectLifecycle(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, catalog.SeverityError)
	// A detector that never ran starts at the beginning of the log.
	if err := f.det.Load(ctx); err != nil || f.det.Seq() != 0 {
		t.Fatalf("first load: seq %d, %v", f.det.Seq(), err)
	}
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	f.crawl("postgres:wh", warehouse(id, amount, status))

	// The not-null check fails; the row-count check (severity warn) warns
	// and stays below the threshold; the job's run fails.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{
		result("test.not_null_orders_id", catalog.QualityFail, at(1)),
		result("test.orders_rowcount", catalog.QualityWarn, at(1)),
	}, run("r1", catalog.RunFail, at(1))))
	f.want("failures",
		"open check_failed test.not_null_orders_id on shop.public.orders",
		"open run_failed dbt/model.shop.revenue on shop.mart.revenue")
	open, err := f.st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{orders}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.ImpactedDataset{{Dataset: revenue, Distance: 1, Owners: []catalog.Owner{finance}}}, open[0].Impact); diff != "" {
		t.Errorf("impact at opening (-want +got):\n%s", diff)
	}
	if !strings.Contains(open[0].Title, "not_null on id") || open[0].Severity != catalog.SeverityError {
		t.Errorf("incident: %q severity %s", open[0].Title, open[0].Severity)
	}

	// The same failures again, and a new failing result of the same
	// check: still one incident per cause.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityFail, at(2))}, run("r2", catalog.RunFail, at(2))))
	if err := f.det.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f.want("same causes again",
		"open check_failed test.not_null_orders_id on shop.public.orders",
		"open run_failed dbt/model.shop.revenue on shop.mart.revenue")
	// ...which learn of the newer evidence.
	if again, _ := f.st.Incident(ctx, open[0].ID); !again.LastSeenAt.Equal(at(2)) || !again.OpenedAt.Equal(open[0].OpenedAt) {
		t.Errorf("after newer evidence: last seen %v (want %v), opened %v (want %v)", again.LastSeenAt, at(2), again.OpenedAt, open[0].OpenedAt)
	}

	// The check passes and the next run completes: both resolve.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityPass, at(3))}, run("r3", catalog.RunComplete, at(3))))
	f.want("healthy",
		"resolved check_failed test.not_null_orders_id on shop.public.orders",
		"resolved run_failed dbt/model.shop.revenue on shop.mart.revenue")
	resolved, _ := f.st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{orders}})
	if r := resolved[0]; r.ResolvedBy != catalog.ActorAlmanac || !strings.Contains(r.Resolution, "passes again") {
		t.Errorf("auto-resolution by %q: %q", r.ResolvedBy, r.Resolution)
	}

	// It fails again later: a new incident, which a person acknowledges
	// and resolves with a note while the check still fails.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityFail, at(4))}))
	f.want("fails again",
		"open check_failed test.not_null_orders_id on shop.public.orders",
		"resolved check_failed test.not_null_orders_id on shop.public.orders",
		"resolved run_failed dbt/model.shop.revenue on shop.mart.revenue")
	latest, _ := f.st.Incidents(ctx, store.IncidentFilter{Limit: 1})
	if _, err := f.st.AcknowledgeIncident(ctx, alice, latest[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ResolveIncident(ctx, alice, latest[0].ID, "known nulls from the legacy import, accepted"); err != nil {
		t.Fatal(err)
	}
	// Another quality change on orders re-reads the same failing result:
	// the person's resolution stands.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.orders_rowcount", catalog.QualityPass, at(5))}))
	f.want("after a manual resolution",
		"resolved check_failed test.not_null_orders_id on shop.public.orders",
		"resolved check_failed test.not_null_orders_id on shop.public.orders",
		"resolved run_failed dbt/model.shop.revenue on shop.mart.revenue")
	got, _ := f.st.Incident(ctx, latest[0].ID)
	if got.ResolvedBy != "alice@corp" || got.Resolution != "known nulls from the legacy import, accepted" || got.AcknowledgedBy != "alice@corp" {
		t.Errorf("manual resolution: %+v", got)
	}

	// A restarted detector goes on from where it stopped.
	restarted := incident.New(f.st, incident.Config{})
	if err := restarted.Load(ctx); err != nil || restarted.Seq() != f.det.Seq() || f.det.Seq() == 0 {
		t.Errorf("restarted at %d (%v), want %d", restarted.Seq(), err, f.det.Seq())
	}
	// A detector that reads the whole log again (another replica, a lost
	// position) opens nothing.
	again := incident.New(f.st, incident.Config{})
	if err := again.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.incidents()); n != 3 {
		t.Errorf("after reading the log again: %d incidents, want 3", n)
	}
}

// TestDetectWarnThreshold: with min_check_severity warn, a warning check
// opens an incident of severity warn.
func TestDetectWarnThreshold(t *testing.T) {
	f := newFixture(t, catalog.SeverityWarn)
	at := time.Now().Add(-time.Minute)
	f.crawl("postgres:wh", warehouse(id, amount))
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.orders_rowcount", catalog.QualityWarn, at)}))
	f.want("warning", "open check_failed test.orders_rowcount on shop.public.orders")
	all, _ := f.st.Incidents(context.Background(), store.IncidentFilter{})
	if all[0].Severity != catalog.SeverityWarn {
		t.Errorf("severity %s, want warn", all[0].Severity)
	}
}

// TestDetectBreakingSchemaChange: retyping a column that revenue reads
// by column lineage opens an incident naming the reader; removing one
// that nothing reads opens none.
func TestDetectBreakingSchemaChange(t *testing.T) {
	f := newFixture(t, catalog.SeverityError)
	f.crawl("postgres:wh", warehouse(id, amount, status))
	f.crawl("dbt:shop", dbt(nil))
	f.want("before")
	retyped := amount
	retyped.Type = "text"
	f.crawl("postgres:wh", warehouse(id, retyped))
	f.want("amount retyped, status removed", "open schema_breaking amount on shop.public.orders")
	all, _ := f.st.Incidents(context.Background(), store.IncidentFilter{})
	inc := all[0]
	if !strings.Contains(inc.Title, "retyped from numeric to text") || !strings.Contains(inc.Detail, "shop.mart.revenue.total reads it") {
		t.Errorf("incident: %q / %q", inc.Title, inc.Detail)
	}
	if diff := cmp.Diff([]catalog.ImpactedDataset{{Dataset: revenue, Distance: 1, Owners: []catalog.Owner{finance}}}, inc.Impact); diff != "" {
		t.Errorf("impact (-want +got):\n%s", diff)
	}
	// Crawling the same schema again changes nothing.
	f.crawl("postgres:wh", warehouse(id, retyped))
	f.want("same schema again", "open schema_breaking amount on shop.public.orders")
}

// TestDetectFirstStartSkipsOldSchemaChanges: a detector starting on a
// catalog for the first time reads the whole log, but a breaking change
// recorded long ago is history, not an incident; a failing check is one.
func TestDetectFirstStartSkipsOldSchemaChanges(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl := func(source string, h catalog.Harvest) {
		t.Helper()
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
	}
	crawl("postgres:wh", warehouse(id, amount, status))
	crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityFail, time.Now().Add(-time.Hour))}))
	crawl("postgres:wh", warehouse(id, status)) // amount, which revenue reads, removed...
	if _, err := pool.Exec(ctx, `UPDATE schema_versions SET recorded_at = recorded_at - interval '30 days'`); err != nil {
		t.Fatal(err)
	}
	// ...a month ago.
	det := incident.New(st, incident.Config{})
	if err := det.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := det.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, det: det}
	f.want("first start", "open check_failed test.not_null_orders_id on shop.public.orders")
}

// TestDetectSLOBreach checks that a breached SLO opens an incident on its
// dataset once, and that the SLO met again resolves it: a quality SLO
// promising that half the row-count check's results pass, a check whose
// own failures (severity warn) stay below the incident threshold.
func TestDetectSLOBreach(t *testing.T) {
	f := newFixture(t, catalog.SeverityError)
	q := slo.SLO{Name: "rowcount_passes", Dataset: orders, Source: "config", Origin: "almanac.yaml:1",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.5, Window: 7 * 24 * time.Hour}, Checks: []string{"test.orders_rowcount"}}
	f.eval = sloreport.New(f.st, sloreport.Config{SLOs: []slo.SLO{q}})
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	f.crawl("postgres:wh", warehouse(id, amount, status))

	// The status judged is the one stored, which team pages add up.
	status := func(step, want string) {
		t.Helper()
		var got string
		if err := f.st.Pool().QueryRow(context.Background(), `SELECT r.status FROM slo_reports r JOIN datasets d ON d.id = r.dataset_id
			WHERE d.namespace = $1 AND d.name = $2 AND r.source = 'config' AND r.name = 'rowcount_passes'`,
			orders.Namespace, orders.Name).Scan(&got); err != nil || got != want {
			t.Errorf("%s: stored status %q, %v; want %q", step, got, err, want)
		}
	}

	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.orders_rowcount", catalog.QualityFail, at(1))}))
	f.want("breached", "open slo_breach config:rowcount_passes on shop.public.orders")
	status("breached", "breached")
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.orders_rowcount", catalog.QualityFail, at(2))}))
	f.want("still breached: one incident", "open slo_breach config:rowcount_passes on shop.public.orders")

	f.crawl("dbt:shop", dbt([]catalog.QualityResult{
		result("test.orders_rowcount", catalog.QualityPass, at(3)),
		result("test.orders_rowcount", catalog.QualityPass, at(4)),
	}))
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.orders_rowcount", catalog.QualityPass, at(5))}))
	f.want("met again", "resolved slo_breach config:rowcount_passes on shop.public.orders")
	status("met again", "at_risk") // 3 of 5 passed against an objective of half: little budget left
}

// TestDetectLateRun: a completed run that took well over its job's usual
// time opens a run_late incident (a warning) on the job's outputs, once,
// and the next run within its usual time resolves it; a job with too few
// runs to know its usual time is not judged.
func TestDetectLateRun(t *testing.T) {
	f := newFixture(t, catalog.SeverityError)
	f.crawl("postgres:wh", warehouse(id, amount))
	t0 := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	took := func(id string, start time.Time, d time.Duration) catalog.Run {
		end := start.Add(d)
		return catalog.Run{ID: id, Job: job, State: catalog.RunComplete, StateAt: end, StartedAt: &start, EndedAt: &end}
	}
	// A usual run and a long one: too few to judge.
	f.crawl("dbt:shop", dbt(nil, took("r1", t0, 10*time.Minute)))
	f.crawl("dbt:shop", dbt(nil, took("r2", t0.Add(time.Hour), 40*time.Minute)))
	f.want("two runs, one long: not judged")

	f.crawl("dbt:shop", dbt(nil, took("r3", t0.Add(2*time.Hour), 10*time.Minute), took("r4", t0.Add(3*time.Hour), 10*time.Minute)))
	f.want("usual runs")
	f.crawl("dbt:shop", dbt(nil, took("r5", t0.Add(4*time.Hour), 45*time.Minute)))
	f.want("a run taking 45 minutes against a usual 10", "open run_late dbt/model.shop.revenue on shop.mart.revenue")
	all, err := f.st.Incidents(context.Background(), store.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Severity != catalog.SeverityWarn || !strings.Contains(all[0].Title, "took 45m0s") {
		t.Errorf("late incident = %s %q, want a warning naming the time it took", all[0].Severity, all[0].Title)
	}
	f.crawl("dbt:shop", dbt(nil))
	f.want("nothing new: still one incident", "open run_late dbt/model.shop.revenue on shop.mart.revenue")

	f.crawl("dbt:shop", dbt(nil, took("r6", t0.Add(5*time.Hour), 11*time.Minute)))
	f.want("the next run within its usual time", "resolved run_late dbt/model.shop.revenue on shop.mart.revenue")
}

// TestDetectJudgesStoredReports: the detector judges the SLO reports the
// evaluator stored, whatever made them (here time alone, no change in
// the log), and evaluates nothing itself: a breached report stored for
// a dataset with no observations at all opens an incident, a report met
// again resolves it, and reading the same evaluation again changes
// nothing.
func TestDetectJudgesStoredReports(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, catalog.SeverityError)
	f.crawl("postgres:wh", warehouse(id, amount, status))
	fresh := slo.SLO{Name: "orders fresh", Dataset: orders, Source: "config", Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.99, Window: 7 * 24 * time.Hour, MaxAge: time.Hour}}
	save := func(at time.Time, st slo.Status) {
		t.Helper()
		if err := f.st.SaveEvaluations(ctx, f.det.Seq(), nil, map[catalog.Key]store.Evaluation{orders: {EvaluatedAt: at,
			SLOs: []store.SLOReport{{SLO: fresh, EvaluatedAt: at, Report: slo.Report{Status: st, Summary: "stored " + string(st)}}}}}); err != nil {
			t.Fatal(err)
		}
		if err := f.det.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Truncate(time.Millisecond)
	save(now.Add(-2*time.Minute), slo.StatusBreached)
	f.want("breached as stored", "open slo_breach config:orders fresh on shop.public.orders")
	// Evaluating would find no data: the detector did not.
	if err := f.det.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f.want("read again", "open slo_breach config:orders fresh on shop.public.orders")
	save(now.Add(-time.Minute), slo.StatusOK)
	f.want("met again as stored", "resolved slo_breach config:orders fresh on shop.public.orders")
	// Another replica's evaluation, made before the last one judged but
	// stored after it, is judged all the same.
	late := slo.SLO{Name: "revenue fresh", Dataset: revenue, Source: "config", Spec: fresh.Spec}
	if err := f.st.SaveEvaluations(ctx, f.det.Seq(), nil, map[catalog.Key]store.Evaluation{revenue: {EvaluatedAt: now.Add(-90 * time.Second),
		SLOs: []store.SLOReport{{SLO: late, EvaluatedAt: now.Add(-90 * time.Second), Report: slo.Report{Status: slo.StatusBreached}}}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.det.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	f.want("stored late", "open slo_breach config:revenue fresh on shop.mart.revenue", "resolved slo_breach config:orders fresh on shop.public.orders")
	inc, err := f.st.Incidents(ctx, store.IncidentFilter{Datasets: []catalog.Key{orders}})
	if err != nil || len(inc) != 1 || inc[0].Detail != "stored breached" {
		t.Errorf("incidents %+v, %v; want one with the stored report's summary", inc, err)
	}
}

// TestDetectAfterRestore: a detector left running while its catalog is
// restored from a backup underneath it (or fails over to a standby that
// lagged) goes on from the restored catalog's position, and judges what
// the restored log records under sequences it had applied already.
func TestDetectAfterRestore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, catalog.SeverityError)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	f.crawl("postgres:wh", warehouse(id, amount, status))
	f.crawl("dbt:shop", dbt(nil))
	backup, err := f.st.LastChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	position, err := f.st.IncidentDetectorSeq(ctx)
	if err != nil || position != backup {
		t.Fatalf("detector position %d %v, want %d", position, err, backup)
	}
	// The original catalog goes on: checks that pass, runs that complete.
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityPass, at)}, run(fmt.Sprintf("r%d", i), catalog.RunComplete, at)))
	}
	applied := f.det.Seq()

	// Restored: the log, its sequence and the detector's position as they
	// were at the backup.
	pgtest.RestoreChangeLog(t, f.st.Pool(), backup, "incident_detector")
	// The restored catalog's own failing check, logged under sequences
	// the detector applied on the original.
	f.crawl("dbt:shop", dbt([]catalog.QualityResult{result("test.not_null_orders_id", catalog.QualityFail, t0.Add(10*time.Minute))}))
	if last, err := f.st.LastChangeSeq(ctx); err != nil || last > applied {
		t.Fatalf("the restored catalog's changes end at %d (%v), past %d the detector applied: the test needs more changes on the original", last, err, applied)
	}
	f.want("after the restore", "open check_failed test.not_null_orders_id on shop.public.orders")
	if last, _ := f.st.LastChangeSeq(ctx); f.det.Seq() != last {
		t.Errorf("detector at %d, want the restored log's end %d", f.det.Seq(), last)
	}
}
