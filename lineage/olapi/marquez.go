package olapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/lineage"
)

// MarquezDefaultDepth is the depth Marquez uses when none is asked for.
const MarquezDefaultDepth = 20

// Reader answers Marquez's lineage reads from the in-memory graph.
type Reader struct {
	graph *lineage.Graph
	store *store.Store
}

// NewReader returns a reader over g; st supplies column lineage.
func NewReader(g *lineage.Graph, st *store.Store) *Reader { return &Reader{graph: g, store: st} }

// marquezNode is one node of Marquez's {"graph": [...]} answer.
type marquezNode struct {
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Data     any           `json:"data"`
	InEdges  []marquezEdge `json:"inEdges"`
	OutEdges []marquezEdge `json:"outEdges"`
}

type marquezEdge struct {
	Origin      string `json:"origin"`
	Destination string `json:"destination"`
}

type marquezID struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

type marquezDataset struct {
	ID        marquezID `json:"id"`
	Type      string    `json:"type"`
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	// More counts neighbours left out by the node cap (Almanac only).
	More int `json:"more,omitempty"`
}

type marquezJob struct {
	ID        marquezID   `json:"id"`
	Type      string      `json:"type"`
	Name      string      `json:"name"`
	Namespace string      `json:"namespace"`
	Inputs    []marquezID `json:"inputs"`
	Outputs   []marquezID `json:"outputs"`
	More      int         `json:"more,omitempty"`
}

