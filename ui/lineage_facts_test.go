package ui

import (
	"context"
	"fmt"
	"html"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/search"
)

// nodeText returns the text of the node id in the explorer's SVG: its
// lines joined by " | ", unescaped.
func nodeText(t *testing.T, body, id string) string {
	t.Helper()
	open := `id="` + html.EscapeString(id) + `" class="node"`
	i := strings.Index(body, open)
	if i < 0 {
		t.Errorf("no node %s drawn", id)
		return ""
	}
	rest := body[i+len(open):]
	if j := strings.Index(rest, `class="node"`); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.Index(rest, `class="edge"`); j >= 0 {
		rest = rest[:j]
	}
	// Graphviz writes a line of several fonts or colours as one text
	// element each, at the same height.
	var b strings.Builder
	y := ""
	for _, m := range regexp.MustCompile(`<text[^>]* y="([^"]*)"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(rest, -1) {
		if b.Len() > 0 && m[1] != y {
			b.WriteString(" | ")
		}
		y = m[1]
		b.WriteString(html.UnescapeString(m[2]))
	}
	return b.String()
}

// TestLineageNodeFacts draws fct_orders, whose last check failed, with
// dim_customers, which has an open incident, and checks that each
// dataset's node says its platform, first owner and health in words;
// the column view says the same under each table's name.
func TestLineageNodeFacts(t *testing.T) {
	p, _ := newLineagePortal(t)
	addQuality(t, p.s.store)
	if _, _, err := p.s.store.OpenIncident(context.Background(), catalog.NewIncident{Dataset: dimCustomers, Cause: catalog.CauseCheckFailed,
		CauseKey: "unique_email", Severity: catalog.SeverityError, Title: "check unique_email fails", By: catalog.ActorAlmanac}); err != nil {
		t.Fatal(err)
	}
	// The name, then the facts on a line of their own.
	want := map[catalog.Key]string{
		fctOrders:    "warehouse.marts.fct_orders | postgres · table · data-platform +1 · ● failing",
		dimCustomers: "warehouse.marts.dim_customers | postgres · table · analytics_owner · ⚠ incident",
		dailyRevenue: "warehouse.marts.v_daily_revenue | postgres · view",
		rawEvents:    "warehouse.raw.events | postgres · partitioned",
	}
	for _, path := range []string{lineagePath(fctOrders), lineagePath(fctOrders) + "?columns=1"} {
		resp := p.get(t, path)
		if resp.status != 200 {
			t.Fatalf("GET %s: status %d", path, resp.status)
		}
		for k, w := range want {
			if got := nodeText(t, resp.body, lineage.DatasetID(k).String()); got != w && !strings.HasPrefix(got, w+" | ") {
				t.Errorf("GET %s: node %s says %q, want %q first", path, k.Name, got, w)
			}
		}
	}
}

// TestLineageNodeFactsStatements counts the SQL statements of the
// explorer: the facts of its nodes are read for the whole drawing at
// once, so that 3 nodes, 60 and a list of 400 cost the same.
func TestLineageNodeFactsStatements(t *testing.T) {
	stmts := &statements{}
	var g *lineage.Graph
	p := newPortal(t, func(o *Options) {
		g = lineageFixture(t, o.Store.Pool())
		o.Lineage = g
		cfg, err := pgxpool.ParseConfig(o.Store.Pool().Config().ConnString())
		if err != nil {
			t.Fatal(err)
		}
		cfg.ConnConfig.Tracer = stmts
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		o.Store = store.New(pool)
	})
	// count draws fct_orders with fan jobs reading it, each writing a
	// dataset of its own, or with the tree of 500 nodes below it that
	// the explorer lists rather than draws.
	count := func(fan int, tree bool) (int64, string) {
		t.Helper()
		jobs := []catalog.JobEdges{{ID: 1, Key: catalog.JobKey{Namespace: "dbt", Name: "model.fct_orders"},
			Inputs: []catalog.Key{rawEvents, dimCustomers}, Outputs: []catalog.Key{fctOrders}}}
		for i := range fan {
			jobs = append(jobs, catalog.JobEdges{ID: int64(10 + i), Key: catalog.JobKey{Namespace: "dbt", Name: fmt.Sprintf("copy_%03d", i)},
				Inputs: []catalog.Key{fctOrders}, Outputs: []catalog.Key{{Namespace: warehouseNS, Name: fmt.Sprintf("warehouse.copies.c%03d", i)}}})
		}
		path := lineagePath(fctOrders)
		if tree {
			jobs = append(jobs, catalog.JobEdges{ID: 2, Key: catalog.JobKey{Namespace: "dbt", Name: "feed_tree"},
				Inputs: []catalog.Key{fctOrders}, Outputs: []catalog.Key{treeKey("cross", "")}})
			jobs = append(jobs, lineageTree("cross", 8, true)...)
			path = lineageState{Depth: 5, Direction: "downstream"}.url(fctOrders)
		}
		g.SetJobs(jobs)
		stmts.n.Store(0)
		resp := p.get(t, path)
		if resp.status != 200 {
			t.Fatalf("fan of %d, tree %v: status %d", fan, tree, resp.status)
		}
		return stmts.n.Load(), htmlUnescape(resp.body)
	}
	small, body := count(0, false)
	if !strings.Contains(body, "postgres · table · analytics_owner") {
		t.Errorf("the small drawing shows no node facts")
	}
	for _, tc := range []struct {
		fan  int
		tree bool
	}{{5, false}, {30, false}, {0, true}} {
		n, body := count(tc.fan, tc.tree)
		if tc.tree {
			if !strings.Contains(body, `id="lineage-list"`) {
				t.Errorf("the tree is not listed")
			}
			if !strings.Contains(body, "postgres · table · data-platform +1") {
				t.Errorf("the list does not show fct_orders' facts")
			}
		}
		if n != small {
			t.Errorf("explorer with a fan of %d (tree %v): %d statements, want %d as with 3 datasets", tc.fan, tc.tree, n, small)
		}
	}
	t.Logf("%d statements", small)
}

// TestSearchIncidentBadge marks a search hit with an open incident by a
// badge in words linking to the incident, and no other hit; once
// resolved, the badge goes.
func TestSearchIncidentBadge(t *testing.T) {
	p := newPortal(t, func(o *Options) {
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
	inc, _, err := p.s.store.OpenIncident(t.Context(), catalog.NewIncident{Dataset: dimCustomers, Cause: catalog.CauseCheckFailed,
		CauseKey: "unique_email", Severity: catalog.SeverityError, Title: "check unique_email fails", By: catalog.ActorAlmanac})
	if err != nil {
		t.Fatal(err)
	}
	badge := `<a class="badge incident-badge status-failed" href="` + incidentPath(inc.ID) + `" title="Open incident: check unique_email fails">⚠ incident</a>`
	body := p.get(t, "/search?q=warehouse.marts").body
	if !strings.Contains(body, badge) {
		t.Errorf("search lacks the badge %s", badge)
	}
	if n := strings.Count(body, "incident-badge"); n != 1 {
		t.Errorf("search has %d incident badges, want only dim_customers'", n)
	}
	if !strings.Contains(body, fctOrders.Name) {
		t.Errorf("search does not find %s beside %s", fctOrders.Name, dimCustomers.Name)
	}
	if _, err := p.s.store.AutoResolveIncident(t.Context(), dimCustomers, catalog.CauseCheckFailed, "unique_email", "passes again"); err != nil {
		t.Fatal(err)
	}
	if body := p.get(t, "/search?q=warehouse.marts").body; strings.Contains(body, "incident-badge") {
		t.Errorf("search still has an incident badge after the incident was resolved")
	}
}
