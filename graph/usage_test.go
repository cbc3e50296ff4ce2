package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/graph"
)

// TestUsage reads a dataset's usage through the API: the jobs reading
// it, the queries that statement statistics counted with the top ones
// and their roles, and null queries where no source counts them.
func TestUsage(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `query($name: String!) { dataset(namespace: "postgres://warehouse.demo:5432", name: $name) {
		usage { windowDays jobs queries topJobs { job { name } } topQueries { query calls } topRoles { role calls } } } }`
	check := func(name, want string) {
		t.Helper()
		r := e.post(t, q, map[string]any{"name": name})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: errors %+v", name, r.Errors)
		}
		if diff := cmp.Diff(want, string(r.Data)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Before any source counts the warehouse's queries: null, not 0.
	check("warehouse.finance.revenue", `{"dataset":{"usage":{"windowDays":30,"jobs":0,"queries":null,"topJobs":[],"topQueries":[],"topRoles":[]}}}`)
	orders := catalog.Key{Namespace: "postgres://warehouse.demo:5432", Name: "warehouse.marts.orders"}
	h := catalog.Harvest{Source: "postgres:usage", Queries: []catalog.QueryStats{{
		Namespace: orders.Namespace, Database: "warehouse", StatsReset: time.Now().Add(-time.Hour),
		Statements: []catalog.QueryStat{
			{QueryID: 1, Role: "analyst", Query: "SELECT * FROM marts.orders WHERE id = $1", Calls: 2300, Reads: []catalog.Key{orders}},
			{QueryID: 1, Role: "bi", Query: "SELECT * FROM marts.orders WHERE id = $1", Calls: 12, Reads: []catalog.Key{orders}},
			{QueryID: 2, Role: "bi", Query: "SELECT count(*) FROM marts.orders", Calls: 30, Reads: []catalog.Key{orders}},
		},
	}}}
	if _, err := e.store.Crawl(context.Background(), h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
	check("warehouse.marts.orders", `{"dataset":{"usage":{"windowDays":30,"jobs":1,"queries":2342,`+
		`"topJobs":[{"job":{"name":"model.analytics.revenue"}}],`+
		`"topQueries":[{"query":"SELECT * FROM marts.orders WHERE id = $1","calls":2312},{"query":"SELECT count(*) FROM marts.orders","calls":30}],`+
		`"topRoles":[{"role":"analyst","calls":2300},{"role":"bi","calls":42}]}}}`)
	check("warehouse.finance.revenue", `{"dataset":{"usage":{"windowDays":30,"jobs":0,"queries":0,"topJobs":[],"topQueries":[],"topRoles":[]}}}`)
}
