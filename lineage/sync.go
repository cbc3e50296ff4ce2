package lineage

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// pollInterval is how long Run waits for a notification before it looks
// at the change log anyway.
const pollInterval = 5 * time.Second

// Follower keeps a Graph in sync with the catalog: Load reads every live
// job, then CatchUp and Run apply the "job" entries of the change log.
type Follower struct {
	store *store.Store
	graph *Graph
	seq   atomic.Int64
	log   *slog.Logger
}

// NewFollower returns a follower filling g from st.
func NewFollower(st *store.Store, g *Graph, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.Default()
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
	var batch []JobEdges
	err = f.store.LineageJobs(ctx, nil, func(j store.LineageJob) error {
		batch = append(batch, JobEdges(j))
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
	f.seq.Store(seq)
	return nil
}

// CatchUp applies the job changes logged since the last one applied.
func (f *Follower) CatchUp(ctx context.Context) error {
	for {
		after := f.seq.Load()
		changes, err := f.store.Changes(ctx, after, 5000)
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
			var batch []JobEdges
			if err := f.store.LineageJobs(ctx, ids, func(j store.LineageJob) error {
				found[j.ID] = true
				batch = append(batch, JobEdges(j))
				return nil
			}); err != nil {
				return fmt.Errorf("catch up lineage: %w", err)
			}
			for _, id := range ids {
				if !found[id] {
					batch = append(batch, JobEdges{ID: id}) // deleted: drop
				}
			}
			f.graph.SetJobs(batch)
		}
		f.seq.Store(changes[len(changes)-1].Seq)
	}
}

// Run follows the change log until ctx ends: woken by NOTIFY on
// catalog.ChangeChannel, and every few seconds regardless. It reconnects
// after errors.
func (f *Follower) Run(ctx context.Context) error {
	return f.store.FollowChanges(ctx, f, pollInterval, f.log)
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
	levels, err := f.graph.Downstream(key, depth)
	if err != nil {
		return nil, err
	}
	var all []catalog.Key
	for _, l := range levels {
		all = append(all, l...)
	}
	owners, err := f.store.DatasetOwners(ctx, all)
	if err != nil {
		return nil, fmt.Errorf("impact of %s: %w", key, err)
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
