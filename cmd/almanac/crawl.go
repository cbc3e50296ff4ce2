package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/store"
	"almanac/lineage/sqllineage"
	"almanac/migrations"
)

// harvester returns the crawler of a configured source.
func harvester(src SourceConfig) (func(context.Context) (catalog.Harvest, error), error) {
	switch src.Type {
	case "postgres":
		url, err := src.ConnURL()
		if err != nil {
			return nil, err
		}
		cfg := postgres.Config{
			Source:    src.Provenance(),
			URL:       url,
			Databases: src.Databases,
			Namespace: src.Namespace,
			Include:   src.Include,
			Exclude:   src.Exclude,
		}
		return func(ctx context.Context) (catalog.Harvest, error) {
			h, err := postgres.Crawl(ctx, cfg)
			// Views and materialized views become jobs reading the
			// relations their SQL names.
			return sqllineage.ViewLineage(h), err
		}, nil
	case "dbt":
		cfg := dbt.Config{
			Source:       src.Provenance(),
			TargetDirs:   src.Paths,
			Namespace:    src.Namespace,
			Database:     src.Database,
			Teams:        src.Teams,
			JobNamespace: src.JobNamespace,
		}
		return func(ctx context.Context) (catalog.Harvest, error) { return dbt.Crawl(ctx, cfg) }, nil
	case "delta":
		cfg := delta.Config{Source: src.Provenance(), Roots: src.Paths, Namespace: src.Namespace}
		return func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, cfg) }, nil
	}
	return nil, fmt.Errorf("source %q: unknown type %q", src.Name, src.Type)
}

// crawler runs crawls and records their metrics.
type crawler struct {
	store    *store.Store
	log      *slog.Logger
	duration *prometheus.HistogramVec
	datasets *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

func newCrawler(st *store.Store, log *slog.Logger, reg prometheus.Registerer) *crawler {
	c := &crawler{
		store: st,
		log:   log,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "almanac_crawl_duration_seconds",
			Help:    "Duration of crawls, harvest and ingest, by source and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}, []string{"source", "status"}),
		datasets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "almanac_crawl_datasets_total",
			Help: "Datasets handled by crawls, by source and outcome (created, updated, unchanged, removed, restored).",
		}, []string{"source", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "almanac_crawl_errors_total",
			Help: "Objects that crawls could not read, by source.",
		}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(c.duration, c.datasets, c.errors)
	}
	return c
}

// crawl crawls one source now and records the run.
func (c *crawler) crawl(ctx context.Context, src SourceConfig) (catalog.CrawlRun, error) {
	source := src.Provenance()
	h, err := harvester(src)
	if err != nil {
		return catalog.CrawlRun{}, err
	}
	c.log.Info("crawl started", "source", source)
	run, err := c.store.Crawl(ctx, source, h)
	c.duration.WithLabelValues(source, string(run.Status)).Observe(run.Duration().Seconds())
	for outcome, n := range map[string]int{
		"created": run.Counts.Created, "updated": run.Counts.Updated, "unchanged": run.Counts.Unchanged,
		"removed": run.Counts.Removed, "restored": run.Counts.Restored,
	} {
		c.datasets.WithLabelValues(source, outcome).Add(float64(n))
	}
	c.errors.WithLabelValues(source).Add(float64(len(run.Errors)))
	for _, e := range run.Errors {
		c.log.Warn("crawl error", "source", source, "object", e.Object, "error", e.Message)
	}
	c.log.Info("crawl finished", "source", source, "run", run.ID, "status", run.Status,
		"duration", run.Duration().Round(1e6), "seen", run.Counts.Seen, "created", run.Counts.Created,
		"updated", run.Counts.Updated, "unchanged", run.Counts.Unchanged, "removed", run.Counts.Removed,
		"restored", run.Counts.Restored, "errors", len(run.Errors))
	return run, err
}

// openCatalog connects to the catalog database, brings its schema up to
// date and records the configured sources in it.
func openCatalog(ctx context.Context, cfg *Config) (*pgxpool.Pool, *store.Store, error) {
	pool, err := connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if err := migrations.Apply(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	st := store.New(pool)
	for _, src := range cfg.Sources {
		err := st.RegisterSource(ctx, store.Source{Name: src.Provenance(), Type: src.Type, Namespace: src.Namespace, Schedule: src.Schedule})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
	}
	return pool, st, nil
}

// crawlNow is `almanac crawl [source…]`.
func crawlNow(ctx context.Context, cfg *Config, log *slog.Logger, names []string, out io.Writer) error {
	var todo []SourceConfig
	for _, n := range names {
		i := slices.IndexFunc(cfg.Sources, func(s SourceConfig) bool { return s.Name == n || s.Provenance() == n })
		if i < 0 {
			return fmt.Errorf("no source %q in the configuration (have: %s)", n, sourceNames(cfg))
		}
		todo = append(todo, cfg.Sources[i])
	}
	if len(names) == 0 {
		todo = cfg.Sources
	}
	if len(todo) == 0 {
		return errors.New("no sources configured: add a sources list to the configuration file")
	}
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	c := newCrawler(st, log, nil)
	var failed []string
	for _, src := range todo {
		run, err := c.crawl(ctx, src)
		fmt.Fprintf(out, "%s: %s in %s: %d seen, %d created, %d updated, %d unchanged, %d removed, %d restored, %d errors\n",
			src.Provenance(), run.Status, run.Duration().Round(1e6), run.Counts.Seen, run.Counts.Created, run.Counts.Updated,
			run.Counts.Unchanged, run.Counts.Removed, run.Counts.Restored, len(run.Errors))
		for _, e := range run.Errors {
			fmt.Fprintf(out, "  %s: %s\n", e.Object, e.Message)
		}
		if err != nil {
			failed = append(failed, src.Provenance())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("crawl failed for %s", strings.Join(failed, ", "))
	}
	return nil
}

func sourceNames(cfg *Config) string {
	var names []string
	for _, s := range cfg.Sources {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