// resolve finds the dataset a Marquez node id ("dataset:<ns>:<name>")
// names. Namespaces hold colons ("postgres://host:5432"), so each split is
// tried, the known dataset winning.
func (rd *Reader) resolve(nodeID string) (catalog.Key, error) {
	rest, ok := strings.CutPrefix(nodeID, "dataset:")
	if !ok {
		return catalog.Key{}, fmt.Errorf("nodeId %q: want dataset:<namespace>:<name> or job:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	cands := splits(rest)
	if len(cands) == 0 {
		return catalog.Key{}, fmt.Errorf("nodeId %q: want dataset:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	for _, k := range cands {
		if _, err := rd.graph.Traverse(lineage.Query{Start: k, Depth: 1, MaxNodes: 1}); err == nil {
			return k, nil
		}
	}
	return cands[0], nil
}

// splits lists the ways "<namespace>:<name>" divides at a colon, the
// longest namespace first: namespaces hold colons more often than names.
func splits(s string) []catalog.Key {
	var out []catalog.Key
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == ':' && i+1 < len(s) {
			out = append(out, catalog.Key{Namespace: s[:i], Name: s[i+1:]})
		}
	}
	return out
}

// resolveJob finds the job a Marquez node id ("job:<ns>:<name>") names,
// trying each split like resolve. A job no source reported is
// catalog.ErrNotFound, which Marquez answers 404 too.
func (rd *Reader) resolveJob(ctx context.Context, nodeID string) (store.LineageJob, error) {
	rest, _ := strings.CutPrefix(nodeID, "job:")
	cands := splits(rest)
	if len(cands) == 0 {
		return store.LineageJob{}, fmt.Errorf("nodeId %q: want job:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	for _, k := range cands {
		j, err := rd.store.LineageJob(ctx, catalog.JobKey(k))
		if err == nil {
			return j, nil
		}
		if !errors.Is(err, catalog.ErrNotFound) {
			return j, err
		}
	}
	return store.LineageJob{}, fmt.Errorf("nodeId %q: unknown job: %w", nodeID, catalog.ErrNotFound)
}

func intParam(r *http.Request, name string, def, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want a non-negative integer: %w", name, s, catalog.ErrInvalid)
	}
	return min(n, max), nil
}

// GetLineage is GET /api/v1/lineage?nodeId=dataset:<ns>:<name>&depth=N
// (or nodeId=job:<ns>:<name>), answering in Marquez's shape. Almanac's
// extensions: direction (upstream, downstream, both) and maxNodes, with
// "more" on capped nodes.
func (rd *Reader) GetLineage() http.Handler {
	return marquezHandle(func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		depth, err := intParam(r, "depth", MarquezDefaultDepth, lineage.MaxDepth)
		if err != nil {
			return err
		}
		maxNodes, err := intParam(r, "maxNodes", lineage.DefaultMaxNodes, 10000)
		if err != nil {
			return err
		}
		dir, err := lineage.ParseDirection(q.Get("direction"))
		if err != nil {
			return err
		}
		var sub lineage.Subgraph
		if nodeID := q.Get("nodeId"); strings.HasPrefix(nodeID, "job:") {
			j, err := rd.resolveJob(r.Context(), nodeID)
			if err != nil {
				return err
			}
			sub = rd.jobLineage(j, max(depth, 1), max(maxNodes, 1), dir)
		} else {
			key, err := rd.resolve(nodeID)
			if err != nil {
				return err
			}
			if sub, err = rd.graph.Traverse(lineage.Query{Start: key, Depth: max(depth, 1), MaxNodes: maxNodes, Direction: dir}); err != nil {
				return err
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"graph": MarquezGraph(sub)})
		return nil
	})
}

// jobLineage is the lineage around a job: the job with its inputs and
// outputs (one dataset hop), then depth-1 further hops upstream of the
// inputs and downstream of the outputs, like a dataset's lineage seen from
// the job. The graph traverses only from datasets, so each side is a
// traversal from one of the job's datasets, and the node cap is shared
// among them.
func (rd *Reader) jobLineage(j store.LineageJob, depth, maxNodes int, dir lineage.Direction) lineage.Subgraph {
	jid := lineage.JobID(j.Key)
	sub := lineage.Subgraph{Start: jid}
	index := map[lineage.NodeID]int{}
	add := func(n lineage.Node) bool {
		if i, ok := index[n.ID]; ok {
			sub.Nodes[i].More = max(sub.Nodes[i].More, n.More)
			return true
		}
		if len(sub.Nodes) >= maxNodes {
			sub.Truncated = true
			return false
		}
		index[n.ID] = len(sub.Nodes)
		sub.Nodes = append(sub.Nodes, n)
		return true
	}
	add(lineage.Node{ID: jid, Type: j.Type})
	edges := map[lineage.Edge]bool{}
	side := func(keys []catalog.Key, up bool) {
		shift, qdir := 1, lineage.Downstream
		if up {
			shift, qdir = -1, lineage.Upstream
		}
		for i, k := range keys {
			did := lineage.DatasetID(k)
			if !add(lineage.Node{ID: did, Distance: shift}) {
				sub.Nodes[0].More += len(keys) - i
				return
			}
			if up {
				edges[lineage.Edge{From: did, To: jid}] = true
			} else {
				edges[lineage.Edge{From: jid, To: did}] = true
			}
			// With no hops or room left, a traversal capped at the
			// dataset itself still counts its neighbours as "more".
			q := lineage.Query{Start: k, Direction: qdir, Depth: depth - 1, MaxNodes: maxNodes - len(sub.Nodes) + 1}
			if q.Depth < 1 || q.MaxNodes < 2 {
				q.Depth, q.MaxNodes = 1, 1
			}
			around, err := rd.graph.Traverse(q)
			if err != nil {
				continue // the graph has not caught up with the store yet
			}
			for _, n := range around.Nodes {
				n.Distance += shift
				add(n)
			}
			for _, e := range around.Edges {
				edges[e] = true
			}
			sub.Truncated = sub.Truncated || around.Truncated
		}
	}
	if dir != lineage.Downstream {
		side(j.Inputs, true)
	}
	if dir != lineage.Upstream {
		side(j.Outputs, false)
	}
	for e := range edges {
		_, from := index[e.From]
		_, to := index[e.To]
		if from && to {
			sub.Edges = append(sub.Edges, e)
		}
	}
	slices.SortFunc(sub.Edges, func(a, b lineage.Edge) int {
		return cmp.Or(strings.Compare(a.From.String(), b.From.String()), strings.Compare(a.To.String(), b.To.String()))
	})
	return sub
}

// MarquezGraph renders a subgraph in Marquez's shape.
func MarquezGraph(sub lineage.Subgraph) []marquezNode {
	in, out := map[lineage.NodeID][]marquezEdge{}, map[lineage.NodeID][]marquezEdge{}
	for _, e := range sub.Edges {
		me := marquezEdge{Origin: e.From.String(), Destination: e.To.String()}
		out[e.From] = append(out[e.From], me)
		in[e.To] = append(in[e.To], me)
	}
	nodes := make([]marquezNode, 0, len(sub.Nodes))
	for _, n := range sub.Nodes {
		id := marquezID{Namespace: n.ID.Namespace, Name: n.ID.Name}
		mn := marquezNode{ID: n.ID.String(), InEdges: nonNil(in[n.ID]), OutEdges: nonNil(out[n.ID])}
		if n.ID.Kind == lineage.DatasetNode {
			mn.Type = "DATASET"
			mn.Data = marquezDataset{ID: id, Type: "DB_TABLE", Name: n.ID.Name, Namespace: n.ID.Namespace, More: n.More}
		} else {
			mn.Type = "JOB"
			j := marquezJob{ID: id, Type: "BATCH", Name: n.ID.Name, Namespace: n.ID.Namespace, Inputs: []marquezID{}, Outputs: []marquezID{}, More: n.More}
			for _, e := range in[n.ID] {
				j.Inputs = append(j.Inputs, idOf(e.Origin))
			}
			for _, e := range out[n.ID] {
				j.Outputs = append(j.Outputs, idOf(e.Destination))
			}
			mn.Data = j
		}
		nodes = append(nodes, mn)
	}
	return nodes
}

func nonNil(e []marquezEdge) []marquezEdge {
	if e == nil {
		return []marquezEdge{}
	}
	return e
}

// idOf reads back a dataset node id made by NodeID.String in this package:
// its namespace ends at the last colon.
func idOf(s string) marquezID {
	rest := strings.TrimPrefix(s, "dataset:")
	i := strings.LastIndexByte(rest, ':')
	return marquezID{Namespace: rest[:i], Name: rest[i+1:]}
}

type marquezField struct {
	Namespace                 string              `json:"namespace"`
	Dataset                   string              `json:"dataset"`
	Field                     string              `json:"field"`
	TransformationDescription string              `json:"transformationDescription,omitempty"`
	TransformationType        string              `json:"transformationType,omitempty"`
	InputFields               []marquezInputField `json:"inputFields"`
}

type marquezInputField struct {
	Namespace                 string `json:"namespace"`
	Dataset                   string `json:"dataset"`
	Field                     string `json:"field"`
	TransformationDescription string `json:"transformationDescription,omitempty"`
	TransformationType        string `json:"transformationType,omitempty"`
}

// GetColumnLineage is GET /api/v1/column-lineage?nodeId=…&depth=N
// &withDownstream=true, answering in Marquez's shape. Like Marquez, the
// node is a dataset (all its fields), a field
// (datasetField:<ns>:<name>:<field>) or a job (the fields of its
// outputs); the lineage goes upstream depth edges (20 by default), and
// downstream as well with withDownstream. Edges point the way data flows,
// input field to output field, in inEdges and outEdges alike.
func (rd *Reader) GetColumnLineage() http.Handler {
	return marquezHandle(func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		q := r.URL.Query()
		depth, err := intParam(r, "depth", MarquezDefaultDepth, lineage.MaxDepth)
		if err != nil {
			return err
		}
		down := false
		if s := q.Get("withDownstream"); s != "" {
			if down, err = strconv.ParseBool(s); err != nil {
				return fmt.Errorf("withDownstream %q: want true or false: %w", s, catalog.ErrInvalid)
			}
		}
		nodeID := q.Get("nodeId")
		var start []fieldID
		var dataset catalog.Key // the dataset to check exists when nothing is found
		field := ""
		switch {
		case strings.HasPrefix(nodeID, "job:"):
			j, err := rd.resolveJob(ctx, nodeID)
			if err != nil {
				return err
			}
			for _, k := range j.Outputs {
				start = append(start, fieldID{k, ""})
			}
		case strings.HasPrefix(nodeID, "datasetField:"):
			rest := strings.TrimPrefix(nodeID, "datasetField:")
			i := strings.LastIndexByte(rest, ':')
			if i < 0 || i == len(rest)-1 {
				return fmt.Errorf("nodeId %q: want datasetField:<namespace>:<name>:<field>: %w", nodeID, catalog.ErrInvalid)
			}
			if dataset, err = rd.resolve("dataset:" + rest[:i]); err != nil {
				return err
			}
			field = rest[i+1:]
			start = []fieldID{{dataset, field}}
		default:
			if dataset, err = rd.resolve(nodeID); err != nil {
				return err
			}
			start = []fieldID{{dataset, ""}}
		}
		graph, err := rd.columnGraph(ctx, start, max(depth, 1), down)
		if err != nil {
			return err
		}
		if len(graph) == 0 && dataset.Name != "" {
			// Marquez answers 404 for a node it does not know, and an
			// empty graph for one without column lineage.
			d, err := rd.store.Dataset(ctx, dataset)
			if err != nil {
				return fmt.Errorf("nodeId %q: %w", nodeID, err)
			}
			if field != "" && !slices.ContainsFunc(d.Columns, func(c catalog.DatasetColumn) bool { return c.Name == field }) {
				return fmt.Errorf("nodeId %q: dataset %s has no field %q: %w", nodeID, dataset, field, catalog.ErrNotFound)
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"graph": graph})
		return nil
	})
}

