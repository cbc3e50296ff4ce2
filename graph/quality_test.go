package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/sloreport"
	"almanac/graph"
)

// TestQualityResults pages a check's results newest first with their
// observed values, reads every check's results in one statement, and
// refuses a bad cursor.
func TestQualityResults(t *testing.T) {
	e := newEnv(t, graph.Options{})
	ctx := context.Background()
	orders := fkey("warehouse.marts.orders")
	p := catalog.Push{Source: "sql:orders_rows", Checks: []catalog.QualityCheck{{Dataset: orders, Name: "orders_rows", Type: "row_count"}}}
	start := time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC)
	for i := range 5 {
		p.Results = append(p.Results, catalog.QualityResult{Check: "orders_rows", Dataset: orders, Status: catalog.QualityPass,
			Observed: fmt.Sprint(1000 + i), StartedAt: start.AddDate(0, 0, i), RunID: fmt.Sprintf("r%d", i)})
	}
	p.Results[4].Status, p.Results[4].Observed = catalog.QualityFail, `{"rows": 1004}`
	if err := e.store.ApplyPush(ctx, p); err != nil {
		t.Fatal(err)
	}
	const q = `query($after: String) { dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") {
		qualityChecks { name source latest { status }
			results(first: 2, after: $after) { edges { node { runId status observed observedNumber } } pageInfo { hasNextPage endCursor } } } } }`
	type data struct {
		Dataset struct {
			QualityChecks []struct {
				Name, Source string
				Latest       struct{ Status string }
				Results      struct {
					Edges []struct {
						Node struct {
							RunID          string `json:"runId"`
							Status         string
							Observed       string
							ObservedNumber *float64
						}
					}
					PageInfo struct {
						HasNextPage bool
						EndCursor   *string
					}
				}
			}
		}
	}
	var got []string
	var after any
	for page := 0; page < 5; page++ {
		e.stmts.n.Store(0)
		r := e.post(t, q, map[string]any{"after": after})
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		var d data
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			// The results of the dataset's three checks cost one statement.
			withResults := e.stmts.n.Load()
			e.stmts.n.Store(0)
			e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") {
				qualityChecks { name source latest { status } } } }`, nil)
			if without := e.stmts.n.Load(); withResults != without+1 {
				t.Errorf("%d statements with the results of 3 checks, %d without: want one more", withResults, without)
			}
		}
		var more bool
		for _, c := range d.Dataset.QualityChecks {
			if c.Source != "sql:orders_rows" {
				continue
			}
			if c.Latest.Status != "fail" {
				t.Errorf("latest status %q, want fail", c.Latest.Status)
			}
			for _, e := range c.Results.Edges {
				n := "null"
				if e.Node.ObservedNumber != nil {
					n = fmt.Sprint(*e.Node.ObservedNumber)
				}
				got = append(got, e.Node.RunID+" "+e.Node.Status+" "+e.Node.Observed+" "+n)
			}
			more = c.Results.PageInfo.HasNextPage
			after = *c.Results.PageInfo.EndCursor
		}
		if !more {
			break
		}
	}
	want := []string{`r4 fail {"rows": 1004} null`, "r3 pass 1003 1003", "r2 pass 1002 1002", "r1 pass 1001 1001", "r0 pass 1000 1000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if r := e.post(t, q, map[string]any{"after": "bad"}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("a bad cursor: %+v", r)
	}
}

// TestSLOs lists a dataset's SLOs: one declared, one harvested from its
// dbt source freshness criteria, evaluated on the fixture's observations
// (weeks old, so that the harvested one is breached and the declared one
// has no data whenever the test runs).
func TestSLOs(t *testing.T) {
	orders := fkey("warehouse.marts.orders")
	e := newEnv(t, graph.Options{SLOs: []slo.SLO{{Name: "tests pass", Dataset: orders, Source: "config", Origin: "almanac.yaml:3",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.95, Window: 7 * 24 * time.Hour}}}})
	r := e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") {
		slos { name kind source origin objective status attainment unit burns { name firing } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	want := `{"dataset":{"slos":[` +
		`{"name":"freshness (error_after 1 day)","kind":"freshness","source":"dbt:analytics","origin":"error_after of dbt source freshness","objective":0.99,"status":"breached","attainment":0,"unit":"minutes","burns":[{"name":"fast","firing":true},{"name":"slow","firing":true},{"name":"ticket","firing":true}]},` +
		`{"name":"tests pass","kind":"quality","source":"config","origin":"almanac.yaml:3","objective":0.95,"status":"no_data","attainment":0,"unit":"results","burns":[{"name":"fast","firing":false},{"name":"slow","firing":false},{"name":"ticket","firing":false}]}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("slos (-want +got):\n%s", diff)
	}
	// All bad for the whole window: the budget is spent 99 times over,
	// burning at 1 / (1 − 0.99).
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") {
		slos { windowSeconds budgetRemaining burnRateFast burnRateSlow } } }`, nil)
	var d struct {
		Dataset struct {
			SLOs []struct{ WindowSeconds, BudgetRemaining, BurnRateFast, BurnRateSlow float64 }
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(d.Dataset.SLOs) != 2 {
		t.Fatalf("%s: %v", r.Data, err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if s := d.Dataset.SLOs[0]; s.WindowSeconds != 28*24*3600 || !near(s.BudgetRemaining, -99) || !near(s.BurnRateFast, 100) || !near(s.BurnRateSlow, 100) {
		t.Errorf("harvested: %+v", s)
	}
	if s := d.Dataset.SLOs[1]; s.WindowSeconds != 7*24*3600 || s.BudgetRemaining != 1 || s.BurnRateFast != 0 {
		t.Errorf("declared: %+v", s)
	}
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") { slos { name } } }`, nil)
	if string(r.Data) != `{"dataset":{"slos":[]}}` {
		t.Errorf("customers: %s %+v", r.Data, r.Errors)
	}
}

// TestSLOHistory reads the SLO reports the evaluator stored, with when
// they were evaluated, and each SLO's days; a days argument out of range
// is bad input.
func TestSLOHistory(t *testing.T) {
	orders := fkey("warehouse.marts.orders")
	declared := []slo.SLO{{Name: "tests pass", Dataset: orders, Source: "config", Origin: "almanac.yaml:3",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.95, Window: 7 * 24 * time.Hour}}}
	e := newEnv(t, graph.Options{SLOs: declared})
	evaluated := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	if err := sloreport.New(e.store, sloreport.Config{SLOs: declared, Now: func() time.Time { return evaluated }}).CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") {
		slos { name status evaluatedAt history(days: 7) { day status attainment good total evaluatedAt } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	at, day := evaluated.Format(time.RFC3339), evaluated.Truncate(24*time.Hour).Format(time.RFC3339)
	want := `{"dataset":{"slos":[` +
		`{"name":"freshness (error_after 1 day)","status":"breached","evaluatedAt":"` + at + `","history":[{"day":"` + day + `","status":"breached","attainment":0,"good":0,"total":40320,"evaluatedAt":"` + at + `"}]},` +
		`{"name":"tests pass","status":"no_data","evaluatedAt":"` + at + `","history":[{"day":"` + day + `","status":"no_data","attainment":null,"good":0,"total":0,"evaluatedAt":"` + at + `"}]}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("slos (-want +got):\n%s", diff)
	}
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") { slos { history(days: 0) { day } } } }`, nil)
	if r.code() != "BAD_USER_INPUT" {
		t.Errorf("days: 0: %s %+v", r.Data, r.Errors)
	}
}
