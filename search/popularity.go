package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A dataset's popularity (catalog.Popularity: how much jobs, runs and
// queries read it) ranks it in search, but the store recomputes it
// without writing the change log: it moves with every run that reads a
// dataset, and each replica's index would otherwise re-read a document
// per run. Instead the index re-reads, at most once per popularEvery,
// the documents of the datasets whose popularity was computed since it
// last looked (store.PopularityComputedSince).

const (
	// popularEvery is how often CatchUp looks for new popularity.
	popularEvery = time.Minute
	// popularOverlap is how far back each look starts again before the
	// last: the writers' clocks and commits that land late (a document
	// read twice is harmless).
	popularOverlap = 2 * time.Minute
)

// keyPopularity is the index's internal key for the time up to which its
// documents have the catalog's popularity.
var keyPopularity = []byte("almanac.popularity_at")

// popularState is how far an index has applied popularity.
type popularState struct {
	// at is the newest computation of popularity (the store's
	// computed_at, on the clock of the process that wrote it) that the
	// documents have; zero for an index built before it was kept.
	at time.Time
	// floor is at as the index was opened or built: its documents have
	// every popularity computed until then, so no look goes back before
	// it (a catalog just ingested computes every dataset's at once, and
	// the overlap would re-read them all at each start). The price: a
	// refresh dated before the floor that commits after the open or the
	// build's read reaches the index only with that dataset's next
	// refresh.
	floor time.Time
	// read says at was read from the index (or set by a build).
	read bool
	// checked is when the catalog was last asked.
	checked time.Time
	// seen are the computations the last look found within the overlap
	// of its newest, already applied: the next look skips them.
	seen map[int64]time.Time
	// reread counts the documents re-read for popularity, for tests.
	reread int
}

func encodePopularAt(t time.Time) []byte { return []byte(t.UTC().Format(time.RFC3339Nano)) }

// applyPopularity re-reads the documents of the datasets whose
// popularity was computed since the newest computation the index has
// (less popularOverlap, but not before the index was opened or built),
// once popularEvery has passed since it last looked, leaving out those
// it applied already. The caller holds applyMu.
func (x *Index) applyPopularity(ctx context.Context) error {
	now := x.now()
	if !x.popular.checked.IsZero() && now.Sub(x.popular.checked) < popularEvery && !now.Before(x.popular.checked) {
		return nil
	}
	if !x.popular.read {
		var b []byte
		if err := x.use(ctx, "read popularity time", func() (err error) {
			b, err = x.idx.GetInternal(keyPopularity)
			return err
		}); err != nil {
			if errors.Is(err, ErrRebuilding) {
				x.popular.checked = now // the rebuild reads popularity as it is
				return nil
			}
			return fmt.Errorf("apply popularity: %w", err)
		}
		if len(b) > 0 {
			// A time that does not read (a damaged index) is as none:
			// every popularity is read again once, which is right.
			if t, err := time.Parse(time.RFC3339Nano, string(b)); err != nil {
				x.log.WarnContext(ctx, "search index: popularity time unreadable, reading every popularity again", "value", fmt.Sprintf("%.40q", b), "err", err)
			} else {
				x.popular.at, x.popular.floor = t, t
			}
		}
		x.popular.read = true
	}
	since := x.popular.at
	if !since.IsZero() {
		since = since.Add(-popularOverlap)
	}
	if !x.popular.floor.IsZero() {
		// After the floor only (PostgreSQL keeps microseconds): a catalog
		// just ingested computed every dataset's popularity at one time.
		since = maxTime(since, x.popular.floor.Add(time.Microsecond))
	}
	computed, err := x.store.PopularityComputedSince(ctx, since)
	if err != nil {
		return fmt.Errorf("apply popularity: %w", err)
	}
	newest := x.popular.at
	var ids []int64
	for id, at := range computed {
		if at.After(newest) {
			newest = at
		}
		if seen, ok := x.popular.seen[id]; !ok || !seen.Equal(at) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	x.popular.reread += len(ids)
	for len(ids) > 0 {
		n := min(len(ids), changesPerRead)
		if err := x.reindex(ctx, ids[:n], nil, x.Seq(), ""); err != nil {
			if errors.Is(err, ErrRebuilding) {
				x.popular.checked = now
				return nil
			}
			return fmt.Errorf("apply popularity: %w", err)
		}
		ids = ids[n:]
	}
	x.popular.checked = now
	x.popular.seen = make(map[int64]time.Time)
	for id, at := range computed {
		if !at.Before(newest.Add(-popularOverlap)) {
			x.popular.seen[id] = at
		}
	}
	if !newest.After(x.popular.at) {
		return nil
	}
	if err := x.use(ctx, "record popularity time", func() error {
		return x.idx.SetInternal(keyPopularity, encodePopularAt(newest))
	}); err != nil {
		return fmt.Errorf("apply popularity: %w", err)
	}
	x.popular.at = newest
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
