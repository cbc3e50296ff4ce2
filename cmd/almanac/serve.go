package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"almanac/catalog"
	"almanac/graph"
	"almanac/lineage"
	"almanac/lineage/olapi"
	"almanac/migrations"
	"almanac/search"
	"almanac/ui"
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
	cfg     *Config
	crawler *crawler
}

func (w *crawlWorker) Work(ctx context.Context, job *river.Job[crawlArgs]) error {
	for _, src := range w.cfg.Sources {
		if src.Name == job.Args.Source {
			_, err := w.crawler.crawl(ctx, src)
			return err
		}
	}
	// The source left the configuration since the job was queued.
	return river.JobCancel(fmt.Errorf("no source %q configured", job.Args.Source))
}

// Timeout lets a crawl of a large source run longer than River's default.
func (w *crawlWorker) Timeout(*river.Job[crawlArgs]) time.Duration { return time.Hour }

// newScheduler builds the River client that runs scheduled crawls.
func newScheduler(pool *pgxpool.Pool, cfg *Config, c *crawler, log *slog.Logger) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &crawlWorker{cfg: cfg, crawler: c})
	var periodic []*river.PeriodicJob
	for _, src := range cfg.Sources {
		every, err := src.Interval()
		if err != nil {
			return nil, err
		}
		if every <= 0 {
			continue
		}
		args := crawlArgs{Source: src.Name}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{ID: "crawl-" + src.Name, RunOnStart: true}))
	}
	return river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:       map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:      workers,
		PeriodicJobs: periodic,
		Logger:       log.With("component", "river"),
	})
}

// serve is `almanac serve`: the portal, the GraphQL API and scheduled
// crawls, until ctx ends. auth says who makes an API request; nil makes
// every request anonymous (reads only).
func serve(ctx context.Context, cfg *Config, log *slog.Logger, auth func(*http.Request) (catalog.Principal, bool)) error {
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := newCrawler(st, log, reg)

	sched, err := newScheduler(pool, cfg, c, log)
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	if err := sched.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := sched.Stop(stopCtx); err != nil {
			log.Warn("job queue did not stop cleanly", "error", err)
		}
	}()

	idx, err := search.Open(ctx, cfg.Search.IndexDir, st, search.Options{Logger: log.With("component", "search")})
	if err != nil {
		return err
	}
	defer idx.Close()
	go func() {
		// Follow the change log until shutdown.
		if err := idx.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("search index stopped following the catalog", "error", err)
		}
	}()

	// The lineage graph, in memory, following the change log.
	lg := lineage.NewGraph()
	follower := lineage.NewFollower(st, lg, log.With("component", "lineage"))
	if err := follower.Load(ctx); err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	go func() {
		if err := follower.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("lineage graph stopped following the catalog", "error", err)
		}
	}()

	srv, err := ui.New(ui.Options{
		Store:    st,
		Search:   idx,
		Lineage:  lg,
		Logger:   log,
		Registry: reg,
		Ready: func(ctx context.Context) error {
			if err := pool.Ping(ctx); err != nil {
				return fmt.Errorf("database unreachable: %w", err)
			}
			return migrations.Check(ctx, pool)
		},
	})
	if err != nil {
		return err
	}
	api := graph.NewHandler(graph.Options{Store: st, Search: idx, Lineage: follower, Logger: log, Authenticate: auth})
	mux := http.NewServeMux()
	mux.Handle("GET /graphql", api)
	mux.Handle("POST /graphql", api)
	mux.Handle("GET /graphql/assets/", api) // GraphiQL's scripts and stylesheets
	// Marquez-compatible lineage reads, for tools written for Marquez.
	reader := olapi.NewReader(lg, st)
	mux.Handle("GET /api/v1/lineage", reader.GetLineage())
	mux.Handle("GET /api/v1/column-lineage", reader.GetColumnLineage())
	// The OpenLineage endpoint Airflow, Spark and dbt post to: only with a
	// token, or when anonymous posting is configured explicitly.
	if cfg.OpenLineage.Enabled() {
		retention, err := cfg.OpenLineage.RetentionDuration()
		if err != nil {
			return err
		}
		rc := olapi.NewReceiver(st, olapi.Config{Token: cfg.OpenLineage.Token, Retention: retention, Logger: log.With("component", "openlineage")})
		go func() {
			if err := rc.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
				log.Error("openlineage worker stopped", "error", err)
			}
		}()
		mux.Handle("POST /api/v1/lineage", rc.PostLineage())
		mux.Handle("POST /api/v1/lineage/batch", rc.PostBatch())
	} else {
		disabled := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "the OpenLineage endpoint is off: set openlineage.token (or openlineage.anonymous: true) in the configuration", http.StatusForbidden)
		})
		mux.Handle("POST /api/v1/lineage", disabled)
		mux.Handle("POST /api/v1/lineage/batch", disabled)
	}
	mux.Handle("/", srv.Handler())
	return listenAndServe(ctx, cfg.Listen, mux, log)
}

// listenAndServe serves until ctx ends, then shuts down gracefully.
func listenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// reindex is `almanac reindex`: rebuild the search index from the catalog,
// without reading the old one, which may be damaged.
func reindex(ctx context.Context, cfg *Config, log *slog.Logger) error {
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	idx, err := search.Create(ctx, cfg.Search.IndexDir, st, search.Options{Logger: log})
	if err != nil {
		return err
	}
	return idx.Close()
}
