package ui

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"almanac/catalog"
	"almanac/lineage"
	"almanac/ui/browsertest"
)

// treeKey names a table of lineageTree: warehouse.tree.source, and below
// it warehouse.tree.t3, warehouse.tree.t3_5, warehouse.tree.t3_5_1…
// (tree being the tree's root name).
func treeKey(root, path string) catalog.Key {
	if path == "" {
		return catalog.Key{Namespace: warehouseNS, Name: "warehouse." + root + ".source"}
	}
	return catalog.Key{Namespace: warehouseNS, Name: "warehouse." + root + ".t" + path}
}

// treeJob names the job that writes the children of the table at path.
func treeJob(root, path string) catalog.JobKey {
	ns := "airflow-" + root
	if path == "" {
		return catalog.JobKey{Namespace: ns, Name: "build_source"}
	}
	return catalog.JobKey{Namespace: ns, Name: "build_t" + path}
}

// lineageTree is a tree of fan × fan × fan tables below one source, as
// real lineage has it: one job per table writing its fan children (8 × 8
// × 8 is 584 tables and 73 jobs). With cross set, each job of the second
// level also writes the tables of the next one's, so that no branch is a
// tree.
func lineageTree(root string, fan int, cross bool) []catalog.JobEdges {
	id := int64(10000)
	if cross {
		id = 20000
	}
	var jobs []catalog.JobEdges
	children := func(path string) []catalog.Key {
		var ks []catalog.Key
		for i := range fan {
			ks = append(ks, treeKey(root, strings.TrimPrefix(path+"_"+fmt.Sprint(i+1), "_")))
		}
		return ks
	}
	var grow func(path string, level int)
	grow = func(path string, level int) {
		j := catalog.JobEdges{ID: id + int64(len(jobs)), Key: treeJob(root, path), Inputs: []catalog.Key{treeKey(root, path)}, Outputs: children(path)}
		if cross && level == 3 {
			a, b, _ := strings.Cut(path, "_")
			var n int
			fmt.Sscan(b, &n)
			j.Outputs = append(j.Outputs, children(fmt.Sprintf("%s_%d", a, n%fan+1))...)
		}
		jobs = append(jobs, j)
		if level < 3 {
			for i := range fan {
				grow(strings.TrimPrefix(path+"_"+fmt.Sprint(i+1), "_"), level+1)
			}
		}
	}
	grow("", 1)
	return jobs
}

