package crawl

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"almanac/catalog/store"
)

// failInterruptedEvery is how often a scheduler looks for runs left
// running by processes that are gone.
const failInterruptedEvery = time.Minute

// crawlArgs is the River job that crawls one configured source. River runs
// each job once across all replicas; periodic jobs are enqueued only by
// the elected leader.
//
// The job is not unique: River's uniqueness always covers running jobs,
// and a job left running by a killed process would block the source's
// next crawls until River's rescuer gives up on it, after the job's
// timeout. What uniqueness was for is done by the source's crawl lock (no
// two crawls of a source overlap; see store.Crawl) and by Work skipping a
// job that a crawl since its creation already did.
type crawlArgs struct {
	Source string `json:"source"` // configured name
}

func (crawlArgs) Kind() string { return "almanac_crawl" }

func (crawlArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

type crawlWorker struct {
	river.WorkerDefaults[crawlArgs]
	sources []Source
	runner  *Runner
}

func (w *crawlWorker) Work(ctx context.Context, job *river.Job[crawlArgs]) error {
	for _, src := range w.sources {
		if src.Name != job.Args.Source {
			continue
		}
		// A crawl that started after the job was queued did what it asks:
		// the job is a retry of one whose process died, or was queued
		// twice (a new leader's crawls at start, a backed-up queue).
		done, err := w.runner.crawledSince(ctx, src, job.CreatedAt)
		if err != nil {
			return err
		}
		if done {
			w.runner.log.Info("crawl skipped: the source was crawled since the job was queued", "source", src.Provenance(), "job", job.ID)
			return nil
		}
		_, err = w.runner.Crawl(ctx, src)
		if errors.Is(err, store.ErrCrawlRunning) {
			return nil // the running crawl does what this one would
		}
		return err
	}
	// The source left the configuration since the job was queued.
	return river.JobCancel(fmt.Errorf("no source %q configured", job.Args.Source))
}

// Timeout lets a crawl of a large source run longer than River's default.
func (w *crawlWorker) Timeout(*river.Job[crawlArgs]) time.Duration { return time.Hour }

// checkArgs is the River job that runs one configured SQL check.
type checkArgs struct {
	Check string `json:"check"` // configured name
	// CatchUp marks a run queued at start for a check overdue then
	// (Scheduler.catchUpChecks), apart from its scheduled runs.
	CatchUp bool `json:"catch_up,omitempty"`
}

func (checkArgs) Kind() string { return "almanac_check" }

// InsertOpts puts checks on their own queue, so that a thousand of them
// never wait behind a crawl or make one wait. A check that fails records
// an error result: it is not retried.
func (checkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueQuality, MaxAttempts: 1}
}

type checkWorker struct {
	river.WorkerDefaults[checkArgs]
	checks []Check
	runner *Runner
}

func (w *checkWorker) Work(ctx context.Context, job *river.Job[checkArgs]) error {
	for _, c := range w.checks {
		if c.Name == job.Args.Check {
			_, err := w.runner.RunCheck(ctx, c)
			return err
		}
	}
	return river.JobCancel(fmt.Errorf("no check %q configured", job.Args.Check))
}

// pruneArgs is the River job that deletes quality history older than
// the retention.
type pruneArgs struct {
	Retention time.Duration `json:"retention"`
}

func (pruneArgs) Kind() string { return "almanac_quality_prune" }

func (pruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueQuality, MaxAttempts: 3}
}

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	runner *Runner
}

func (w *pruneWorker) Work(ctx context.Context, job *river.Job[pruneArgs]) error {
	n, err := w.runner.store.PruneQuality(ctx, time.Now().Add(-job.Args.Retention))
	if err != nil {
		return err
	}
	w.runner.log.Info("quality history pruned", "deleted", n, "retention", job.Args.Retention)
	return nil
}

// QueueQuality is the River queue of SQL checks and quality pruning,
// apart from the crawls' default queue.
const QueueQuality = "quality"

// pruneEvery is how often quality history is pruned.
const pruneEvery = time.Hour

// Options are the scheduler's work besides crawling sources.
type Options struct {
	// Checks are the configured SQL checks; those with Every > 0 run on
	// schedule.
	Checks []Check
	// QualityRetention is how long quality results and freshness
	// observations are kept (the newest of each check and dataset always
	// is); 0 keeps them forever.
	QualityRetention time.Duration
	// Register adds other parts' workers to the scheduler's River
	// client, each returning the queue it works: one client per process,
	// since every started client takes part in River's leader election,
	// and a leader without the periodic jobs would enqueue no crawls.
	Register []func(*river.Workers) (string, river.QueueConfig)
}

