package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"almanac/catalog"
	"almanac/lineage"
)

// lineageView is the lineage explorer of one dataset.
type lineageView struct {
	Page    page
	Key     catalog.Key
	Dataset string // the dataset page's address
	State   lineageState
	Depths  []int
	// SVG is the drawing Graphviz made, trusted: node labels are escaped
	// by Graphviz's SVG writer.
	SVG       string
	Nodes     int
	Datasets  int
	Truncated bool
	// Expanded are the expand parameters in effect, for the form.
	Expanded []string
	// Collapse is the address without expansions; "" when there are none.
	Collapse string
	// Toggle is the address with the column view switched over.
	Toggle string
	// Column names the traced column, with the address that stops
	// tracing it; both "" when no column is traced.
	Column, Untrace string
	// Large is set when the drawing is big enough that narrowing it
	// helps more than zooming.
	Large bool
}

// largeDrawing is the node count from which the explorer suggests
// narrowing the drawing.
const largeDrawing = 150

// maxDrawn caps the nodes of a drawing that expansions grow.
const maxDrawn = 1000

// lineageState is everything the explorer's address says besides the
// dataset: every link it draws carries it, so that expanding a node or
// tracing a column keeps the rest, works without JavaScript and can be
// bookmarked.
type lineageState struct {
	Depth     int
	Direction string
	// Path names the dataset, "namespace/name", whose path from this one
	// is highlighted.
	Path string
	// Columns draws the column-level view.
	Columns bool
	// Expand are datasets whose next hop is added to the drawing.
	Expand []catalog.Key
	// Column is the traced column of the column view; zero for none.
	Column lineage.SVGColumn
}

// query encodes the state as the explorer's query parameters.
func (st lineageState) query() url.Values {
	q := url.Values{}
	q.Set("depth", strconv.Itoa(st.Depth))
	q.Set("direction", st.Direction)
	if st.Path != "" {
		q.Set("path", st.Path)
	}
	if st.Columns {
		q.Set("columns", "1")
	}
	for _, k := range st.Expand {
		q.Add("expand", datasetRef(k))
	}
	if st.Column.Dataset.Name != "" {
		q.Set("column", columnParam(st.Column))
	}
	return q
}

// url is the explorer's address of k in this state.
func (st lineageState) url(k catalog.Key) string {
	return lineagePath(k) + "?" + st.query().Encode()
}

// datasetRef names a dataset in a query parameter: the namespace
// path-escaped, a slash, and the name. The namespace holds no slash once
// escaped, so the first slash splits the two however the name is spelt.
func datasetRef(k catalog.Key) string {
	return url.PathEscape(k.Namespace) + "/" + k.Name
}

// parseDatasetRef reads a datasetRef.
func parseDatasetRef(s string) (catalog.Key, bool) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return catalog.Key{}, false
	}
	ns, err := url.PathUnescape(ns)
	k := catalog.Key{Namespace: ns, Name: name}
	return k, err == nil && k.Validate() == nil
}

// parseColumnRef reads a column parameter: a datasetRef with the name
// path-escaped, a slash, and the column.
func parseColumnRef(s string) (lineage.SVGColumn, bool) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 || parts[2] == "" {
		return lineage.SVGColumn{}, false
	}
	ns, err1 := url.PathUnescape(parts[0])
	name, err2 := url.PathUnescape(parts[1])
	k := catalog.Key{Namespace: ns, Name: name}
	if err1 != nil || err2 != nil || k.Validate() != nil {
		return lineage.SVGColumn{}, false
	}
	return lineage.SVGColumn{Dataset: k, Column: parts[2]}, true
}

// columnParam is the column parameter of c, the form parseColumnRef reads.
func columnParam(c lineage.SVGColumn) string {
	return url.PathEscape(c.Dataset.Namespace) + "/" + url.PathEscape(c.Dataset.Name) + "/" + c.Column
}

