package lineage

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goccy/go-graphviz"

	"almanac/catalog"
)

// SVGOptions says how to draw a subgraph.
type SVGOptions struct {
	// Href returns the link of a node (re-centre the explorer on it);
	// nil draws no links.
	Href func(NodeID) string
	// Highlight marks nodes to draw emphasised, e.g. a path.
	Highlight map[NodeID]bool
	// Expand returns the link that adds the neighbours a dataset's "+N
	// more" left out to the drawing; nil or "" draws no control.
	Expand func(Node) string
	// Groups are drawn each as one node beside its hub in place of its
	// members (see Groups); the column view ignores them.
	Groups []Group
	// Open returns the link that opens a group (draws its members); nil
	// or "" draws no link.
	Open func(Group) string
	// Columns, when not nil, draws the column-level view instead: each
	// dataset a table of its columns, edges between columns, and no jobs.
	Columns *SVGColumns
	// Facts are what each dataset's node says under its name (see
	// NodeFacts), read for the whole drawing at once; a dataset missing
	// here shows its name alone.
	Facts map[catalog.Key]NodeFacts
}

// SVGColumns is what the column-level drawing needs besides the subgraph.
type SVGColumns struct {
	// Columns lists each dataset's columns in order; a dataset missing
	// here is drawn with the columns its edges name.
	Columns map[catalog.Key][]catalog.Column
	// Edges are the column lineage between datasets of the subgraph.
	Edges []SVGColumnEdge
	// Href returns the link that selects a column; nil draws no links.
	Href func(SVGColumn) string
	// Selected is the column whose lineage Highlight holds; it is drawn
	// strongest.
	Selected SVGColumn
	// Highlight marks columns (and the edges between two of them) to draw
	// emphasised.
	Highlight map[SVGColumn]bool
}

// SVGColumn names a column of a dataset; Column "" stands for the whole
// dataset.
type SVGColumn = ColumnID

// SVGColumnEdge says that data flows from one column to another: Type is
// DIRECT or INDIRECT, Subtype what the transformation does (IDENTITY,
// AGGREGATION, FILTER…).
type SVGColumnEdge = ColumnEdge

// MaxSVGColumns is the most columns the column-level view draws in one
// dataset; the rest are folded into one "+N more columns" row.
const MaxSVGColumns = 30

// renderer is the Graphviz instance: building one compiles Graphviz's
// WebAssembly module, so it is built once and used under a lock.
var renderer struct {
	sync.Mutex
	gv  *graphviz.Graphviz
	err error
}

// Colours of the drawing.
const (
	colorEdge      = "#777777"
	colorHighlight = "#d97706"
	colorStart     = "#dbeafe"
	colorSelected  = "#fde68a"
	colorRelated   = "#fef3c7"
)

// SVG lays a subgraph out left to right with Graphviz's dot and returns
// it as SVG. Datasets are rounded boxes, jobs small grey boxes on the
// edges between them; nodes with neighbours left out say "+N more", and
// datasets among them carry the opt.Expand control. The leaves of a node
// with more than twelve (see Fans) are listed in one table beside it,
// each dataset still a link with its expand control. With opt.Columns the
// datasets are tables of columns joined by column edges instead.
//
// The graph goes to Graphviz as DOT text rather than through cgraph's
// setters: one call into WebAssembly instead of one per attribute, and
// HTML-like labels, which the setters cannot make.
func SVG(ctx context.Context, sub Subgraph, opt SVGOptions) ([]byte, error) {
	var dot []byte
	if opt.Columns != nil {
		dot = columnDOT(sub, opt)
	} else {
		dot = datasetDOT(sub, opt)
	}
	renderer.Lock()
	defer renderer.Unlock()
	if renderer.gv == nil && renderer.err == nil {
		renderer.gv, renderer.err = graphviz.New(ctx)
	}
	if renderer.err != nil {
		return nil, fmt.Errorf("lineage svg: start graphviz: %w", renderer.err)
	}
	g, err := graphviz.ParseBytes(dot)
	if err != nil {
		return nil, fmt.Errorf("lineage svg: parse dot: %w", err)
	}
	defer g.Close()
	var buf bytes.Buffer
	if err := renderer.gv.Render(ctx, g, graphviz.SVG, &buf); err != nil {
		return nil, fmt.Errorf("lineage svg: render: %w", err)
	}
	return buf.Bytes(), nil
}

// graphHeader opens the DOT graph. Large drawings limit dot's crossing
// minimisation (mclimit), which dominates the layout time beyond a few
// hundred nodes and gains little there.
func graphHeader(b *bytes.Buffer, nodes int) {
	b.WriteString("digraph lineage {\n")
	b.WriteString("graph [rankdir=LR nodesep=0.15 ranksep=0.4 newrank=true")
	if nodes > 150 {
		b.WriteString(" mclimit=0.3")
	}
	b.WriteString("]\n")
	b.WriteString(`node [fontname="Helvetica" fontsize=11 shape=box style="rounded,filled" fillcolor="#ffffff"]` + "\n")
	b.WriteString(`edge [color="` + colorEdge + `" arrowsize=0.6]` + "\n")
}

