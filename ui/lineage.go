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
	"almanac/catalog/store"
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
	// Fans name the big fans drawn as tables, e.g. "600 outputs of load".
	Fans []string
	// Groups says how many groups the drawing collapsed, and what they
	// hold; 0 when none.
	Groups     int
	GroupNodes int
	// OpenRefs are the open parameters in effect, for the form.
	OpenRefs []string
	// Opened is the number of groups opened, with the address that
	// closes them all.
	Opened   int
	CloseAll string
	// List is set when the drawing would be too big to read even with
	// its branches grouped: the nodes are listed instead, and DrawAll is
	// the address that draws them anyway.
	List    []lineageRow
	DrawAll string
	// Start is the centre's node id in the drawing.
	Start string
	// Drawn is the number of nodes of the drawing (a group or a fan's
	// table counts as one).
	Drawn int
	// Notices say which parameters of the address were not applied, and
	// why.
	Notices []string
	// NoLineage is set when no job reads or writes the dataset: it is
	// drawn alone.
	NoLineage bool
}

// lineageRow is a dataset of the list that replaces a drawing too big
// to read.
type lineageRow struct {
	Name, Namespace string
	Href            string // its explorer
	// Hops from the centre, negative upstream.
	Hops int
	// Jobs are the jobs that link it toward the centre.
	Jobs []lineageJob
	More int
	// Facts are its platform, owner and health, as its node shows them.
	Facts lineage.NodeFacts
}

// lineageJob is a job of a lineageRow.
type lineageJob struct{ Name, Href string }

