package lineage_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/lineage"
)

func TestSVG(t *testing.T) {
	_, f := setup(t)
	sub, err := f.Graph().Traverse(lineage.Query{Start: k("b"), Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	path := map[lineage.NodeID]bool{lineage.DatasetID(k("b")): true, lineage.JobID(catalog.JobKey{Namespace: "airflow", Name: "j2"}): true, lineage.DatasetID(k("c")): true}
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{
		Href:      func(n lineage.NodeID) string { return "/lineage/" + n.Namespace + "/" + n.Name },
		Highlight: path,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", `id="dataset:` + ns + `:b"`, `href="/lineage/` + ns + `/d"`, ">j4<", "#d97706"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
}

// TestSVGExpand draws the expand control on datasets with neighbours
// left out, and only on them.
func TestSVGExpand(t *testing.T) {
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "airflow", Name: "j1"}, Inputs: []catalog.Key{k("a")}, Outputs: []catalog.Key{k("b")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "airflow", Name: "j2"}, Inputs: []catalog.Key{k("b")}, Outputs: []catalog.Key{k("c")}},
		{ID: 3, Key: catalog.JobKey{Namespace: "airflow", Name: "j3"}, Inputs: []catalog.Key{k("b")}, Outputs: []catalog.Key{k(`"odd" <name> & \N`)}},
	})
	sub, err := g.Traverse(lineage.Query{Start: k("a"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{
		Href:   func(n lineage.NodeID) string { return "/lineage/x/" + n.Name + "?a=1&b=2" },
		Expand: func(n lineage.Node) string { return "/lineage/x/a?expand=" + n.ID.Name },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, want := range []string{
		`id="a_expand:dataset:` + ns + `:b"`, `href="/lineage/x/a?expand=b"`, "⊕ 2 more", `href="/lineage/x/b?a=1&amp;b=2"`,
	} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if n := len(regexp.MustCompile(`id="a_expand:`).FindAllString(s, -1)); n != 1 {
		t.Errorf("%d expand controls, want 1 (on b)", n)
	}

	// Names that mean something to DOT, HTML or Graphviz's escapes come
	// out as they went in.
	sub, err = g.Traverse(lineage.Query{Start: k("b"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	svg, err = lineage.SVG(context.Background(), sub, lineage.SVGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `&quot;odd&quot; &lt;name&gt; &amp; \N`; !bytes.Contains(svg, []byte(want)) {
		t.Errorf("svg lacks the odd name escaped as %q", want)
	}
}

// TestSVGHiddenCharacters checks that a name holding a right-to-left
// override or a control character is drawn with them written out, so that
// it cannot pass for another name.
func TestSVGHiddenCharacters(t *testing.T) {
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "airflow", Name: "load\u202e"}, Inputs: []catalog.Key{k("a")}, Outputs: []catalog.Key{k("invoice_\u202efdp.exe\tx")}},
	})
	sub, err := g.Traverse(lineage.Query{Start: k("a"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`invoice_\u202efdp.exe\u0009x`, `load\u202e`} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
	// Element ids keep the name as it is, for the explorer's script to
	// find nodes by; nothing shown does.
	shown := regexp.MustCompile(`id="[^"]*"`).ReplaceAll(svg, nil)
	if bytes.ContainsRune(shown, '\u202e') {
		t.Errorf("svg shows a raw right-to-left override:\n%s", shown)
	}
}

// TestSVGColumns draws the column-level view: tables of columns, a port
// per column, direct edges solid and indirect dashed, folded columns past
// the cap, and the selected column's lineage highlighted.
func TestSVGColumns(t *testing.T) {
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "dbt", Name: "orders"}, Inputs: []catalog.Key{k("raw")}, Outputs: []catalog.Key{k("orders")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "dbt", Name: "wide"}, Inputs: []catalog.Key{k("raw")}, Outputs: []catalog.Key{k("wide")}},
	})
	sub, err := g.Traverse(lineage.Query{Start: k("raw"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wide []catalog.Column
	for i := range 35 {
		wide = append(wide, catalog.Column{Name: fmt.Sprintf("w%02d", i), Type: "int"})
	}
	col := func(d, c string) lineage.SVGColumn { return lineage.SVGColumn{Dataset: k(d), Column: c} }
	cv := &lineage.SVGColumns{
		Columns: map[catalog.Key][]catalog.Column{
			k("raw"):    {{Name: "id", Type: "bigint"}, {Name: "amount", Type: "numeric"}, {Name: "status", Type: "text"}},
			k("orders"): {{Name: "order_id", Type: "bigint"}, {Name: "total", Type: "numeric"}},
			k("wide"):   wide,
		},
		Edges: []lineage.SVGColumnEdge{
			{From: col("raw", "id"), To: col("orders", "order_id"), Type: "DIRECT", Subtype: "IDENTITY"},
			{From: col("raw", "amount"), To: col("orders", "total"), Type: "DIRECT", Subtype: "AGGREGATION"},
			{From: col("raw", "status"), To: col("orders", "total"), Type: "INDIRECT", Subtype: "FILTER"},
		},
		Href:      func(c lineage.SVGColumn) string { return "/col?c=" + c.Column },
		Selected:  col("orders", "total"),
		Highlight: map[lineage.SVGColumn]bool{col("orders", "total"): true, col("raw", "amount"): true, col("raw", "status"): true},
	}
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{Columns: cv})
	if err != nil {
		t.Fatal(err)
	}
	s := html.UnescapeString(string(svg)) // Graphviz writes "-" in classes as &#45;
	for _, want := range []string{
		`class="edge column-edge direct"`, `class="edge column-edge indirect"`, `stroke-dasharray`,
		"raw.amount → orders.total\nDIRECT, AGGREGATION", `href="/col?c=total"`, ">order_id <", "+5 more columns", ">w29 <",
		"#fde68a", "#d97706", `class="edge dataset-edge"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	for _, unwanted := range []string{">w30 <", "job:dbt"} {
		if strings.Contains(s, unwanted) {
			t.Errorf("svg has %q", unwanted)
		}
	}
	if n := strings.Count(s, `class="edge column-edge`); n != 3 {
		t.Errorf("%d column edges, want 3", n)
	}
}

// layoutGraph is a subgraph of about n nodes (half datasets, half
// jobs) fanning out downstream from t0, each job writing one dataset
// from a third of the one before: wide as well as deep, like a warehouse.
// Upstream, each job reads one dataset into a third of the one before.
func layoutGraph(tb testing.TB, n int, dir lineage.Direction) lineage.Subgraph {
	g := lineage.NewGraph()
	var jobs []catalog.JobEdges
	for i := range n / 2 {
		j := catalog.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "b", Name: fmt.Sprint("j", i)},
			Inputs: []catalog.Key{k(fmt.Sprint("warehouse.marts.t", i/3))}, Outputs: []catalog.Key{k(fmt.Sprint("warehouse.marts.t", i+1))}}
		if dir == lineage.Upstream {
			j.Inputs, j.Outputs = j.Outputs, j.Inputs
		}
		jobs = append(jobs, j)
	}
	g.SetJobs(jobs)
	sub, err := g.Traverse(lineage.Query{Start: k("warehouse.marts.t0"), Direction: dir, Depth: 50, MaxNodes: n})
	if err != nil {
		tb.Fatal(err)
	}
	return sub
}

// BenchmarkSVG lays out subgraphs of 200 and 500 nodes, the explorer's
// usual and largest drawings, and a job writing 600 datasets, drawn as a
// fan table.
func BenchmarkSVG(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		sub  func() lineage.Subgraph
	}{
		{"nodes=200", func() lineage.Subgraph { return layoutGraph(b, 200, lineage.Downstream) }},
		{"nodes=500", func() lineage.Subgraph { return layoutGraph(b, 500, lineage.Downstream) }},
		{"fan=600", func() lineage.Subgraph { return outputsGraph(b, 600) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			sub := tc.sub()
			lineage.SVG(ctx, sub, lineage.SVGOptions{}) // start Graphviz
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := lineage.SVG(ctx, sub, lineage.SVGOptions{}); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
			}
			b.ReportMetric(float64(len(sub.Nodes)), "nodes")
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/svg")
		})
	}
}

