package ui

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/ui/browsertest"
)

func TestLineagePage(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	const ns = "postgres://wh:5432"
	key := func(n string) catalog.Key { return catalog.Key{Namespace: ns, Name: n} }
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "dbt", Name: "model.orders"}, Inputs: []catalog.Key{key("db.raw.orders")}, Outputs: []catalog.Key{key("db.marts.orders")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "dbt", Name: "model.revenue"}, Inputs: []catalog.Key{key("db.marts.orders")}, Outputs: []catalog.Key{key("db.marts.revenue")}},
		{ID: 3, Key: catalog.JobKey{Namespace: "dbt", Name: "model.report"}, Inputs: []catalog.Key{key("db.marts.revenue")}, Outputs: []catalog.Key{key("db.reports.weekly")}},
	})
	s, err := New(Options{Store: store.New(pool), Lineage: g})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	const orders = "/lineage/postgres:%2F%2Fwh:5432/db.marts.orders"
	expandRevenue := url.QueryEscape(datasetRef(key("db.marts.revenue")))
	tests := []struct {
		path   string
		code   int
		want   []string
		unwant []string
	}{
		{orders, 200, []string{"<svg", "model.orders", "model.revenue", `href="/lineage/postgres:%2F%2Fwh:5432/db.marts.revenue?depth=1&amp;direction="`,
			// revenue has a job left out: it can be expanded, and the link keeps the rest.
			`id="a_expand:dataset:` + ns + `:db.marts.revenue"`, `href="` + orders + `?depth=1&amp;direction=&amp;expand=` + expandRevenue + `"`,
			"svg-pan-zoom.min.js", "lineage.js", "Show columns"},
			[]string{"db.reports.weekly", "collapse all"}},
		{orders + "?expand=" + expandRevenue, 200, []string{"db.reports.weekly", "model.report", "1 expanded", "collapse all",
			`<input type="hidden" name="expand" value="postgres:%2F%2Fwh:5432/db.marts.revenue">`},
			[]string{`id="a_expand:dataset:` + ns + `:db.marts.revenue"`}},
		{"/lineage/postgres:%2F%2Fwh:5432/db.raw.orders?depth=2&direction=downstream&path=" + ns + "/db.marts.revenue", 200, []string{"db.marts.revenue", "#d97706"}, nil},
		{orders + "?columns=1", 200, []string{"no columns known", "Show datasets and jobs", "Select a column"}, []string{">model.orders<"}},
		{"/lineage/postgres:%2F%2Fwh:5432/db.raw.orders?depth=99", 400, []string{"Depth"}, nil},
		{orders + "?expand=nonsense", 400, []string{"Expand"}, nil},
		{orders + "?columns=1&column=x", 400, []string{"Column"}, nil},
		{"/lineage/postgres:%2F%2Fwh:5432/nope", 404, []string{"The catalog has no dataset nope"}, nil},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.code {
			t.Errorf("%s: status %d, want %d", tt.path, rec.Code, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s: page lacks %q", tt.path, w)
			}
		}
		for _, w := range tt.unwant {
			if strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s: page has %q", tt.path, w)
			}
		}
	}
}

