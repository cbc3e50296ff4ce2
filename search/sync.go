package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"almanac/catalog/store"
)

const (
	// changesPerRead is how many change log entries one catch-up step
	// reads; the datasets they name are re-read in one round trip.
	changesPerRead = 2000
	// pollInterval is how often Run catches up even without a
	// notification, in case one was lost with a connection.
	pollInterval = 30 * time.Second
)

// CatchUp applies every change log entry after the last one the index
// applied: it re-reads the datasets they name from the store and replaces
// their documents (deleting those the catalog no longer has). While the
// index is rebuilt after damage it has nothing to do: the rebuild reads
// everything, and catches up when done.
func (x *Index) CatchUp(ctx context.Context) error {
	if x.store == nil {
		return errors.New("catch up search index: no store")
	}
	x.applyMu.Lock()
	defer x.applyMu.Unlock()
	if err := x.applyChanges(ctx); err != nil {
		return err
	}
	return x.applyPopularity(ctx)
}

// applyChanges applies the change log's entries after the index's
// sequence. The caller holds applyMu.
func (x *Index) applyChanges(ctx context.Context) error {
	// A catch-up longer than one read reports its progress, against the
	// change log's end when it found it that long.
	var start, last int64
	for {
		from := x.Seq()
		n, err := x.applyNext(ctx)
		if errors.Is(err, ErrRebuilding) {
			return nil
		}
		if err != nil {
			return err
		}
		if last > 0 {
			x.report(StageCatchUp, x.Seq()-start, max(last-start, x.Seq()-start))
		}
		if n < changesPerRead {
			return nil
		}
		if last == 0 && x.progress != nil {
			if last, err = x.store.LastChangeSeq(ctx); err != nil {
				return fmt.Errorf("catch up search index: %w", err)
			}
			start = from
			x.report(StageCatchUp, x.Seq()-start, max(last-start, x.Seq()-start))
		}
	}
}

// applyNext applies the next changesPerRead entries of the change log and
// returns how many it read. The caller holds applyMu.
func (x *Index) applyNext(ctx context.Context) (int, error) {
	from := x.Seq()
	changes, err := x.store.ChangesSince(ctx, from, x.mark, changesPerRead)
	if errors.Is(err, store.ErrChangeLogDiverged) {
		x.mu.RLock()
		idx := x.idx
		x.mu.RUnlock()
		x.damaged(idx, fmt.Errorf("%w: %w", errForeign, err))
		return 0, ErrRebuilding
	}
	if err != nil {
		return 0, fmt.Errorf("catch up search index: %w", err)
	}
	if len(changes) == 0 {
		return 0, nil
	}
	seen, seenJob := map[int64]bool{}, map[int64]bool{}
	var ids, jobIDs []int64
	for _, c := range changes {
		switch {
		case c.Entity == "dataset" && !seen[c.EntityID]:
			seen[c.EntityID] = true
			ids = append(ids, c.EntityID)
		case c.Entity == "job" && !seenJob[c.EntityID]:
			// A job's runs ("run" changes) do not change its document.
			seenJob[c.EntityID] = true
			jobIDs = append(jobIDs, c.EntityID)
		}
	}
	last := changes[len(changes)-1].Seq
	if err := x.reindex(ctx, ids, jobIDs, last, changes[len(changes)-1].Mark()); err != nil {
		return 0, fmt.Errorf("catch up search index from change %d to %d: %w", from, last, err)
	}
	x.log.DebugContext(ctx, "search index caught up", "changes", len(changes), "datasets", len(ids), "seq", last)
	return len(changes), nil
}

// reindex replaces the documents of the datasets ids and the jobs jobIDs
// with what the store holds now and records seq as applied, with its
// change's mark when given, in one bleve batch.
func (x *Index) reindex(ctx context.Context, ids, jobIDs []int64, seq int64, mark string) error {
	docs, err := x.store.SearchDocs(ctx, ids)
	if err != nil {
		return err
	}
	jobs, err := x.store.JobsByIDs(ctx, jobIDs)
	if err != nil {
		return err
	}
	return x.use(ctx, "catch up", func() error {
		w := newBatchWriter(x.idx)
		w.seg, w.mark = x.lex.seg, mark
		defer func() { _ = w.wait() }() // on failure, the batch being written
		found := map[int64]bool{}
		for _, d := range docs {
			found[d.ID] = true
			if err := w.add(FromStore(d)); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if !found[id] {
				w.delete(id)
			}
		}
		foundJob := map[int64]bool{}
		for _, j := range jobs {
			foundJob[j.ID] = true
			if err := w.add(FromJob(j)); err != nil {
				return err
			}
		}
		for _, id := range jobIDs {
			if !foundJob[id] {
				w.deleteJob(id)
			}
		}
		if err := w.flushSeq(seq); err != nil {
			return err
		}
		if mark != "" {
			x.mark = mark
		}
		x.setSeq(seq)
		x.latchReady(seq)
		return nil
	})
}