// fanGraph is one dataset feeding n jobs, each writing a dataset of its
// own, or upstream, n jobs each reading a dataset of its own and writing
// the one: a subgraph of 2n+1 nodes whose leaves all hang from one node.
func fanGraph(tb testing.TB, n int, dir lineage.Direction) lineage.Subgraph {
	g := lineage.NewGraph()
	var jobs []catalog.JobEdges
	for i := range n {
		j := catalog.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "b", Name: fmt.Sprint("load_", i)},
			Inputs: []catalog.Key{k("fan.hub")}, Outputs: []catalog.Key{k(fmt.Sprint("fan.t", i))}}
		if dir == lineage.Upstream {
			j.Inputs, j.Outputs = j.Outputs, j.Inputs
		}
		jobs = append(jobs, j)
	}
	g.SetJobs(jobs)
	sub, err := g.Traverse(lineage.Query{Start: k("fan.hub"), Direction: dir, Depth: 2, MaxNodes: 2*n + 1})
	if err != nil {
		tb.Fatal(err)
	}
	return sub
}

// outputsGraph is one job reading warehouse.raw.events and writing n
// datasets, with names as long as a warehouse's.
func outputsGraph(tb testing.TB, n int) lineage.Subgraph {
	g := lineage.NewGraph()
	var outs []catalog.Key
	for i := range n {
		outs = append(outs, k(fmt.Sprintf("warehouse.exports.part_%03d", i)))
	}
	g.SetJobs([]catalog.JobEdges{{ID: 1, Key: catalog.JobKey{Namespace: "b", Name: "split_events"},
		Inputs: []catalog.Key{k("warehouse.raw.events")}, Outputs: outs}})
	sub, err := g.Traverse(lineage.Query{Start: k("warehouse.raw.events"), Direction: lineage.Downstream, MaxNodes: n + 2})
	if err != nil {
		tb.Fatal(err)
	}
	return sub
}

