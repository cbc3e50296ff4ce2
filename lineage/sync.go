package lineage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// pollInterval is how long Run waits for a notification before it looks
// at the change log anyway.
const pollInterval = 5 * time.Second

// Follower keeps a Graph in sync with the catalog: Load reads every live
// job and all column lineage, then CatchUp and Run apply the "job" and
// "column_lineage" entries of the change log (and the dataset entries
// that hide or restore a dataset's column lineage).
type Follower struct {
	store *store.Store
	graph *Graph
	seq   atomic.Int64
	// mark is the catalog.Change.Mark of the change at seq ("" for none),
	// which CatchUp checks the catalog still holds.
	mark string
	log  *slog.Logger
}

// NewFollower returns a follower filling g from st.
func NewFollower(st *store.Store, g *Graph, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{store: st, graph: g, log: log}
}

// Graph returns the graph the follower keeps.
func (f *Follower) Graph() *Graph { return f.graph }

// Seq is the last change log sequence applied.
func (f *Follower) Seq() int64 { return f.seq.Load() }

// Load reads every live job into the graph. The change log position is
// taken first, so that a change committed during the load is applied
// again by the next CatchUp: applying a job twice is harmless.
func (f *Follower) Load(ctx context.Context) error {
	seq, err := f.store.LastChangeSeq(ctx)
	if err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	mark, err := f.store.ChangeMark(ctx, seq)
	if err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	jobs, datasets, err := f.store.LineageSize(ctx)
	if err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	f.graph.reserve(datasets, jobs)
	var batch []catalog.JobEdges
	err = f.store.LineageJobs(ctx, nil, func(j catalog.JobEdges) error {
		batch = append(batch, j)
		if len(batch) == 10000 {
			f.graph.SetJobs(batch)
			batch = batch[:0]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	f.graph.SetJobs(batch)
	if err := f.loadColumns(ctx, nil); err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	f.seq.Store(seq)
	f.mark = mark
	return nil
}

// reload loads the graph again from scratch, aside, and swaps it in.
func (f *Follower) reload(ctx context.Context) error {
	n := NewFollower(f.store, NewGraph(), f.log)
	if err := n.Load(ctx); err != nil {
		return err
	}
	f.graph.replace(n.graph)
	f.mark = n.mark
	f.seq.Store(n.seq.Load())
	return nil
}

// loadColumns reads the column lineage into the outputs keys (every
// output when keys is nil) into the graph.
func (f *Follower) loadColumns(ctx context.Context, keys []catalog.Key) error {
	var batch []catalog.ColumnEdges
	err := f.store.LineageColumns(ctx, keys, func(o catalog.ColumnEdges) error {
		batch = append(batch, o)
		if len(batch) == 10000 {
			f.graph.SetColumnLineage(batch)
			batch = batch[:0]
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.graph.SetColumnLineage(batch)
	return nil
}

// columnsToReload returns the outputs whose column lineage the changes may
// have changed: those of "column_lineage" entries, and datasets a crawl
// restored (their column lineage is served again) or marked removed by a
// source (it is served no more; "updated" when another source still
// reports the dataset). Removal can only hide column lineage, so it is
// reloaded only where the graph holds some; so is a dataset created or
// updated, whose columns its dataset-wide lineage applies to.
func (f *Follower) columnsToReload(changes []catalog.Change) []catalog.Key {
	var keys []catalog.Key
	seen := map[catalog.Key]bool{}
	for _, c := range changes {
		if seen[c.Key] {
			continue
		}
		reload := c.Entity == "column_lineage"
		if c.Entity == "dataset" {
			switch c.Kind {
			case catalog.ChangeRestored:
				reload = true
			case catalog.ChangeRemoved, catalog.ChangeUpdated, catalog.ChangeCreated:
				reload = f.graph.hasColumnLineage(c.Key)
			}
		}
		if reload {
			seen[c.Key] = true
			keys = append(keys, c.Key)
		}
	}
	return keys
}

// CatchUp applies the job and column lineage changes logged since the
// last one applied. It reads the last one applied again: when the catalog
// no longer holds it as it was (the database restored underneath, or
// failed over to a standby that lagged, hands its sequences out again),
// the graph is loaded again rather than caught up.
func (f *Follower) CatchUp(ctx context.Context) error {
	for {
		changes, err := f.store.ChangesSince(ctx, f.seq.Load(), f.mark, 5000)
		if errors.Is(err, store.ErrChangeLogDiverged) {
			f.log.WarnContext(ctx, "lineage followed another catalog (restored, or failed over); loading it again", "err", err)
			if err := f.reload(ctx); err != nil {
				return fmt.Errorf("reload lineage: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("catch up lineage: %w", err)
		}
		if len(changes) == 0 {
			return nil
		}
		var ids []int64
		seen := map[int64]bool{}
		for _, c := range changes {
			if c.Entity == "job" && !seen[c.EntityID] {
				seen[c.EntityID] = true
				ids = append(ids, c.EntityID)
			}
		}
		if len(ids) > 0 {
			found := map[int64]bool{}
			var batch []catalog.JobEdges
			if err := f.store.LineageJobs(ctx, ids, func(j catalog.JobEdges) error {
				found[j.ID] = true
				batch = append(batch, j)
				return nil
			}); err != nil {
				return fmt.Errorf("catch up lineage: %w", err)
			}
			for _, id := range ids {
				if !found[id] {
					batch = append(batch, catalog.JobEdges{ID: id}) // deleted: drop
				}
			}
			f.graph.SetJobs(batch)
		}
		if keys := f.columnsToReload(changes); len(keys) > 0 {
			if err := f.loadColumns(ctx, keys); err != nil {
				return fmt.Errorf("catch up column lineage: %w", err)
			}
		}
		f.mark = changes[len(changes)-1].Mark()
		f.seq.Store(changes[len(changes)-1].Seq)
	}
}

// Run follows the change log until ctx ends: woken by NOTIFY on
// catalog.ChangeChannel, and every few seconds regardless. It reconnects
// after errors.
func (f *Follower) Run(ctx context.Context) error {
	return f.store.FollowChanges(ctx, f, pollInterval, f.log)
}

// The graph holds only the datasets that jobs name. A dataset the catalog
// describes that no job reads or writes has no lineage, which is an
// answer, not an error: the reads below answer it with the dataset alone
// (and no impact), and keep catalog.ErrNotFound for datasets the catalog
// does not hold live. The GraphQL API and the Marquez endpoints both read
// through them, so that they agree.

// Lineage is the lineage around q.Start: Graph.Traverse's, or the start
// dataset alone when no job names it but the catalog holds it live.
func (f *Follower) Lineage(ctx context.Context, q Query) (Subgraph, error) {
	sub, err := f.graph.Traverse(q)
	if !errors.Is(err, catalog.ErrNotFound) {
		return sub, err
	}
	if err := f.alone(ctx, q.Start, err); err != nil {
		return Subgraph{}, err
	}
	id := DatasetID(q.Start)
	return Subgraph{Start: id, Nodes: []Node{{ID: id}}, Edges: []Edge{}}, nil
}

// ColumnLineage is the column lineage around q.Start:
// Graph.TraverseColumns's, or the start column alone when no column
// lineage names it but the catalog holds its dataset live, with that
// column (any column, for column "").
func (f *Follower) ColumnLineage(ctx context.Context, q ColumnQuery) (ColumnSubgraph, error) {
	sub, err := f.graph.TraverseColumns(q)
	if !errors.Is(err, catalog.ErrNotFound) {
		return sub, err
	}
	if err := f.columnAlone(ctx, q.Start, err); err != nil {
		return ColumnSubgraph{}, err
	}
	return ColumnSubgraph{Start: q.Start, Nodes: []ColumnNode{{ID: q.Start}}, Edges: []ColumnEdge{}}, nil
}

// KnowsDataset reports whether key has lineage: the graph holds it, or the
// catalog holds it live (its lineage is then the dataset alone).
func (f *Follower) KnowsDataset(ctx context.Context, key catalog.Key) (bool, error) {
	if f.graph.HasDataset(key) {
		return true, nil
	}
	live, err := f.store.LiveDatasets(ctx, []catalog.Key{key})
	return live[key], err
}

// alone returns notFound, the graph's error, unless the catalog holds the
// dataset key live.
func (f *Follower) alone(ctx context.Context, key catalog.Key, notFound error) error {
	live, err := f.store.LiveDatasets(ctx, []catalog.Key{key})
	if err != nil {
		return fmt.Errorf("lineage of %s: %w", key, err)
	}
	if !live[key] {
		return notFound
	}
	return nil
}

// columnAlone is alone for a column: its dataset must be live and have
// the column.
func (f *Follower) columnAlone(ctx context.Context, c ColumnID, notFound error) error {
	if c.Column == "" {
		return f.alone(ctx, c.Dataset, notFound)
	}
	ids, err := f.store.DatasetIDs(ctx, []catalog.Key{c.Dataset})
	if err != nil {
		return fmt.Errorf("column lineage of %s: %w", c, err)
	}
	id, ok := ids[c.Dataset]
	if !ok {
		return notFound
	}
	ds, err := f.store.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("column lineage of %s: %w", c, err)
	}
	if len(ds) == 0 || ds[0].RemovedAt != nil || !slices.ContainsFunc(ds[0].Columns, func(dc catalog.DatasetColumn) bool { return dc.Name == c.Column }) {
		return notFound
	}
	return nil
}

// ImpactLevel is the datasets at one distance downstream.
type ImpactLevel struct {
	Distance int
	Datasets []Impacted
}

// Impacted is a downstream dataset and whose it is.
type Impacted struct {
	Key    catalog.Key
	Owners []catalog.Owner
}

// Impact answers "what breaks if I change this, and whose is it?": every
// dataset downstream of key (to depth hops, 0 for all), grouped by
// distance, with its owners.
func (f *Follower) Impact(ctx context.Context, key catalog.Key, depth int) ([]ImpactLevel, error) {
	reach, owners, err := f.reach(ctx, []catalog.Key{key}, depth)
	if err != nil {
		return nil, fmt.Errorf("impact of %s: %w", key, err)
	}
	levels, ok := reach[key]
	if !ok {
		if err := f.alone(ctx, key, fmt.Errorf("lineage of %s: %w", key, catalog.ErrNotFound)); err != nil {
			return nil, err
		}
		return []ImpactLevel{}, nil
	}
	out := make([]ImpactLevel, len(levels))
	for i, l := range levels {
		out[i].Distance = i + 1
		for _, k := range l {
			out[i].Datasets = append(out[i].Datasets, Impacted{Key: k, Owners: owners[k]})
		}
	}
	return out, nil
}

// ImpactMany returns what is downstream of each of keys, nearest first,
// with the owners of each dataset: the graph's reach of each, and the
// owners of all in one read. A key no job reads or writes has nothing
// downstream and is absent. It is what an incident hits
// (incident.ImpactFunc).
func (f *Follower) ImpactMany(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ImpactedDataset, error) {
	reach, owners, err := f.reach(ctx, keys, 0)
	if err != nil {
		return nil, fmt.Errorf("impact of %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key][]catalog.ImpactedDataset{}
	for k, ls := range reach {
		for d, l := range ls {
			for _, x := range l {
				out[k] = append(out[k], catalog.ImpactedDataset{Dataset: x, Distance: d + 1, Owners: owners[x]})
			}
		}
	}
	return out, nil
}

// reach returns what is downstream of each of keys that the graph knows
// (to depth hops, 0 for all), by distance, and the owners of all of them
// in one read; keys the graph does not know are absent.
func (f *Follower) reach(ctx context.Context, keys []catalog.Key, depth int) (map[catalog.Key][][]catalog.Key, map[catalog.Key][]catalog.Owner, error) {
	levels := map[catalog.Key][][]catalog.Key{}
	var all []catalog.Key
	for _, k := range keys {
		ls, err := f.graph.Downstream(k, depth)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		levels[k] = ls
		for _, l := range ls {
			all = append(all, l...)
		}
	}
	owners, err := f.store.DatasetOwners(ctx, all)
	if err != nil {
		return nil, nil, err
	}
	return levels, owners, nil
}

// ColumnImpactLevel is the columns at one distance downstream.
type ColumnImpactLevel struct {
	Distance int
	Columns  []ImpactedColumn
}

// ImpactedColumn is a downstream column and whose dataset it is.
type ImpactedColumn struct {
	ID     ColumnID
	Owners []catalog.Owner
}

// ColumnImpact answers Impact's question for one column: every column
// derived from start (to depth hops, 0 for all), grouped by distance, with
// the owners of its dataset; directOnly leaves INDIRECT edges out.
func (f *Follower) ColumnImpact(ctx context.Context, start ColumnID, depth int, directOnly bool) ([]ColumnImpactLevel, error) {
	levels, err := f.graph.ColumnsDownstream(start, depth, directOnly)
	if errors.Is(err, catalog.ErrNotFound) {
		if err := f.columnAlone(ctx, start, err); err != nil {
			return nil, err
		}
		return []ColumnImpactLevel{}, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []catalog.Key
	seen := map[catalog.Key]bool{}
	for _, l := range levels {
		for _, c := range l {
			if !seen[c.Dataset] {
				seen[c.Dataset] = true
				keys = append(keys, c.Dataset)
			}
		}
	}
	owners, err := f.store.DatasetOwners(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("impact of %s: %w", start, err)
	}
	out := make([]ColumnImpactLevel, len(levels))
	for i, l := range levels {
		out[i].Distance = i + 1
		for _, c := range l {
			out[i].Columns = append(out[i].Columns, ImpactedColumn{ID: c, Owners: owners[c.Dataset]})
		}
	}
	return out, nil
}
