// Package lineage owns lineage queries: an in-memory graph of datasets and
// the jobs between them, loaded from PostgreSQL and kept in sync with the
// change log, traversed upstream and downstream with depth and node caps,
// searched for paths and for the impact of a change. SQL lineage — what a
// view or a dbt model reads, down to columns — is catalog/crawl/sqllineage,
// beside the crawlers that use it, which never need the graph.
//
// Dataset-level lineage is job_io: input → job → output. The graph holds
// only keys and adjacency, so that 100,000 datasets and 300,000 edges fit
// in tens of megabytes and a traversal touches no database. Column-level
// lineage (columns.go) is a second layer over the same datasets: output
// column ← input column, with the transformation's type.
package lineage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"almanac/catalog"
)

// Graph is the dataset-level lineage graph. It is safe for concurrent use:
// reads share a lock, updates from the change log take it briefly.
type Graph struct {
	mu sync.RWMutex
	// Datasets by dense index; a dataset stays once seen (its index is
	// reused by the jobs naming it again).
	dsIndex map[catalog.Key]int32
	dsKeys  []catalog.Key
	// producers[d] and consumers[d] are the jobs writing and reading d.
	producers [][]int32
	consumers [][]int32
	// Jobs by dense index; jobIndex maps store ids.
	jobIndex map[int64]int32
	jobs     []job
	free     []int32 // indexes of dropped jobs, for reuse
	// The column layer (columns.go), indexed by the same datasets.
	columns
}

type job struct {
	id  int64 // 0 for a free slot
	key catalog.JobKey
	typ string
	// io are the job's inputs, then its outputs from index out: one slice
	// header a job rather than two (16 bytes a job, 16 MB a million).
	io  []int32
	out int32
}

func (j *job) inputs() []int32  { return j.io[:j.out] }
func (j *job) outputs() []int32 { return j.io[j.out:] }

// NewGraph returns an empty graph.
func NewGraph() *Graph {
	return &Graph{dsIndex: map[catalog.Key]int32{}, jobIndex: map[int64]int32{}, columns: newColumns()}
}

// replace makes g the graph n is, for every reader from the next lock on:
// a reload loads a new graph aside and swaps it in whole, so that readers
// never see half of one. n is not used after.
func (g *Graph) replace(n *Graph) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dsIndex, g.dsKeys, g.producers, g.consumers = n.dsIndex, n.dsKeys, n.producers, n.consumers
	g.jobIndex, g.jobs, g.free = n.jobIndex, n.jobs, n.free
	g.columns = n.columns
}

// reserve makes room for datasets and jobs more, so that a load of
// that many grows no slice or map: growing them was half the bytes a
// load of 100,000 jobs allocated.
func (g *Graph) reserve(datasets, jobs int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.dsKeys) == 0 && len(g.jobs) == 0 {
		g.dsIndex = make(map[catalog.Key]int32, datasets)
		g.jobIndex = make(map[int64]int32, jobs)
	}
	g.dsKeys = slices.Grow(g.dsKeys, datasets)
	g.producers = slices.Grow(g.producers, datasets)
	g.consumers = slices.Grow(g.consumers, datasets)
	g.dsCols = slices.Grow(g.dsCols, datasets)
	g.jobs = slices.Grow(g.jobs, jobs)
}

func (g *Graph) dataset(k catalog.Key) int32 {
	if i, ok := g.dsIndex[k]; ok {
		return i
	}
	i := int32(len(g.dsKeys))
	g.dsIndex[k] = i
	g.dsKeys = append(g.dsKeys, k)
	g.producers = append(g.producers, nil)
	g.consumers = append(g.consumers, nil)
	g.dsCols = append(g.dsCols, nil)
	return i
}

// SetJob adds, replaces or (with no inputs and outputs) drops a job.
func (g *Graph) SetJob(j catalog.JobEdges) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setJob(j)
}

// SetJobs is SetJob for many jobs under one lock.
func (g *Graph) SetJobs(js []catalog.JobEdges) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, j := range js {
		g.setJob(j)
	}
}