var (
	svgSize = regexp.MustCompile(`<svg width="([0-9.]+)pt" height="([0-9.]+)pt"`)
	svgNode = regexp.MustCompile(`(?s)<g id="([^"]+)" class="node">.*?<text[^>]* x="([-0-9.]+)"`)
)

// svgLayout reads the drawing's aspect ratio (width / height) and the x
// of each node's centre from Graphviz's SVG.
func svgLayout(t *testing.T, svg []byte) (aspect float64, x map[string]float64) {
	t.Helper()
	m := svgSize.FindSubmatch(svg)
	if m == nil {
		t.Fatalf("svg has no size")
	}
	var w, h float64
	fmt.Sscan(string(m[1]), &w)
	fmt.Sscan(string(m[2]), &h)
	x = map[string]float64{}
	for _, m := range svgNode.FindAllSubmatch(svg, -1) {
		var v float64
		fmt.Sscan(string(m[2]), &v)
		x[html.UnescapeString(string(m[1]))] = v
	}
	return w / h, x
}

// TestSVGLayoutUnflatten spreads the leaves (or roots) of wide fans over
// several ranks, each beside its job, so that large drawings are not one
// column too tall to read; small drawings keep them in one rank.
func TestSVGLayoutUnflatten(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sub       lineage.Subgraph
		minRanks  int
		minAspect float64
	}{
		{"fan of 10", fanGraph(t, 10, lineage.Downstream), 1, 0},
		// Before, 0.17 with the leaves in two ranks. (Bigger fans are
		// tables: TestSVGLayoutFan.)
		{"tree of 500", layoutGraph(t, 500, lineage.Downstream), 3, 0.4},
		{"upstream tree of 500", layoutGraph(t, 500, lineage.Upstream), 3, 0.4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg, err := lineage.SVG(context.Background(), tc.sub, lineage.SVGOptions{})
			if err != nil {
				t.Fatal(err)
			}
			aspect, x := svgLayout(t, svg)
			if len(x) != len(tc.sub.Nodes) {
				t.Fatalf("read %d nodes from the svg, want %d", len(x), len(tc.sub.Nodes))
			}
			in, out := map[lineage.NodeID]bool{}, map[lineage.NodeID]bool{}
			for _, e := range tc.sub.Edges {
				out[e.From], in[e.To] = true, true
			}
			// The leaves and roots, and how far right of its job a leaf
			// is, or left a root.
			ranks := map[float64]bool{}
			far := 0
			for _, e := range tc.sub.Edges {
				var end, job lineage.NodeID
				switch {
				case e.From.Kind == lineage.JobNode && !out[e.To] && e.To != tc.sub.Start:
					end, job = e.To, e.From
				case e.To.Kind == lineage.JobNode && !in[e.From] && e.From != tc.sub.Start:
					end, job = e.From, e.To
				default:
					continue
				}
				ranks[x[end.String()]] = true
				if d := math.Abs(x[end.String()] - x[job.String()]); d > 200 {
					far++
				}
			}
			if far > 0 {
				t.Errorf("%d leaves or roots are more than 200pt from their job, want each beside it", far)
			}
			t.Logf("%d nodes: ends in %d ranks, width/height %.2f", len(tc.sub.Nodes), len(ranks), aspect)
			if tc.minRanks == 1 && len(ranks) != 1 {
				t.Errorf("ends in %d ranks, want 1 in a small drawing", len(ranks))
			}
			if len(ranks) < tc.minRanks {
				t.Errorf("ends in %d ranks, want at least %d", len(ranks), tc.minRanks)
			}
			if aspect < tc.minAspect {
				t.Errorf("width/height %.2f, want at least %.2f", aspect, tc.minAspect)
			}
		})
	}
}