// TestLineageGroups checks the explorer's grouping rule on a tree of 8 ×
// 8 × 8 tables at depth 3: the farthest branches collapse into groups
// the page names, a group opens from a plain link, every node is drawn
// on request, and a drawing grouping cannot shrink is listed instead.
func TestLineageGroups(t *testing.T) {
	p, g := newLineagePortal(t)
	g.SetJobs(lineageTree("tree", 8, false))
	src := treeKey("tree", "")
	at3 := lineageState{Depth: 3, Direction: "both"}
	r := p.get(t, at3.url(src))
	if r.status != 200 {
		t.Fatalf("status %d:\n%s", r.status, r.body)
	}
	body := htmlUnescape(r.body)
	// The eight jobs below the source's outputs each stand for their 8
	// tables, their 8 jobs and their 64 tables.
	if n := strings.Count(body, `class="node group"`); n != 8 {
		t.Errorf("%d groups drawn, want 8", n)
	}
	for _, want := range []string{
		"500 nodes</span> found (", "collapsed into 8 groups", "Draw every node",
		`id="group:down:` + lineage.JobID(treeJob("tree", "1")).String() + `"`, "⊞ 72 datasets, 8 jobs", "named warehouse.tree.t1_…",
		`id="a_open:group:down:` + lineage.JobID(treeJob("tree", "1")).String() + `"`,
		`id="` + lineage.DatasetID(treeKey("tree", "8")).String() + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("depth 3 lacks %q", want)
		}
	}
	if strings.Contains(body, `id="`+lineage.DatasetID(treeKey("tree", "1_1")).String()+`"`) {
		t.Errorf("t1_1 is drawn, want it in its group")
	}
	// Opening the group of build_t1: its 8 tables and their jobs are
	// drawn, their own outputs grouped; the page says how to close it.
	open := at3
	open.Open = []lineage.NodeID{lineage.JobID(treeJob("tree", "1"))}
	if !strings.Contains(body, `href="`+open.url(src)+`"`) {
		t.Errorf("depth 3 has no link opening build_t1's group %s", open.url(src))
	}
	body = htmlUnescape(p.get(t, open.url(src)).body)
	for _, want := range []string{
		`id="` + lineage.DatasetID(treeKey("tree", "1_1")).String() + `"`, `id="` + lineage.DatasetID(treeKey("tree", "1_8")).String() + `"`,
		`id="group:down:` + lineage.JobID(treeJob("tree", "1_1")).String() + `"`, "⊞ 8 datasets",
		"1 opened", "close all", `<input type="hidden" name="open" value="job:airflow-tree/build_t1">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("build_t1 opened lacks %q", want)
		}
	}
	if strings.Contains(body, `id="group:down:`+lineage.JobID(treeJob("tree", "1")).String()+`"`) {
		t.Errorf("build_t1's group is drawn after opening it")
	}
	// Every node on request.
	all := at3
	all.All = true
	body = p.get(t, all.url(src)).body
	if strings.Contains(body, `class="node group"`) || strings.Count(body, `class="node"`) != 500 {
		t.Errorf("draw=all: %d groups and %d nodes, want none and 500", strings.Count(body, `class="node group"`), strings.Count(body, `class="node"`))
	}
	// A bad open parameter is a 400 naming it.
	if r := p.get(t, at3.url(src)+"&open="+url.QueryEscape("table:x/y")); r.status != 400 || !strings.Contains(r.body, "Open") {
		t.Errorf("open=table:x/y: %d, want 400 naming Open", r.status)
	}

	// Tables written by two jobs: no branch is a tree, nothing groups, and
	// the 500 nodes are listed with a link that draws them anyway.
	g.SetJobs(lineageTree("cross", 8, true))
	src = treeKey("cross", "")
	all.Open = nil
	body = htmlUnescape(p.get(t, at3.url(src)).body)
	for _, want := range []string{`id="lineage-list"`, "too many to read", `href="` + all.url(src) + `"`, ">warehouse.cross.t1_1<", "2 downstream", ">build_t1<"} {
		if !strings.Contains(body, want) {
			t.Errorf("list view lacks %q", want)
		}
	}
	if strings.Contains(body, "<svg") {
		t.Errorf("list view draws the graph too")
	}
}

// TestLineageTreeBrowser opens the explorer of a tree of 8 × 8 × 8
// tables at depth 3 in Chromium on a 1,400 px window: a 500-node
// subgraph, drawn with its farthest branches grouped, and every label at
// least readableLabel pixels high as first shown; a group opens in
// place; on a phone the page does not scroll sideways.
func TestLineageTreeBrowser(t *testing.T) {
	const readableLabel = 11.0
	p, g := newLineagePortal(t)
	g.SetJobs(lineageTree("tree", 8, false))
	src := treeKey("tree", "")
	tab := browsertest.New(t, 1400, 1000, 120*time.Second)
	// smallest is the rendered size in CSS pixels of the smallest label
	// inside the box's visible part, and how many labels there are: the
	// computed font size scaled by the text's transform to the screen.
	const smallest = `(() => {
		const box = document.getElementById("lineage-graph").getBoundingClientRect();
		let least = Infinity, n = 0;
		for (const t of document.querySelectorAll("#lineage-graph svg text")) {
			const r = t.getBoundingClientRect();
			if (r.right < box.left || r.left > box.right || r.bottom < box.top || r.top > box.bottom) continue;
			const m = t.getScreenCTM();
			const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
			n++;
			least = Math.min(least, px);
		}
		return [least, n];
	})()`
	dir, err := os.MkdirTemp("", "almanac-lineage-tree-")
	if err != nil {
		t.Fatal(err)
	}
	tab.Do("open the tree at depth 3",
		chromedp.Navigate(p.ts.URL+lineageState{Depth: 3, Direction: "both"}.url(src)),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node.group")),
		chromedp.WaitReady(chromedp.CSS("#lineage-graph[data-ready]")),
	)
	status := browsertest.Run(tab, "read the status", chromedp.Text(chromedp.ID("lineage-status")))
	if !strings.Contains(status, "500 nodes") || !strings.Contains(status, "collapsed into 8 groups") {
		t.Errorf("status %q does not say 500 nodes collapsed into 8 groups", status)
	}
	got := browsertest.Run(tab, "measure the labels", chromedp.Evaluate[[]float64](smallest))
	t.Logf("depth 3 grouped: %.0f labels in view, the smallest %.1f px", got[1], got[0])
	if got[1] < 10 || got[0] < readableLabel {
		t.Errorf("smallest of %.0f labels in view is %.1f px, want at least %.0f", got[1], got[0], readableLabel)
	}
	img := browsertest.Run(tab, "screenshot the tree", chromedp.Screenshot(chromedp.ID("lineage-graph")))
	if err := os.WriteFile(filepath.Join(dir, "lineage-tree-grouped.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}

	// Open build_t1's group in place: its tables appear, the page stays,
	// and so does build_t1 on screen.
	browsertest.Run(tab, "mark the page", chromedp.Evaluate[bool](`window.notReloaded = true`))
	hubAt := fmt.Sprintf(`(() => { const r = document.getElementById(%q).getBoundingClientRect(); return [r.left, r.top]; })()`, lineage.JobID(treeJob("tree", "1")).String())
	before := browsertest.Run(tab, "find build_t1", chromedp.Evaluate[[]float64](hubAt))
	t11 := fmt.Sprintf(`!!document.getElementById(%q)`, lineage.DatasetID(treeKey("tree", "1_1")).String())
	tab.Do("open the group of build_t1",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`[id="a_open:group:down:%s"] a`, lineage.JobID(treeJob("tree", "1"))))),
		chromedp.Poll[chromedp.Void](t11, chromedp.WithPollingTimeout(10*time.Second)),
	)
	if !browsertest.Run(tab, "check for a reload", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Errorf("opening a group reloaded the page")
	}
	tab.Do("wait for the drawing", chromedp.WaitReady(chromedp.CSS("#lineage-graph[data-ready]")))
	after := browsertest.Run(tab, "find build_t1 again", chromedp.Evaluate[[]float64](hubAt))
	if math.Abs(after[0]-before[0]) > 2 || math.Abs(after[1]-before[1]) > 2 {
		t.Errorf("build_t1 moved from %v to %v on opening its group, want it kept in place", before, after)
	}
	if loc := browsertest.Run(tab, "read the address", chromedp.Evaluate[string](`location.search`)); !strings.Contains(loc, "open=") {
		t.Errorf("address after opening is %q, want an open parameter", loc)
	}

	// Every node drawn, on request: still readable as first shown.
	tab.Do("draw every node",
		chromedp.Navigate(p.ts.URL+lineageState{Depth: 3, Direction: "both", All: true}.url(src)),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node")),
		chromedp.WaitReady(chromedp.CSS("#lineage-graph[data-ready]")),
	)
	if n := browsertest.Run(tab, "count nodes", chromedp.Evaluate[int](`document.querySelectorAll("#lineage-graph g.node").length`)); n != 500 {
		t.Errorf("%d nodes drawn, want 500", n)
	}
	got = browsertest.Run(tab, "measure the labels", chromedp.Evaluate[[]float64](smallest))
	t.Logf("depth 3, every node: %.0f labels in view, the smallest %.1f px", got[1], got[0])
	if got[1] < 10 || got[0] < readableLabel {
		t.Errorf("every node drawn: smallest of %.0f labels in view is %.1f px, want at least %.0f", got[1], got[0], readableLabel)
	}
	img = browsertest.Run(tab, "screenshot every node", chromedp.Screenshot(chromedp.ID("lineage-graph")))
	if err := os.WriteFile(filepath.Join(dir, "lineage-tree-all.png"), img, 0o644); err != nil {
		t.Fatal(err)
	}

	// On a phone: the drawing pans in its box, the page does not scroll
	// sideways.
	tab.Do("open on a phone",
		chromedp.EmulateViewport(375, 740),
		chromedp.Navigate(p.ts.URL+lineageState{Depth: 3, Direction: "both"}.url(src)),
		chromedp.WaitVisible(chromedp.CSS("#lineage-graph svg g.node.group")),
		chromedp.WaitReady(chromedp.CSS("#lineage-graph[data-ready]")),
	)
	if w := browsertest.Run(tab, "measure the page", chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
		t.Errorf("page %.0f px wide on a %.0f px phone", w[0], w[1])
	}
	got = browsertest.Run(tab, "measure the labels", chromedp.Evaluate[[]float64](smallest))
	if got[0] < readableLabel {
		t.Errorf("phone: smallest label %.1f px, want at least %.0f", got[0], readableLabel)
	}
	// axe-core on the grouped drawing and on the list that replaces a
	// drawing too big, on the phone and the desktop.
	axe := axeSource(t)
	g.SetJobs(lineageTree("cross", 8, true))
	for _, width := range []int64{375, 1400} {
		for _, pg := range []struct{ name, path, ready string }{
			{"groups", lineageState{Depth: 3, Direction: "both"}.url(src), "#lineage-graph[data-ready]"},
			{"list", lineageState{Depth: 3, Direction: "both"}.url(treeKey("cross", "")), "#lineage-list"},
		} {
			where := fmt.Sprintf("%s at %d px", pg.name, width)
			tab.Do("open the "+where, chromedp.EmulateViewport(width, 800), chromedp.Navigate(p.ts.URL+pg.path), chromedp.WaitReady(chromedp.CSS(pg.ready)))
			if w := browsertest.Run(tab, "measure the page", chromedp.Evaluate[[]float64](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
				t.Errorf("%s: page %.0f px wide in a %.0f px window", where, w[0], w[1])
			}
			for _, v := range runAxe(t, tab, axe) {
				t.Errorf("%s: axe-core: %s", where, v)
			}
		}
	}
	t.Logf("screenshots of the tree: %s", dir)
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported:\n%s", strings.Join(errs, "\n"))
	}
}