func (g *Graph) setJob(j catalog.JobEdges) {
	if i, ok := g.jobIndex[j.ID]; ok {
		old := g.jobs[i]
		for _, d := range old.inputs() {
			g.consumers[d] = remove(g.consumers[d], i)
		}
		for _, d := range old.outputs() {
			g.producers[d] = remove(g.producers[d], i)
		}
		g.jobs[i] = job{}
		delete(g.jobIndex, j.ID)
		g.free = append(g.free, i)
	}
	if len(j.Inputs) == 0 && len(j.Outputs) == 0 {
		return
	}
	var i int32
	if n := len(g.free); n > 0 {
		i, g.free = g.free[n-1], g.free[:n-1]
	} else {
		i = int32(len(g.jobs))
		g.jobs = append(g.jobs, job{})
	}
	// The inputs and outputs share one array of their exact size: one
	// allocation a job instead of one for each growth of two slices.
	io := make([]int32, 0, len(j.Inputs)+len(j.Outputs))
	for _, k := range j.Inputs {
		d := g.dataset(k)
		io = append(io, d)
		g.consumers[d] = append(g.consumers[d], i)
	}
	n := len(io)
	for _, k := range j.Outputs {
		d := g.dataset(k)
		io = append(io, d)
		g.producers[d] = append(g.producers[d], i)
	}
	nj := job{id: j.ID, key: j.Key, typ: j.Type, io: io, out: int32(n)}
	g.jobs[i] = nj
	g.jobIndex[j.ID] = i
}

func remove(s []int32, v int32) []int32 {
	if i := slices.Index(s, v); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// Size returns how many datasets and jobs the graph holds.
func (g *Graph) Size() (datasets, jobs int) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.dsKeys), len(g.jobIndex)
}

// HasDataset reports whether the graph holds k (a job or column lineage
// names it), that is whether Traverse can start from it.
func (g *Graph) HasDataset(k catalog.Key) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	_, ok := g.dsIndex[k]
	return ok
}

// Direction says which way a traversal goes.
type Direction int

// Directions.
const (
	Both Direction = iota
	Upstream
	Downstream
)

// ParseDirection reads "upstream", "downstream" or "both" ("" is both).
func ParseDirection(s string) (Direction, error) {
	switch strings.ToLower(s) {
	case "", "both":
		return Both, nil
	case "upstream", "up":
		return Upstream, nil
	case "downstream", "down":
		return Downstream, nil
	}
	return Both, fmt.Errorf("direction %q: want upstream, downstream or both: %w", s, catalog.ErrInvalid)
}

// Limits of a traversal.
const (
	DefaultDepth    = 1
	MaxDepth        = 50
	DefaultMaxNodes = 500
)

// Query asks for the lineage around one dataset.
type Query struct {
	Start     catalog.Key
	Direction Direction
	// Depth counts dataset hops (dataset → job → dataset is one); 0 means
	// DefaultDepth.
	Depth int
	// MaxNodes caps datasets and jobs returned; 0 means DefaultMaxNodes.
	MaxNodes int
}

// NodeKind says whether a node is a dataset or a job.
type NodeKind string

// Node kinds.
const (
	DatasetNode NodeKind = "dataset"
	JobNode     NodeKind = "job"
)

// NodeID identifies a node of a subgraph.
type NodeID struct {
	Kind      NodeKind
	Namespace string
	Name      string
}

func (n NodeID) String() string { return string(n.Kind) + ":" + n.Namespace + ":" + n.Name }

// DatasetID is the node id of a dataset.
func DatasetID(k catalog.Key) NodeID { return NodeID{DatasetNode, k.Namespace, k.Name} }

// JobID is the node id of a job.
func JobID(k catalog.JobKey) NodeID { return NodeID{JobNode, k.Namespace, k.Name} }

// Dataset is the key of a dataset node.
func (n NodeID) Dataset() catalog.Key { return catalog.Key{Namespace: n.Namespace, Name: n.Name} }

// Job is the key of a job node.
func (n NodeID) Job() catalog.JobKey { return catalog.JobKey{Namespace: n.Namespace, Name: n.Name} }

// Node is a dataset or job of a subgraph.
type Node struct {
	ID NodeID
	// Type is a job's type; "" for datasets.
	Type string
	// Distance is the number of dataset hops from the start, negative
	// upstream; a job's is that of the dataset it was reached from.
	Distance int
	// More counts neighbours left out by the node cap: the explorer shows
	// "N more" and can expand the node.
	More int
}

// Edge is a directed edge of a subgraph, always in the direction data
// flows: dataset → job or job → dataset.
type Edge struct {
	From, To NodeID
}

// Subgraph is the result of a traversal.
type Subgraph struct {
	Start NodeID
	Nodes []Node
	Edges []Edge
	// Truncated is set when the node cap left nodes out.
	Truncated bool
}