// TestSVGLayoutFan draws the leaves of a big fan as one table about as
// wide as the window, each leaf a link with its expand control, rather
// than a column of nodes too tall to read: before, a job writing 600
// datasets drew 1259 × 16713 pt, and a dataset read by 300 jobs each
// writing a dataset 901 × 8355 pt.
func TestSVGLayoutFan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sub    lineage.Subgraph
		title  string
		leaves []string // a few of the datasets the table lists
	}{
		{"job writing 600", outputsGraph(t, 600), "600 outputs", []string{"warehouse.exports.part_000", "warehouse.exports.part_599"}},
		{"dataset read by 300", fanGraph(t, 300, lineage.Downstream), "300 readers", []string{"fan.t0", "fan.t299"}},
		{"dataset written by 300", fanGraph(t, 300, lineage.Upstream), "300 writers", []string{"fan.t0", "fan.t299"}},
		{"fan of 13", fanGraph(t, 13, lineage.Downstream), "13 readers", []string{"fan.t12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Every leaf says it has a neighbour left out, to expand.
			for i, n := range tc.sub.Nodes {
				if n.ID != tc.sub.Start && n.ID.Kind == lineage.DatasetNode {
					tc.sub.Nodes[i].More = 1
				}
			}
			svg, err := lineage.SVG(context.Background(), tc.sub, lineage.SVGOptions{
				Href:      func(n lineage.NodeID) string { return "/lineage/x/" + n.Name },
				Expand:    func(n lineage.Node) string { return "/lineage/x/hub?expand=" + n.ID.Name },
				Highlight: map[lineage.NodeID]bool{tc.sub.Start: true, lineage.DatasetID(k(tc.leaves[0])): true},
			})
			if err != nil {
				t.Fatal(err)
			}
			s := html.UnescapeString(string(svg))
			aspect, _ := svgLayout(t, svg)
			m := svgSize.FindSubmatch(svg)
			t.Logf("%d nodes: %s × %s pt, width/height %.2f", len(tc.sub.Nodes), m[1], m[2], aspect)
			if aspect < 0.5 || aspect > 3 {
				t.Errorf("width/height %.2f, want 0.5 to 3", aspect)
			}
			if !strings.Contains(s, `class="node fan"`) || !strings.Contains(s, ">"+tc.title+"<") {
				t.Errorf("svg lacks a fan table headed %q", tc.title)
			}
			for _, l := range tc.leaves {
				id := lineage.DatasetID(k(l)).String()
				for _, want := range []string{`id="a_` + id + `"`, `href="/lineage/x/` + l + `"`, `id="a_expand:` + id + `"`, `href="/lineage/x/hub?expand=` + l + `"`} {
					if !strings.Contains(s, want) {
						t.Errorf("svg lacks %q", want)
					}
				}
			}
			var datasets int
			for _, n := range tc.sub.Nodes {
				if n.ID.Kind == lineage.DatasetNode && n.ID != tc.sub.Start {
					datasets++
				}
			}
			if n := strings.Count(s, `id="a_expand:`); n != datasets {
				t.Errorf("%d expand controls, want one per leaf (%d)", n, datasets)
			}
			if n := strings.Count(s, `<g id="a_dataset:`); n != datasets+1 {
				t.Errorf("%d dataset links, want one per leaf (%d) and the start's", n, datasets)
			}
			// The highlighted leaf's cell and the edge to the table.
			if !strings.Contains(s, "#fde68a") || !strings.Contains(s, `stroke="#d97706"`) {
				t.Errorf("svg does not highlight the leaf on the path")
			}
		})
	}
}

