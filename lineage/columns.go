package lineage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"almanac/catalog"
)

// This file holds the column layer of the graph: for each column of a
// dataset, the columns it derives from and the columns derived from it,
// with the transformation's type (DIRECT, INDIRECT) and subtype. A column
// is a dataset index of the dataset layer and an interned name, so that a
// warehouse of 100,000 datasets with ten lineage columns each costs about
// a hundred bytes per column and per edge, and no map is keyed by strings
// per column.

// indirectType is the transformation type of an input that affects a
// column without providing its values: a filter, a join key, a grouping.
// (The exported names of the types, Direct and Indirect, are beside the
// SQL column lineage that produces them.)
const indirectType = "INDIRECT"

// ColumnID identifies a column of a dataset. Column "" stands for the
// whole dataset: its inputs (dataset-wide lineage, such as a join key or
// a filter) are inputs of every column of the dataset, and a traversal
// reaches them from any of its columns.
type ColumnID struct {
	Dataset catalog.Key
	Column  string
}

// String is the node id Marquez gives a column:
// datasetField:<namespace>:<name>:<column>.
func (c ColumnID) String() string {
	return "datasetField:" + c.Dataset.Namespace + ":" + c.Dataset.Name + ":" + c.Column
}

func compareColumnIDs(a, b ColumnID) int {
	return cmp.Or(strings.Compare(a.Dataset.Namespace, b.Dataset.Namespace), strings.Compare(a.Dataset.Name, b.Dataset.Name),
		strings.Compare(a.Column, b.Column))
}

// columns is the column layer of a Graph, guarded by the Graph's lock.
type columns struct {
	// Column names, interned.
	nameIndex map[string]int32
	names     []string
	// Columns by dense index: their dataset and name.
	cols []colKey
	// up[c] are the edges into c from the columns it derives from,
	// down[c] the edges from c to the columns derived from it.
	up, down [][]colEdge
	// dsCols[d] are the columns of dataset d, sorted by name index.
	dsCols [][]int32
	// Transformations (type and subtype pairs), interned.
	trIndex map[transformation]int32
	trs     []transformation
	edges   int
	// wholeName is the name index of "", -1 until interned.
	wholeName int32
	// wide holds, for each dataset with dataset-wide lineage, its whole
	// column (whose up edges are that lineage) and the columns the
	// lineage applies to. Dataset-wide edges are held once and expanded
	// as a traversal meets them, so that a wide table costs its columns,
	// not its columns times its join and filter inputs.
	wide map[int32]wideLineage
}

type wideLineage struct {
	whole int32
	cols  []int32 // sorted by name
}

type colKey struct{ ds, name int32 }

// colEdge is an edge seen from one of its ends: the other end and the
// transformation.
type colEdge struct{ col, tr int32 }

type transformation struct{ typ, subtype string }

func newColumns() columns {
	return columns{nameIndex: map[string]int32{}, trIndex: map[transformation]int32{}, wholeName: -1, wide: map[int32]wideLineage{}}
}

// name interns a column name.
func (c *columns) name(s string) int32 {
	if i, ok := c.nameIndex[s]; ok {
		return i
	}
	i := int32(len(c.names))
	c.nameIndex[s] = i
	c.names = append(c.names, s)
	if s == "" {
		c.wholeName = i
	}
	return i
}

func (c *columns) transformation(typ, subtype string) int32 {
	t := transformation{typ, subtype}
	if i, ok := c.trIndex[t]; ok {
		return i
	}
	i := int32(len(c.trs))
	c.trIndex[t] = i
	c.trs = append(c.trs, t)
	return i
}

// findColumn returns the column named name of dataset d, if it is a node.
func (c *columns) findColumn(d int32, name string) (int32, bool) {
	n, ok := c.nameIndex[name]
	if !ok {
		return -1, false
	}
	cs := c.dsCols[d]
	i, found := slices.BinarySearchFunc(cs, n, func(col, n int32) int { return cmp.Compare(c.cols[col].name, n) })
	if !found {
		return -1, false
	}
	return cs[i], true
}

// column returns the column named name of dataset d, adding it.
func (c *columns) column(d int32, name string) int32 {
	n := c.name(name)
	cs := c.dsCols[d]
	i, found := slices.BinarySearchFunc(cs, n, func(col, n int32) int { return cmp.Compare(c.cols[col].name, n) })
	if found {
		return cs[i]
	}
	col := int32(len(c.cols))
	c.cols = append(c.cols, colKey{d, n})
	c.up = append(c.up, nil)
	c.down = append(c.down, nil)
	c.dsCols[d] = slices.Insert(cs, i, col)
	return col
}