// bounds applies the defaults and the ceiling to a traversal's depth and
// node cap, the same for datasets and columns.
func bounds(depth, maxNodes int) (int, int) {
	if depth <= 0 {
		depth = DefaultDepth
	}
	if maxNodes <= 0 {
		maxNodes = DefaultMaxNodes
	}
	return min(depth, MaxDepth), maxNodes
}

// Traverse returns the lineage around q.Start. It terminates on cycles
// (each node is visited once) and returns catalog.ErrNotFound for a
// dataset no job names.
func (g *Graph) Traverse(q Query) (Subgraph, error) {
	q.Depth, q.MaxNodes = bounds(q.Depth, q.MaxNodes)
	g.mu.RLock()
	defer g.mu.RUnlock()
	start, ok := g.dsIndex[q.Start]
	if !ok {
		return Subgraph{}, fmt.Errorf("lineage of %s: %w", q.Start, catalog.ErrNotFound)
	}
	t := traversal{g: g, max: q.MaxNodes, sc: getScratch(len(g.dsKeys), len(g.jobs))}
	defer scratchPool.Put(t.sc)
	t.addDataset(start, 0)
	if q.Direction != Downstream {
		t.walk(start, q.Depth, true)
	}
	if q.Direction != Upstream {
		t.walk(start, q.Depth, false)
	}
	if q.Direction == Both {
		// Both walks may cross the same edge (through a cycle): drop
		// repeats. One walk never does (see walk).
		slices.SortFunc(t.edges, func(a, b [2]int32) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		})
		t.edges = slices.Compact(t.edges)
	}
	t.sub.Edges = make([]Edge, len(t.edges))
	for i, e := range t.edges {
		t.sub.Edges[i] = Edge{t.sub.Nodes[e[0]].ID, t.sub.Nodes[e[1]].ID}
	}
	t.sub.Start = DatasetID(q.Start)
	return t.sub, nil
}

// scratch holds per-traversal marks, indexed like the graph, reused
// across traversals: a mark is valid when it equals the current
// generation, so nothing is cleared between uses.
type scratch struct {
	gen              uint32
	dsMark, jobMark  []uint32 // node added in this generation
	dsNode, jobNode  []int32  // its index in the subgraph
	seenUp, seenDown []uint32 // dataset queued by the walk of that side
	// job whose other side the walk of that side has already followed
	jobUp, jobDown []uint32
}

var scratchPool sync.Pool

func getScratch(datasets, jobs int) *scratch {
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	grow := func(s []uint32, n int) []uint32 {
		if len(s) < n {
			s = append(s, make([]uint32, n-len(s))...)
		}
		return s
	}
	sc.dsMark, sc.seenUp, sc.seenDown = grow(sc.dsMark, datasets), grow(sc.seenUp, datasets), grow(sc.seenDown, datasets)
	sc.jobMark, sc.jobUp, sc.jobDown = grow(sc.jobMark, jobs), grow(sc.jobUp, jobs), grow(sc.jobDown, jobs)
	if len(sc.dsNode) < datasets {
		sc.dsNode = append(sc.dsNode, make([]int32, datasets-len(sc.dsNode))...)
	}
	if len(sc.jobNode) < jobs {
		sc.jobNode = append(sc.jobNode, make([]int32, jobs-len(sc.jobNode))...)
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: clear once every 4 billion uses
		clear(sc.dsMark)
		clear(sc.jobMark)
		clear(sc.seenUp)
		clear(sc.seenDown)
		clear(sc.jobUp)
		clear(sc.jobDown)
		sc.gen = 1
	}
	return sc
}

type traversal struct {
	g     *Graph
	max   int
	sub   Subgraph
	sc    *scratch
	edges [][2]int32 // subgraph node indexes
}

func (t *traversal) addDataset(d int32, dist int) (int32, bool) {
	if t.sc.dsMark[d] == t.sc.gen {
		return t.sc.dsNode[d], true
	}
	if len(t.sub.Nodes) >= t.max {
		t.sub.Truncated = true
		return -1, false
	}
	t.sub.Nodes = append(t.sub.Nodes, Node{ID: DatasetID(t.g.dsKeys[d]), Distance: dist})
	t.sc.dsMark[d], t.sc.dsNode[d] = t.sc.gen, int32(len(t.sub.Nodes)-1)
	return t.sc.dsNode[d], true
}