// TestSVGFans finds fans only where a node has more than twelve leaves, and
// leaves only where nothing else links them.
func TestSVGFans(t *testing.T) {
	g := lineage.NewGraph()
	var jobs []catalog.JobEdges
	for i := range 20 {
		j := catalog.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "b", Name: fmt.Sprint("load_", i)},
			Inputs: []catalog.Key{k("hub")}, Outputs: []catalog.Key{k(fmt.Sprint("t", i))}}
		switch i {
		case 0: // writes the hub back
			j.Outputs = append(j.Outputs, k("hub"))
		case 1: // writes what another job reads
			jobs = append(jobs, catalog.JobEdges{ID: 100, Key: catalog.JobKey{Namespace: "b", Name: "next"}, Inputs: []catalog.Key{k("t1")}, Outputs: []catalog.Key{k("u1")}})
		case 2: // writes two datasets
			j.Outputs = append(j.Outputs, k("t2b"))
		}
		jobs = append(jobs, j)
	}
	g.SetJobs(jobs)
	sub, err := g.Traverse(lineage.Query{Start: k("hub"), Direction: lineage.Downstream, Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	fans := lineage.Fans(sub)
	if len(fans) != 1 {
		t.Fatalf("%d fans, want 1", len(fans))
	}
	f := fans[0]
	var got []string
	for _, l := range f.Leaves {
		s := l.Job.Name + ":"
		for _, d := range l.Datasets {
			s += " " + d.Name
		}
		got = append(got, s)
	}
	want := []string{"load_2: t2 t2b"}
	for i := 3; i < 20; i++ {
		want = append(want, fmt.Sprintf("load_%d: t%d", i, i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fan leaves (-want +got):\n%s", diff)
	}
	if got, want := f.Title(), "18 readers"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	sub, err = g.Traverse(lineage.Query{Start: k("hub"), Direction: lineage.Downstream, Depth: 2, MaxNodes: 2 + 2*12})
	if err != nil {
		t.Fatal(err)
	}
	if fans := lineage.Fans(sub); len(fans) != 0 {
		t.Errorf("%d fans of at most 12 leaves, want none", len(fans))
	}
}

// svgNodeLines returns the lines of text of node id in svg: a line of
// several fonts or colours is one text element each at the same height.
func svgNodeLines(t *testing.T, svg []byte, id string) []string {
	t.Helper()
	s := string(svg)
	open := `<g id="` + html.EscapeString(id) + `" class="node`
	i := strings.Index(s, open)
	if i < 0 {
		t.Fatalf("no node %s drawn", id)
	}
	s = s[i+len(open):]
	if j := strings.Index(s, "\n<!--"); j >= 0 {
		s = s[:j]
	}
	var lines []string
	y := ""
	for _, m := range regexp.MustCompile(`<text[^>]* y="([^"]*)"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(s, -1) {
		if len(lines) == 0 || m[1] != y {
			lines = append(lines, "")
		}
		y = m[1]
		lines[len(lines)-1] += html.UnescapeString(m[2])
	}
	return lines
}

// TestSVGFacts draws each dataset's facts on a line under its name, the
// health in words, in the plain node, the one with an expand control, the
// column view and a group's summary; a dataset without facts shows its
// name alone.
func TestSVGFacts(t *testing.T) {
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "airflow", Name: "j1"}, Inputs: []catalog.Key{k("a")}, Outputs: []catalog.Key{k("b")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "airflow", Name: "j2"}, Inputs: []catalog.Key{k("b")}, Outputs: []catalog.Key{k("c")}},
		{ID: 3, Key: catalog.JobKey{Namespace: "airflow", Name: "j3"}, Inputs: []catalog.Key{k("c")}, Outputs: []catalog.Key{k("d")}},
	})
	sub, err := g.Traverse(lineage.Query{Start: k("b"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	facts := map[catalog.Key]lineage.NodeFacts{
		k("a"): {Platform: "postgres · table", Owner: "alice", Health: "incident", Level: lineage.HealthBad, Incident: true},
		k("b"): {Platform: "dbt · model", Owner: "analytics +1", Health: "failing", Level: lineage.HealthBad},
		k("c"): {Platform: "postgres · view", Health: "passing", Level: lineage.HealthGood},
	}
	want := map[string][]string{
		"a": {"a", "postgres · table · alice · ⚠ incident"},
		"b": {"b", "dbt · model · analytics +1 · ● failing"},
		"c": {"c", "postgres · view · ● passing"},
	}
	for _, tc := range []struct {
		name string
		opt  lineage.SVGOptions
		more []string // what c says after its facts
	}{
		{"plain", lineage.SVGOptions{Facts: facts}, []string{"+1 more"}},
		{"expand", lineage.SVGOptions{Facts: facts, Expand: func(n lineage.Node) string { return "/x?expand=" + n.ID.Name }}, []string{"⊕ 1 more"}},
		{"columns", lineage.SVGOptions{Facts: facts, Columns: &lineage.SVGColumns{}}, []string{"no columns known"}},
	} {
		svg, err := lineage.SVG(context.Background(), sub, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		for name, lines := range want {
			if name == "c" {
				lines = append(slices.Clip(lines), tc.more...)
			} else if tc.name == "columns" {
				lines = append(slices.Clip(lines), "no columns known")
			}
			if diff := cmp.Diff(lines, svgNodeLines(t, svg, lineage.DatasetID(k(name)).String())); diff != "" {
				t.Errorf("%s: node %s (-want +got):\n%s", tc.name, name, diff)
			}
		}
		if !strings.Contains(string(svg), `fill="#b91c1c">● failing<`) {
			t.Errorf("%s: the failing marker is not red", tc.name)
		}
	}
	// Without facts, the name alone.
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b"}, svgNodeLines(t, svg, lineage.DatasetID(k("b")).String())); diff != "" {
		t.Errorf("no facts: node b (-want +got):\n%s", diff)
	}

	// A group counts its members that need attention, the worst first.
	tree := treeGraph(t, 8, 3, 3)
	gs := lineage.Groups(tree, lineage.GroupOptions{Budget: lineage.DefaultGroupBudget})
	facts = map[catalog.Key]lineage.NodeFacts{
		k("tree.l2_1_1"): {Health: "failing", Level: lineage.HealthBad},
		k("tree.l2_1_2"): {Health: "failing", Level: lineage.HealthBad},
		k("tree.l2_1_3"): {Health: "incident", Level: lineage.HealthBad, Incident: true},
		k("tree.l2_1_4"): {Health: "passing", Level: lineage.HealthGood},
	}
	svg, err = lineage.SVG(context.Background(), tree, lineage.SVGOptions{Groups: gs, Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	lines := svgNodeLines(t, svg, "group:down:"+jobID("build_l1_1").String())
	if len(lines) == 0 || lines[len(lines)-1] != "⚠ 1 incident, ● 2 failing" {
		t.Errorf("group of build_l1_1 says %q, want it to end with %q", lines, "⚠ 1 incident, ● 2 failing")
	}

	// A fan's table marks the leaves that need attention, and only them.
	split := catalog.JobEdges{ID: 1, Key: catalog.JobKey{Namespace: "airflow", Name: "split"}, Inputs: []catalog.Key{k("src")}}
	for i := range 20 {
		split.Outputs = append(split.Outputs, k(fmt.Sprintf("out_%02d", i)))
	}
	g.SetJobs([]catalog.JobEdges{split})
	sub, err = g.Traverse(lineage.Query{Start: k("src"), Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	facts = map[catalog.Key]lineage.NodeFacts{
		k("out_03"): {Platform: "delta · table", Health: "stale", Level: lineage.HealthBad},
		k("out_04"): {Platform: "delta · table", Health: "fresh", Level: lineage.HealthGood},
	}
	svg, err = lineage.SVG(context.Background(), sub, lineage.SVGOptions{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	lines = svgNodeLines(t, svg, "fan:down:"+lineage.JobID(split.Key).String())
	if all := strings.Join(lines, "|"); !strings.Contains(all, "out_03 ● stale") || strings.Contains(all, "out_04 ●") || !strings.Contains(all, "out_04") {
		t.Errorf("fan's table says %q, want out_03 marked stale and out_04 unmarked", lines)
	}
}