// lineagePath is the explorer's address of a dataset, like datasetPath.
func lineagePath(k catalog.Key) string {
	return "/lineage" + strings.TrimPrefix(datasetPath(k), "/datasets")
}

// LineagePage serves the lineage explorer over g at
// GET /lineage/{ns}/{name...}, with query parameters depth (1–10),
// direction (upstream, downstream, both), path (a dataset
// "namespace/name" whose path from this one is highlighted), expand
// (repeated: datasets whose next hop is drawn too, as datasetRef writes
// them), columns=1 (the column-level view) and column (the column whose
// upstream and downstream are highlighted in it).
func (s *Server) LineagePage(g *lineage.Graph) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return s.serveLineage(w, r, g)
	})
}

func (s *Server) serveLineage(w http.ResponseWriter, r *http.Request, g *lineage.Graph) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A lineage address needs a namespace and a name: /lineage/{namespace}/{name}.")
	}
	st, dir, err := parseLineageState(r.URL.Query())
	if err != nil {
		return err
	}
	sub, err := g.Traverse(lineage.Query{Start: key, Depth: st.Depth, Direction: dir})
	if errors.Is(err, catalog.ErrNotFound) {
		return withMessage(err, fmt.Sprintf("No job reads or writes %s in namespace %s.", key.Name, key.Namespace))
	}
	if err != nil {
		return err
	}
	sub, st.Expand = expandSubgraph(g, sub, st.Expand, dir)
	v := lineageView{
		Page: page{Title: "Lineage of " + key.Name, Section: "datasets"},
		Key:  key, Dataset: datasetPath(key), State: st,
		Depths: []int{1, 2, 3, 5, 10}, Nodes: len(sub.Nodes), Truncated: sub.Truncated,
		Large: len(sub.Nodes) >= largeDrawing,
	}
	for _, n := range sub.Nodes {
		if n.ID.Kind == lineage.DatasetNode {
			v.Datasets++
		}
	}
	for _, k := range st.Expand {
		v.Expanded = append(v.Expanded, datasetRef(k))
	}
	if len(st.Expand) > 0 {
		c := st
		c.Expand = nil
		v.Collapse = c.url(key)
	}
	toggle := st
	toggle.Columns, toggle.Column = !st.Columns, lineage.SVGColumn{}
	v.Toggle = toggle.url(key)

	highlight := map[lineage.NodeID]bool{}
	if p := st.Path; p != "" {
		i := strings.LastIndex(p, "/")
		if i > 0 {
			to := catalog.Key{Namespace: p[:i], Name: p[i+1:]}
			steps, err := g.Path(key, to)
			if err != nil {
				steps, err = g.Path(to, key)
			}
			if err == nil {
				for _, step := range steps {
					highlight[lineage.DatasetID(step.Dataset)] = true
					if step.Job.Name != "" {
						highlight[lineage.JobID(step.Job)] = true
					}
				}
			} else {
				v.State.Path = ""
			}
		}
	}
	opt := lineage.SVGOptions{
		Highlight: highlight,
		Href: func(n lineage.NodeID) string {
			if n.Kind == lineage.JobNode {
				return ""
			}
			// Re-centring keeps how the graph is drawn, not what was
			// expanded or traced around the old centre.
			return lineageState{Depth: st.Depth, Direction: st.Direction, Columns: st.Columns}.url(n.Dataset())
		},
		Expand: func(n lineage.Node) string {
			e := st
			e.Expand = append(slices.Clip(st.Expand), n.ID.Dataset())
			return e.url(key)
		},
	}
	if st.Columns {
		cv, err := s.columnView(r.Context(), sub)
		if err != nil {
			return err
		}
		if c := st.Column; c.Dataset.Name != "" {
			cv.Selected, cv.Highlight = c, relatedColumns(cv.Edges, c)
			v.Column = c.Dataset.Name + "." + c.Column
			u := st
			u.Column = lineage.SVGColumn{}
			v.Untrace = u.url(key)
		}
		cv.Href = func(c lineage.SVGColumn) string {
			t := st
			t.Column = c
			if c == st.Column {
				t.Column = lineage.SVGColumn{}
			}
			return t.url(key)
		}
		opt.Columns = cv
	}
	svg, err := lineage.SVG(r.Context(), sub, opt)
	if err != nil {
		return err
	}
	// Drop the XML prologue: the SVG is inlined in HTML.
	out := string(svg)
	if i := strings.Index(out, "<svg"); i > 0 {
		out = out[i:]
	}
	v.SVG = out
	return s.render(w, r, lineagePage(v))
}