func (t *traversal) addJob(j int32, dist int) (int32, bool) {
	if t.sc.jobMark[j] == t.sc.gen {
		return t.sc.jobNode[j], true
	}
	if len(t.sub.Nodes) >= t.max {
		t.sub.Truncated = true
		return -1, false
	}
	jb := t.g.jobs[j]
	t.sub.Nodes = append(t.sub.Nodes, Node{ID: JobID(jb.key), Type: jb.typ, Distance: dist})
	t.sc.jobMark[j], t.sc.jobNode[j] = t.sc.gen, int32(len(t.sub.Nodes)-1)
	return t.sc.jobNode[j], true
}

// walk runs a breadth-first search from start, upstream or downstream, to
// depth dataset hops. Each dataset is expanded once and each job's other
// side followed once, so a walk adds every edge once.
func (t *traversal) walk(start int32, depth int, up bool) {
	sign, seen, followed := 1, t.sc.seenDown, t.sc.jobDown
	if up {
		sign, seen, followed = -1, t.sc.seenUp, t.sc.jobUp
	}
	gen := t.sc.gen
	frontier := []int32{start}
	seen[start] = gen
	for hop := 1; hop <= depth && len(frontier) > 0; hop++ {
		var next []int32
		for _, d := range frontier {
			dn := t.sc.dsNode[d]
			jobs := t.g.consumers[d]
			if up {
				jobs = t.g.producers[d]
			}
			for k, j := range jobs {
				jn, ok := t.addJob(j, sign*(hop-1))
				if !ok {
					t.sub.Nodes[dn].More += len(jobs) - k
					break
				}
				if up {
					t.edges = append(t.edges, [2]int32{jn, dn})
				} else {
					t.edges = append(t.edges, [2]int32{dn, jn})
				}
				if followed[j] == gen {
					continue // reached from another dataset of this frontier
				}
				followed[j] = gen
				others := t.g.jobs[j].outputs()
				if up {
					others = t.g.jobs[j].inputs()
				}
				for m, o := range others {
					on, ok := t.addDataset(o, sign*hop)
					if !ok {
						t.sub.Nodes[jn].More += len(others) - m
						break
					}
					if up {
						t.edges = append(t.edges, [2]int32{on, jn})
					} else {
						t.edges = append(t.edges, [2]int32{jn, on})
					}
					if seen[o] != gen {
						seen[o] = gen
						next = append(next, o)
					}
				}
			}
		}
		frontier = next
	}
	// Datasets at the edge of the depth with further neighbours say so.
	for _, d := range frontier {
		jobs := t.g.consumers[d]
		if up {
			jobs = t.g.producers[d]
		}
		n := t.sc.dsNode[d]
		for _, j := range jobs {
			if t.sc.jobMark[j] != gen {
				t.sub.Nodes[n].More++
			}
		}
	}
}

// Step is one hop of a path: a dataset, then the job that reads it and
// writes the next dataset ("" job on the last step).
type Step struct {
	Dataset catalog.Key
	Job     catalog.JobKey
}

// Path returns a shortest path along which data flows from one dataset to
// another, or catalog.ErrNotFound when there is none.
func (g *Graph) Path(from, to catalog.Key) ([]Step, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok1 := g.dsIndex[from]
	e, ok2 := g.dsIndex[to]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("path from %s to %s: %w", from, to, catalog.ErrNotFound)
	}
	type via struct{ prev, job int32 }
	back := map[int32]via{s: {-1, -1}}
	frontier := []int32{s}
	for len(frontier) > 0 {
		if _, ok := back[e]; ok {
			break
		}
		var next []int32
		for _, d := range frontier {
			for _, j := range g.consumers[d] {
				for _, o := range g.jobs[j].outputs() {
					if _, ok := back[o]; !ok {
						back[o] = via{d, j}
						next = append(next, o)
					}
				}
			}
		}
		frontier = next
	}
	if _, ok := back[e]; !ok {
		return nil, fmt.Errorf("path from %s to %s: %w", from, to, catalog.ErrNotFound)
	}
	var path []Step
	for d, j := e, int32(-1); d >= 0; {
		st := Step{Dataset: g.dsKeys[d]}
		if j >= 0 {
			st.Job = g.jobs[j].key
		}
		path = append(path, st)
		v := back[d]
		d, j = v.prev, v.job
	}
	slices.Reverse(path)
	return path, nil
}