// Scheduler crawls each source with a schedule every Source.Every and runs
// each SQL check with one every Check.Every, as River jobs in the catalog
// database: any number of replicas may run one, and each scheduled crawl
// or check runs once. It also marks failed the runs that processes now
// gone left running, at start and every minute, and prunes quality
// history every hour.
type Scheduler struct {
	client *river.Client[pgx.Tx]
	runner *Runner
	checks []Check
	stop   context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a scheduler of sources and opts that crawls and
// runs checks with r, queueing its jobs in the catalog database of r's
// store.
func NewScheduler(r *Runner, sources []Source, opts Options) (*Scheduler, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &crawlWorker{sources: sources, runner: r})
	river.AddWorker(workers, &checkWorker{checks: opts.Checks, runner: r})
	river.AddWorker(workers, &pruneWorker{runner: r})
	var periodic []*river.PeriodicJob
	// Checks first: queued ahead of the crawls, they must still not
	// delay them (see TestChecksDoNotDelayCrawls). Each falls due at its
	// own slot of its interval (CheckSchedule), not on start: those
	// overdue then are caught up by Start.
	for _, c := range opts.Checks {
		if c.Every <= 0 {
			continue
		}
		args := checkArgs{Check: c.Name}
		periodic = append(periodic, river.NewPeriodicJob(CheckSchedule(c.Name, c.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "check-" + c.Name}))
	}
	for _, src := range sources {
		if src.Every <= 0 {
			continue
		}
		args := crawlArgs{Source: src.Name}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(src.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "crawl-" + src.Name, RunOnStart: true}))
	}
	if opts.QualityRetention > 0 {
		args := pruneArgs{Retention: opts.QualityRetention}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(pruneEvery),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "quality-prune", RunOnStart: true}))
	}
	queues := map[string]river.QueueConfig{
		river.QueueDefault: {MaxWorkers: 2},
		QueueQuality:       {MaxWorkers: 2},
	}
	for _, reg := range opts.Register {
		q, qc := reg(workers)
		queues[q] = qc
	}
	client, err := river.NewClient(riverpgxv5.New(r.store.Pool()), &river.Config{
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       r.log.With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Scheduler{client: client, runner: r, checks: opts.Checks}, nil
}

// Start marks failed the runs of crawls that are gone, then starts
// crawling on schedule, until Stop or until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.runner.FailInterrupted(ctx); err != nil {
		return err
	}
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	if err := s.catchUpChecks(ctx, time.Now()); err != nil {
		return err
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		tick := time.NewTicker(failInterruptedEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := s.runner.FailInterrupted(ctx); err != nil && ctx.Err() == nil {
				s.runner.log.Error("look for interrupted crawls", "err", err)
			}
		}
	}()
	return nil
}

// Stop stops taking new crawls and waits for running ones to finish,
// until ctx ends.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return s.client.Stop(ctx)
}

// CheckSchedule is when a check named name that runs every interval
// falls due: at offset + k × every since the Unix epoch, where offset is
// a hash of its name modulo every (CheckOffset). The checks of one
// interval thus spread evenly over it rather than all falling due at
// once, and each keeps its slot on every replica, across restarts and
// leader changes: 1,000 hourly checks start about 17 a minute.
func CheckSchedule(name string, every time.Duration) river.PeriodicSchedule {
	return phasedSchedule{every: every, offset: CheckOffset(name, every)}
}

// CheckOffset is where in each interval of length every the check named
// name falls due: FNV-1a of the name modulo every, in nanoseconds.
func CheckOffset(name string, every time.Duration) time.Duration {
	if every <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(every))
}

// phasedSchedule is due at offset + k × every since the Unix epoch.
type phasedSchedule struct{ every, offset time.Duration }

// Next is the first slot strictly after t.
func (s phasedSchedule) Next(t time.Time) time.Time {
	n := t.UnixNano() - int64(s.offset)
	k := n / int64(s.every)
	if n < 0 && n%int64(s.every) != 0 {
		k-- // floor, for times before the epoch's first slot
	}
	return time.Unix(0, (k+1)*int64(s.every)+int64(s.offset)).In(t.Location())
}

// catchUpChecks queues now, once across replicas, the scheduled checks
// without a result since their previous slot (never run, or missed while
// no replica ran): the periodic jobs run each check at its slot only.
// Replicas starting together queue each such check once: the jobs are
// unique by check within the check's interval.
func (s *Scheduler) catchUpChecks(ctx context.Context, now time.Time) error {
	var pages []store.ResultPage
	for _, c := range s.checks {
		if c.Every > 0 {
			pages = append(pages, store.ResultPage{Source: c.Source(), Check: c.Name, Limit: 1})
		}
	}
	if len(pages) == 0 {
		return nil
	}
	newest, err := s.runner.store.ResultPages(ctx, pages)
	if err != nil {
		return fmt.Errorf("checks to catch up: %w", err)
	}
	var params []river.InsertManyParams
	for _, c := range s.checks {
		if c.Every <= 0 {
			continue
		}
		previous := CheckSchedule(c.Name, c.Every).Next(now.Add(-c.Every)) // the last slot at or before now
		page := store.ResultPage{Source: c.Source(), Check: c.Name, Limit: 1}
		if r := newest[page]; len(r) > 0 && !r[0].StartedAt.Before(previous) {
			continue
		}
		params = append(params, river.InsertManyParams{Args: checkArgs{Check: c.Name, CatchUp: true},
			InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: c.Every}}})
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := s.client.InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue overdue checks: %w", err)
	}
	s.runner.log.Info("overdue checks queued", "checks", len(params))
	return nil
}
