package crawl

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
)

// crawlArgs is the River job that crawls one configured source. River runs
// each job once across all replicas; periodic jobs are enqueued only by
// the elected leader.
type crawlArgs struct {
	Source string `json:"source"` // configured name
}

func (crawlArgs) Kind() string { return "almanac_crawl" }

func (crawlArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 3,
		// One pending crawl per source at a time, however many replicas
		// and schedules ask.
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable,
		}},
	}
}

type crawlWorker struct {
	river.WorkerDefaults[crawlArgs]
	sources []Source
	runner  *Runner
}

func (w *crawlWorker) Work(ctx context.Context, job *river.Job[crawlArgs]) error {
	for _, src := range w.sources {
		if src.Name == job.Args.Source {
			_, err := w.runner.Crawl(ctx, src)
			return err
		}
	}
	// The source left the configuration since the job was queued.
	return river.JobCancel(fmt.Errorf("no source %q configured", job.Args.Source))
}

// Timeout lets a crawl of a large source run longer than River's default.
func (w *crawlWorker) Timeout(*river.Job[crawlArgs]) time.Duration { return time.Hour }

// Scheduler crawls each source with a schedule every Source.Every, as River
// jobs in the catalog database: any number of replicas may run one, and
// each scheduled crawl runs once.
type Scheduler struct {
	client *river.Client[pgx.Tx]
}

// NewScheduler returns a scheduler of sources that crawls with r, queueing
// its jobs in the catalog database of r's store.
func NewScheduler(r *Runner, sources []Source) (*Scheduler, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &crawlWorker{sources: sources, runner: r})
	var periodic []*river.PeriodicJob
	for _, src := range sources {
		if src.Every <= 0 {
			continue
		}
		args := crawlArgs{Source: src.Name}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(src.Every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "crawl-" + src.Name, RunOnStart: true}))
	}
	client, err := river.NewClient(riverpgxv5.New(r.store.Pool()), &river.Config{
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       r.log.With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return &Scheduler{client: client}, nil
}

// Start starts crawling on schedule, until Stop or until ctx ends.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	return nil
}

// Stop stops taking new crawls and waits for running ones to finish,
// until ctx ends.
func (s *Scheduler) Stop(ctx context.Context) error { return s.client.Stop(ctx) }