// parseLineageState reads the explorer's query parameters.
func parseLineageState(q url.Values) (lineageState, lineage.Direction, error) {
	st := lineageState{Depth: 1, Direction: q.Get("direction"), Path: q.Get("path")}
	if d := q.Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 10 {
			return st, 0, invalid(fmt.Sprintf("Depth %q is not a number from 1 to 10.", d))
		}
		st.Depth = n
	}
	dir, err := lineage.ParseDirection(st.Direction)
	if err != nil {
		return st, 0, invalid(fmt.Sprintf("Direction %q is not upstream, downstream or both.", st.Direction))
	}
	switch c := q.Get("columns"); c {
	case "", "0":
	case "1", "on", "true":
		st.Columns = true
	default:
		return st, 0, invalid(fmt.Sprintf("Columns %q is not 1 or 0.", c))
	}
	for _, e := range q["expand"] {
		k, ok := parseDatasetRef(e)
		if !ok {
			return st, 0, invalid(fmt.Sprintf("Expand %q does not name a dataset as namespace/name with the namespace escaped.", e))
		}
		if !slices.Contains(st.Expand, k) {
			st.Expand = append(st.Expand, k)
		}
	}
	if c := q.Get("column"); c != "" {
		col, ok := parseColumnRef(c)
		if !ok {
			return st, 0, invalid(fmt.Sprintf("Column %q does not name a column as namespace/name/column with namespace and name escaped.", c))
		}
		st.Column = col
	}
	return st, dir, nil
}

// expandSubgraph adds to sub the next hop of each dataset of expand that
// the drawing holds, in the direction the dataset lies from the centre,
// and recounts the "+N more" of the nodes that expansions may have
// filled in. An expansion can name a dataset another expansion brought
// in, in any order. It returns the expansions applied; those naming a
// dataset not drawn are dropped.
//
// The graph is traversed once from each expanded dataset at depth 1 and
// the subgraphs merged, with the public Traverse only.
func expandSubgraph(g *lineage.Graph, sub lineage.Subgraph, expand []catalog.Key, dir lineage.Direction) (lineage.Subgraph, []catalog.Key) {
	if len(expand) == 0 {
		return sub, nil
	}
	index := make(map[lineage.NodeID]int, len(sub.Nodes))
	recount := map[lineage.NodeID]bool{}
	for i, n := range sub.Nodes {
		index[n.ID] = i
		if n.More > 0 {
			recount[n.ID] = true
		}
	}
	edges := make(map[lineage.Edge]bool, len(sub.Edges))
	for _, e := range sub.Edges {
		edges[e] = true
	}
	side := func(n lineage.Node) lineage.Direction {
		switch {
		case n.Distance < 0:
			return lineage.Upstream
		case n.Distance > 0:
			return lineage.Downstream
		}
		return dir
	}
	var applied []catalog.Key
	pending := expand
	for progress := true; progress && len(pending) > 0; {
		progress = false
		var rest []catalog.Key
		for _, k := range pending {
			i, ok := index[lineage.DatasetID(k)]
			if !ok {
				rest = append(rest, k)
				continue
			}
			progress = true
			applied = append(applied, k)
			at := sub.Nodes[i]
			part, err := g.Traverse(lineage.Query{Start: k, Depth: 1, Direction: side(at)})
			if err != nil {
				continue // gone from the graph since the first traversal
			}
			for _, n := range part.Nodes {
				if n.More > 0 {
					recount[n.ID] = true
				}
				if _, ok := index[n.ID]; ok {
					continue
				}
				if len(sub.Nodes) >= maxDrawn {
					sub.Truncated = true
					continue
				}
				n.Distance += at.Distance
				index[n.ID] = len(sub.Nodes)
				sub.Nodes = append(sub.Nodes, n)
			}
			for _, e := range part.Edges {
				_, ok1 := index[e.From]
				_, ok2 := index[e.To]
				if ok1 && ok2 && !edges[e] {
					edges[e] = true
					sub.Edges = append(sub.Edges, e)
				}
			}
		}
		pending = rest
	}
	// A dataset's "+N more" counts its jobs on its side that are not
	// drawn; jobs keep theirs.
	for id := range recount {
		i, ok := index[id]
		if !ok || id.Kind != lineage.DatasetNode {
			continue
		}
		n := &sub.Nodes[i]
		part, err := g.Traverse(lineage.Query{Start: id.Dataset(), Depth: 1, Direction: side(*n)})
		if err != nil {
			continue
		}
		more := part.Nodes[0].More
		for _, e := range part.Edges {
			if (e.From == id || e.To == id) && !edges[e] {
				more++
			}
		}
		n.More = more
	}
	return sub, applied
}

