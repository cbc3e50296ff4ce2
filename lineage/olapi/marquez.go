package olapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/lineage"
)

// MarquezDefaultDepth is the depth Marquez uses when none is asked for.
const MarquezDefaultDepth = 20

// Reader answers Marquez's lineage reads from the in-memory graph, and
// fills its nodes with what the catalog knows of each.
type Reader struct {
	graph *lineage.Graph
	store *store.Store
	// lineage reads the graph as the GraphQL API does, answering for
	// datasets that no job names (it is never run: the graph's own
	// follower keeps the graph).
	lineage *lineage.Follower
	log     *slog.Logger
}

// NewReader returns a reader over g; st supplies column lineage and the
// facts of datasets and jobs. log receives the server errors of reads; nil
// discards them.
func NewReader(g *lineage.Graph, st *store.Store, log *slog.Logger) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{graph: g, store: st, log: log, lineage: lineage.NewFollower(st, g, log)}
}

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

// marquezDataset is Marquez's DatasetData.
type marquezDataset struct {
	ID           marquezID      `json:"id"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	PhysicalName string         `json:"physicalName"`
	CreatedAt    *time.Time     `json:"createdAt"`
	UpdatedAt    *time.Time     `json:"updatedAt"`
	Namespace    string         `json:"namespace"`
	SourceName   string         `json:"sourceName"`
	Fields       []marquezField `json:"fields"`
	Tags         []string       `json:"tags"`
	Description  *string        `json:"description"`
	// More counts neighbours left out by the node cap (Almanac only).
	More int `json:"more,omitempty"`
}

// marquezField is a field of a dataset, as Marquez's Field.
type marquezField struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Tags        []string `json:"tags"`
	Description *string  `json:"description"`
}

// marquezJob is Marquez's JobData.
type marquezJob struct {
	ID            marquezID   `json:"id"`
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	SimpleName    string      `json:"simpleName"`
	ParentJobName *string     `json:"parentJobName"`
	CreatedAt     *time.Time  `json:"createdAt"`
	UpdatedAt     *time.Time  `json:"updatedAt"`
	Namespace     string      `json:"namespace"`
	Inputs        []marquezID `json:"inputs"`
	Outputs       []marquezID `json:"outputs"`
	Location      *string     `json:"location"`
	Description   *string     `json:"description"`
	LatestRun     *marquezRun `json:"latestRun"`
	More          int         `json:"more,omitempty"`
}

// marquezRun is the part of Marquez's Run that Almanac records.
type marquezRun struct {
	ID               string     `json:"id"`
	UpdatedAt        time.Time  `json:"updatedAt"`
	NominalStartTime *time.Time `json:"nominalStartTime"`
	NominalEndTime   *time.Time `json:"nominalEndTime"`
	State            string     `json:"state"`
	StartedAt        *time.Time `json:"startedAt"`
	EndedAt          *time.Time `json:"endedAt"`
	DurationMs       *int64     `json:"durationMs"`
}

// resolve finds the dataset a Marquez node id ("dataset:<ns>:<name>")
// names. Namespaces hold colons ("postgres://host:5432"), so each split is
// tried: one the lineage graph knows wins, then one the catalog holds.
func (rd *Reader) resolve(ctx context.Context, nodeID string) (catalog.Key, error) {
	if err := validNodeID(nodeID); err != nil {
		return catalog.Key{}, err
	}
	rest, ok := strings.CutPrefix(nodeID, "dataset:")
	if !ok {
		return catalog.Key{}, fmt.Errorf("nodeId %q: want dataset:<namespace>:<name> or job:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	cands := splits(rest)
	if len(cands) == 0 {
		return catalog.Key{}, fmt.Errorf("nodeId %q: want dataset:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	// A name an OpenLineage symlink made an alias (a Hive table of an S3
	// path, say) means the dataset it is an alias of, unless a source
	// still describes the name itself.
	meant, live, err := rd.store.ResolveAliases(ctx, cands)
	if err != nil {
		return catalog.Key{}, err
	}
	for _, k := range cands {
		if meant[k] != k {
			return meant[k], nil
		}
	}
	for _, k := range cands {
		if rd.graph.HasDataset(k) {
			return k, nil
		}
	}
	for _, k := range cands {
		if live[k] {
			return k, nil
		}
	}
	return cands[0], nil
}

// validNodeID refuses a node id no catalog name can match: with a NUL
// character or not UTF-8 (PostgreSQL would refuse to compare it).
func validNodeID(id string) error {
	if strings.ContainsRune(id, 0) || !utf8.ValidString(id) {
		return fmt.Errorf("nodeId %q: contains a NUL character or is not valid UTF-8: %w", id, catalog.ErrInvalid)
	}
	return nil
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
// trying each split like resolve, and returns its lineage edges. A job no
// source reported is catalog.ErrNotFound, which Marquez answers 404 too.
func (rd *Reader) resolveJob(ctx context.Context, nodeID string) (catalog.JobEdges, error) {
	if err := validNodeID(nodeID); err != nil {
		return catalog.JobEdges{}, err
	}
	rest, _ := strings.CutPrefix(nodeID, "job:")
	cands := splits(rest)
	if len(cands) == 0 {
		return catalog.JobEdges{}, fmt.Errorf("nodeId %q: want job:<namespace>:<name>: %w", nodeID, catalog.ErrInvalid)
	}
	keys := make([]catalog.JobKey, len(cands))
	for i, k := range cands {
		keys[i] = catalog.JobKey(k)
	}
	jobs, err := rd.store.JobsByKeys(ctx, keys)
	if err != nil {
		return catalog.JobEdges{}, err
	}
	for _, k := range keys {
		if j := jobs[k]; j != nil {
			return j.Edges(), nil
		}
	}
	return catalog.JobEdges{}, fmt.Errorf("nodeId %q: unknown job: %w", nodeID, catalog.ErrNotFound)
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
	return marquezHandle(rd.log, rd.store, func(w http.ResponseWriter, r *http.Request) error {
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
			key, err := rd.resolve(r.Context(), nodeID)
			if err != nil {
				return err
			}
			// A dataset the catalog holds that no job names is a graph
			// of itself alone, as in Marquez.
			if sub, err = rd.lineage.Lineage(r.Context(), lineage.Query{Start: key, Depth: max(depth, 1), MaxNodes: maxNodes, Direction: dir}); err != nil {
				return err
			}
		}
		graph, err := rd.marquezGraph(r.Context(), sub)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"graph": graph})
		return nil
	})
}

// jobLineage is the lineage around a job: the job with its inputs and
// outputs (one dataset hop), then depth-1 further hops upstream of the
// inputs and downstream of the outputs, like a dataset's lineage seen from
// the job. The graph traverses only from datasets, so each side is a
// traversal from one of the job's datasets, and the node cap is shared
// among them.
func (rd *Reader) jobLineage(j catalog.JobEdges, depth, maxNodes int, dir lineage.Direction) lineage.Subgraph {
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

// marquezGraph renders a subgraph in Marquez's shape, its nodes filled
// with what the catalog knows of them: the datasets in one read, the jobs
// in one, their latest runs in one, however many nodes there are.
func (rd *Reader) marquezGraph(ctx context.Context, sub lineage.Subgraph) ([]marquezNode, error) {
	var dsKeys []catalog.Key
	var jobKeys []catalog.JobKey
	for _, n := range sub.Nodes {
		if n.ID.Kind == lineage.DatasetNode {
			dsKeys = append(dsKeys, n.ID.Dataset())
		} else {
			jobKeys = append(jobKeys, n.ID.Job())
		}
	}
	datasets, err := rd.datasets(ctx, dsKeys)
	if err != nil {
		return nil, err
	}
	jobs, runs := map[catalog.JobKey]*catalog.Job{}, map[catalog.JobKey]catalog.Run{}
	if len(jobKeys) > 0 {
		if jobs, err = rd.store.JobsByKeys(ctx, jobKeys); err != nil {
			return nil, err
		}
		if runs, err = rd.store.LatestRuns(ctx, jobKeys); err != nil {
			return nil, err
		}
	}
	in, out := map[lineage.NodeID][]marquezEdge{}, map[lineage.NodeID][]marquezEdge{}
	for _, e := range sub.Edges {
		me := marquezEdge{Origin: e.From.String(), Destination: e.To.String()}
		out[e.From] = append(out[e.From], me)
		in[e.To] = append(in[e.To], me)
	}
	nodes := make([]marquezNode, 0, len(sub.Nodes))
	for _, n := range sub.Nodes {
		mn := marquezNode{ID: n.ID.String(), InEdges: nonNil(in[n.ID]), OutEdges: nonNil(out[n.ID])}
		if n.ID.Kind == lineage.DatasetNode {
			mn.Type = "DATASET"
			mn.Data = marquezDatasetData(n, datasets[n.ID.Dataset()])
		} else {
			mn.Type = "JOB"
			k := n.ID.Job()
			mn.Data = marquezJobData(n, jobs[k], runs[k], in[n.ID], out[n.ID])
		}
		nodes = append(nodes, mn)
	}
	return nodes, nil
}

// datasets reads the datasets keys that the catalog holds, in one batch.
func (rd *Reader) datasets(ctx context.Context, keys []catalog.Key) (map[catalog.Key]*catalog.Dataset, error) {
	out := map[catalog.Key]*catalog.Dataset{}
	if len(keys) == 0 {
		return out, nil
	}
	ids, err := rd.store.DatasetIDs(ctx, keys)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	ds, err := rd.store.DatasetsByIDs(ctx, slices.Collect(maps.Values(ids)))
	if err != nil {
		return nil, err
	}
	for i := range ds {
		out[ds[i].Key] = &ds[i]
	}
	return out, nil
}

// marquezDatasetData is the data of a dataset node; d is nil for a
// dataset that jobs name but no source describes.
func marquezDatasetData(n lineage.Node, d *catalog.Dataset) marquezDataset {
	k := n.ID.Dataset()
	md := marquezDataset{ID: marquezID{k.Namespace, k.Name}, Type: "DB_TABLE", Name: k.Name, PhysicalName: k.Name,
		Namespace: k.Namespace, SourceName: k.Namespace, Fields: []marquezField{}, Tags: []string{}, More: n.More}
	if d == nil {
		return md
	}
	md.Type = marquezDatasetType(d)
	md.CreatedAt, md.UpdatedAt = &d.CreatedAt, &d.UpdatedAt
	md.Description = optional(d.Description)
	for _, t := range d.Tags {
		if !slices.Contains(md.Tags, t.Value) {
			md.Tags = append(md.Tags, t.Value)
		}
	}
	slices.Sort(md.Tags)
	for _, c := range d.Columns {
		md.Fields = append(md.Fields, marquezField{Name: c.Name, Type: c.Type, Tags: []string{}, Description: optional(c.Description)})
	}
	return md
}

// streamPlatforms are the platforms whose datasets are streams, which
// Marquez types STREAM; everything else is a DB_TABLE, its only other
// dataset type.
var streamPlatforms = map[string]bool{"kafka": true, "kinesis": true, "pubsub": true, "pulsar": true, "eventhubs": true}

func marquezDatasetType(d *catalog.Dataset) string {
	if streamPlatforms[strings.ToLower(d.Platform)] || strings.HasPrefix(d.Key.Namespace, "kafka://") {
		return "STREAM"
	}
	return "DB_TABLE"
}

// marquezJobData is the data of a job node; j is nil for a job that is
// gone from the catalog since the graph was read, run.ID "" for a job
// that never ran.
func marquezJobData(n lineage.Node, j *catalog.Job, run catalog.Run, in, out []marquezEdge) marquezJob {
	k := n.ID.Job()
	mj := marquezJob{ID: marquezID{k.Namespace, k.Name}, Type: "BATCH", Name: k.Name, SimpleName: k.Name, Namespace: k.Namespace,
		Inputs: []marquezID{}, Outputs: []marquezID{}, More: n.More}
	if j == nil {
		// What the graph shows is all there is to say.
		for _, e := range in {
			mj.Inputs = append(mj.Inputs, idOf(e.Origin))
		}
		for _, e := range out {
			mj.Outputs = append(mj.Outputs, idOf(e.Destination))
		}
		return mj
	}
	mj.Type = marquezJobType(j.Type)
	mj.CreatedAt, mj.UpdatedAt = &j.CreatedAt, &j.UpdatedAt
	mj.Description = optional(j.Description)
	mj.Location = optional(j.Properties["sourceCodeLocation"])
	for _, in := range j.Inputs {
		mj.Inputs = append(mj.Inputs, marquezID{in.Namespace, in.Name})
	}
	for _, out := range j.Outputs {
		mj.Outputs = append(mj.Outputs, marquezID{out.Namespace, out.Name})
	}
	if run.ID == "" {
		return mj
	}
	if p := run.ParentJob.Name; p != "" {
		mj.ParentJobName = &p
		if s, ok := strings.CutPrefix(k.Name, p+"."); ok {
			mj.SimpleName = s
		}
	}
	mr := &marquezRun{ID: run.ID, UpdatedAt: run.StateAt, NominalStartTime: run.NominalStart, NominalEndTime: run.NominalEnd,
		State: string(run.State), StartedAt: run.StartedAt, EndedAt: run.EndedAt}
	if run.StartedAt != nil && run.EndedAt != nil {
		ms := run.Duration().Milliseconds()
		mr.DurationMs = &ms
	}
	mj.LatestRun = mr
	return mj
}

// marquezJobType maps a job's type (dbt_model, airflow_task,
// spark_streaming…) onto Marquez's BATCH, STREAM and SERVICE: streaming
// jobs are STREAM, every other job runs and ends, BATCH.
func marquezJobType(typ string) string {
	if strings.Contains(strings.ToLower(typ), "stream") {
		return "STREAM"
	}
	return "BATCH"
}

// optional is s, or nil (JSON null, as Marquez writes an absent text) when
// it is empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
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

// marquezColumnField is Marquez's ColumnLineageNodeData.
type marquezColumnField struct {
	Namespace                 string              `json:"namespace"`
	Dataset                   string              `json:"dataset"`
	Field                     string              `json:"field"`
	FieldType                 string              `json:"fieldType"`
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
	return marquezHandle(rd.log, rd.store, func(w http.ResponseWriter, r *http.Request) error {
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
			if dataset, err = rd.resolve(ctx, "dataset:"+rest[:i]); err != nil {
				return err
			}
			field = rest[i+1:]
			start = []fieldID{{dataset, field}}
		default:
			if dataset, err = rd.resolve(ctx, nodeID); err != nil {
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
			ids, err := rd.store.DatasetIDs(ctx, []catalog.Key{dataset})
			if err != nil {
				return fmt.Errorf("nodeId %q: %w", nodeID, err)
			}
			id, ok := ids[dataset]
			if !ok {
				return fmt.Errorf("nodeId %q: dataset %s: %w", nodeID, dataset, catalog.ErrNotFound)
			}
			ds, err := rd.store.DatasetsByIDs(ctx, []int64{id})
			if err != nil {
				return fmt.Errorf("nodeId %q: %w", nodeID, err)
			}
			if len(ds) == 0 {
				return fmt.Errorf("nodeId %q: dataset %s: %w", nodeID, dataset, catalog.ErrNotFound)
			}
			if field != "" && !slices.ContainsFunc(ds[0].Columns, func(c catalog.DatasetColumn) bool { return c.Name == field }) {
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
			Data:    &marquezColumnField{Namespace: k.Namespace, Dataset: k.Name, Field: id.field, InputFields: []marquezInputField{}},
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
	wide := map[catalog.Key][]string{} // the columns of dataset-wide lineage, by output
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
		expanded, err := rd.expandDatasetWide(ctx, read, wide)
		if err != nil {
			return nil, err
		}
		nextUp, nextDown := map[fieldID]bool{}, map[fieldID]bool{}
		for _, x := range expanded {
			c := x.row
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
			d := to.Data.(*marquezColumnField)
			if !x.wide { // the field's own transformation, not a dataset's filter or join
				d.TransformationType, d.TransformationDescription = c.Subtype, c.Description
			}
			d.InputFields = append(d.InputFields, marquezInputField{Namespace: c.Input.Namespace, Dataset: c.Input.Name, Field: c.InputColumn,
				TransformationDescription: c.Description, TransformationType: strings.Trim(c.Type+"/"+c.Subtype, "/")})
		}
		up, downs = nextUp, nextDown
	}
	// Each field's type, from one read of the datasets of the graph.
	var keys []catalog.Key
	for _, id := range order {
		if !slices.Contains(keys, id.key) {
			keys = append(keys, id.key)
		}
	}
	datasets, err := rd.datasets(ctx, keys)
	if err != nil {
		return nil, err
	}
	graph := make([]marquezNode, 0, len(order))
	for _, id := range order {
		n := nodes[id]
		if d := datasets[id.key]; d != nil {
			if i := slices.IndexFunc(d.Columns, func(c catalog.DatasetColumn) bool { return c.Name == id.field }); i >= 0 {
				n.Data.(*marquezColumnField).FieldType = d.Columns[i].Type
			}
		}
		graph = append(graph, *n)
	}
	return graph, nil
}

// lineageRow is a column lineage row, wide when it comes from a
// dataset-wide row.
type lineageRow struct {
	row  catalog.ColumnLineage
	wide bool
}

// expandDatasetWide returns read with each dataset-wide row (Column "":
// a join key, a filter) replaced by one row into each column it applies
// to (store.DatasetWideColumns), so that every field lists those inputs.
// Marquez itself drops the facet's dataset-level lineage. cols caches the
// columns by output across calls.
func (rd *Reader) expandDatasetWide(ctx context.Context, read []catalog.Sourced[catalog.ColumnLineage], cols map[catalog.Key][]string) ([]lineageRow, error) {
	var need []catalog.Key
	for _, r := range read {
		if k := r.Value.Output; r.Value.Column == "" && !slices.Contains(need, k) {
			if _, ok := cols[k]; !ok {
				need = append(need, k)
			}
		}
	}
	if len(need) > 0 {
		found, err := rd.store.DatasetWideColumns(ctx, need)
		if err != nil {
			return nil, err
		}
		for _, k := range need {
			cols[k] = found[k]
		}
	}
	out := make([]lineageRow, 0, len(read))
	for _, r := range read {
		c := r.Value
		if c.Column != "" {
			out = append(out, lineageRow{row: c})
			continue
		}
		for _, col := range cols[c.Output] {
			c.Column = col
			out = append(out, lineageRow{row: c, wide: true})
		}
	}
	return out, nil
}

// marquezHandle adapts a read handler like handle, but answers errors in
// the shape Marquez (Dropwizard) gives them, {"code": 404, "message":
// reason}, so that Marquez clients read them.
func marquezHandle(log *slog.Logger, st *store.Store, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code, msg := errorStatus(log, st, r, err)
			writeJSON(w, code, map[string]any{"code": code, "message": msg})
		}
	})
}
