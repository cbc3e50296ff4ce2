package graph_test

import (
	"context"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/graph"
)

// TestInheritedDescription reads Column.inheritedDescription: a column
// no source describes that copies a described upstream column has its
// text, source and column; a computed column, a described one and one
// copying nothing described have null.
func TestInheritedDescription(t *testing.T) {
	e := newEnv(t, graph.Options{})
	_, err := e.store.Crawl(context.Background(), "dbt:extra", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{ColumnLineage: []catalog.ColumnLineage{
			{Output: fkey("warehouse.marts.big_orders"), Column: "id", Input: fkey("warehouse.marts.customers"), InputColumn: "email", Type: "DIRECT", Subtype: "IDENTITY"},
			{Output: fkey("warehouse.marts.big_orders"), Column: "amount", Input: fkey("warehouse.marts.customers"), InputColumn: "email", Type: "DIRECT", Subtype: "AGGREGATION"},
		}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.big_orders") {
		columns { name inheritedDescription { text source from { namespace name column } } } } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	want := `{"dataset":{"columns":[` +
		`{"name":"id","inheritedDescription":{"text":"Lower-cased contact address.","source":"dbt:analytics","from":{"namespace":"postgres://warehouse.demo:5432","name":"warehouse.marts.customers","column":"email"}}},` +
		`{"name":"amount","inheritedDescription":null}]}}`
	if got := strings.Join(strings.Fields(string(r.Data)), ""); got != strings.Join(strings.Fields(want), "") {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A described column inherits nothing.
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") {
		columns { name inheritedDescription { text } } } }`, nil)
	if got := string(r.Data); !strings.Contains(got, `{"name":"email","inheritedDescription":null}`) {
		t.Errorf("customers: %s", got)
	}
	// Without the field, no read of it; with it, a few statements a hop
	// of copies, batched for every dataset of the request.
	e.stmts.n.Store(0)
	e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.big_orders") { columns { name } } }`, nil)
	without := e.stmts.n.Load()
	e.stmts.n.Store(0)
	e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.big_orders") { columns { name inheritedDescription { text } } } }`, nil)
	if with := e.stmts.n.Load(); with <= without || with > without+16 {
		t.Errorf("statements: %d without inheritedDescription, %d with it", without, with)
	}
}