// columnView reads the columns of the subgraph's datasets and the column
// lineage between them, in three statements however many datasets there
// are.
func (s *Server) columnView(ctx context.Context, sub lineage.Subgraph) (*lineage.SVGColumns, error) {
	var keys []catalog.Key
	for _, n := range sub.Nodes {
		if n.ID.Kind == lineage.DatasetNode {
			keys = append(keys, n.ID.Dataset())
		}
	}
	ids, err := s.store.DatasetIDs(ctx, keys)
	if err != nil {
		return nil, err
	}
	list := make([]int64, 0, len(ids))
	for _, k := range keys {
		if id, ok := ids[k]; ok {
			list = append(list, id)
		}
	}
	ds, err := s.store.DatasetsByIDs(ctx, list)
	if err != nil {
		return nil, err
	}
	cv := &lineage.SVGColumns{Columns: make(map[catalog.Key][]catalog.Column, len(ds))}
	for _, d := range ds {
		for _, c := range d.Columns {
			cv.Columns[d.Key] = append(cv.Columns[d.Key], c.Column)
		}
	}
	rows, err := s.store.ColumnLineage(ctx, keys)
	if err != nil {
		return nil, err
	}
	seen := map[lineage.SVGColumnEdge]bool{}
	for _, r := range rows {
		c := r.Value
		e := lineage.SVGColumnEdge{
			From: lineage.SVGColumn{Dataset: c.Input, Column: c.InputColumn},
			To:   lineage.SVGColumn{Dataset: c.Output, Column: c.Column},
			Type: c.Type, Subtype: c.Subtype,
		}
		if !seen[e] { // several sources may report the same edge
			seen[e] = true
			cv.Edges = append(cv.Edges, e)
		}
	}
	return cv, nil
}

// relatedColumns returns c and every column upstream and downstream of
// it along edges.
func relatedColumns(edges []lineage.SVGColumnEdge, c lineage.SVGColumn) map[lineage.SVGColumn]bool {
	up, down := map[lineage.SVGColumn][]lineage.SVGColumn{}, map[lineage.SVGColumn][]lineage.SVGColumn{}
	for _, e := range edges {
		up[e.To] = append(up[e.To], e.From)
		down[e.From] = append(down[e.From], e.To)
	}
	out := map[lineage.SVGColumn]bool{c: true}
	for _, adj := range []map[lineage.SVGColumn][]lineage.SVGColumn{up, down} {
		seen := map[lineage.SVGColumn]bool{c: true}
		queue := []lineage.SVGColumn{c}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, n := range adj[cur] {
				if !seen[n] {
					seen[n], out[n] = true, true
					queue = append(queue, n)
				}
			}
		}
	}
	return out
}
