package graph_test

import (
	"encoding/json"
	"testing"

	"almanac/graph"
)

// TestDatasetsOrderAndAttention checks the listing's orders and the
// filters the home page browses by, through the API: the health order
// puts orders (a failing check, stale freshness) first; paging by
// position in a non-name order neither skips nor repeats; the attention,
// platform and team filters select what the portal's do.
func TestDatasetsOrderAndAttention(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `query($order: DatasetOrder, $filter: DatasetFilter, $first: Int, $after: String) {
		datasets(orderBy: $order, filter: $filter, first: $first, after: $after) {
			totalCount edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Datasets struct {
			TotalCount int
			Edges      []struct {
				Cursor string
				Node   struct{ Name string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	list := func(vars map[string]any) page {
		t.Helper()
		r := e.post(t, q, vars)
		if len(r.Errors) > 0 {
			t.Fatalf("%v: %+v", vars, r.Errors)
		}
		var p page
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	all := list(map[string]any{"order": "HEALTH", "first": 100})
	if len(all.Datasets.Edges) == 0 || all.Datasets.Edges[0].Node.Name != "warehouse.marts.orders" {
		t.Fatalf("health order: %+v, want warehouse.marts.orders first", all.Datasets.Edges)
	}
	// Page through two at a time: the same names, in the same order.
	var paged []string
	vars := map[string]any{"order": "HEALTH", "first": 2}
	for range 50 {
		p := list(vars)
		for _, edge := range p.Datasets.Edges {
			paged = append(paged, edge.Node.Name)
		}
		if !p.Datasets.PageInfo.HasNextPage {
			break
		}
		vars["after"] = p.Datasets.PageInfo.EndCursor
	}
	if len(paged) != len(all.Datasets.Edges) {
		t.Fatalf("paged %d datasets, one page holds %d", len(paged), len(all.Datasets.Edges))
	}
	for i, edge := range all.Datasets.Edges {
		if paged[i] != edge.Node.Name {
			t.Errorf("position %d: paged %s, one page %s", i, paged[i], edge.Node.Name)
		}
	}

	for _, tt := range []struct {
		filter map[string]any
		want   string
	}{
		{map[string]any{"attention": "FAILING"}, "warehouse.marts.orders"},
		{map[string]any{"attention": "STALE"}, "warehouse.marts.orders"},
		{map[string]any{"platform": "postgres", "kind": "partitioned"}, "warehouse.finance.revenue"},
	} {
		p := list(map[string]any{"filter": tt.filter})
		if p.Datasets.TotalCount != 1 || p.Datasets.Edges[0].Node.Name != tt.want {
			t.Errorf("filter %v: %+v, want only %s", tt.filter, p.Datasets.Edges, tt.want)
		}
	}
	if p := list(map[string]any{"filter": map[string]any{"team": "payments"}}); p.Datasets.TotalCount == 0 {
		t.Errorf("team payments owns nothing")
	}
	if p := list(map[string]any{"filter": map[string]any{"team": "analytics_owner"}}); p.Datasets.TotalCount != 0 {
		t.Errorf("a role taken for a team: %+v", p.Datasets.Edges)
	}
	if r := e.post(t, q, map[string]any{"filter": map[string]any{"team": "payments", "owner": "bob@corp"}}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("owner and team together: %+v, want BAD_USER_INPUT", r.Errors)
	}
	if r := e.post(t, q, map[string]any{"order": "HEALTH", "after": "bm90IGEgY3Vyc29y"}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("a name cursor in a position order: %+v, want BAD_USER_INPUT", r.Errors)
	}
}
