// Package sloreport keeps each dataset's SLO reports and anomalies
// evaluated and stored, so that the dataset page and the API read them
// instead of evaluating them on every view. It follows the change log: a
// change of a dataset (new check results or freshness observations, a
// crawl that changed it, an SLO edited) or of a job writing it (its runs,
// with the row counts they wrote) has the dataset evaluated again, and
// every few minutes the evaluations that time alone has moved (data goes
// stale without any change) are made again. Each evaluation also records
// the day's report of each SLO, its history.
//
// Readers (store.Evaluations) use a stored evaluation only while it is
// current, so a view never shows a report that misses what was recorded.
package sloreport

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// DefaultRefresh is how old an evaluation gets before the evaluator makes
// it again although nothing changed; readers accept evaluations younger
// than store.MaxEvaluationAge, twice as long.
const DefaultRefresh = store.MaxEvaluationAge / 2

// pollInterval is how long Run waits for a notification before it looks
// at the change log, and at old evaluations, anyway.
const pollInterval = 5 * time.Second

// sweepEvery is how often CatchUp looks for old evaluations.
const sweepEvery = 30 * time.Second

// batchSize is how many datasets one evaluation reads at once.
const batchSize = 500

// Config says what the evaluator evaluates.
type Config struct {
	// SLOs are the SLOs declared in the configuration; the store reads
	// the harvested ones and those people declared itself.
	SLOs []slo.SLO
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Refresh is DefaultRefresh when 0.
	Refresh time.Duration
	Logger  *slog.Logger
}

// Evaluator follows the change log and keeps evaluations stored.
type Evaluator struct {
	store     *store.Store
	cfg       Config
	seq       atomic.Int64
	log       *slog.Logger
	lastSweep time.Time
	// first is set until the first catch-up, which also evaluates the
	// datasets the configuration's SLOs name: their SLOs may be new.
	first bool
}

// New returns an evaluator over st.
func New(st *store.Store, cfg Config) *Evaluator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Evaluator{store: st, cfg: cfg, log: cfg.Logger, first: true}
}

// Seq is the last change log sequence applied.
func (e *Evaluator) Seq() int64 { return e.seq.Load() }

// Load reads where the evaluator stopped last time; the first time it
// starts from the beginning of the log.
func (e *Evaluator) Load(ctx context.Context) error {
	seq, err := e.store.SLOEvaluatorSeq(ctx)
	if err != nil {
		return err
	}
	e.seq.Store(seq)
	return nil
}

// Run follows the change log until ctx ends.
func (e *Evaluator) Run(ctx context.Context) error {
	if err := e.Load(ctx); err != nil {
		return err
	}
	return e.store.FollowChanges(ctx, e, pollInterval, e.log)
}

// CatchUp evaluates the datasets the changes logged since the last one
// applied name, then those evaluated longer than Config.Refresh ago. One
// replica evaluates at a time (store.LockSLOEvaluator): while another
// does, CatchUp returns at once, and the replica that evaluates next
// starts where the last one stopped.
func (e *Evaluator) CatchUp(ctx context.Context) error {
	release, ok, err := e.store.LockSLOEvaluator(ctx)
	if err != nil {
		return fmt.Errorf("evaluate slos: %w", err)
	}
	if !ok {
		return nil
	}
	defer release()
	// The catalog's position, not this replica's: another replica may
	// have evaluated since, and a catalog restored from a backup (or
	// failed over to a standby that lagged) has gone back, with its log,
	// to a position before this replica's.
	seq, err := e.store.SLOEvaluatorSeq(ctx)
	if err != nil {
		return err
	}
	e.seq.Store(seq)
	if e.first {
		var keys []catalog.Key
		for _, s := range e.cfg.SLOs {
			keys = append(keys, s.Dataset)
		}
		if err := e.evaluate(ctx, e.seq.Load(), keys); err != nil {
			return err
		}
		e.first = false
	}
	for {
		after := e.seq.Load()
		changes, err := e.store.Changes(ctx, after, 2000)
		if err != nil {
			return fmt.Errorf("evaluate slos: %w", err)
		}
		if len(changes) == 0 {
			break
		}
		last := changes[len(changes)-1].Seq
		keys, err := e.touched(ctx, changes)
		if err != nil {
			return fmt.Errorf("evaluate slos: %w", err)
		}
		if err := e.evaluate(ctx, last, keys); err != nil {
			return err
		}
		if err := e.store.SetSLOEvaluatorSeq(ctx, last); err != nil {
			return err
		}
		e.seq.Store(last)
	}
	if now := e.cfg.Now(); now.Sub(e.lastSweep) >= sweepEvery {
		if err := e.Refresh(ctx); err != nil {
			return err
		}
		e.lastSweep = now
	}
	return nil
}

// Refresh evaluates again every dataset evaluated longer than
// Config.Refresh ago.
func (e *Evaluator) Refresh(ctx context.Context) error {
	before := e.cfg.Now().Add(-e.cfg.Refresh)
	for {
		keys, err := e.store.StaleEvaluations(ctx, before, batchSize)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		if err := e.evaluate(ctx, e.seq.Load(), keys); err != nil {
			return err
		}
		if len(keys) < batchSize {
			return nil
		}
	}
}

// touched returns the datasets that changes name, and those written by
// the jobs they name (runs, and jobs whose inputs and outputs changed).
func (e *Evaluator) touched(ctx context.Context, changes []catalog.Change) ([]catalog.Key, error) {
	var (
		keys []catalog.Key
		jobs []catalog.JobKey
	)
	for _, c := range changes {
		switch c.Entity {
		case "dataset":
			keys = append(keys, c.Key)
		case "run", "job":
			jobs = append(jobs, catalog.JobKey(c.Key))
		}
	}
	if len(jobs) > 0 {
		slices.SortFunc(jobs, func(a, b catalog.JobKey) int { return catalog.Key(a).Compare(catalog.Key(b)) })
		jobs = slices.Compact(jobs)
		found, err := e.store.JobsByKeys(ctx, jobs)
		if err != nil {
			return nil, err
		}
		for _, j := range found {
			keys = append(keys, j.Outputs...)
		}
	}
	return keys, nil
}

// evaluate evaluates the datasets keys now and stores what it found as
// accounting for the change log up to seq, batchSize datasets at a time.
func (e *Evaluator) evaluate(ctx context.Context, seq int64, keys []catalog.Key) error {
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	for chunk := range slices.Chunk(keys, batchSize) {
		now := e.cfg.Now()
		evals, err := e.store.EvaluateDatasets(ctx, chunk, e.cfg.SLOs, now)
		if err != nil {
			return fmt.Errorf("evaluate slos: %w", err)
		}
		if err := e.store.SaveEvaluations(ctx, seq, e.cfg.SLOs, evals); err != nil {
			return err
		}
	}
	if len(keys) > 0 {
		e.log.DebugContext(ctx, "slos evaluated", "datasets", len(keys), "seq", seq)
	}
	return nil
}