// Reached is a dataset or job downstream of a traversal's start, and how
// it is reached on one shortest path: a dataset at Distance n is written
// by the job Via, which reads From, at distance n-1 (the start is at 0); a
// job at Distance n reads From, at distance n-1, and Via is the job
// itself.
type Reached struct {
	Kind     NodeKind
	Dataset  catalog.Key    // for a dataset
	Via      catalog.JobKey // the job writing the dataset, or the job itself
	From     catalog.Key
	Distance int
}

// Reach returns every dataset and job downstream of start, to at most
// depth dataset hops (0: no limit), in order of distance, then jobs before
// the datasets they write, then by namespace and name. Each appears once,
// at its shortest distance, with the first shortest path found; a job with
// no outputs (a dashboard, an exposure) is reached too.
func (g *Graph) Reach(start catalog.Key, depth int) ([]Reached, error) {
	var out []Reached
	err := g.walkDown(start, depth, true, func(hop int, jobs, datasets []reachedID) {
		for _, r := range jobs {
			out = append(out, Reached{Kind: JobNode, Via: g.jobs[r.via].key, From: g.dsKeys[r.from], Distance: hop})
		}
		for _, r := range datasets {
			out = append(out, Reached{Kind: DatasetNode, Dataset: g.dsKeys[r.node], Via: g.jobs[r.via].key, From: g.dsKeys[r.from], Distance: hop})
		}
	})
	return out, err
}

// reachedID is a node reached downstream, as indexes: a dataset (node)
// written by the job via, which reads from; or a job (via), which reads
// from.
type reachedID struct{ node, via, from int32 }

// walkDown is the walk of Reach and Downstream: for each hop from start,
// to at most depth (0: no limit), it calls f with the jobs reached at
// that hop (when withJobs) and the datasets, each sorted by namespace and
// name. f must not keep the slices.
func (g *Graph) walkDown(start catalog.Key, depth int, withJobs bool, f func(hop int, jobs, datasets []reachedID)) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.dsIndex[start]
	if !ok {
		return fmt.Errorf("downstream of %s: %w", start, catalog.ErrNotFound)
	}
	sc := getScratch(len(g.dsKeys), len(g.jobs))
	defer scratchPool.Put(sc)
	seen, jobSeen, gen := sc.seenDown, sc.jobDown, sc.gen
	seen[s] = gen
	frontier := []int32{s}
	var jobs, datasets []reachedID
	for hop := 1; len(frontier) > 0 && (depth <= 0 || hop <= depth); hop++ {
		jobs, datasets = jobs[:0], datasets[:0]
		for _, d := range frontier {
			for _, j := range g.consumers[d] {
				if jobSeen[j] == gen {
					continue
				}
				jobSeen[j] = gen
				if withJobs {
					jobs = append(jobs, reachedID{node: j, via: j, from: d})
				}
				for _, o := range g.jobs[j].outputs() {
					if seen[o] != gen {
						seen[o] = gen
						datasets = append(datasets, reachedID{node: o, via: j, from: d})
					}
				}
			}
		}
		slices.SortFunc(jobs, func(a, b reachedID) int { return compareJobKeys(g.jobs[a.via].key, g.jobs[b.via].key) })
		slices.SortFunc(datasets, func(a, b reachedID) int { return g.dsKeys[a.node].Compare(g.dsKeys[b.node]) })
		f(hop, jobs, datasets)
		// The next hop walks the frontier in name order, so that the path
		// recorded for a node is the same whatever order jobs list their
		// outputs in.
		frontier = frontier[:0]
		for _, r := range datasets {
			frontier = append(frontier, r.node)
		}
	}
	return nil
}

func compareJobKeys(a, b catalog.JobKey) int {
	return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
}

// Downstream returns every dataset downstream of start, grouped by
// distance (index 0 holds distance 1), to at most depth hops (0: no
// limit). Each dataset appears once, at its shortest distance; a level is
// sorted by namespace, then name.
func (g *Graph) Downstream(start catalog.Key, depth int) ([][]catalog.Key, error) {
	var levels [][]catalog.Key
	err := g.walkDown(start, depth, false, func(_ int, _, datasets []reachedID) {
		if len(datasets) == 0 {
			return
		}
		level := make([]catalog.Key, len(datasets))
		for i, r := range datasets {
			level[i] = g.dsKeys[r.node]
		}
		levels = append(levels, level)
	})
	return levels, err
}