// datasetDOT is the dataset-level drawing: datasets and jobs, and the
// leaves of big fans as tables.
func datasetDOT(sub Subgraph, opt SVGOptions) []byte {
	// Groups are nodes of the drawing, beside their hubs, so that the
	// layout spreads them like any leaf.
	sub = Collapse(sub, opt.Groups)
	groups := map[NodeID]Group{}
	if len(opt.Groups) > 0 {
		sub.Nodes = slices.Clip(sub.Nodes)
		sub.Edges = slices.Clip(sub.Edges)
		for _, g := range opt.Groups {
			id := NodeID{Kind: groupNode, Name: g.ID()}
			groups[id] = g
			sub.Nodes = append(sub.Nodes, Node{ID: id})
			if g.Upstream {
				sub.Edges = append(sub.Edges, Edge{From: id, To: g.Hub})
			} else {
				sub.Edges = append(sub.Edges, Edge{From: g.Hub, To: id})
			}
		}
	}
	fans := Fans(sub)
	var fanned map[NodeID]Node
	if len(fans) > 0 {
		fanned = map[NodeID]Node{}
		for _, f := range fans {
			for _, l := range f.Leaves {
				fanned[l.Job] = Node{}
				for _, d := range l.Datasets {
					fanned[d] = Node{}
				}
			}
		}
		delete(fanned, NodeID{})
		sub = withoutFanned(sub, fanned)
	}
	var b bytes.Buffer
	graphHeader(&b, len(sub.Nodes))
	index := make(map[NodeID]int, len(sub.Nodes))
	for i, n := range sub.Nodes {
		index[n.ID] = i
		if g, ok := groups[n.ID]; ok {
			b.WriteString("n" + strconv.Itoa(i) + groupAttrs(g, opt).String() + "\n")
			continue
		}
		a := attrs{"id": n.ID.String()}
		var facts NodeFacts
		if n.ID.Kind == DatasetNode {
			facts = opt.Facts[n.ID.Dataset()]
		}
		expand := ""
		if opt.Expand != nil && n.ID.Kind == DatasetNode && n.More > 0 {
			expand = opt.Expand(n)
		}
		href := ""
		if opt.Href != nil {
			href = opt.Href(n.ID)
		}
		if expand != "" {
			// Two links in one node: the name re-centres, the second row
			// expands.
			var h strings.Builder
			h.WriteString(`<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">`)
			fill := "#ffffff"
			if n.ID == sub.Start {
				fill = colorStart
			}
			h.WriteString(`<TR><TD BGCOLOR="` + fill + `"` + htmlAttr("HREF", href) + htmlAttr("TITLE", catalog.Visible(n.ID.String())) + `>` + htmlText(n.ID.Name) + `</TD></TR>`)
			h.WriteString(factsRow(facts, fill))
			h.WriteString(expandRow(n, expand))
			h.WriteString(`</TABLE>`)
			a["label"] = htmlLabel(h.String())
		} else {
			a["tooltip"] = catalog.Visible(n.ID.String())
			if row := factsRow(facts, ""); row != "" {
				// The facts' smaller line needs an HTML-like label; the
				// node stays one link.
				var h strings.Builder
				h.WriteString(`<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">`)
				h.WriteString(`<TR><TD>` + htmlText(n.ID.Name) + `</TD></TR>` + row)
				if n.More > 0 {
					h.WriteString(`<TR><TD>+` + strconv.Itoa(n.More) + ` more</TD></TR>`)
				}
				h.WriteString(`</TABLE>`)
				a["label"] = htmlLabel(h.String())
			} else {
				label := catalog.Visible(n.ID.Name)
				if n.More > 0 {
					label += fmt.Sprintf("\n+%d more", n.More)
				}
				a["label"] = label
			}
			if href != "" {
				a["URL"] = href
			}
		}
		if n.ID.Kind == JobNode {
			a["style"], a["fillcolor"], a["color"], a["fontsize"] = "filled", "#eeeeee", "#999999", "9"
		}
		if n.ID == sub.Start {
			a["fillcolor"], a["penwidth"] = colorStart, "2"
		}
		if opt.Highlight[n.ID] {
			a["color"], a["penwidth"] = colorHighlight, "2.5"
		}
		b.WriteString("n" + strconv.Itoa(i) + a.String() + "\n")
	}
	minlen := unflatten(sub, index)
	for i, e := range sub.Edges {
		from, ok1 := index[e.From]
		to, ok2 := index[e.To]
		if !ok1 || !ok2 {
			continue
		}
		var a attrs
		if opt.Highlight[e.From] && opt.Highlight[e.To] {
			a = attrs{"color": colorHighlight, "penwidth": "2.5"}
		}
		if m := minlen[i]; m > 1 {
			if a == nil {
				a = attrs{}
			}
			a["minlen"] = strconv.Itoa(m)
		}
		b.WriteString("n" + strconv.Itoa(from) + " -> n" + strconv.Itoa(to) + a.String() + "\n")
	}
	for i, f := range fans {
		fanDOT(&b, i, f, index[f.Hub], fanned, opt)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// groupNode is the kind of the nodes datasetDOT adds for groups.
const groupNode NodeKind = "group"

// groupAttrs are the attributes of a group's node: what it holds, a link
// that opens it, and the prefix its datasets' names share.
func groupAttrs(g Group, opt SVGOptions) attrs {
	var names []string
	for _, m := range g.Members {
		if m.Kind == DatasetNode {
			names = append(names, m.Name)
		}
	}
	href := ""
	if opt.Open != nil {
		href = opt.Open(g)
	}
	title := "Open: draw the " + strings.TrimPrefix(g.Label(), "+ ") + " beyond " + catalog.Visible(g.Hub.Name)
	if g.Partial {
		title = "Open: draw the other " + strings.TrimPrefix(g.Label(), "+ ") + " beyond " + catalog.Visible(g.Hub.Name)
	}
	var h strings.Builder
	h.WriteString(`<TABLE BORDER="1" STYLE="ROUNDED" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="#6b7280" BGCOLOR="#f3f4f6">`)
	h.WriteString(`<TR><TD BGCOLOR="#eef4ff"` + htmlAttr("HREF", href) + htmlAttr("TITLE", title) + htmlAttr("ID", "open:"+g.ID()) +
		`><FONT COLOR="#0b57d0">⊞ ` + htmlText(g.Label()) + `</FONT></TD></TR>`)
	detail := ""
	if p := commonPrefix(names, "./_-"); p != "" {
		detail = "named " + p + "…"
	} else if len(names) > 0 {
		detail = names[0]
		if len(names) > 1 {
			detail += ", …"
		}
	}
	if g.More > 0 {
		detail = strings.TrimPrefix(detail+"; more beyond", "; ")
	}
	if detail != "" {
		h.WriteString(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="#374151">` + htmlText(detail) + `</FONT></TD></TR>`)
	}
	if health := groupHealth(g, opt.Facts); health != "" {
		h.WriteString(`<TR><TD ALIGN="LEFT">` + health + `</TD></TR>`)
	}
	h.WriteString(`</TABLE>`)
	return attrs{"id": g.ID(), "class": "group", "shape": "plain", "style": "", "tooltip": title, "label": htmlLabel(h.String())}
}

// groupHealth says how many of a group's datasets need attention, by
// health ("⚠ 1 incident, ● 2 failing"), as the content of a label's
// cell; "" when none does.
func groupHealth(g Group, facts map[catalog.Key]NodeFacts) string {
	type word struct {
		f NodeFacts
		n int
	}
	var words []word
	for _, m := range g.Members {
		if m.Kind != DatasetNode {
			continue
		}
		f := facts[m.Dataset()]
		if f.Health == "" || f.Level == HealthGood {
			continue
		}
		i := slices.IndexFunc(words, func(w word) bool { return w.f.Health == f.Health })
		if i < 0 {
			i = len(words)
			words = append(words, word{f: NodeFacts{Health: f.Health, Level: f.Level, Incident: f.Incident}})
		}
		words[i].n++
	}
	slices.SortStableFunc(words, func(a, b word) int {
		if c := cmp.Compare(healthOrder(b.f), healthOrder(a.f)); c != 0 {
			return c
		}
		return strings.Compare(a.f.Health, b.f.Health)
	})
	var parts []string
	for _, w := range words {
		w.f.Health = strconv.Itoa(w.n) + " " + w.f.Health
		parts = append(parts, w.f.html())
	}
	return strings.Join(parts, `<FONT POINT-SIZE="`+factsPointSize+`">, </FONT>`)
}

// healthOrder ranks facts' health, the worst highest.
func healthOrder(f NodeFacts) int {
	r := map[string]int{HealthWarn: 1, HealthBad: 2}[f.Level]
	if f.Incident {
		r = 3
	}
	return r
}

// withoutFanned returns sub without the nodes of fanned and their edges,
// and fills fanned in with those nodes.
func withoutFanned(sub Subgraph, fanned map[NodeID]Node) Subgraph {
	rest := Subgraph{Start: sub.Start, Truncated: sub.Truncated, Nodes: make([]Node, 0, len(sub.Nodes)-len(fanned))}
	for _, n := range sub.Nodes {
		if _, ok := fanned[n.ID]; ok {
			fanned[n.ID] = n
		} else {
			rest.Nodes = append(rest.Nodes, n)
		}
	}
	for _, e := range sub.Edges {
		_, ok1 := fanned[e.From]
		_, ok2 := fanned[e.To]
		if !ok1 && !ok2 {
			rest.Edges = append(rest.Edges, e)
		}
	}
	return rest
}

// Fan is the leaves of one node drawn as a table rather than a node each:
// the datasets a job writes (or reads), or the jobs that read (or write)
// a dataset with the datasets each of them alone writes (reads). Drawn
// node by node, a fan of hundreds is a column too tall to read once
// fitted to the window, however its leaves are spread over ranks (each
// rank an edge skips takes a row of its own); as a table it is a block
// about as wide as the window.
type Fan struct {
	Hub NodeID
	// Upstream is set when the leaves are the hub's inputs or writers.
	Upstream bool
	// Leaves are the table's entries, sorted by name.
	Leaves []FanLeaf
}

// FanLeaf is one entry of a fan: a dataset when the hub is a job, else a
// job and the datasets beyond it that nothing else links (none or a few).
type FanLeaf struct {
	Job      NodeID // zero when the hub is a job
	Datasets []NodeID
}

// Title says what the fan's table lists, e.g. "600 outputs".
func (f Fan) Title() string {
	what := map[[2]bool]string{
		{false, false}: "readers", {false, true}: "writers", // hub a dataset
		{true, false}: "outputs", {true, true}: "inputs", // hub a job
	}[[2]bool{f.Hub.Kind == JobNode, f.Upstream}]
	return strconv.Itoa(len(f.Leaves)) + " " + what
}

// A node's leaves form a fan when there are more than fanMin of them; a
// job of a fan leads to at most fanJobDatasets datasets.
const (
	fanMin         = 12
	fanJobDatasets = 4
)

// adjacency numbers sub's nodes by their place in sub.Nodes and lists
// each one's upstream (in) and downstream (out) neighbours by number,
// self-loops left out.
func adjacency(sub Subgraph) (index map[NodeID]int, in, out [][]int) {
	n := len(sub.Nodes)
	index = make(map[NodeID]int, n)
	for i, nd := range sub.Nodes {
		index[nd.ID] = i
	}
	in, out = make([][]int, n), make([][]int, n)
	for _, e := range sub.Edges {
		from, ok1 := index[e.From]
		to, ok2 := index[e.To]
		if ok1 && ok2 && from != to {
			out[from] = append(out[from], to)
			in[to] = append(in[to], from)
		}
	}
	return index, in, out
}

// Fans returns the fans of sub that SVG draws as tables: the leaves
// downstream of a node, or its roots upstream, when it has more than
// twelve. A leaf is a node whose only neighbour is the hub, or a job
// whose only neighbours are the hub and a few such datasets; the start
// is never one.
func Fans(sub Subgraph) []Fan {
	n := len(sub.Nodes)
	_, in, out := adjacency(sub)
	var fans []Fan
	for hub := range n {
		for _, up := range []bool{false, true} {
			next, back := out, in
			if up {
				next, back = in, out
			}
			if len(next[hub]) <= fanMin {
				continue
			}
			// only says whether v's one neighbour is the one it was
			// reached from, and v not the start.
			only := func(v int) bool {
				return sub.Nodes[v].ID != sub.Start && len(back[v]) == 1 && len(next[v]) == 0
			}
			var leaves []FanLeaf
			for _, c := range next[hub] {
				id := sub.Nodes[c].ID
				if id == sub.Start || len(back[c]) != 1 {
					continue
				}
				switch {
				case id.Kind == DatasetNode && len(next[c]) == 0:
					leaves = append(leaves, FanLeaf{Datasets: []NodeID{id}})
				case id.Kind == JobNode && len(next[c]) <= fanJobDatasets && !slices.ContainsFunc(next[c], func(v int) bool { return !only(v) }):
					l := FanLeaf{Job: id}
					for _, v := range next[c] {
						l.Datasets = append(l.Datasets, sub.Nodes[v].ID)
					}
					slices.SortFunc(l.Datasets, compareNodes)
					leaves = append(leaves, l)
				}
			}
			if len(leaves) <= fanMin {
				continue
			}
			slices.SortFunc(leaves, func(a, b FanLeaf) int {
				if c := compareNodes(a.Job, b.Job); c != 0 {
					return c
				}
				return slices.CompareFunc(a.Datasets, b.Datasets, compareNodes)
			})
			fans = append(fans, Fan{Hub: sub.Nodes[hub].ID, Upstream: up, Leaves: leaves})
		}
	}
	return fans
}

// compareNodes orders nodes by name, then namespace, numbers in names by
// value: load_2 before load_10.
func compareNodes(a, b NodeID) int {
	if c := compareNatural(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name) // t01 and t1
}

// compareNatural compares strings with runs of digits compared by value.
func compareNatural(a, b string) int {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	for a != "" && b != "" {
		if !isDigit(a[0]) || !isDigit(b[0]) {
			if a[0] != b[0] {
				return cmp.Compare(a[0], b[0])
			}
			a, b = a[1:], b[1:]
			continue
		}
		i, j := 0, 0
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		x, y := strings.TrimLeft(a[:i], "0"), strings.TrimLeft(b[:j], "0")
		if c := cmp.Compare(len(x), len(y)); c != 0 {
			return c
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
		a, b = a[i:], b[j:]
	}
	return cmp.Compare(len(a), len(b))
}

// Fan tables aim at fanAspect (width / height), about that of the
// explorer's box on a laptop, with a row of fanRowHeight points.
const (
	fanAspect    = 2.0
	fanRowHeight = 17.0
)

// fanDOT writes fan i as a table node beside its hub (node hub of the
// drawing) and the edge between them. The table's header says what it
// lists; its entries fill columns of a grid, top to bottom then left to
// right, each a row of cells in the order data flows: a job, the dataset
// (a link that re-centres the explorer), and the dataset's expand
// control. A job leading to several datasets is named once.
func fanDOT(b *bytes.Buffer, i int, f Fan, hub int, nodes map[NodeID]Node, opt SVGOptions) {
	type entry struct {
		job, dataset NodeID
		first        bool // the job's first entry
	}
	var entries []entry
	jobs, expands := false, false
	var names []string
	for _, l := range f.Leaves {
		for _, d := range l.Datasets {
			names = append(names, d.Name)
		}
	}
	// The datasets' common prefix is said once, in the header.
	prefix := commonPrefix(names, "./")
	var width float64 // of all entries, in points
	for _, l := range f.Leaves {
		if l.Job != (NodeID{}) {
			jobs = true
			width += textWidth(l.Job.Name, 9) * float64(max(1, len(l.Datasets)))
		}
		if len(l.Datasets) == 0 {
			entries = append(entries, entry{job: l.Job, first: true})
		}
		for k, d := range l.Datasets {
			entries = append(entries, entry{job: l.Job, dataset: d, first: k == 0})
			width += textWidth(d.Name[len(prefix):], 11)
			if more := nodes[d].More; opt.Expand != nil && more > 0 {
				expands = true
				width += textWidth("⊕ "+strconv.Itoa(more), 11)
			}
		}
	}
	cells := 1 // per entry
	pad := 5.0 // a cell's padding and the rule between columns
	if jobs {
		cells++
		pad += 4 + textWidth(" → ", 9)
	}
	if expands {
		cells++
		pad += 4
	}
	// cols columns of entries w wide and rows rows make a block of about
	// fanAspect: cols·w = fanAspect·rows·fanRowHeight, rows = n/cols.
	n := len(entries)
	w := width/float64(n) + pad
	cols := min(n, max(1, int(math.Round(math.Sqrt(fanAspect*float64(n)*fanRowHeight/w)))))
	rows := (n + cols - 1) / cols
	cols = (n + rows - 1) / rows

	var h strings.Builder
	border := "#999999"
	for _, l := range f.Leaves {
		if opt.Highlight[l.Job] || slices.ContainsFunc(l.Datasets, func(d NodeID) bool { return opt.Highlight[d] }) {
			border = colorHighlight
		}
	}
	h.WriteString(`<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="` + border + `">`)
	h.WriteString(`<TR><TD COLSPAN="` + strconv.Itoa(cols*cells) + `" ALIGN="LEFT" BGCOLOR="#f3f4f6"><B>` + htmlText(f.Title()) +
		`</B> <FONT POINT-SIZE="9" COLOR="#555555">of ` + htmlText(f.Hub.Name))
	if prefix != "" {
		h.WriteString(`, named ` + htmlText(prefix) + `…`)
	}
	h.WriteString(`</FONT></TD></TR>`)
	for r := range rows {
		h.WriteString(`<TR>`)
		for c := range cols {
			if c > 0 {
				h.WriteString(`<VR/>`)
			}
			k := c*rows + r
			if k >= n {
				h.WriteString(strings.Repeat(`<TD></TD>`, cells))
				continue
			}
			e := entries[k]
			var row []string
			if jobs {
				row = append(row, fanJobCell(e.job, nodes[e.job], e.first || r == 0, f.Upstream, opt))
			}
			row = append(row, fanDatasetCell(e.dataset, nodes[e.dataset], prefix, opt))
			if expands {
				if x := fanExpandCell(nodes[e.dataset], opt); x != "" {
					row = append(row, x)
				} else {
					row = append(row, `<TD></TD>`)
				}
			}
			if f.Upstream {
				// Data flows toward the hub, on the right; expanding
				// adds what is further left.
				slices.Reverse(row)
			}
			h.WriteString(strings.Join(row, ""))
		}
		h.WriteString(`</TR>`)
	}
	h.WriteString(`</TABLE>`)
	dir := "down"
	if f.Upstream {
		dir = "up"
	}
	a := attrs{
		"id": "fan:" + dir + ":" + f.Hub.String(), "class": "fan", "shape": "plain", "style": "",
		"tooltip": f.Title() + " of " + catalog.Visible(f.Hub.Name), "label": htmlLabel(h.String()),
	}
	name := "f" + strconv.Itoa(i)
	b.WriteString(name + a.String() + "\n")
	var e attrs
	if opt.Highlight[f.Hub] && border == colorHighlight {
		e = attrs{"color": colorHighlight, "penwidth": "2.5"}
	}
	if f.Upstream {
		b.WriteString(name + " -> n" + strconv.Itoa(hub) + e.String() + "\n")
	} else {
		b.WriteString("n" + strconv.Itoa(hub) + " -> " + name + e.String() + "\n")
	}
}

// fanJobCell is the cell of a job in a fan's table, its name shown when
// named is set, with an arrow toward its dataset.
func fanJobCell(id NodeID, n Node, named, upstream bool, opt SVGOptions) string {
	if id == (NodeID{}) || !named {
		return `<TD></TD>`
	}
	text := htmlText(id.Name)
	if n.More > 0 {
		text += " +" + strconv.Itoa(n.More)
	}
	if upstream {
		text = "→ " + text
	} else {
		text += " →"
	}
	bg := ""
	if opt.Highlight[id] {
		bg = ` BGCOLOR="` + colorSelected + `"`
	}
	return `<TD ALIGN="LEFT"` + bg + htmlAttr("TITLE", id.String()) + `><FONT POINT-SIZE="9" COLOR="#555555">` + text + `</FONT></TD>`
}

// fanDatasetCell is the cell of a dataset in a fan's table, a link that
// re-centres the explorer on it, named without prefix.
func fanDatasetCell(id NodeID, n Node, prefix string, opt SVGOptions) string {
	if id == (NodeID{}) {
		return `<TD></TD>`
	}
	bg := "#ffffff" // a filled cell is a link all over
	if opt.Highlight[id] {
		bg = colorSelected
	}
	href := ""
	if opt.Href != nil {
		href = opt.Href(id)
	}
	text := htmlText(strings.TrimPrefix(id.Name, prefix))
	if f := opt.Facts[id.Dataset()]; f.Health != "" && f.Level != HealthGood {
		// Only what needs attention: a table of hundreds stays narrow.
		text += " " + NodeFacts{Health: f.Health, Level: f.Level, Incident: f.Incident}.html()
	}
	if n.More > 0 && opt.Expand == nil {
		text += ` <FONT POINT-SIZE="9" COLOR="#555555">+` + strconv.Itoa(n.More) + ` more</FONT>`
	}
	return `<TD ALIGN="LEFT" BGCOLOR="` + bg + `"` + htmlAttr("HREF", href) + htmlAttr("TITLE", id.String()) + htmlAttr("ID", id.String()) + `>` + text + `</TD>`
}

// commonPrefix returns the prefix that all of names share up to one of
// the separators seps (a dot, a slash…), or "" when there is none or it
// would leave a name empty.
func commonPrefix(names []string, seps string) string {
	if len(names) < 2 {
		return ""
	}
	p := names[0]
	for _, n := range names[1:] {
		i := 0
		for i < len(p) && i < len(n) && p[i] == n[i] {
			i++
		}
		p = p[:i]
	}
	p = p[:strings.LastIndexAny(p, seps)+1]
	for _, n := range names {
		if n == p {
			return ""
		}
	}
	return p
}

// fanExpandCell is a dataset's expand control in a fan's table, or ""
// when it has none.
func fanExpandCell(n Node, opt SVGOptions) string {
	if opt.Expand == nil || n.More == 0 {
		return ""
	}
	href := opt.Expand(n)
	if href == "" {
		return ""
	}
	return expandCell(n, href, "")
}

// textWidth estimates the width in points of s in Helvetica of the
// given size: about half an em a character.
func textWidth(s string, size float64) float64 {
	return 0.55 * size * float64(utf8.RuneCountInString(s))
}

// Leaves are staggered only in drawings of more than unflattenNodes
// nodes, over at most unflattenRanks ranks, and move in branches of at
// most unflattenBranch nodes.
const (
	unflattenNodes  = 60
	unflattenRanks  = 5
	unflattenBranch = 8
)

// unflatten returns the minlen of the edges of sub.Edges (by index)
// that spread leaves over several ranks, as Graphviz's unflatten tool
// does: without it a wide fan-out puts every leaf in one rank, and the
// drawing is a column too tall to read once fitted to the window.
//
// Leaves move with the small branch they end (a job and its output, or a
// dataset, its jobs and their outputs): one longer edge into the branch
// moves all of it, and each rank an edge skips costs dot a virtual node,
// which is what makes large layouts slow. Roots are staggered the same
// way upstream. Branches take the minlens 1, 3, 5… in turn across the
// whole drawing rather than per parent, so that a tree of many small fans
// spreads as well as one big fan; odd steps keep datasets and jobs in
// ranks of their own, so that no rank of narrow jobs is widened by a
// dataset's name.
func unflatten(sub Subgraph, index map[NodeID]int) map[int]int {
	n := len(sub.Nodes)
	if n <= unflattenNodes {
		return nil
	}
	in, out := make([][]int, n), make([][]int, n) // edge indices
	for i, e := range sub.Edges {
		from, ok1 := index[e.From]
		to, ok2 := index[e.To]
		if ok1 && ok2 && from != to {
			out[from] = append(out[from], i)
			in[to] = append(in[to], i)
		}
	}
	var leaves, roots int
	for v := range n {
		if len(out[v]) == 0 && len(in[v]) > 0 {
			leaves++
		}
		if len(in[v]) == 0 && len(out[v]) > 0 {
			roots++
		}
	}
	minlen := map[int]int{}
	// stagger staggers the branches that end in ends leaves downstream
	// (next is out, back in, far the edge's head) or roots upstream.
	stagger := func(ends int, next, back [][]int, far func(Edge) NodeID) {
		k := min(unflattenRanks, int(math.Ceil(math.Sqrt(float64(ends)/8))))
		if k < 2 {
			return
		}
		// size[v] is the number of nodes of the branch v starts, or
		// tooBig when that is more than a branch or not a tree.
		const tooBig = unflattenBranch + 1
		size := make([]int, n)
		var branch func(v int) int
		branch = func(v int) int {
			if size[v] != 0 {
				return size[v]
			}
			size[v] = tooBig // until known, and on a cycle
			s := 1
			for _, ei := range next[v] {
				c := index[far(sub.Edges[ei])]
				if len(back[c]) != 1 {
					s = tooBig
					break
				}
				if s += branch(c); s >= tooBig {
					s = tooBig
					break
				}
			}
			size[v] = s
			return s
		}
		isBranch := func(v int) bool { return len(back[v]) > 0 && branch(v) < tooBig }
		step := make([]int, n) // 1 + the branch's turn, 0 before it has one
		turn := 0
		for v := range n {
			if isBranch(v) {
				continue
			}
			for _, ei := range next[v] {
				u := index[far(sub.Edges[ei])]
				if _, done := minlen[ei]; done || !isBranch(u) {
					continue // a leaf's edge is not a root's too
				}
				if step[u] == 0 {
					step[u] = 1 + turn%k
					turn++
				}
				minlen[ei] = 2*step[u] - 1
			}
		}
	}
	stagger(leaves, out, in, func(e Edge) NodeID { return e.To })
	stagger(roots, in, out, func(e Edge) NodeID { return e.From })
	return minlen
}

// expandRow is the table row holding a dataset's expand control.
func expandRow(n Node, href string) string {
	return `<TR>` + expandCell(n, href, " more") + `</TR>`
}

// expandCell is the cell of a dataset's expand control: "⊕ N" and then
// suffix, a link to href.
func expandCell(n Node, href, suffix string) string {
	return `<TD BGCOLOR="#eef4ff"` + htmlAttr("HREF", href) + htmlAttr("ID", "expand:"+n.ID.String()) +
		htmlAttr("TITLE", fmt.Sprintf("Expand: draw the %d neighbours left out", n.More)) +
		`><FONT COLOR="#0b57d0">⊕ ` + strconv.Itoa(n.More) + suffix + `</FONT></TD>`
}

// columnDOT is the column-level drawing: datasets as tables of columns,
// column edges between them, and a plain edge between datasets a job
// links without column lineage.
func columnDOT(sub Subgraph, opt SVGOptions) []byte {
	cv := opt.Columns
	var b bytes.Buffer
	graphHeader(&b, len(sub.Nodes))
	// The columns of each dataset, with those only edges name appended.
	cols := map[catalog.Key][]string{}
	types := map[SVGColumn]string{}
	known := map[SVGColumn]bool{}
	index := map[catalog.Key]int{}
	for _, n := range sub.Nodes {
		if n.ID.Kind != DatasetNode {
			continue
		}
		k := n.ID.Dataset()
		index[k] = len(index)
		for _, c := range cv.Columns[k] {
			r := SVGColumn{k, c.Name}
			if !known[r] {
				known[r] = true
				cols[k] = append(cols[k], c.Name)
				types[r] = c.Type
			}
		}
	}
	for _, e := range cv.Edges {
		for _, r := range []SVGColumn{e.From, e.To} {
			if _, ok := index[r.Dataset]; ok && r.Column != "" && !known[r] {
				known[r] = true
				cols[r.Dataset] = append(cols[r.Dataset], r.Column)
			}
		}
	}
	// port is where an edge meets a column: its row, the folded rows, or
	// the dataset's name for the whole dataset.
	port := func(r SVGColumn) string {
		if r.Column == "" {
			return "h"
		}
		i := slices.Index(cols[r.Dataset], r.Column)
		if i >= MaxSVGColumns {
			return "more"
		}
		return "c" + strconv.Itoa(i)
	}
	for _, n := range sub.Nodes {
		if n.ID.Kind != DatasetNode {
			continue
		}
		k := n.ID.Dataset()
		var h strings.Builder
		border := "#999999"
		if opt.Highlight[n.ID] {
			border = colorHighlight
		}
		h.WriteString(`<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3" COLOR="` + border + `">`)
		head := "#f3f4f6"
		if n.ID == sub.Start {
			head = colorStart
		}
		href := ""
		if opt.Href != nil {
			href = opt.Href(n.ID)
		}
		h.WriteString(`<TR><TD PORT="h" BGCOLOR="` + head + `"` + htmlAttr("HREF", href) + htmlAttr("TITLE", catalog.Visible(n.ID.String())) +
			`><B>` + htmlText(n.ID.Name) + `</B></TD></TR>`)
		h.WriteString(factsRow(opt.Facts[k], head))
		cs := cols[k]
		for i, c := range cs[:min(len(cs), MaxSVGColumns)] {
			r := SVGColumn{k, c}
			h.WriteString(`<TR><TD PORT="c` + strconv.Itoa(i) + `" ALIGN="LEFT"`)
			switch {
			case r == cv.Selected:
				h.WriteString(` BGCOLOR="` + colorSelected + `"`)
			case cv.Highlight[r]:
				h.WriteString(` BGCOLOR="` + colorRelated + `"`)
			default:
				h.WriteString(` BGCOLOR="#ffffff"`) // a filled cell is a link all over
			}
			if cv.Href != nil {
				h.WriteString(htmlAttr("HREF", cv.Href(r)) + htmlAttr("TITLE", "Trace "+c+" upstream and downstream") +
					htmlAttr("ID", "column:"+n.ID.String()+":"+c))
			}
			h.WriteString(`>` + htmlText(c))
			if t := types[r]; t != "" {
				h.WriteString(` <FONT POINT-SIZE="9" COLOR="#777777">` + htmlText(t) + `</FONT>`)
			}
			h.WriteString(`</TD></TR>`)
		}
		switch {
		case len(cs) > MaxSVGColumns:
			h.WriteString(`<TR><TD PORT="more" ALIGN="LEFT"><I>+` + strconv.Itoa(len(cs)-MaxSVGColumns) + ` more columns</I></TD></TR>`)
		case len(cs) == 0:
			h.WriteString(`<TR><TD ALIGN="LEFT"><I>no columns known</I></TD></TR>`)
		}
		if opt.Expand != nil && n.More > 0 {
			if href := opt.Expand(n); href != "" {
				h.WriteString(expandRow(n, href))
			}
		}
		h.WriteString(`</TABLE>`)
		a := attrs{"id": n.ID.String(), "shape": "plain", "style": "", "label": htmlLabel(h.String())}
		b.WriteString("n" + strconv.Itoa(index[k]) + a.String() + "\n")
	}
	// Column edges, once each whatever the sources that report them.
	type key struct {
		from, to         int
		fromPort, toPort string
		typ              string
	}
	drawn := map[key]bool{}
	linked := map[[2]int]bool{}
	for _, e := range cv.Edges {
		from, ok1 := index[e.From.Dataset]
		to, ok2 := index[e.To.Dataset]
		if !ok1 || !ok2 {
			continue
		}
		k := key{from, to, port(e.From), port(e.To), e.Type}
		if drawn[k] {
			continue
		}
		drawn[k] = true
		linked[[2]int{from, to}] = true
		a := attrs{
			"tooltip": columnName(e.From) + " → " + columnName(e.To) + "\n" + strings.Trim(e.Type+", "+e.Subtype, ", "),
			"class":   "column-edge " + strings.ToLower(e.Type),
			"color":   "#4b5563",
		}
		if strings.EqualFold(e.Type, indirectType) {
			a["style"], a["color"] = "dashed", "#9ca3af"
		}
		if cv.Highlight[e.From] && cv.Highlight[e.To] {
			a["color"], a["penwidth"] = colorHighlight, "2"
		}
		b.WriteString("n" + strconv.Itoa(from) + ":" + dotQuote(k.fromPort) + ":e -> n" + strconv.Itoa(to) + ":" + dotQuote(k.toPort) + ":w" + a.String() + "\n")
	}
	// Datasets a job links with no column lineage between them.
	jobs := map[NodeID][]NodeID{} // job → inputs
	for _, e := range sub.Edges {
		if e.To.Kind == JobNode {
			jobs[e.To] = append(jobs[e.To], e.From)
		}
	}
	via := map[[2]int][]string{}
	var pairs [][2]int
	for _, e := range sub.Edges {
		if e.From.Kind != JobNode {
			continue
		}
		to, ok := index[e.To.Dataset()]
		if !ok {
			continue
		}
		for _, in := range jobs[e.From] {
			from, ok := index[in.Dataset()]
			p := [2]int{from, to}
			if !ok || linked[p] {
				continue
			}
			if via[p] == nil {
				pairs = append(pairs, p)
			}
			via[p] = append(via[p], e.From.Name)
		}
	}
	for _, p := range pairs {
		a := attrs{"tooltip": "job " + strings.Join(via[p], ", ") + " (no column lineage)", "class": "dataset-edge", "color": "#c4c7cc"}
		b.WriteString("n" + strconv.Itoa(p[0]) + ":h:e -> n" + strconv.Itoa(p[1]) + ":h:w" + a.String() + "\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func columnName(r SVGColumn) string {
	if r.Column == "" {
		return catalog.Visible(r.Dataset.Name)
	}
	return catalog.Visible(r.Dataset.Name + "." + r.Column)
}

// attrs are a DOT node's or edge's attributes. A value wrapped by
// htmlLabel is written as an HTML-like label, any other quoted.
type attrs map[string]string

// htmlLabel marks an HTML-like label for attrs.
func htmlLabel(s string) string { return "\x00" + s }

// String writes the attributes as a DOT list, in a fixed order so that
// the same graph gives the same drawing.
func (a attrs) String() string {
	if len(a) == 0 {
		return ""
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(" [")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := a[k]
		if h, ok := strings.CutPrefix(v, "\x00"); ok {
			b.WriteString(k + "=<" + h + ">")
		} else {
			b.WriteString(k + "=" + dotQuote(v))
		}
	}
	b.WriteString("]")
	return b.String()
}

// dotQuoter escapes a DOT string. Backslashes are doubled because
// Graphviz reads escapes (\N, \l…) in labels, ids, tooltips and links.
var dotQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", "")

// dotQuote quotes s for DOT.
func dotQuote(s string) string { return `"` + dotQuoter.Replace(s) + `"` }

// htmlText escapes s for the text of an HTML-like label, with the
// characters that would reorder or hide the label's text written out
// (catalog.Visible).
func htmlText(s string) string { return html.EscapeString(catalog.Visible(s)) }

// htmlAttr is an attribute of an HTML-like label's element, or nothing
// for an empty value.
func htmlAttr(name, v string) string {
	if v == "" {
		return ""
	}
	return " " + name + `="` + html.EscapeString(v) + `"`
}
