package lineage

import (
	"slices"
	"strconv"
)

// Group is the branches beyond one node drawn as one collapsed node
// ("64 datasets, 8 jobs") in a drawing too big to read node by node: the
// outputs of a job, or the readers of a dataset with everything beyond
// them, on the side away from the start. Opening the group (the
// explorer's open parameter names its hub) draws them again.
type Group struct {
	Hub NodeID
	// Upstream is set when the members are the hub's inputs or writers
	// and what lies beyond them.
	Upstream bool
	// Members are the nodes the group stands for, in the subgraph's
	// order.
	Members []NodeID
	// Datasets and Jobs count the members.
	Datasets, Jobs int
	// More counts the neighbours of members that the node cap left out.
	More int
	// Partial is set when the hub's first GroupSiblings branches are
	// drawn beside the group: the group is the rest ("+ 56 datasets").
	Partial bool
}

// ID is the group's node id in the drawing.
func (g Group) ID() string {
	dir := "down"
	if g.Upstream {
		dir = "up"
	}
	return "group:" + dir + ":" + g.Hub.String()
}

// Label says what the group holds, e.g. "64 datasets, 8 jobs", or for a
// partial group "+ 56 datasets, 56 jobs".
func (g Group) Label() string {
	s := plural(g.Datasets, "dataset")
	if g.Jobs > 0 {
		if g.Datasets > 0 {
			s += ", "
		} else {
			s = ""
		}
		s += plural(g.Jobs, "job")
	}
	if g.Partial {
		s = "+ " + s
	}
	return s
}

func plural(n int, what string) string {
	s := strconv.Itoa(n) + " " + what
	if n != 1 {
		s += "s"
	}
	return s
}

// GroupOptions says how Groups may collapse a subgraph.
type GroupOptions struct {
	// Budget is the most nodes a drawing may have before Groups collapses
	// any, a fan's table counting as one node.
	Budget int
	// Open are hubs whose branches stay drawn: the groups a reader opened.
	// An open node is never a member of a group either.
	Open map[NodeID]bool
	// Keep are nodes never collapsed into a group, e.g. a highlighted
	// path.
	Keep map[NodeID]bool
}

// GroupSiblings is the most branches of one hub drawn beside its group:
// a hub with more draws its first GroupSiblings (by name) and groups the
// rest, so that a dataset read by 64 jobs is not one group of them all.
const GroupSiblings = 8

// DefaultGroupBudget is the explorer's budget: about what a laptop's
// window shows with labels at a readable size.
const DefaultGroupBudget = 120

