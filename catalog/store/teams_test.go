package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// teamDay is the first day of the fixed team catalog's trend window.
var teamDay = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// teamCatalog is a fixed catalog of two teams. payments owns a
// (described, one of two columns described), b (undescribed, three
// undescribed columns, untouched since January) and c (described, its one
// column described; growth owns it too), and owned d, which is removed.
// a has SLOs ok and breached, b one without data, c one at risk; a has an
// open and a resolved incident, b an open one. a's row count was 100 (1000
// bytes) before the window and 150 on its third day; c's 10 on its second.
// Check results: a pass and a fail on the first day, an error on c on the
// third.
func teamCatalog(t *testing.T) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	st, pool := newStore(t)
	payments := catalog.Owner{Name: "payments", Kind: catalog.OwnerTeam}
	growth := catalog.Owner{Name: "growth", Kind: catalog.OwnerTeam}
	ds := []catalog.DatasetFacts{
		{Key: key("shop.pay.a"), Description: "A.", Owners: []catalog.Owner{payments, {Name: "ada@corp", Kind: catalog.OwnerUser}},
			Columns: []catalog.Column{{Name: "id", Description: "Key."}, {Name: "amount"}}},
		{Key: key("shop.pay.b"), Owners: []catalog.Owner{payments},
			Columns: []catalog.Column{{Name: "x"}, {Name: "y"}, {Name: "z"}}},
		{Key: key("shop.pay.c"), Description: "C.", Owners: []catalog.Owner{payments, growth},
			Columns: []catalog.Column{{Name: "id", Description: "Key."}}},
		{Key: key("shop.pay.d"), Description: "D.", Owners: []catalog.Owner{payments}},
		{Key: key("shop.grow.e"), Owners: []catalog.Owner{growth}},
	}
	crawlHarvest(t, st, catalog.Harvest{Datasets: ds, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}})
	crawlHarvest(t, st, catalog.Harvest{Datasets: append(ds[:3:3], ds[4]), Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}})
	for _, sql := range []string{
		`UPDATE datasets SET updated_at = '2026-01-01' WHERE name = 'shop.pay.b'`,
		`UPDATE dataset_facts SET updated_at = '2026-01-01' WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'shop.pay.b')`,
		`INSERT INTO dataset_metrics (namespace, name, observed_at, source, direction, row_count, bytes) VALUES
			('` + ns + `', 'shop.pay.a', '2026-10-15', 'ol', 'out', 100, 1000),
			('` + ns + `', 'shop.pay.a', '2026-11-03 08:00Z', 'ol', 'out', 150, NULL),
			('` + ns + `', 'shop.pay.c', '2026-11-02 08:00Z', 'ol', 'out', 10, NULL),
			('` + ns + `', 'shop.pay.c', '2026-11-02 07:00Z', 'ol', 'out', 7, NULL)`,
		`INSERT INTO quality_results (source, check_name, run_id, dataset_namespace, dataset_name, status, started_at) VALUES
			('dbt:shop', 'c1', 'r1', '` + ns + `', 'shop.pay.a', 'pass', '2026-11-01 01:00Z'),
			('dbt:shop', 'c1', 'r2', '` + ns + `', 'shop.pay.a', 'fail', '2026-11-01 02:00Z'),
			('dbt:shop', 'c2', 'r3', '` + ns + `', 'shop.pay.c', 'error', '2026-11-03 02:00Z'),
			('dbt:shop', 'c3', 'r4', '` + ns + `', 'shop.grow.e', 'fail', '2026-11-03 02:00Z')`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	open := func(name string, cause catalog.CauseKind, at time.Time) catalog.Incident {
		t.Helper()
		inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: key(name), Cause: cause, CauseKey: name, Severity: catalog.SeverityError,
			Title: "broken " + name, By: "detector", At: at})
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
	open("shop.pay.a", catalog.CauseCheckFailed, teamDay.Add(2*time.Hour))
	open("shop.pay.b", catalog.CauseSLOBreach, teamDay.AddDate(0, 0, 8))
	old := open("shop.pay.a", catalog.CauseRunFailed, teamDay.AddDate(0, 0, -3))
	if _, err := st.ResolveIncident(ctx, catalog.Principal{Login: "ada@corp", Role: catalog.RoleAdmin}, old.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE incidents SET resolved_at = $1 WHERE id = $2`, teamDay.Add(time.Hour), old.ID); err != nil {
		t.Fatal(err)
	}
	report := func(name string, status slo.Status, attainment float64) store.SLOReport {
		total := 10.0
		if status == slo.StatusNoData {
			total = 0
		}
		return store.SLOReport{SLO: slo.SLO{Name: name, Source: "config", Spec: slo.Spec{Kind: slo.Quality, Objective: 0.99}},
			Report: slo.Report{Status: status, Attainment: attainment, Total: total, Summary: string(status)}}
	}
	keys := []catalog.Key{key("shop.pay.a"), key("shop.pay.b"), key("shop.pay.c")}
	// The statuses team pages add up are the SLO evaluator's stored
	// reports; one that could not be evaluated is not counted.
	broken := store.SLOReport{SLO: slo.SLO{Name: "broken", Source: "config"}, Err: errors.New("slo: unknown kind")}
	if err := st.SaveEvaluations(ctx, 0, nil, map[catalog.Key]store.Evaluation{
		keys[0]: {EvaluatedAt: teamDay, SLOs: []store.SLOReport{report("fresh", slo.StatusOK, 1), report("quality", slo.StatusBreached, 0.5), broken}},
		keys[1]: {EvaluatedAt: teamDay, SLOs: []store.SLOReport{report("fresh", slo.StatusNoData, 0)}},
		keys[2]: {EvaluatedAt: teamDay, SLOs: []store.SLOReport{report("fresh", slo.StatusAtRisk, 0.995)}},
	}); err != nil {
		t.Fatal(err)
	}
	return st, pool
}

// TestTeamFigures pins every figure of a team on the fixed catalog.
func TestTeamFigures(t *testing.T) {
	ctx := context.Background()
	st, _ := teamCatalog(t)

	teams, err := st.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantTeams := []store.TeamSummary{
		{Team: "growth", Datasets: 2, Described: 1, OpenIncidents: 0},
		{Team: "payments", Datasets: 3, Described: 2, OpenIncidents: 2},
	}
	if diff := cmp.Diff(wantTeams, teams); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}

	f, err := st.TeamFigures(ctx, "payments", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := store.TeamFigures{Team: "payments", Datasets: 3, Described: 2, Columns: 6, DescribedColumns: 2,
		SLOs: 4, SLOsMet: 1, SLOsAtRisk: 1, SLOsBreached: 1, SLOsNoData: 1, OpenIncidents: 2, Stale: 1, RowCount: 160, Bytes: 1000}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("figures (-want +got):\n%s", diff)
	}
	if got := f.SLOAttainment(); got != 2.0/3 {
		t.Errorf("SLO attainment = %v, want 2/3", got)
	}
	if ok, err := st.TeamExists(ctx, "payments"); !ok || err != nil {
		t.Errorf("payments exists = %v, %v", ok, err)
	}
	if ok, err := st.TeamExists(ctx, "growth"); !ok || err != nil {
		t.Errorf("growth exists = %v, %v", ok, err)
	}
	if ok, err := st.TeamExists(ctx, "ada@corp"); ok || err != nil {
		t.Errorf("a user owner is a team: %v, %v", ok, err)
	}
	if _, err := st.TeamFigures(ctx, "nobody", teamDay); !isKind(err, catalog.ErrNotFound) {
		t.Errorf("figures of a team without datasets: %v, want not found", err)
	}

	ids, total, err := st.StaleDatasets(ctx, "payments", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 0, 10)
	if err != nil || total != 1 || len(ids) != 1 {
		t.Fatalf("stale = %v of %d, %v; want b", ids, total, err)
	}
	ds, err := st.DatasetsByIDs(ctx, ids)
	if err != nil || ds[0].Key.Name != "shop.pay.b" {
		t.Errorf("stale dataset = %v, %v; want shop.pay.b", ds, err)
	}
	ids, total, err = st.TeamDatasets(ctx, "payments", 1, 1)
	if err != nil || total != 3 || len(ids) != 1 {
		t.Fatalf("second dataset = %v of %d, %v", ids, total, err)
	}
	if ds, _ := st.DatasetsByIDs(ctx, ids); len(ds) != 1 || ds[0].Key.Name != "shop.pay.b" {
		t.Errorf("second dataset by name = %v, want shop.pay.b", ds)
	}

	tr, err := st.TeamTrends(ctx, "payments", teamDay, teamDay.AddDate(0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	day := func(i int) time.Time { return teamDay.AddDate(0, 0, i) }
	wantTr := store.TeamTrends{
		Checks: []store.DayChecks{{Day: day(0), Results: 2, Failed: 1}, {Day: day(1)}, {Day: day(2), Results: 1, Failed: 1}},
		Sizes:  []store.DaySize{{Day: day(0), RowCount: 100, Bytes: 1000}, {Day: day(1), RowCount: 110, Bytes: 1000}, {Day: day(2), RowCount: 160, Bytes: 1000}},
	}
	if diff := cmp.Diff(wantTr, tr); diff != "" {
		t.Errorf("trends (-want +got):\n%s", diff)
	}

	statuses, err := st.TeamSLOStatuses(ctx, "payments", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range statuses {
		got = append(got, s.Dataset.Name+" "+s.Name+" "+string(s.Status))
	}
	wantSt := []string{"shop.pay.a quality breached", "shop.pay.c fresh at_risk", "shop.pay.b fresh no_data", "shop.pay.a fresh ok"}
	if diff := cmp.Diff(wantSt, got); diff != "" {
		t.Errorf("slo statuses (-want +got):\n%s", diff)
	}
}

// TestTeamPeriods pins a week's figures and the snapshot recorded on its
// last day.
func TestTeamPeriods(t *testing.T) {
	ctx := context.Background()
	st, _ := teamCatalog(t)
	if _, err := st.RecordTeamSnapshots(ctx, teamDay.AddDate(0, 0, 6).Add(20*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Recorded again the same day: replaced, not added.
	if _, err := st.RecordTeamSnapshots(ctx, teamDay.AddDate(0, 0, 6)); err != nil {
		t.Fatal(err)
	}
	// While another replica records them, this one does not wait to
	// record the same figures.
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x7465616d736e70)); err != nil {
		t.Fatal(err)
	}
	if recorded, err := st.RecordTeamSnapshots(ctx, teamDay.AddDate(0, 0, 6).Add(time.Hour)); err != nil || recorded {
		t.Errorf("recording while another holds the lock: recorded %v, %v; want skipped", recorded, err)
	}
	tx.Rollback(ctx) //nolint:errcheck // only the lock was taken
	if recorded, err := st.RecordTeamSnapshots(ctx, teamDay.AddDate(0, 0, 6)); err != nil || !recorded {
		t.Errorf("recording once the lock is free: recorded %v, %v", recorded, err)
	}
	week := [2]time.Time{teamDay, teamDay.AddDate(0, 0, 7)}
	before := [2]time.Time{teamDay.AddDate(0, 0, -7), teamDay}
	ps, err := st.TeamPeriods(ctx, "payments", [][2]time.Time{week, before})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.TeamPeriod{
		{From: week[0], To: week[1], IncidentsOpened: 1, IncidentsResolved: 1, OpenAtEnd: 1, CheckResults: 3, CheckFailures: 2,
			RowCount: 160, Bytes: 1000,
			Snapshot: &store.TeamSnapshot{Day: teamDay.AddDate(0, 0, 6), Datasets: 3, Described: 2, Columns: 6, DescribedColumns: 2,
				SLOs: 4, SLOsMet: 2, RowCount: 160, Bytes: 1000}},
		{From: before[0], To: before[1], IncidentsOpened: 1, OpenAtEnd: 1, RowCount: 100, Bytes: 1000},
	}
	if diff := cmp.Diff(want, ps); diff != "" {
		t.Errorf("periods (-want +got):\n%s", diff)
	}
}