// Rebuild builds a new index from everything PostgreSQL holds, beside
// the current one, and then replaces it; searches keep using the old index
// until the new one is complete. Changes committed meanwhile are applied
// by the next catch-up.
func (x *Index) Rebuild(ctx context.Context) error {
	if x.store == nil {
		return errors.New("rebuild search index: no store")
	}
	x.applyMu.Lock()
	defer x.applyMu.Unlock()
	start := time.Now()
	// The popularity computed until now is in what we read next too.
	popularAt, err := x.store.PopularityComputedLast(ctx)
	if err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	// Everything committed up to seq is in what we read next; later
	// changes are caught up afterwards (applying one twice is harmless).
	seq, err := x.store.LastChangeSeq(ctx)
	if err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	mark, err := x.store.ChangeMark(ctx, seq)
	if err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	// First the catalog's vocabulary, which splits the names written
	// without separators; it is kept with the new index.
	v := newVocabulary()
	x.built.Store(0)
	x.toBuild.Store(0)
	x.report(StageBuild, 0, 0)
	total, err := v.learnCatalog(ctx, x.store)
	if err != nil {
		return fmt.Errorf("rebuild search index: learn vocabulary: %w", err)
	}
	x.toBuild.Store(total)
	x.report(StageBuild, 0, total)
	lex := newLexicon(v, x.abbrev)
	tmp := x.dir + ".rebuild"
	idx, err := createDir(tmp)
	if err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	w := newBatchWriter(idx).forBuild()
	w.seg, w.vocab, w.mark = lex.seg, v.encode(), mark
	fail := func(err error) error {
		_ = w.wait()
		idx.Close()
		os.RemoveAll(tmp)
		return fmt.Errorf("rebuild search index: %w", err)
	}
	var count int64
	err = x.eachDataset(ctx, func(d Dataset) error {
		count++
		if count%indexBatchSize == 0 {
			x.built.Store(count)
			x.report(StageBuild, count, max(total, count))
		}
		return w.add(d)
	})
	if err != nil {
		return fail(err)
	}
	if err := x.eachJob(ctx, w.add); err != nil {
		return fail(err)
	}
	w.batch.SetInternal(keyPopularity, encodePopularAt(popularAt))
	if err := w.flushSeq(seq); err != nil {
		return fail(err)
	}
	// Close to persist, then swap directories under the write lock.
	if err := idx.Close(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("rebuild search index: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		os.RemoveAll(tmp)
		return fmt.Errorf("rebuild search index: %w", errClosed)
	}
	if x.idx != nil {
		if err := x.idx.Close(); err != nil {
			x.log.WarnContext(ctx, "close replaced search index", "err", err)
		}
		x.idx, x.lex = nil, nil
	}
	if err := os.RemoveAll(x.dir); err != nil {
		return fmt.Errorf("rebuild search index: remove old index: %w", err)
	}
	if err := os.Rename(tmp, x.dir); err != nil {
		return fmt.Errorf("rebuild search index: %w", err)
	}
	idx, err = openDir(x.dir)
	if err != nil {
		return fmt.Errorf("rebuild search index: reopen: %w", err)
	}
	x.idx = idx
	x.lex = lex
	x.rebuilding = false
	x.facets = newFacetTable() // segment ids start again
	x.popular = popularState{at: popularAt, floor: popularAt, read: true}
	x.mark = mark
	x.setSeq(seq)
	x.warmFacets()
	x.latchReady(seq)
	x.built.Store(count)
	x.report(StageBuild, count, count)
	x.log.InfoContext(ctx, "search index rebuilt", "datasets", count, "seq", seq, "duration", time.Since(start))
	return nil
}

// report passes a build's progress to Options.Progress.
func (x *Index) report(stage string, done, total int64) {
	if x.progress != nil {
		x.progress(Progress{Stage: stage, Done: done, Total: total})
	}
}

// Ready says whether the index can answer for the catalog: nil once it
// has applied every change committed before it was opened (and from then
// on, even while it is rebuilt after damage, so that one damaged index
// does not take a replica out of its load balancer); until then an error
// saying how far it has come. A new replica is unready while it builds
// its index.
func (x *Index) Ready() error {
	if x.caughtUp.Load() {
		return nil
	}
	x.mu.RLock()
	rebuilding := x.rebuilding
	x.mu.RUnlock()
	if rebuilding {
		done, total := x.built.Load(), x.toBuild.Load()
		if total == 0 {
			return errors.New("search index being built: counting the catalog's datasets")
		}
		return fmt.Errorf("search index being built: %d of %d datasets", done, total)
	}
	if seq := x.Seq(); seq < x.readyAt {
		return fmt.Errorf("search index catching up: at change %d of %d", seq, x.readyAt)
	}
	x.caughtUp.Store(true)
	return nil
}

// latchReady makes Ready say ready from now on once seq, just applied to
// a complete index, reaches the change log's end as of Open.
func (x *Index) latchReady(seq int64) {
	if seq >= x.readyAt {
		x.caughtUp.Store(true)
	}
}

// eachDataset calls f with every dataset of the catalog, in id order.
func (x *Index) eachDataset(ctx context.Context, f func(Dataset) error) error {
	return eachPage(ctx, x.store.DatasetIDsAfter, func(ctx context.Context, ids []int64) ([]Dataset, error) {
		docs, err := x.store.SearchDocs(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make([]Dataset, len(docs))
		for i, d := range docs {
			out[i] = FromStore(d)
		}
		return out, nil
	}, f)
}

// eachJob calls f with every job of the catalog, as indexed (FromJob),
// in id order.
func (x *Index) eachJob(ctx context.Context, f func(Dataset) error) error {
	return eachPage(ctx, x.store.JobIDsAfter, func(ctx context.Context, ids []int64) ([]Dataset, error) {
		jobs, err := x.store.JobsByIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make([]Dataset, len(jobs))
		for i, j := range jobs {
			out[i] = FromJob(j)
		}
		return out, nil
	}, f)
}

// pageReaders is how many pages eachPage reads at once. Reading a page
// is PostgreSQL's work and then this process's (decoding and merging the
// rows, three quarters of it for datasets), one after the other: one
// reader kept about one core busy, and read 100,000 datasets in 3.0 s on
// 2 cores; two read them in 2.2 s.
const pageReaders = 2

// eachPage calls f with every value of the catalog's pages, in order:
// ids lists the ids after the last of the page before (none at the end),
// and load reads a page of them. Pages are read ahead, pageReaders at
// once, while f handles the one before: a build's reads no longer stop
// the index from being written, nor each other.
func eachPage(ctx context.Context, ids func(ctx context.Context, after int64, limit int) ([]int64, error), load func(ctx context.Context, ids []int64) ([]Dataset, error), f func(Dataset) error) error {
	type result struct {
		page []Dataset
		err  error
	}
	type page struct {
		ids  []int64
		read chan result // buffered: a reader never waits to hand it over
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	order := make(chan *page, pageReaders) // pages listed, in order, for f
	work := make(chan *page)               // the same pages, for the readers
	wg.Go(func() {
		defer close(order)
		defer close(work)
		var after int64
		for ctx.Err() == nil {
			got, err := ids(ctx, after, indexBatchSize)
			if err == nil && len(got) == 0 {
				return // no more ids
			}
			p := &page{ids: got, read: make(chan result, 1)}
			if err != nil {
				p.read <- result{err: err}
			}
			select {
			case order <- p:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			select {
			case work <- p:
			case <-ctx.Done():
				return
			}
			after = got[len(got)-1]
		}
	})
	for range pageReaders {
		wg.Go(func() {
			for p := range work {
				docs, err := load(ctx, p.ids)
				p.read <- result{docs, err}
			}
		})
	}
	// The readers stop before this returns, however it returns.
	defer func() {
		cancel()
		for range order {
		}
		wg.Wait()
	}()
	for p := range order {
		var r result
		select {
		case r = <-p.read:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		for _, d := range r.page {
			if err := f(d); err != nil {
				return err
			}
		}
	}
	// The lister also stops early when the caller's ctx ends: that is not
	// the end of the catalog.
	return ctx.Err()
}

// Run keeps the index in step with the catalog until ctx ends: it listens
// for change notifications on a dedicated connection taken from the
// store's pool, catches up on each (and every pollInterval regardless),
// and reconnects with backoff when the connection fails. It returns
// ctx's error.
func (x *Index) Run(ctx context.Context) error {
	if x.store == nil {
		return errors.New("run search index sync: no store")
	}
	return x.store.FollowChanges(ctx, x, pollInterval, x.log)
}