// Groups returns the groups that bring a subgraph of more than
// opt.Budget nodes down to at most that many, or as near as the rule
// allows, collapsing the farthest branches first so that what stays is
// the neighbourhood of the start, whole.
//
// The rule: the nodes are ringed by their hops from the start (datasets
// and jobs both count). Ring by ring from the farthest, every node of the
// ring with at least two branches on its far side collapses them into
// one group, a branch being a child and everything beyond it that is
// linked to nothing else (a tree below the child): a table two jobs write
// stays drawn. A node with more than GroupSiblings branches keeps its
// first GroupSiblings drawn and groups the rest; the leaves of a fan
// (see Fans) stay in its table. The whole ring collapses at once, so
// that siblings look alike, and the rings stop once the drawing fits the
// budget. A group absorbs the groups of its members. Nothing kept or
// opened is collapsed, nor are the branches of an open hub.
func Groups(sub Subgraph, opt GroupOptions) []Group {
	if opt.Budget <= 0 || DrawnNodes(sub, nil) <= opt.Budget {
		return nil
	}
	n := len(sub.Nodes)
	index, in, out := adjacency(sub)
	start, ok := index[sub.Start]
	if !ok {
		return nil
	}
	// ring[v] is v's hops from the start over edges either way; up[v]
	// says v was reached against the flow (it is upstream).
	ring := make([]int, n)
	for i := range ring {
		ring[i] = -1
	}
	up := make([]bool, n)
	ring[start] = 0
	queue := []int{start}
	var rings [][]int // nodes by ring
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for len(rings) <= ring[v] {
			rings = append(rings, nil)
		}
		rings[ring[v]] = append(rings[ring[v]], v)
		for _, side := range []bool{false, true} {
			next := out[v]
			if side {
				next = in[v]
			}
			for _, c := range next {
				if ring[c] < 0 {
					ring[c] = ring[v] + 1
					up[c] = side
					if v != start {
						up[c] = up[v]
					}
					queue = append(queue, c)
				}
			}
		}
	}
	// neighbours are v's neighbours either way.
	neighbours := func(v int) []int { return append(slices.Clip(out[v]), in[v]...) }
	// tree[v] says v and everything beyond it form a tree hanging from
	// v's one nearer neighbour: collapsible as a branch. Rings are
	// visited farthest first, so a child's is known before its parent's.
	tree := make([]bool, n)
	for r := len(rings) - 1; r >= 1; r-- {
		for _, v := range rings[r] {
			id := sub.Nodes[v].ID
			if opt.Keep[id] || opt.Open[id] {
				continue
			}
			nearer, ok := 0, true
			for _, u := range neighbours(v) {
				switch ring[u] {
				case r - 1:
					nearer++
				case r + 1:
					if up[u] != up[v] || !tree[u] {
						ok = false
					}
				default:
					ok = false // a link across the ring, or back
				}
			}
			// A farther node with two nearer neighbours is not in
			// v's tree: tree[u] is false for it (nearer != 1).
			tree[v] = ok && nearer == 1
		}
	}
	// The leaves of fans are drawn in their tables, one node already.
	inFan := map[NodeID]bool{}
	for _, f := range Fans(sub) {
		for _, l := range f.Leaves {
			if l.Job != (NodeID{}) {
				inFan[l.Job] = true
			} else {
				inFan[l.Datasets[0]] = true
			}
		}
	}
	member := make([]int, n) // 1 + the index in groups of v's group
	var groups []Group
	for r := len(rings) - 2; r >= 0; r-- {
		for _, v := range rings[r] {
			id := sub.Nodes[v].ID
			if opt.Open[id] || member[v] != 0 {
				continue
			}
			for _, side := range []bool{false, true} {
				if v != start && side != up[v] {
					continue
				}
				var branches []int
				for _, c := range neighbours(v) {
					if ring[c] == r+1 && up[c] == side && tree[c] && !inFan[sub.Nodes[c].ID] && (v != start || (side == slices.Contains(in[v], c))) {
						branches = append(branches, c)
					}
				}
				if len(branches) < 2 {
					continue
				}
				g := Group{Hub: id, Upstream: side}
				if len(branches) > GroupSiblings {
					slices.SortFunc(branches, func(a, b int) int { return compareNodes(sub.Nodes[a].ID, sub.Nodes[b].ID) })
					branches = branches[GroupSiblings:]
					g.Partial = true
				}
				gi := len(groups)
				// Every node beyond the branches joins the group.
				stack := slices.Clone(branches)
				for len(stack) > 0 {
					u := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					if member[u] == gi+1 {
						continue
					}
					member[u] = gi + 1
					for _, w := range neighbours(u) {
						if ring[w] == ring[u]+1 {
							stack = append(stack, w)
						}
					}
				}
				groups = append(groups, g)
			}
		}
		if drawnSize(sub, member) <= opt.Budget {
			break
		}
	}
	// Fill the groups in; absorbed groups (whose hub is a member of
	// another) are dropped.
	for v, m := range member {
		if m == 0 {
			continue
		}
		g := &groups[m-1]
		nd := sub.Nodes[v]
		g.Members = append(g.Members, nd.ID)
		if nd.ID.Kind == JobNode {
			g.Jobs++
		} else {
			g.Datasets++
		}
		g.More += nd.More
	}
	var kept []Group
	for _, g := range groups {
		if member[index[g.Hub]] != 0 || len(g.Members) == 0 {
			continue
		}
		kept = append(kept, g)
	}
	return kept
}

// DrawnNodes is the number of nodes SVG draws for sub with groups
// collapsed: each group one node, each fan's table one.
func DrawnNodes(sub Subgraph, groups []Group) int {
	sub = Collapse(sub, groups)
	size := len(sub.Nodes) + len(groups)
	for _, f := range Fans(sub) {
		for _, l := range f.Leaves {
			size -= len(l.Datasets)
			if l.Job != (NodeID{}) {
				size--
			}
		}
		size++
	}
	return size
}

// drawnSize is DrawnNodes with the groups given as marks: member[v] is 1
// + the index of v's group, 0 for none.
func drawnSize(sub Subgraph, member []int) int {
	var gs []Group
	for v, m := range member {
		if m == 0 {
			continue
		}
		for len(gs) < m {
			gs = append(gs, Group{})
		}
		gs[m-1].Members = append(gs[m-1].Members, sub.Nodes[v].ID)
	}
	n := 0
	for _, g := range gs {
		if len(g.Members) > 0 {
			n++
		}
	}
	return DrawnNodes(sub, gs) - len(gs) + n
}

// Collapse returns sub without the members of groups and their edges.
// The groups themselves are drawn by SVG (SVGOptions.Groups).
func Collapse(sub Subgraph, groups []Group) Subgraph {
	if len(groups) == 0 {
		return sub
	}
	gone := map[NodeID]bool{}
	for _, g := range groups {
		for _, m := range g.Members {
			gone[m] = true
		}
	}
	rest := Subgraph{Start: sub.Start, Truncated: sub.Truncated, Nodes: make([]Node, 0, len(sub.Nodes)-len(gone))}
	for _, nd := range sub.Nodes {
		if !gone[nd.ID] {
			rest.Nodes = append(rest.Nodes, nd)
		}
	}
	for _, e := range sub.Edges {
		if !gone[e.From] && !gone[e.To] {
			rest.Edges = append(rest.Edges, e)
		}
	}
	return rest
}
