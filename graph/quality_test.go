package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
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