// TestLineageNotices says on the page which parameters were not applied
// and why, and still serves the drawing; and draws a catalogued dataset
// no job names alone, with how lineage gets in.
func TestLineageNotices(t *testing.T) {
	p, _ := newLineagePortal(t)
	column := func(k catalog.Key, c string) string {
		return url.QueryEscape(columnParam(lineage.SVGColumn{Dataset: k, Column: c}))
	}
	orders := lineagePath(fctOrders)
	tests := []struct {
		name   string
		path   string
		want   []string
		unwant []string
	}{
		{"path not an address", orders + "?path=garbage", []string{`"garbage" is not a dataset address`, `value="garbage"`}, []string{"#d97706", "path=garbage"}},
		{"path to a dataset not drawn", orders + "?path=" + url.QueryEscape(warehouseNS+"/warehouse.marts.nosuch"),
			[]string{"warehouse.marts.nosuch (namespace " + warehouseNS + ") is not in this drawing, and no lineage joins it to warehouse.marts.fct_orders"}, []string{"#d97706"}},
		{"path beyond the drawing", orders + "?path=" + url.QueryEscape(boardPack.Namespace+"/"+boardPack.Name),
			[]string{"The path to warehouse.reports.board_pack runs beyond this drawing (3 hops)", "#d97706"}, nil},
		{"path in the drawing", orders + "?path=" + url.QueryEscape(rawEvents.Namespace+"/"+rawEvents.Name),
			[]string{"#d97706"}, []string{`class="lineage-notice"`}},
		{"column of a dataset not drawn", orders + "?columns=1&column=ns/name/nosuch",
			[]string{"Column nosuch is not traced: dataset name (namespace ns) is not in this drawing"}, []string{"Tracing ", "column=ns"}},
		{"unknown column", orders + "?columns=1&column=" + column(fctOrders, "nosuch"),
			[]string{"Column nosuch is not traced: warehouse.marts.fct_orders has no such column (its columns: order_id, customer_id", "Select a column"}, []string{"Tracing "}},
		{"known column", orders + "?columns=1&column=" + column(fctOrders, "amount"),
			[]string{"Tracing "}, []string{`class="lineage-notice"`}},
		{"column outside the column view", orders + "?column=" + column(fctOrders, "amount"),
			[]string{"Column warehouse.marts.fct_orders.amount is not traced: columns are traced in the column view"}, nil},
		{"no lineage", lineagePath(evil), []string{"No lineage is known for this dataset yet", "OpenLineage", "dbt", "views",
			`<g id="dataset:` + lakeNS + `:` + evilName + `" class="node"`, "1 node</span> drawn (1 dataset, 0 jobs)"}, []string{"<script>alert"}},
		{"no lineage, columns", lineagePath(evil) + "?columns=1", []string{"No lineage is known for this dataset yet", "Select a column", `<g id="dataset:` + lakeNS}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := p.get(t, tt.path)
			if resp.status != 200 {
				t.Fatalf("status %d, want 200:\n%s", resp.status, resp.body)
			}
			body := html.UnescapeString(resp.body)
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.unwant {
				if strings.Contains(resp.body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
	// Only a dataset the catalog lacks is not found.
	resp := p.get(t, lineagePath(catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.nosuch"}))
	if resp.status != 404 || !strings.Contains(resp.body, "The catalog has no dataset warehouse.marts.nosuch") {
		t.Errorf("unknown dataset: status %d, want 404 saying the catalog has no such dataset:\n%s", resp.status, resp.body)
	}
}

func TestLineageStateRoundTrip(t *testing.T) {
	odd := catalog.Key{Namespace: "s3://bucket/a b", Name: "path/to/file?x=1&y=2"}
	st := lineageState{Depth: 3, Direction: "upstream", Path: "ns/x", Columns: true,
		Expand: []catalog.Key{odd, {Namespace: "postgres://h:5432", Name: "db.s.t"}},
		Column: lineage.SVGColumn{Dataset: odd, Column: "a/b c"},
		Open:   []lineage.NodeID{lineage.DatasetID(odd), lineage.JobID(catalog.JobKey{Namespace: "dbt://a:b/c", Name: "model.x/y"})},
		All:    true}
	got, _, err := parseLineageState(st.query())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("state after a round trip through the query (-want +got):\n%s", diff)
	}
}

// TestExpandSubgraph merges the next hop of expanded datasets into a
// drawing, in whatever order the expansions come, and recounts "+N more".
func TestExpandSubgraph(t *testing.T) {
	key := func(n string) catalog.Key { return catalog.Key{Namespace: "ns", Name: n} }
	g := lineage.NewGraph()
	// a → b → c → d → e, and c → f; up ← b.
	var jobs []catalog.JobEdges
	for i, e := range [][2]string{{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "e"}, {"c", "f"}, {"up", "b"}} {
		jobs = append(jobs, catalog.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "j", Name: e[0] + e[1]},
			Inputs: []catalog.Key{key(e[0])}, Outputs: []catalog.Key{key(e[1])}})
	}
	g.SetJobs(jobs)
	draw := func(expand ...string) (lineage.Subgraph, []catalog.Key) {
		sub, err := g.Traverse(lineage.Query{Start: key("b"), Depth: 1, Direction: lineage.Downstream})
		if err != nil {
			t.Fatal(err)
		}
		var keys []catalog.Key
		for _, e := range expand {
			keys = append(keys, key(e))
		}
		return expandSubgraph(g, sub, keys, lineage.Downstream)
	}
	datasets := func(sub lineage.Subgraph) []string {
		var out []string
		for _, n := range sub.Nodes {
			if n.ID.Kind == lineage.DatasetNode {
				s := n.ID.Name
				if n.More > 0 {
					s += fmt.Sprintf("+%d", n.More)
				}
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		expand  []string
		want    []string
		applied int
	}{
		{nil, []string{"b", "c+2"}, 0},
		{[]string{"c"}, []string{"b", "c", "d+1", "f"}, 1},
		// d is only drawn once c is expanded; the order does not matter.
		{[]string{"d", "c"}, []string{"b", "c", "d", "e", "f"}, 2},
		// A dataset not drawn is dropped.
		{[]string{"e"}, []string{"b", "c+2"}, 0},
	}
	for _, tt := range tests {
		sub, applied := draw(tt.expand...)
		if diff := cmp.Diff(tt.want, datasets(sub)); diff != "" {
			t.Errorf("expand %v: datasets (-want +got):\n%s", tt.expand, diff)
		}
		if len(applied) != tt.applied {
			t.Errorf("expand %v: %d applied, want %d", tt.expand, len(applied), tt.applied)
		}
		for _, e := range sub.Edges {
			if !slices.ContainsFunc(sub.Nodes, func(n lineage.Node) bool { return n.ID == e.From }) ||
				!slices.ContainsFunc(sub.Nodes, func(n lineage.Node) bool { return n.ID == e.To }) {
				t.Errorf("expand %v: edge %s → %s has an end not drawn", tt.expand, e.From, e.To)
			}
		}
	}
}

// Datasets of the lineage fixture beyond fill's.
var (
	weeklyReport = catalog.Key{Namespace: warehouseNS, Name: "warehouse.reports.revenue_weekly"}
	boardPack    = catalog.Key{Namespace: warehouseNS, Name: "warehouse.reports.board_pack"}
)

// lineageFixture is the lineage around fill's datasets: raw events and
// customers feed fct_orders, which feeds the daily revenue view, which
// feeds two reports in a row; and column lineage along the way.
func lineageFixture(t *testing.T, pool *pgxpool.Pool) *lineage.Graph {
	t.Helper()
	job := func(id int64, name string, in, out catalog.Key, more ...catalog.Key) catalog.JobEdges {
		return catalog.JobEdges{ID: id, Key: catalog.JobKey{Namespace: "dbt", Name: name}, Inputs: append([]catalog.Key{in}, more...), Outputs: []catalog.Key{out}}
	}
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		job(1, "model.fct_orders", rawEvents, fctOrders, dimCustomers),
		job(2, "model.v_daily_revenue", fctOrders, dailyRevenue),
		job(3, "report.revenue_weekly", dailyRevenue, weeklyReport),
		job(4, "report.board_pack", weeklyReport, boardPack),
	})
	for _, r := range []struct {
		out             catalog.Key
		col             string
		in              catalog.Key
		inCol, typ, sub string
	}{
		{fctOrders, "customer_id", dimCustomers, "customer_id", "DIRECT", "IDENTITY"},
		{fctOrders, "amount", rawEvents, "payload", "DIRECT", "TRANSFORMATION"},
		{dailyRevenue, "revenue", fctOrders, "amount", "DIRECT", "AGGREGATION"},
		{dailyRevenue, "day", fctOrders, "ordered_at", "DIRECT", "TRANSFORMATION"},
		{dailyRevenue, "revenue", fctOrders, "amount", "INDIRECT", "FILTER"},
	} {
		if _, err := pool.Exec(t.Context(), `
			INSERT INTO column_lineage (source, namespace, name, column_name, input_namespace, input_name, input_column,
			                            transformation_type, transformation_subtype)
			VALUES ('openlineage', $1, $2, $3, $4, $5, $6, $7, $8)`,
			r.out.Namespace, r.out.Name, r.col, r.in.Namespace, r.in.Name, r.inCol, r.typ, r.sub); err != nil {
			t.Fatalf("insert column lineage: %v", err)
		}
	}
	return g
}

// newLineagePortal serves the fixture catalog with its lineage.
func newLineagePortal(t *testing.T) (*portal, *lineage.Graph) {
	t.Helper()
	var g *lineage.Graph
	p := newPortal(t, func(o *Options) {
		g = lineageFixture(t, o.Store.Pool())
		o.Lineage = g
	})
	return p, g
}

func TestLineageColumns(t *testing.T) {
	p, _ := newLineagePortal(t)
	base := lineagePath(fctOrders) + "?columns=1"
	resp := p.get(t, base)
	if resp.status != 200 {
		t.Fatalf("status %d:\n%s", resp.status, resp.body)
	}
	body := htmlUnescape(resp.body)
	for _, want := range []string{
		`class="edge column-edge direct"`, `class="edge column-edge indirect"`, "warehouse.marts.fct_orders.amount → warehouse.marts.v_daily_revenue.revenue\nDIRECT, AGGREGATION",
		">ordered_at <", ">payload <", "Select a column",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("column view lacks %q", want)
		}
	}
	// Tracing revenue highlights amount upstream and payload beyond it,
	// not customer_id.
	traced := lineageState{Depth: 1, Columns: true, Column: lineage.SVGColumn{Dataset: dailyRevenue, Column: "revenue"}}.url(fctOrders)
	resp = p.get(t, traced)
	if resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	body = htmlUnescape(resp.body)
	if !strings.Contains(body, "Tracing ") || !strings.Contains(body, "stop tracing") {
		t.Errorf("page does not say which column it traces")
	}
	// Each highlighted cell is a polygon of the cell's colour right before
	// the column's text.
	cells := regexp.MustCompile(`fill="#(?:fde68a|fef3c7)" stroke="none" points="[^"]*"/>\n<text[^>]*>([^<]+?) ?<`).FindAllStringSubmatch(body, -1)
	var names []string
	for _, c := range cells {
		names = append(names, c[1])
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"amount", "payload", "revenue"}, names); diff != "" {
		t.Errorf("highlighted columns (-want +got):\n%s", diff)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#45;", "-", "&#10;", "\n", "&gt;", ">", "&lt;", "<", "&amp;", "&", "&quot;", `"`).Replace(s)
}

// TestLineageExplorerBrowser drives the explorer in headless Chromium:
// the drawing, expanding a node in place, the zoom controls, the column
// view, a screenshot of a drawing of 500 nodes, and fans drawn as tables
// on a laptop's window.
func TestLineageExplorerBrowser(t *testing.T) {
	p, g := newLineagePortal(t)
	// A fan of 250 jobs below one dataset, for the 500-node drawing.
	var big []catalog.JobEdges
	bigKey := func(i int) catalog.Key {
		return catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("warehouse.big.t%03d", i)}
	}
	for i := range 250 {
		big = append(big, catalog.JobEdges{ID: int64(1000 + i), Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprintf("load_t%03d", i+1)},
			Inputs: []catalog.Key{bigKey(i / 3)}, Outputs: []catalog.Key{bigKey(i + 1)}})
	}
	g.SetJobs(big)

	tab := browsertest.New(t, 1400, 1000, 60*time.Second)
	nodeCount := `document.querySelectorAll("#lineage-graph g.node").length`
	has := func(k catalog.Key) string {
		return fmt.Sprintf(`!!document.getElementById(%q)`, lineage.DatasetID(k).String())
	}

	start := time.Now()
	tab.Do("open the explorer",
		chromedp.Navigate(p.ts.URL+lineagePath(fctOrders)),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".svg-pan-zoom_viewport")`),
	)
	if n := browsertest.Run(tab, "count nodes", chromedp.Evaluate[int](nodeCount)); n != 6 {
		t.Errorf("%d nodes drawn, want 6 (3 datasets around fct_orders, 2 jobs, the view)", n)
	}
	for _, k := range []catalog.Key{fctOrders, rawEvents, dimCustomers, dailyRevenue} {
		if !browsertest.Run(tab, "find "+k.Name, chromedp.Evaluate[bool](has(k))) {
			t.Errorf("%s is not drawn", k.Name)
		}
	}
	if browsertest.Run(tab, "find the report", chromedp.Evaluate[bool](has(weeklyReport))) {
		t.Errorf("%s is drawn before expanding", weeklyReport.Name)
	}

	// Expand the daily revenue view: the report appears, the page stays.
	browsertest.Run(tab, "mark the page", chromedp.Evaluate[bool](`window.notReloaded = true`))
	expand := fmt.Sprintf(`[id="a_expand:%s"] a`, lineage.DatasetID(dailyRevenue))
	tab.Do("expand "+dailyRevenue.Name,
		chromedp.Click(chromedp.CSS(expand)),
		chromedp.Poll[chromedp.Void](has(weeklyReport), chromedp.WithPollingTimeout(10*time.Second)),
	)
	if !browsertest.Run(tab, "check for a reload", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Errorf("expanding reloaded the page")
	}
	if loc := browsertest.Run(tab, "read the address", chromedp.Evaluate[string](`location.search`)); !strings.Contains(loc, "expand=") {
		t.Errorf("address after expanding is %q, want an expand parameter", loc)
	}
	if n := browsertest.Run(tab, "count nodes", chromedp.Evaluate[int](nodeCount)); n != 8 {
		t.Errorf("%d nodes drawn after expanding, want 8", n)
	}

	// Zoom in with the toolbar: the viewport's transform changes.
	transform := `document.querySelector(".svg-pan-zoom_viewport").getAttribute("transform")`
	before := browsertest.Run(tab, "read the transform", chromedp.Evaluate[string](transform))
	// svg-pan-zoom applies a change on the next animation frame.
	changed := func(from string) chromedp.Action[string] {
		return chromedp.Poll[string](fmt.Sprintf(`%s !== %q && %s`, transform, from, transform), chromedp.WithPollingTimeout(5*time.Second))
	}
	tab.Do("zoom in", chromedp.Click(chromedp.CSS(`button[data-zoom="in"]`)))
	after := browsertest.Run(tab, "see the zoom change the transform", changed(before))
	// And the keyboard: "0" fits the drawing again.
	tab.Do("fit with the keyboard", chromedp.Focus(chromedp.ID("lineage-graph")), chromedp.KeyEvent("0"))
	browsertest.Run(tab, "see the fit change the transform", changed(after))

	// The column view draws edges between columns; selecting a column
	// traces it in place.
	// The toggle is an ordinary link, to a new page.
	toggle := browsertest.Run(tab, "find the column toggle", chromedp.Evaluate[string](`document.querySelector('#lineage-status a[href*="columns=1"]').href`))
	tab.Do("show columns",
		chromedp.Navigate(toggle),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph g.edge.column-edge")),
	)
	if n := browsertest.Run(tab, "count column edges", chromedp.Evaluate[int](`document.querySelectorAll("#lineage-graph g.edge.column-edge").length`)); n != 5 {
		t.Errorf("%d column edges, want 5", n)
	}
	if n := browsertest.Run(tab, "count indirect edges", chromedp.Evaluate[int](`document.querySelectorAll("#lineage-graph g.edge.column-edge.indirect path[stroke-dasharray]").length`)); n != 1 {
		t.Errorf("%d dashed indirect edges, want 1", n)
	}
	tab.Do("trace a column",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[id="a_column:%s:revenue"] a`, lineage.DatasetID(dailyRevenue)))),
		chromedp.Poll[chromedp.Void](`document.querySelector("#lineage-status code")`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if got := browsertest.Run(tab, "read the traced column", chromedp.Evaluate[string](`document.querySelector("#lineage-status code").textContent`)); got != "warehouse.marts.v_daily_revenue.revenue" {
		t.Errorf("tracing %q, want the revenue column", got)
	}

	// 500 nodes, every one drawn on request (the explorer would group
	// the farthest branches): the page says so, and a screenshot to look
	// at.
	dir, err := os.MkdirTemp("", "almanac-lineage-")
	if err != nil {
		t.Fatal(err)
	}
	tab.Do("open a 500-node drawing",
		chromedp.Navigate(p.ts.URL+lineageState{Depth: 10, Direction: "downstream", All: true}.url(bigKey(0))),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".svg-pan-zoom_viewport")`),
	)
	if n := browsertest.Run(tab, "count nodes", chromedp.Evaluate[int](nodeCount)); n != 500 {
		t.Errorf("%d nodes drawn, want 500", n)
	}
	status := browsertest.Run(tab, "read the status", chromedp.Text(chromedp.ID("lineage-status")))
	for _, want := range []string{"500 nodes", "narrowed"} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q lacks %q", status, want)
		}
	}
	fit := browsertest.Run(tab, "screenshot the whole drawing", chromedp.Screenshot(chromedp.ID("lineage-graph")))
	zoomIn := chromedp.Click(chromedp.CSS(`button[data-zoom="in"]`))
	tab.Do("zoom in to read", slices.Repeat([]chromedp.Action[chromedp.Void]{zoomIn}, 10)...)
	zoomed := browsertest.Run(tab, "screenshot zoomed in", chromedp.Screenshot(chromedp.ID("lineage-graph")))
	for name, b := range map[string][]byte{"lineage-500-fit.png": fit, "lineage-500-zoomed.png": zoomed} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots of the 500-node drawing: %s", dir)

	// Fans on a laptop's window: a job writing 600 datasets and a dataset
	// read by 300 jobs are tables as wide as the window, each leaf a link.
	clicks := catalog.Key{Namespace: warehouseNS, Name: "warehouse.raw.clicks"}
	sessions := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.sessions"}
	split := catalog.JobEdges{ID: 2000, Key: catalog.JobKey{Namespace: "airflow", Name: "split_clicks"}, Inputs: []catalog.Key{clicks}}
	for i := range 600 {
		split.Outputs = append(split.Outputs, catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("warehouse.exports.clicks_%03d", i)})
	}
	fan := []catalog.JobEdges{split}
	for i := range 300 {
		fan = append(fan, catalog.JobEdges{ID: int64(3000 + i), Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprintf("report_%03d", i)},
			Inputs: []catalog.Key{sessions}, Outputs: []catalog.Key{{Namespace: warehouseNS, Name: fmt.Sprintf("warehouse.reports.r%03d", i)}}})
	}
	// One export feeds a job further on: it can be expanded.
	fan = append(fan, catalog.JobEdges{ID: 4000, Key: catalog.JobKey{Namespace: "airflow", Name: "publish"},
		Inputs: []catalog.Key{split.Outputs[7]}, Outputs: []catalog.Key{{Namespace: warehouseNS, Name: "warehouse.public.clicks"}}})
	g.SetJobs(fan)
	tab.Do("shrink the window to a laptop's", chromedp.EmulateViewport(1280, 800))
	for _, tc := range []struct {
		name  string
		key   catalog.Key
		title string
	}{
		{"outputs", clicks, "outputs of split_clicks"},
		{"readers", sessions, "readers of warehouse.marts.sessions"},
	} {
		tab.Do("open the fan of "+tc.name,
			chromedp.Navigate(p.ts.URL+lineageState{Depth: 1, Direction: "downstream"}.url(tc.key)),
			chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node.fan")),
			chromedp.Poll[chromedp.Void](`document.querySelector(".svg-pan-zoom_viewport")`),
		)
		status := browsertest.Run(tab, "read the status", chromedp.Text(chromedp.ID("lineage-status")))
		if !strings.Contains(status, tc.title) || !strings.Contains(status, "zoom in to read it") {
			t.Errorf("%s: status %q does not say the %s are a table to zoom into", tc.name, status, tc.title)
		}
		// The drawing's shape, and the height of a leaf's label fitted.
		shape := browsertest.Run(tab, "measure the drawing", chromedp.Evaluate[[]float64](`(() => {
			const size = document.querySelector(".svg-pan-zoom_viewport").getBBox();
			const text = document.querySelector("#lineage-graph g.fan g[id^='a_dataset:'] text");
			return [size.width, size.height, text.getBoundingClientRect().height];
		})()`))
		t.Logf("fan of %s: %.0f × %.0f pt, a label %.1f px high fitted to the window", tc.name, shape[0], shape[1], shape[2])
		if shape[0]/shape[1] < 0.5 {
			t.Errorf("fan of %s: width/height %.2f, want at least 0.5", tc.name, shape[0]/shape[1])
		}
		img := browsertest.Run(tab, "screenshot the fan", chromedp.Screenshot(chromedp.ID("lineage-graph")))
		if err := os.WriteFile(filepath.Join(dir, "lineage-fan-"+tc.name+".png"), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A leaf of the fan expands in place, and re-centres the explorer.
	export := catalog.Key{Namespace: warehouseNS, Name: "warehouse.exports.clicks_007"}
	tab.Do("open the fan of outputs",
		chromedp.Navigate(p.ts.URL+lineageState{Depth: 1, Direction: "downstream"}.url(clicks)),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node.fan")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".svg-pan-zoom_viewport")`),
	)
	tab.Do("expand a leaf of the fan",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[id="a_expand:%s"] a`, lineage.DatasetID(export)))),
		chromedp.Poll[chromedp.Void](`!!document.getElementById("job:airflow:publish")`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	// The expanded dataset, now a node of its own, kept where its cell was.
	inBox := fmt.Sprintf(`(() => {
		const box = document.getElementById("lineage-graph").getBoundingClientRect();
		const r = document.getElementById(%q).getBoundingClientRect();
		return r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
	})()`, lineage.DatasetID(export).String())
	if !browsertest.Run(tab, "find the expanded leaf", chromedp.Evaluate[bool](inBox)) {
		t.Errorf("the expanded leaf %s is not in view", export.Name)
	}
	tab.Do("re-centre on a leaf of the fan", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[id="a_%s"] a`, lineage.DatasetID(export)))))
	// The page is left: until the next is there, evaluating fails.
	var at string
	for deadline := time.Now().Add(10 * time.Second); at != lineagePath(export) && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		at, _ = chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.querySelector("#lineage-graph g.node") ? location.pathname : ""`))
	}
	if at != lineagePath(export) {
		t.Errorf("following a leaf of the fan went to %q, want its explorer %q", at, lineagePath(export))
	}

	// A dataset no job names, with a path that is no address: the page
	// says both.
	tab.Do("open a dataset without lineage",
		chromedp.Navigate(p.ts.URL+lineagePath(evil)+"?path=garbage"),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node")),
	)
	status = browsertest.Run(tab, "read the status", chromedp.Text(chromedp.ID("lineage-status")))
	for _, want := range []string{"No lineage is known for this dataset yet", `"garbage" is not a dataset address`} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q lacks %q", status, want)
		}
	}
	img := browsertest.Run(tab, "screenshot the page", chromedp.Screenshot(chromedp.CSS("main")))
	if err := os.WriteFile(filepath.Join(dir, "lineage-none.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the fans and of a dataset without lineage: %s", dir)

	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("browser test took %v", time.Since(start).Round(time.Millisecond))
}

// TestLineageOfAlias checks that the explorer of a name an OpenLineage
// symlink made an alias of a dataset redirects to that dataset's.
func TestLineageOfAlias(t *testing.T) {
	alias := catalog.Key{Namespace: "hive://metastore", Name: "db.fct_orders"}
	p := newPortal(t, func(o *Options) {
		o.Lineage = lineageFixture(t, o.Store.Pool())
		push := catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{
			Facts:   catalog.DatasetFacts{Key: fctOrders, Aliases: []catalog.Alias{{Key: alias, Type: "TABLE"}}},
			Asserts: catalog.FacetAliases,
		}}}
		if err := o.Store.ApplyPush(t.Context(), push); err != nil {
			t.Fatal(err)
		}
	})
	r := p.get(t, lineagePath(alias)+"?depth=2")
	if r.status != http.StatusFound || r.header.Get("Location") != lineagePath(fctOrders)+"?depth=2" {
		t.Errorf("explorer of the alias: %d to %q, want 302 to %s", r.status, r.header.Get("Location"), lineagePath(fctOrders)+"?depth=2")
	}
	if r := p.get(t, lineagePath(fctOrders)); r.status != 200 {
		t.Errorf("explorer of the dataset itself: %d", r.status)
	}
}
