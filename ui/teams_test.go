package ui

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// teamFixture adds to the fixed catalog, for the team data-platform (which
// owns fct_orders, described, three of its four columns described): a
// failed and a passed check result, an open incident, a breached SLO,
// row counts of 1,000 and 1,200, and the snapshot of 2026-03-08.
func teamFixture(t *testing.T) (*portal, *pgxpool.Pool) {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	addTeamData(t, pool)
	return newPortalOn(t, pool, nil), pool
}

// addTeamData adds teamFixture's data to a filled catalog.
func addTeamData(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	st := store.New(pool)
	for _, sql := range []string{
		`INSERT INTO quality_results (source, check_name, run_id, dataset_namespace, dataset_name, status, started_at) VALUES
			('dbt:analytics', 'c1', 'r1', '` + fctOrders.Namespace + `', '` + fctOrders.Name + `', 'fail', '2026-03-03 01:00Z'),
			('dbt:analytics', 'c1', 'r2', '` + fctOrders.Namespace + `', '` + fctOrders.Name + `', 'pass', '2026-03-04 01:00Z')`,
		`INSERT INTO dataset_metrics (namespace, name, observed_at, source, direction, row_count) VALUES
			('` + fctOrders.Namespace + `', '` + fctOrders.Name + `', '2026-03-01', 'ol', 'out', 1000),
			('` + fctOrders.Namespace + `', '` + fctOrders.Name + `', '2026-03-05', 'ol', 'out', 1200)`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if _, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: fctOrders, Cause: catalog.CauseCheckFailed, CauseKey: "c1",
		Severity: catalog.SeverityError, Title: "check c1 fails", By: catalog.ActorAlmanac, At: time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveEvaluations(ctx, 0, nil, map[catalog.Key]store.Evaluation{fctOrders: {EvaluatedAt: now.Add(-time.Hour), SLOs: []store.SLOReport{{
		SLO:    slo.SLO{Name: "orders_fresh", Source: "config", Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.99}},
		Report: slo.Report{Status: slo.StatusBreached, Attainment: 0.9, Total: 10, Summary: "90 % of the time fresh"},
	}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordTeamSnapshots(ctx, time.Date(2026, 3, 8, 23, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
}

// TestTeamPages checks the team pages on the fixed catalog: the list of
// teams, a team's figures, its status page, its report as a page, CSV and
// JSON with exact numbers, the links to them, and bad input.
func TestTeamPages(t *testing.T) {
	t.Parallel()
	p, pool := teamFixture(t)

	r := p.get(t, "/teams")
	if r.status != 200 || !strings.Contains(r.body, `<a href="/teams/data-platform">data-platform</a>`) ||
		!strings.Contains(r.body, `<td class="num">1</td><td class="num">100 %</td><td class="num">1</td>`) {
		t.Errorf("/teams: %d\n%.4000s", r.status, r.body)
	}

	r = p.get(t, "/teams/data-platform")
	if r.status != 200 {
		t.Fatalf("team page: %d\n%s", r.status, r.body)
	}
	for _, want := range []string{
		`<span class="stat-value">1</span> <span class="stat-label">Datasets</span>`,
		`<span class="stat-value">100 %</span> <span class="stat-label">Datasets described</span> <span class="stat-detail">1 of 1</span>`,
		`<span class="stat-value">75 %</span> <span class="stat-label">Columns described</span> <span class="stat-detail">3 of 4</span>`,
		`<span class="stat-value">0 %</span> <span class="stat-label">SLO attainment</span> <span class="stat-detail">0 of 1 SLOs met, 1 breached, 0 at risk</span>`,
		`<span class="stat-value">1</span> <span class="stat-label">Open incidents</span>`,
		`<span class="stat-value">0</span> <span class="stat-label">Stale</span>`,
		`<span class="stat-value">1.2k</span> <span class="stat-label">Rows</span>`,
		"check c1 fails", "orders_fresh", `<svg class="chart-svg"`,
		"2 check results, of which 1 failed or erred, over 30 days.",
		`<td>2026-03-03</td><td class="num">1</td><td class="num">1 <span class="muted">100 %</span></td><td class="num">1k</td>`,
		`<td>2026-03-05</td><td class="num">0</td><td class="num">0 <span class="muted">–</span></td><td class="num">1.2k</td>`,
		`Showing 1–1 of 1`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("team page lacks %s", want)
		}
	}
	// The page's aggregates are kept until the catalog changes: an SLO
	// judged again shows once the change log moves, on the first read
	// after the refresh that read started behind its response (the
	// aggregates were read less than DefaultTeamsMaxAge before).
	if err := store.New(pool).SaveEvaluations(context.Background(), 0, nil, map[catalog.Key]store.Evaluation{fctOrders: {EvaluatedAt: now, SLOs: []store.SLOReport{{
		SLO:    slo.SLO{Name: "orders_fresh", Source: "config", Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.99}},
		Report: slo.Report{Status: slo.StatusOK, Attainment: 1, Total: 10},
	}}}}); err != nil {
		t.Fatal(err)
	}
	attained := `<span class="stat-value">100 %</span> <span class="stat-label">SLO attainment</span>`
	if r := p.get(t, "/teams/data-platform"); strings.Contains(r.body, attained) {
		t.Errorf("the team page was read again though the catalog did not change")
	}
	if _, err := pool.Exec(context.Background(), `INSERT INTO change_log (entity, entity_id, kind, source) VALUES ('dataset', 1, 'updated', 'test')`); err != nil {
		t.Fatal(err)
	}
	if r := p.get(t, "/teams/data-platform"); strings.Contains(r.body, attained) {
		t.Errorf("the team page waited for its figures to be read again though they were read less than DefaultTeamsMaxAge before")
	}
	p.s.teams.refreshes.Wait()
	if r := p.get(t, "/teams/data-platform"); !strings.Contains(r.body, attained) {
		t.Errorf("the team page kept its figures after the catalog changed and they were read again")
	}

	// Nothing changed in a day: fct_orders' facts changed 2 hours ago.
	if r := p.get(t, "/teams/data-platform?stale_days=1"); !strings.Contains(r.body, `<span class="stat-value">0</span> <span class="stat-label">Stale</span>`) {
		t.Errorf("stale in a day: %.200s", r.body)
	}

	r = p.get(t, "/teams/data-platform/status")
	if r.status != 200 || !strings.Contains(r.body, "check c1 fails") || !strings.Contains(r.body, "orders_fresh") {
		t.Errorf("status page: %d\n%.3000s", r.status, r.body)
	}

	// The report of the week 2026-03-02 to 03-09, beside the one before.
	r = p.get(t, "/teams/data-platform/report?period=week&format=json")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("report json: %d %s\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var rep teamReport
	if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
		t.Fatal(err)
	}
	n := func(f float64) *float64 { return &f }
	want := teamReport{Team: "data-platform", Period: "week",
		Current: reportPeriod{From: "2026-03-02", To: "2026-03-09"}, Previous: reportPeriod{From: "2026-02-23", To: "2026-03-02"},
		Figures: []reportFigure{
			{Key: "datasets", Label: "Datasets owned", Unit: "datasets", Current: n(1)},
			{Key: "datasets_described", Label: "Datasets described", Unit: "%", Current: n(100)},
			{Key: "columns_described", Label: "Columns described", Unit: "%", Current: n(75)},
			{Key: "slo_attainment", Label: "SLOs met", Unit: "%", Current: n(0)},
			{Key: "incidents_opened", Label: "Incidents opened", Unit: "incidents", Current: n(1), Previous: n(0), Change: n(1)},
			{Key: "incidents_resolved", Label: "Incidents resolved", Unit: "incidents", Current: n(0), Previous: n(0), Change: n(0)},
			{Key: "incidents_open_at_end", Label: "Incidents open at the end", Unit: "incidents", Current: n(1), Previous: n(0), Change: n(1)},
			{Key: "slo_breaches", Label: "SLO breaches", Unit: "incidents", Current: n(0), Previous: n(0), Change: n(0)},
			{Key: "check_results", Label: "Check results", Unit: "results", Current: n(2), Previous: n(0), Change: n(2)},
			{Key: "check_failures", Label: "Checks failed", Unit: "results", Current: n(1), Previous: n(0), Change: n(1)},
			{Key: "check_failure_rate", Label: "Check failure rate", Unit: "%", Current: n(50)},
			{Key: "row_count", Label: "Rows at the end", Unit: "rows", Current: n(1200), Previous: n(1000), Change: n(200)},
			{Key: "bytes", Label: "Storage at the end", Unit: "bytes", Current: n(0), Previous: n(0), Change: n(0)},
		}}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	// The JSON's shape: keys and nulls where nothing was recorded.
	if !strings.Contains(r.body, `{"key":"datasets","label":"Datasets owned","unit":"datasets","current":1,"previous":null,"change":null}`) {
		t.Errorf("report json shape: %s", r.body)
	}

	r = p.get(t, "/teams/data-platform/report?period=week&format=csv")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), `filename="data-platform-week-2026-03-02.csv"`) {
		t.Fatalf("report csv: %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 14 || strings.Join(rows[0], ",") != "figure,label,unit,current,previous,change" ||
		strings.Join(rows[1], ",") != "datasets,Datasets owned,datasets,1,," ||
		strings.Join(rows[12], ",") != "row_count,Rows at the end,rows,1200,1000,200" {
		t.Errorf("report csv:\n%s", r.body)
	}

	r = p.get(t, "/teams/data-platform/report?period=month")
	if r.status != 200 || !strings.Contains(r.body, "Health report, month of 2026-02-01") {
		t.Errorf("monthly report page: %d\n%.2000s", r.status, r.body)
	}
	r = p.get(t, "/teams/data-platform/report")
	if r.status != 200 || !strings.Contains(r.body, `<th scope="row">Rows at the end</th><td class="num">1.2k</td><td class="num">1k</td><td class="num">+200</td>`) {
		t.Errorf("weekly report page: %d\n%.4000s", r.status, r.body)
	}

	// Owners link to team pages: the dataset page and the home page.
	for _, path := range []string{datasetPath(fctOrders), "/"} {
		if r := p.get(t, path); !strings.Contains(r.body, `<a class="owner" href="/teams/data-platform">data-platform</a>`) {
			t.Errorf("%s: no link to the team page", path)
		}
	}

	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/teams/nobody", "No live dataset is owned by a team", 404},
		{"/teams/nobody/report", "No live dataset is owned by a team", 404},
		{"/teams/data-platform?stale_days=0", "stale_days must be a number of days from 1 to 3650", 400},
		{"/teams/data-platform?page=x", "Page must be a number", 400},
		{"/teams/data-platform/report?period=year", "period must be week or month", 400},
		{"/teams/data-platform/report?format=xml", "Format must be html, csv or json", 400},
	} {
		r := p.get(t, tc.path)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%.300s", tc.path, r.status, tc.status, tc.want, r.body)
		}
	}
}