func (g *Graph) columnID(col int32) ColumnID {
	k := g.cols[col]
	return ColumnID{Dataset: g.dsKeys[k.ds], Column: g.names[k.name]}
}

// SetColumnLineage replaces the column lineage into each output of batch.
func (g *Graph) SetColumnLineage(batch []catalog.ColumnEdges) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range batch {
		g.setColumnLineage(o)
	}
}

func (g *Graph) setColumnLineage(o catalog.ColumnEdges) {
	d, ok := g.dsIndex[o.Output]
	if !ok && len(o.Edges) == 0 {
		return
	}
	if !ok {
		d = g.dataset(o.Output)
	}
	c := &g.columns
	for _, col := range c.dsCols[d] {
		for _, e := range c.up[col] {
			if i := slices.Index(c.down[e.col], colEdge{col, e.tr}); i >= 0 {
				c.down[e.col] = slices.Delete(c.down[e.col], i, i+1)
			}
		}
		c.edges -= len(c.up[col])
		c.up[col] = nil
	}
	delete(c.wide, d)
	wide := false
	for _, e := range o.Edges {
		out := c.column(d, e.Column)
		in := c.column(g.dataset(e.Input), e.InputColumn)
		tr := c.transformation(e.Type, e.Subtype)
		wide = wide || e.Column == ""
		if slices.Contains(c.up[out], colEdge{in, tr}) {
			continue
		}
		c.up[out] = append(c.up[out], colEdge{in, tr})
		c.down[in] = append(c.down[in], colEdge{out, tr})
		c.edges++
	}
	if wide {
		names := slices.Clone(o.Columns)
		for _, e := range o.Edges {
			names = append(names, e.Column)
		}
		slices.Sort(names)
		w := wideLineage{whole: c.column(d, "")}
		for _, n := range slices.Compact(names) {
			if n != "" {
				w.cols = append(w.cols, c.column(d, n))
			}
		}
		c.wide[d] = w
	}
}

// neighbours appends to buf the edges of column col upstream (up) or
// downstream, dataset-wide lineage expanded: upstream, a column of a
// dataset with dataset-wide inputs has those inputs too; downstream, an
// edge into a dataset's whole column is an edge into each column the
// lineage applies to (into the whole column itself when none is known).
func (c *columns) neighbours(buf []colEdge, col int32, up bool) []colEdge {
	if up {
		buf = append(buf, c.up[col]...)
		if len(c.wide) > 0 && c.cols[col].name != c.wholeName {
			if w, ok := c.wide[c.cols[col].ds]; ok {
				buf = append(buf, c.up[w.whole]...)
			}
		}
		return buf
	}
	for _, e := range c.down[col] {
		if c.cols[e.col].name == c.wholeName {
			if w, ok := c.wide[c.cols[e.col].ds]; ok && w.whole == e.col && len(w.cols) > 0 {
				for _, wc := range w.cols {
					buf = append(buf, colEdge{wc, e.tr})
				}
				continue
			}
		}
		buf = append(buf, e)
	}
	return buf
}

// hasColumnLineage reports whether the graph holds column lineage into
// the dataset k.
func (g *Graph) hasColumnLineage(k catalog.Key) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	d, ok := g.dsIndex[k]
	if !ok {
		return false
	}
	for _, col := range g.dsCols[d] {
		if len(g.up[col]) > 0 {
			return true
		}
	}
	return false
}

// ColumnSize returns how many columns and column edges the graph holds.
func (g *Graph) ColumnSize() (columns, edges int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.cols), g.edges
}

// ColumnQuery asks for the column lineage around one column.
type ColumnQuery struct {
	Start     ColumnID
	Direction Direction
	// Depth counts column hops; 0 means DefaultDepth.
	Depth int
	// MaxNodes caps the columns returned; 0 means DefaultMaxNodes.
	MaxNodes int
	// DirectOnly leaves out INDIRECT edges (filters, join keys…), which
	// otherwise make a column depend on most of its query's inputs.
	DirectOnly bool
}

// ColumnNode is a column of a column subgraph.
type ColumnNode struct {
	ID ColumnID
	// Distance is the number of column hops from the start, negative
	// upstream.
	Distance int
	// More counts neighbours left out by the node cap or the depth.
	More int
}

// ColumnEdge is an edge of a column subgraph in the direction data flows:
// From is an input column, To a column derived from it.
type ColumnEdge struct {
	From, To      ColumnID
	Type, Subtype string
}