// listDrawing is the number of drawn nodes (after grouping) beyond which
// the explorer lists the nodes rather than draw them, unless asked to
// draw them all: a drawing that big has labels too small to read once
// fitted and is a maze to scroll.
const listDrawing = 250

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
	// Open are the hubs whose groups are opened: their branches are
	// drawn, not collapsed into a group.
	Open []lineage.NodeID
	// All draws every node: no groups, and no list however big.
	All bool
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
	for _, id := range st.Open {
		q.Add("open", nodeRef(id))
	}
	if st.All {
		q.Set("draw", "all")
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

// nodeRef names a dataset or job in the open parameter: its kind, a
// colon, and then the key as datasetRef writes it.
func nodeRef(id lineage.NodeID) string {
	return string(id.Kind) + ":" + datasetRef(id.Dataset())
}

// parseNodeRef reads a nodeRef.
func parseNodeRef(s string) (lineage.NodeID, bool) {
	kind, ref, _ := strings.Cut(s, ":")
	k, ok := parseDatasetRef(ref)
	if !ok {
		return lineage.NodeID{}, false
	}
	switch lineage.NodeKind(kind) {
	case lineage.DatasetNode:
		return lineage.DatasetID(k), true
	case lineage.JobNode:
		return lineage.JobID(catalog.JobKey(k)), true
	}
	return lineage.NodeID{}, false
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

// serveLineage serves the lineage explorer over s.lineage at
// GET /lineage/{ns}/{name...}, with query parameters depth (1–10),
// direction (upstream, downstream, both), path (a dataset
// "namespace/name" whose path from this one is highlighted), expand
// (repeated: datasets whose next hop is drawn too, as datasetRef writes
// them), columns=1 (the column-level view) and column (the column whose
// upstream and downstream are highlighted in it).
func (s *Server) serveLineage(w http.ResponseWriter, r *http.Request) error {
	g := s.lineage
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A lineage address needs a namespace and a name: /lineage/{namespace}/{name}.")
	}
	st, dir, err := parseLineageState(r.URL.Query())
	if err != nil {
		return err
	}
	// A name an OpenLineage symlink made an alias of another dataset (and
	// that no source describes itself) shows that dataset's lineage.
	meant, _, err := s.store.ResolveAliases(r.Context(), []catalog.Key{key})
	if err != nil {
		return err
	}
	if target := meant[key]; target != key {
		to := lineagePath(target)
		if r.URL.RawQuery != "" {
			to += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	sub, err := g.Traverse(lineage.Query{Start: key, Depth: st.Depth, Direction: dir})
	noLineage := errors.Is(err, catalog.ErrNotFound)
	if noLineage {
		// A catalogued dataset no job names yet is drawn alone, with how
		// lineage gets in; only a dataset the catalog lacks is not found.
		ids, err2 := s.store.DatasetIDs(r.Context(), []catalog.Key{key})
		if err2 != nil {
			return err2
		}
		if _, ok := ids[key]; !ok {
			return withMessage(err, fmt.Sprintf("The catalog has no dataset %s in namespace %s, and no job reads or writes one.", key.Name, key.Namespace))
		}
		sub = lineage.Subgraph{Start: lineage.DatasetID(key), Nodes: []lineage.Node{{ID: lineage.DatasetID(key)}}}
	} else if err != nil {
		return err
	}
	sub, st.Expand = expandSubgraph(g, sub, st.Expand, dir)
	v := lineageView{
		Page: page{Title: "Lineage of " + key.Name, Section: "datasets"},
		Key:  key, Dataset: datasetPath(key), State: st, Start: lineage.DatasetID(key).String(),
		Depths: []int{1, 2, 3, 5, 10}, Nodes: len(sub.Nodes), Truncated: sub.Truncated,
		NoLineage: noLineage,
	}
	drawn := make(map[lineage.NodeID]bool, len(sub.Nodes))
	for _, n := range sub.Nodes {
		drawn[n.ID] = true
		if n.ID.Kind == lineage.DatasetNode {
			v.Datasets++
		}
	}
	var highlight map[lineage.NodeID]bool
	if st.Path != "" {
		var notice string
		highlight, notice = pathHighlight(g, key, st.Path, drawn)
		if notice != "" {
			v.Notices = append(v.Notices, notice)
		}
		if len(highlight) == 0 {
			// The form keeps what was typed, to correct it; links drop it.
			st.Path = ""
		}
	}
	if c := st.Column; c.Dataset.Name != "" && !st.Columns {
		v.Notices = append(v.Notices, fmt.Sprintf("Column %s.%s is not traced: columns are traced in the column view (Show columns).", c.Dataset.Name, c.Column))
		st.Column = lineage.SVGColumn{}
	}
	for _, k := range st.Expand {
		v.Expanded = append(v.Expanded, datasetRef(k))
	}
	if len(st.Expand) > 0 {
		c := st
		c.Expand = nil
		v.Collapse = c.url(key)
	}
	// A drawing too big to read has its farthest branches grouped; the
	// path, what was expanded and what was opened stay drawn.
	var groups []lineage.Group
	if !st.Columns && !st.All {
		open := make(map[lineage.NodeID]bool, len(st.Open))
		for _, id := range st.Open {
			open[id] = true
		}
		keep := make(map[lineage.NodeID]bool, len(highlight)+len(st.Expand))
		for id := range highlight {
			keep[id] = true
		}
		for _, k := range st.Expand {
			// What was expanded stays drawn, and so does what it added.
			keep[lineage.DatasetID(k)], open[lineage.DatasetID(k)] = true, true
		}
		groups = lineage.Groups(sub, lineage.GroupOptions{Budget: lineage.DefaultGroupBudget, Open: open, Keep: keep})
	}
	v.Drawn = lineage.DrawnNodes(sub, groups)
	v.Large = v.Drawn >= largeDrawing
	v.Groups = len(groups)
	for _, g := range groups {
		v.GroupNodes += len(g.Members)
	}
	for _, id := range st.Open {
		v.OpenRefs = append(v.OpenRefs, nodeRef(id))
	}
	all := st
	all.All = true
	v.DrawAll = all.url(key)
	if len(st.Open) > 0 {
		c := st
		c.Open = nil
		v.Opened, v.CloseAll = len(st.Open), c.url(key)
	}
	list := !st.Columns && !st.All && v.Drawn > listDrawing
	var named map[catalog.Key]bool // the datasets that show platform and owner
	if !st.Columns && !list {
		collapsed := lineage.Collapse(sub, groups)
		named = make(map[catalog.Key]bool, len(collapsed.Nodes))
		for _, n := range collapsed.Nodes {
			if n.ID.Kind == lineage.DatasetNode {
				named[n.ID.Dataset()] = true
			}
		}
		for _, f := range lineage.Fans(collapsed) {
			v.Fans = append(v.Fans, f.Title()+" of "+f.Hub.Name)
			for _, l := range f.Leaves {
				for _, d := range l.Datasets {
					if d != f.Hub {
						delete(named, d.Dataset())
					}
				}
			}
		}
	}
	facts, datasets, err := s.nodeFacts(r.Context(), sub, st.Columns, named)
	if err != nil {
		return err
	}
	if list {
		v.List = listRows(sub, st, facts)
		return s.render(w, r, lineagePage(v))
	}

	toggle := st
	toggle.Columns, toggle.Column = !st.Columns, lineage.SVGColumn{}
	v.Toggle = toggle.url(key)

	opt := lineage.SVGOptions{
		Highlight: highlight,
		Href: func(n lineage.NodeID) string {
			if n.Kind == lineage.JobNode {
				return jobPath(n.Job())
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
		Groups: groups,
		Facts:  facts,
		Open: func(g lineage.Group) string {
			o := st
			o.Open = append(slices.Clip(st.Open), g.Hub)
			return o.url(key)
		},
	}
	if st.Columns {
		cv, err := s.columnView(r.Context(), sub, datasets)
		if err != nil {
			return err
		}
		if c := st.Column; c.Dataset.Name != "" {
			if notice := unknownColumn(cv, c, drawn); notice != "" {
				v.Notices = append(v.Notices, notice)
				st.Column = lineage.SVGColumn{}
			}
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

// listRows lists the datasets of sub, nearest the centre first, each
// with the jobs that link it toward the centre.
func listRows(sub lineage.Subgraph, st lineageState, facts map[catalog.Key]lineage.NodeFacts) []lineageRow {
	near := map[lineage.NodeID][]lineage.NodeID{} // dataset → its jobs toward the centre
	dist := make(map[lineage.NodeID]int, len(sub.Nodes))
	for _, n := range sub.Nodes {
		dist[n.ID] = n.Distance
	}
	for _, e := range sub.Edges {
		switch {
		case e.From.Kind == lineage.JobNode && dist[e.To] > 0:
			near[e.To] = append(near[e.To], e.From)
		case e.To.Kind == lineage.JobNode && dist[e.From] < 0:
			near[e.From] = append(near[e.From], e.To)
		}
	}
	var rows []lineageRow
	for _, n := range sub.Nodes {
		if n.ID.Kind != lineage.DatasetNode {
			continue
		}
		k := n.ID.Dataset()
		row := lineageRow{Name: k.Name, Namespace: k.Namespace, Hops: n.Distance, More: n.More, Facts: facts[k],
			Href: lineageState{Depth: st.Depth, Direction: st.Direction}.url(k)}
		for _, j := range near[n.ID] {
			row.Jobs = append(row.Jobs, lineageJob{Name: j.Name, Href: jobPath(j.Job())})
		}
		rows = append(rows, row)
	}
	slices.SortStableFunc(rows, func(a, b lineageRow) int {
		if c := cmpHops(a.Hops, b.Hops); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return rows
}

// cmpHops orders hops nearest first, upstream before downstream at the
// same distance.
func cmpHops(a, b int) int {
	if c := abs(a) - abs(b); c != 0 {
		return c
	}
	return a - b
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// hopsText says where a listed dataset lies from the centre.
func hopsText(h int) string {
	switch {
	case h == 0:
		return "this dataset"
	case h < 0:
		return strconv.Itoa(-h) + " upstream"
	}
	return strconv.Itoa(h) + " downstream"
}

// pathHighlight returns the nodes of the path between the start and the
// dataset path names ("namespace/name"), either way round, or a notice
// saying why nothing or not all of it is highlighted.
func pathHighlight(g *lineage.Graph, start catalog.Key, path string, drawn map[lineage.NodeID]bool) (map[lineage.NodeID]bool, string) {
	i := strings.LastIndex(path, "/")
	to := catalog.Key{Namespace: path[:max(i, 0)], Name: path[i+1:]}
	if i <= 0 || to.Validate() != nil {
		return nil, fmt.Sprintf("Nothing is highlighted: %q is not a dataset address. Write it as namespace/name, e.g. %s/%s.", path, start.Namespace, start.Name)
	}
	steps, err := g.Path(start, to)
	if err != nil {
		steps, err = g.Path(to, start)
	}
	if err != nil {
		if !drawn[lineage.DatasetID(to)] {
			return nil, fmt.Sprintf("Nothing is highlighted: %s (namespace %s) is not in this drawing, and no lineage joins it to %s.", to.Name, to.Namespace, start.Name)
		}
		return nil, fmt.Sprintf("Nothing is highlighted: data flows neither from %s to %s nor back.", start.Name, to.Name)
	}
	highlight := map[lineage.NodeID]bool{}
	beyond := false
	for _, step := range steps {
		ids := []lineage.NodeID{lineage.DatasetID(step.Dataset)}
		if step.Job.Name != "" {
			ids = append(ids, lineage.JobID(step.Job))
		}
		for _, id := range ids {
			highlight[id] = true
			beyond = beyond || !drawn[id]
		}
	}
	if beyond {
		return highlight, fmt.Sprintf("The path to %s runs beyond this drawing (%d hops): pick a greater depth to see all of it.", to.Name, len(steps)-1)
	}
	return highlight, ""
}

// unknownColumn says why column c cannot be traced in the column view
// cv, or returns "" when it can.
func unknownColumn(cv *lineage.SVGColumns, c lineage.SVGColumn, drawn map[lineage.NodeID]bool) string {
	if !drawn[lineage.DatasetID(c.Dataset)] {
		return fmt.Sprintf("Column %s is not traced: dataset %s (namespace %s) is not in this drawing.", c.Column, c.Dataset.Name, c.Dataset.Namespace)
	}
	var names []string
	for _, col := range cv.Columns[c.Dataset] {
		if col.Name == c.Column {
			return ""
		}
		names = append(names, col.Name)
	}
	for _, e := range cv.Edges {
		if e.From == c || e.To == c {
			return ""
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf("Column %s is not traced: no columns of %s are known.", c.Column, c.Dataset.Name)
	}
	const listed = 10
	known := strings.Join(names[:min(len(names), listed)], ", ")
	if len(names) > listed {
		known += fmt.Sprintf(" and %d more", len(names)-listed)
	}
	return fmt.Sprintf("Column %s is not traced: %s has no such column (its columns: %s).", c.Column, c.Dataset.Name, known)
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
	for _, o := range q["open"] {
		id, ok := parseNodeRef(o)
		if !ok {
			return st, 0, invalid(fmt.Sprintf("Open %q does not name a dataset or job as dataset:namespace/name or job:namespace/name with the namespace escaped.", o))
		}
		if !slices.Contains(st.Open, id) {
			st.Open = append(st.Open, id)
		}
	}
	switch d := q.Get("draw"); d {
	case "":
	case "all":
		st.All = true
	default:
		return st, 0, invalid(fmt.Sprintf("Draw %q is not all.", d))
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

// nodeFacts reads what the drawing's datasets say under their names —
// platform, first owner, health and open incidents — for all of them at
// once, in the same few statements however many nodes there are, and
// returns the datasets read too, with their columns when columns asks
// for them (the column view). Health is read for every dataset (a
// group or a fan's table says its members' health); platform and owner
// only for those in named, or for all when named is nil: a drawing of a
// few dozen nodes that groups a thousand reads a few dozen datasets.
func (s *Server) nodeFacts(ctx context.Context, sub lineage.Subgraph, columns bool, named map[catalog.Key]bool) (map[catalog.Key]lineage.NodeFacts, []catalog.Dataset, error) {
	var keys []catalog.Key
	for _, n := range sub.Nodes {
		if n.ID.Kind == lineage.DatasetNode {
			keys = append(keys, n.ID.Dataset())
		}
	}
	facts := make(map[catalog.Key]lineage.NodeFacts, len(keys))
	if len(keys) == 0 {
		return facts, nil, nil
	}
	about := keys
	if named != nil {
		about = make([]catalog.Key, 0, len(named))
		for _, k := range keys {
			if named[k] {
				about = append(about, k)
			}
		}
	}
	ids, err := s.store.DatasetIDs(ctx, about)
	if err != nil {
		return nil, nil, err
	}
	list := make([]int64, 0, len(ids))
	for _, k := range about {
		if id, ok := ids[k]; ok {
			list = append(list, id)
		}
	}
	read := s.store.DatasetHeadsByIDs
	if columns {
		read = s.store.DatasetsByIDs
	}
	ds, err := read(ctx, list)
	if err != nil {
		return nil, nil, err
	}
	health, err := s.store.QualityHealths(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	incidents, err := s.store.IncidentsOf(ctx, keys, true, 1)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range ds {
		f := lineage.NodeFacts{Platform: strings.Trim(d.Platform+" · "+string(d.Kind), " ·")}
		var owners []string
		for _, o := range d.Owners {
			if !slices.Contains(owners, o.Value.Name) {
				owners = append(owners, o.Value.Name)
			}
		}
		if len(owners) > 0 {
			f.Owner = owners[0]
			if len(owners) > 1 {
				f.Owner += " +" + strconv.Itoa(len(owners)-1)
			}
		}
		facts[d.Key] = f
	}
	for _, k := range keys {
		f := facts[k]
		if len(incidents[k]) > 0 {
			f.Health, f.Level, f.Incident = "incident", lineage.HealthBad, true
		} else if h, ok := health[k]; ok {
			f.Health, f.Level = nodeHealth(h)
		}
		if f != (lineage.NodeFacts{}) {
			facts[k] = f
		}
	}
	return facts, ds, nil
}

// nodeHealth says a dataset's checks and freshness in a word for its
// node, with the worst first as its listings' badges do (stateOf).
func nodeHealth(h store.QualityHealth) (word, level string) {
	switch stateOf(h) {
	case healthFailing:
		return "failing", lineage.HealthBad
	case healthStale:
		return "stale", lineage.HealthBad
	case healthWarning:
		return "warning", lineage.HealthWarn
	case healthLate:
		return "late", lineage.HealthWarn
	case healthPassing:
		return "passing", lineage.HealthGood
	}
	return "fresh", lineage.HealthGood
}

// columnView reads the column lineage between the subgraph's datasets,
// in one statement however many datasets there are; ds are the datasets,
// with their columns.
func (s *Server) columnView(ctx context.Context, sub lineage.Subgraph, ds []catalog.Dataset) (*lineage.SVGColumns, error) {
	var keys []catalog.Key
	for _, n := range sub.Nodes {
		if n.ID.Kind == lineage.DatasetNode {
			keys = append(keys, n.ID.Dataset())
		}
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