// fieldID is a field of a dataset; field "" stands for every field.
type fieldID struct {
	key   catalog.Key
	field string
}

// columnGraph walks column lineage from start, depth edges upstream and,
// with down, downstream, one store read per hop.
func (rd *Reader) columnGraph(ctx context.Context, start []fieldID, depth int, down bool) ([]marquezNode, error) {
	nodes := map[fieldID]*marquezNode{}
	var order []fieldID
	node := func(id fieldID) *marquezNode {
		if n := nodes[id]; n != nil {
			return n
		}
		k := id.key
		n := &marquezNode{ID: "datasetField:" + k.Namespace + ":" + k.Name + ":" + id.field, Type: "DATASET_FIELD",
			Data:    &marquezField{Namespace: k.Namespace, Dataset: k.Name, Field: id.field, InputFields: []marquezInputField{}},
			InEdges: []marquezEdge{}, OutEdges: []marquezEdge{}}
		nodes[id] = n
		order = append(order, id)
		return n
	}
	set := func(ids []fieldID) map[fieldID]bool {
		m := map[fieldID]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	in := func(m map[fieldID]bool, id fieldID) bool { return m[id] || m[fieldID{id.key, ""}] }
	up, downs := set(start), map[fieldID]bool{}
	if down {
		downs = set(start)
	}
	seenUp, seenDown := set(start), set(start)
	rows := map[catalog.ColumnLineage]bool{}
	edges := map[marquezEdge]bool{}
	for hop := 0; hop < depth && len(up)+len(downs) > 0; hop++ {
		var keys []catalog.Key
		for id := range up {
			keys = append(keys, id.key)
		}
		for id := range downs {
			keys = append(keys, id.key)
		}
		read, err := rd.store.ColumnLineage(ctx, keys)
		if err != nil {
			return nil, err
		}
		nextUp, nextDown := map[fieldID]bool{}, map[fieldID]bool{}
		for _, row := range read {
			c := row.Value
			if c.Column == "" || c.InputColumn == "" {
				continue
			}
			out, src := fieldID{c.Output, c.Column}, fieldID{c.Input, c.InputColumn}
			isUp, isDown := in(up, out), in(downs, src)
			if !isUp && !isDown {
				continue
			}
			if isUp && !seenUp[src] {
				seenUp[src], nextUp[src] = true, true
			}
			if isDown && !seenDown[out] {
				seenDown[out], nextDown[out] = true, true
			}
			if rows[c] {
				continue
			}
			rows[c] = true
			to, from := node(out), node(src)
			if e := (marquezEdge{Origin: from.ID, Destination: to.ID}); !edges[e] {
				edges[e] = true
				from.OutEdges = append(from.OutEdges, e)
				to.InEdges = append(to.InEdges, e)
			}
			d := to.Data.(*marquezField)
			d.TransformationType, d.TransformationDescription = c.Subtype, c.Description
			d.InputFields = append(d.InputFields, marquezInputField{Namespace: c.Input.Namespace, Dataset: c.Input.Name, Field: c.InputColumn,
				TransformationDescription: c.Description, TransformationType: strings.Trim(c.Type+"/"+c.Subtype, "/")})
		}
		up, downs = nextUp, nextDown
	}
	graph := make([]marquezNode, 0, len(order))
	for _, id := range order {
		graph = append(graph, *nodes[id])
	}
	return graph, nil
}

// marquezHandle adapts a read handler like handle, but answers errors in
// the shape Marquez (Dropwizard) gives them, {"code": 404, "message":
// reason}, so that Marquez clients read them.
func marquezHandle(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code, msg := errorStatus(nil, r, err)
			writeJSON(w, code, map[string]any{"code": code, "message": msg})
		}
	})
}