// Indirect reports whether the edge is INDIRECT: From affects To without
// providing its values.
func (e ColumnEdge) Indirect() bool { return e.Type == indirectType }

// ColumnSubgraph is the result of a column traversal.
type ColumnSubgraph struct {
	Start ColumnID
	Nodes []ColumnNode
	Edges []ColumnEdge
	// Truncated is set when the node cap left columns out.
	Truncated bool
}

// TraverseColumns returns the column lineage around q.Start. It
// terminates on cycles (each column is visited once per direction) and
// returns catalog.ErrNotFound for a column no lineage names.
func (g *Graph) TraverseColumns(q ColumnQuery) (ColumnSubgraph, error) {
	q.Depth, q.MaxNodes = bounds(q.Depth, q.MaxNodes)
	g.mu.RLock()
	defer g.mu.RUnlock()
	start, ok := g.startColumn(q.Start)
	if !ok {
		return ColumnSubgraph{}, fmt.Errorf("column lineage of %s: %w", q.Start, catalog.ErrNotFound)
	}
	t := colTraversal{g: g, max: q.MaxNodes, directOnly: q.DirectOnly, sc: getColScratch(len(g.cols))}
	defer colScratchPool.Put(t.sc)
	t.add(start, 0)
	if q.Direction != Downstream {
		t.walk(start, q.Depth, true)
	}
	if q.Direction != Upstream {
		t.walk(start, q.Depth, false)
	}
	slices.SortFunc(t.edges, func(a, b [3]int32) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
	})
	t.edges = slices.Compact(t.edges)
	t.sub.Edges = make([]ColumnEdge, len(t.edges))
	for i, e := range t.edges {
		tr := g.trs[e[2]]
		t.sub.Edges[i] = ColumnEdge{From: t.sub.Nodes[e[0]].ID, To: t.sub.Nodes[e[1]].ID, Type: tr.typ, Subtype: tr.subtype}
	}
	t.sub.Start = q.Start
	return t.sub, nil
}

func (g *Graph) startColumn(id ColumnID) (int32, bool) {
	d, ok := g.dsIndex[id.Dataset]
	if !ok {
		return -1, false
	}
	return g.findColumn(d, id.Column)
}

// colScratch is the column layer's scratch (see scratch).
type colScratch struct {
	gen              uint32
	mark             []uint32 // column added in this generation
	node             []int32  // its index in the subgraph
	seenUp, seenDown []uint32
}

var colScratchPool sync.Pool

func getColScratch(n int) *colScratch {
	sc, _ := colScratchPool.Get().(*colScratch)
	if sc == nil {
		sc = &colScratch{}
	}
	grow := func(s []uint32) []uint32 {
		if len(s) < n {
			s = append(s, make([]uint32, n-len(s))...)
		}
		return s
	}
	sc.mark, sc.seenUp, sc.seenDown = grow(sc.mark), grow(sc.seenUp), grow(sc.seenDown)
	if len(sc.node) < n {
		sc.node = append(sc.node, make([]int32, n-len(sc.node))...)
	}
	sc.gen++
	if sc.gen == 0 {
		clear(sc.mark)
		clear(sc.seenUp)
		clear(sc.seenDown)
		sc.gen = 1
	}
	return sc
}

type colTraversal struct {
	g          *Graph
	max        int
	directOnly bool
	sub        ColumnSubgraph
	sc         *colScratch
	edges      [][3]int32 // from and to subgraph node, transformation
	adj        []colEdge  // the neighbours of the column at hand
}

func (t *colTraversal) add(col int32, dist int) (int32, bool) {
	if t.sc.mark[col] == t.sc.gen {
		return t.sc.node[col], true
	}
	if len(t.sub.Nodes) >= t.max {
		t.sub.Truncated = true
		return -1, false
	}
	t.sub.Nodes = append(t.sub.Nodes, ColumnNode{ID: t.g.columnID(col), Distance: dist})
	t.sc.mark[col], t.sc.node[col] = t.sc.gen, int32(len(t.sub.Nodes)-1)
	return t.sc.node[col], true
}

// follows reports whether the traversal takes edge e.
func (t *colTraversal) follows(e colEdge) bool {
	return !t.directOnly || t.g.trs[e.tr].typ != indirectType
}

