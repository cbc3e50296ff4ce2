package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"almanac/graph"
)

// TestColumnLineage checks the columnLineage and columnImpact queries
// over the fixture's column lineage: direction, depth, the node cap and
// the indirect filter, and the arguments they refuse.
func TestColumnLineage(t *testing.T) {
	e := newEnv(t, graph.Options{})
	type graphResult struct {
		Start     string
		Truncated bool
		Nodes     []struct {
			ID, Column     string
			Distance, More int
		}
		Edges []struct {
			From, To, Type, Subtype string
			Indirect                bool
		}
	}
	// render lists nodes as "column distance [+more]" and edges as
	// "from > to TYPE/SUBTYPE", short names only.
	render := func(g graphResult) []string {
		short := func(id string) string { return id[strings.LastIndex(id, ":")+1:] }
		var out []string
		for _, n := range g.Nodes {
			s := strings.TrimPrefix(n.ID, "datasetField:"+fixtureNS+":warehouse.")
			if n.More > 0 {
				s += " +" + string(rune('0'+n.More))
			}
			out = append(out, s+" "+string(rune('0'+n.Distance+5)))
		}
		for _, ed := range g.Edges {
			s := short(ed.From) + " > " + short(ed.To) + " " + ed.Type + "/" + ed.Subtype
			if ed.Indirect != (ed.Type == "INDIRECT") {
				s += " (indirect disagrees)"
			}
			out = append(out, s)
		}
		if g.Truncated {
			out = append(out, "truncated")
		}
		return out
	}
	const q = `query($name: String!, $column: String!, $dir: LineageDirection, $depth: Int, $max: Int, $indirect: Boolean) {
		columnLineage(namespace: "` + fixtureNS + `", name: $name, column: $column, direction: $dir, depth: $depth, maxNodes: $max, includeIndirect: $indirect) {
			start truncated nodes { id column distance more } edges { from to type subtype indirect }
		}
	}`
	// Distances are shown shifted by 5 ("5" is the start) to keep them one character.
	tests := []struct {
		name string
		vars map[string]any
		want []string
	}{
		{"defaults: one hop both ways", map[string]any{"name": "warehouse.marts.orders", "column": "customer_id"}, []string{
			"marts.orders:customer_id 5", "marts.customers:id 4", "finance.revenue:amount 6",
			"id > customer_id DIRECT/IDENTITY", "customer_id > amount INDIRECT/FILTER",
		}},
		{"downstream, two hops", map[string]any{"name": "warehouse.marts.customers", "column": "id", "dir": "DOWNSTREAM", "depth": 2}, []string{
			"marts.customers:id 5", "marts.orders:id 6", "marts.orders:customer_id 6", "finance.revenue:amount 7",
			"id > id INDIRECT/JOIN", "id > customer_id DIRECT/IDENTITY", "customer_id > amount INDIRECT/FILTER",
		}},
		{"direct only", map[string]any{"name": "warehouse.marts.customers", "column": "id", "dir": "DOWNSTREAM", "depth": 2, "indirect": false}, []string{
			"marts.customers:id 5", "marts.orders:customer_id 6", "id > customer_id DIRECT/IDENTITY",
		}},
		{"node cap", map[string]any{"name": "warehouse.marts.customers", "column": "id", "dir": "DOWNSTREAM", "max": 2}, []string{
			// Edges load in column order: customer_id fits, id does not.
			"marts.customers:id +1 5", "marts.orders:customer_id +1 6", "id > customer_id DIRECT/IDENTITY", "truncated",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, q, tt.vars)
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			var data struct{ ColumnLineage graphResult }
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatal(err)
			}
			if want := "datasetField:" + fixtureNS + ":" + tt.vars["name"].(string) + ":" + tt.vars["column"].(string); data.ColumnLineage.Start != want {
				t.Errorf("start = %q, want %q", data.ColumnLineage.Start, want)
			}
			if diff := cmp.Diff(tt.want, render(data.ColumnLineage), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	r := e.post(t, `{
		all: columnImpact(namespace: "`+fixtureNS+`", name: "warehouse.marts.customers", column: "id") { distance columns { name column owners { name } } }
		direct: columnImpact(namespace: "`+fixtureNS+`", name: "warehouse.marts.customers", column: "id", depth: 1, includeIndirect: false) { distance columns { name column } }
	}`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	want := `{"all":[` +
		`{"distance":1,"columns":[{"name":"warehouse.marts.orders","column":"customer_id","owners":[{"name":"alice@corp"},{"name":"analytics_owner"},{"name":"payments"}]},` +
		`{"name":"warehouse.marts.orders","column":"id","owners":[{"name":"alice@corp"},{"name":"analytics_owner"},{"name":"payments"}]}]},` +
		`{"distance":2,"columns":[{"name":"warehouse.finance.revenue","column":"amount","owners":[{"name":"finance_owner"}]}]}],` +
		`"direct":[{"distance":1,"columns":[{"name":"warehouse.marts.orders","column":"customer_id"}]}]}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("column impact (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		query, code, msg string
	}{
		{`{ columnLineage(namespace: "` + fixtureNS + `", name: "warehouse.marts.orders", column: "nope") { start } }`, graph.CodeNotFound, "column lineage of"},
		{`{ columnLineage(namespace: "` + fixtureNS + `", name: "warehouse.marts.orders", column: "id", depth: 0) { start } }`, graph.CodeBadUserInput, "depth must be between 1 and 50, got 0"},
		{`{ columnLineage(namespace: "` + fixtureNS + `", name: "warehouse.marts.orders", column: "id", maxNodes: 0) { start } }`, graph.CodeBadUserInput, "maxNodes must be between 1"},
		{`{ columnImpact(namespace: "` + fixtureNS + `", name: "warehouse.marts.orders", column: "id", depth: -1) { distance } }`, graph.CodeBadUserInput, "depth must be between 0 and 50, got -1"},
		{`{ columnImpact(namespace: "` + fixtureNS + `", name: "nope", column: "id") { distance } }`, graph.CodeNotFound, "columns downstream of"},
	} {
		r := e.post(t, tt.query, nil)
		if r.code() != tt.code || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, tt.msg) {
			t.Errorf("%s: code %q, errors %+v; want %s containing %q", tt.query, r.code(), r.Errors, tt.code, tt.msg)
		}
	}
}

// TestLineagePath checks the path query's answers besides a path (see the
// lineage-path example): none when data does not flow that way, an error
// for a dataset the catalog does not know.
func TestLineagePath(t *testing.T) {
	e := newEnv(t, graph.Options{})
	q := `query($from: String!, $to: String!) { lineagePath(fromNamespace: "` + fixtureNS + `", fromName: $from, toNamespace: "` + fixtureNS + `", toName: $to) { name } }`
	r := e.post(t, q, map[string]any{"from": "warehouse.marts.orders", "to": "warehouse.staging.stg_orders"})
	if len(r.Errors) > 0 || string(r.Data) != `{"lineagePath":null}` {
		t.Errorf("against the flow: errors %+v, data %s, want null", r.Errors, r.Data)
	}
	r = e.post(t, q, map[string]any{"from": "warehouse.marts.orders", "to": "warehouse.nowhere"})
	if r.code() != "NOT_FOUND" {
		t.Errorf("unknown dataset: code %q, errors %+v, want NOT_FOUND", r.code(), r.Errors)
	}
}
