package olapi

import (
	"fmt"
	"net/http"
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
		return catalog.Key{}, fmt.Errorf("nodeId %q: only dataset:<namespace>:<name> nodes are supported: %w", nodeID, catalog.ErrInvalid)
	}
	var first catalog.Key
	for i := len(rest) - 1; i > 0; i-- {
		if rest[i] != ':' {
			continue
		}
		k := catalog.Key{Namespace: rest[:i], Name: rest[i+1:]}
		if k.Name == "" {
			continue
		}
		if first.Name == "" {
			first = k
		}
		if _, err := rd.graph.Traverse(lineage.Query{Start: k, Depth: 1, MaxNodes: 1}); err == nil {
			return k, nil
		}
	}
	if first.Name == "" {
		return first, fmt.Errorf("nodeId %q: want dataset:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	return first, nil
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

// GetLineage is GET /api/v1/lineage?nodeId=dataset:<ns>:<name>&depth=N,
// answering in Marquez's shape. Almanac's extensions: direction
// (upstream, downstream, both) and maxNodes, with "more" on capped nodes.
func (rd *Reader) GetLineage() http.Handler {
	return handle(nil, func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		key, err := rd.resolve(q.Get("nodeId"))
		if err != nil {
			return err
		}
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
		sub, err := rd.graph.Traverse(lineage.Query{Start: key, Depth: max(depth, 1), MaxNodes: maxNodes, Direction: dir})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"graph": MarquezGraph(sub)})
		return nil
	})
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

// GetColumnLineage is GET /api/v1/column-lineage?nodeId=dataset:<ns>:<name>
// (or datasetField:<ns>:<name>:<field>), answering in Marquez's shape with
// the column lineage one hop each way.
func (rd *Reader) GetColumnLineage() http.Handler {
	return handle(nil, func(w http.ResponseWriter, r *http.Request) error {
		nodeID := r.URL.Query().Get("nodeId")
		field := ""
		if rest, ok := strings.CutPrefix(nodeID, "datasetField:"); ok {
			i := strings.LastIndexByte(rest, ':')
			if i < 0 {
				return fmt.Errorf("nodeId %q: want datasetField:<namespace>:<name>:<field>: %w", nodeID, catalog.ErrInvalid)
			}
			nodeID, field = "dataset:"+rest[:i], rest[i+1:]
		}
		key, err := rd.resolve(nodeID)
		if err != nil {
			return err
		}
		rows, err := rd.store.ColumnLineage(r.Context(), []catalog.Key{key})
		if err != nil {
			return err
		}
		type fid struct {
			key   catalog.Key
			field string
		}
		nodes := map[fid]*marquezNode{}
		var order []fid
		node := func(k catalog.Key, f string) *marquezNode {
			id := fid{k, f}
			if n := nodes[id]; n != nil {
				return n
			}
			n := &marquezNode{ID: "datasetField:" + k.Namespace + ":" + k.Name + ":" + f, Type: "DATASET_FIELD",
				Data: &marquezField{Namespace: k.Namespace, Dataset: k.Name, Field: f, InputFields: []marquezInputField{}}, InEdges: []marquezEdge{}, OutEdges: []marquezEdge{}}
			nodes[id] = n
			order = append(order, id)
			return n
		}
		for _, row := range rows {
			c := row.Value
			if c.Column == "" || (field != "" && !(c.Output == key && c.Column == field) && !(c.Input == key && c.InputColumn == field)) {
				continue
			}
			to, from := node(c.Output, c.Column), node(c.Input, c.InputColumn)
			e := marquezEdge{Origin: from.ID, Destination: to.ID}
			from.OutEdges = append(from.OutEdges, e)
			to.InEdges = append(to.InEdges, e)
			d := to.Data.(*marquezField)
			d.TransformationType, d.TransformationDescription = c.Subtype, c.Description
			d.InputFields = append(d.InputFields, marquezInputField{Namespace: c.Input.Namespace, Dataset: c.Input.Name, Field: c.InputColumn,
				TransformationDescription: c.Description, TransformationType: strings.Trim(c.Type+"/"+c.Subtype, "/")})
		}
		graph := make([]marquezNode, 0, len(order))
		for _, id := range order {
			graph = append(graph, *nodes[id])
		}
		writeJSON(w, http.StatusOK, map[string]any{"graph": graph})
		return nil
	})
}