// walk runs a breadth-first search from start, upstream or downstream, to
// depth column hops.
func (t *colTraversal) walk(start int32, depth int, up bool) {
	sign, seen := 1, t.sc.seenDown
	if up {
		sign, seen = -1, t.sc.seenUp
	}
	gen := t.sc.gen
	frontier := []int32{start}
	seen[start] = gen
	for hop := 1; hop <= depth && len(frontier) > 0; hop++ {
		var next []int32
		for _, c := range frontier {
			cn := t.sc.node[c]
			t.adj = t.g.neighbours(t.adj[:0], c, up)
			for k, e := range t.adj {
				if !t.follows(e) {
					continue
				}
				on, ok := t.add(e.col, sign*hop)
				if !ok {
					for _, rest := range t.adj[k:] {
						if t.follows(rest) && t.sc.mark[rest.col] != gen {
							t.sub.Nodes[cn].More++
						}
					}
					break
				}
				if up {
					t.edges = append(t.edges, [3]int32{on, cn, e.tr})
				} else {
					t.edges = append(t.edges, [3]int32{cn, on, e.tr})
				}
				if seen[e.col] != gen {
					seen[e.col] = gen
					next = append(next, e.col)
				}
			}
		}
		frontier = next
	}
	// Columns at the edge of the depth with further neighbours say so.
	for _, c := range frontier {
		n := t.sc.node[c]
		t.adj = t.g.neighbours(t.adj[:0], c, up)
		for _, e := range t.adj {
			if t.follows(e) && t.sc.mark[e.col] != gen {
				t.sub.Nodes[n].More++
			}
		}
	}
}

// ColumnsDownstream returns every column derived, directly or through
// others, from start, grouped by distance (index 0 holds distance 1), to
// at most depth hops (0: no limit); directOnly leaves INDIRECT edges out.
// Each column appears once, at its shortest distance.
func (g *Graph) ColumnsDownstream(start ColumnID, depth int, directOnly bool) ([][]ColumnID, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.startColumn(start)
	if !ok {
		return nil, fmt.Errorf("columns downstream of %s: %w", start, catalog.ErrNotFound)
	}
	seen := map[int32]bool{s: true}
	frontier := []int32{s}
	var (
		levels [][]ColumnID
		adj    []colEdge
	)
	for hop := 1; len(frontier) > 0 && (depth <= 0 || hop <= depth); hop++ {
		var next []int32
		var level []ColumnID
		for _, c := range frontier {
			adj = g.neighbours(adj[:0], c, false)
			for _, e := range adj {
				if seen[e.col] || (directOnly && g.trs[e.tr].typ == indirectType) {
					continue
				}
				seen[e.col] = true
				next = append(next, e.col)
				level = append(level, g.columnID(e.col))
			}
		}
		if len(level) > 0 {
			slices.SortFunc(level, compareColumnIDs)
			levels = append(levels, level)
		}
		frontier = next
	}
	return levels, nil
}

// ColumnStep is one hop of a column path: a column, and how the next
// column derives from it ("" type on the last step).
type ColumnStep struct {
	Column        ColumnID
	Type, Subtype string
}

// ColumnPath returns a shortest path along which data flows from one
// column to another, or catalog.ErrNotFound when there is none;
// directOnly leaves INDIRECT edges out.
func (g *Graph) ColumnPath(from, to ColumnID, directOnly bool) ([]ColumnStep, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok1 := g.startColumn(from)
	e, ok2 := g.startColumn(to)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("column path from %s to %s: %w", from, to, catalog.ErrNotFound)
	}
	type via struct{ prev, tr int32 }
	back := map[int32]via{s: {-1, -1}}
	frontier := []int32{s}
	var adj []colEdge
	for len(frontier) > 0 {
		if _, ok := back[e]; ok {
			break
		}
		var next []int32
		for _, c := range frontier {
			adj = g.neighbours(adj[:0], c, false)
			for _, ed := range adj {
				if _, ok := back[ed.col]; ok || (directOnly && g.trs[ed.tr].typ == indirectType) {
					continue
				}
				back[ed.col] = via{c, ed.tr}
				next = append(next, ed.col)
			}
		}
		frontier = next
	}
	if _, ok := back[e]; !ok {
		return nil, fmt.Errorf("column path from %s to %s: %w", from, to, catalog.ErrNotFound)
	}
	var path []ColumnStep
	for c, tr := e, int32(-1); c >= 0; {
		st := ColumnStep{Column: g.columnID(c)}
		if tr >= 0 {
			st.Type, st.Subtype = g.trs[tr].typ, g.trs[tr].subtype
		}
		path = append(path, st)
		v := back[c]
		c, tr = v.prev, v.tr
	}
	slices.Reverse(path)
	return path, nil
}
