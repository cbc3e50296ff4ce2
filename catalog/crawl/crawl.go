// Package crawl runs crawls: it picks the crawler of a source's type,
// records each run in the catalog with its metrics, and schedules crawls
// as River jobs that run once across replicas. The crawlers themselves
// live below it (crawl/postgres, which reads Redshift too, crawl/dbt,
// crawl/delta, crawl/unitycatalog, crawl/greatexpectations) and only
// return catalog values; this package hands those to the store.
package crawl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/crawl/greatexpectations"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/crawl/unitycatalog"
	"almanac/catalog/store"
)

// Source is what a crawl needs to know of one configured source.
type Source struct {
	Name      string   // configured name, unique among sources
	Type      string   // postgres, redshift, dbt, delta, unitycatalog or great_expectations
	URL       string   // postgres, redshift: where the server is, with its password; unitycatalog: the server
	Token     string   // unitycatalog: the Bearer token
	Lineage   bool     // unitycatalog: read Databricks' table lineage
	Databases []string // postgres, redshift: databases to crawl; empty means the URL's
	Namespace string   // OpenLineage namespace the datasets are keyed under
	Include   []string // postgres: "schema" or "schema.table" globs to crawl
	Exclude   []string // postgres: globs to skip; they win over Include
	Paths     []string // dbt: target directories; delta: roots to search (paths or s3:// URIs); great_expectations: validation results
	S3        delta.S3 // delta: how to reach the object store of s3:// roots
	Database  string   // dbt: replaces the database of every node; great_expectations: put before schema and table
	Teams     []string // dbt: owner names that are teams
	// JobNamespace is a dbt source's namespace for its jobs; empty means
	// dbt.DefaultJobNamespace.
	JobNamespace string
	Schedule     string        // as configured, shown on the sources page
	Every        time.Duration // between two scheduled crawls; 0: on demand only
}

// Provenance returns "<type>:<name>", the provenance recorded on every fact
// the source asserts.
func (s Source) Provenance() string { return s.Type + ":" + s.Name }

// harvester returns the crawler of src's type.
func harvester(src Source) (func(context.Context) (catalog.Harvest, error), error) {
	switch src.Type {
	case "postgres":
		cfg := postgres.Config{
			Source:    src.Provenance(),
			URL:       src.URL,
			Databases: src.Databases,
			Namespace: src.Namespace,
			Include:   src.Include,
			Exclude:   src.Exclude,
		}
		return func(ctx context.Context) (catalog.Harvest, error) { return postgres.Crawl(ctx, cfg) }, nil
	case "redshift":
		cfg := postgres.Config{
			Source:    src.Provenance(),
			URL:       src.URL,
			Databases: src.Databases,
			Namespace: src.Namespace,
			Include:   src.Include,
			Exclude:   src.Exclude,
		}
		return func(ctx context.Context) (catalog.Harvest, error) { return postgres.CrawlRedshift(ctx, cfg) }, nil
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
		cfg := delta.Config{Source: src.Provenance(), Roots: src.Paths, Namespace: src.Namespace, S3: src.S3}
		return func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, cfg) }, nil
	case "unitycatalog":
		cfg := unitycatalog.Config{
			Source:    src.Provenance(),
			URL:       src.URL,
			Token:     src.Token,
			Namespace: src.Namespace,
			Include:   src.Include,
			Exclude:   src.Exclude,
			Lineage:   src.Lineage,
		}
		return func(ctx context.Context) (catalog.Harvest, error) { return unitycatalog.Crawl(ctx, cfg) }, nil
	case "great_expectations":
		cfg := greatexpectations.Config{Source: src.Provenance(), Paths: src.Paths, Namespace: src.Namespace, Database: src.Database}
		return func(ctx context.Context) (catalog.Harvest, error) { return greatexpectations.Crawl(ctx, cfg) }, nil
	}
	return nil, fmt.Errorf("source %q: unknown type %q", src.Name, src.Type)
}

// Runner crawls sources into the catalog, logs each run and counts it in
// its Prometheus collectors.
type Runner struct {
	store    *store.Store
	log      *slog.Logger
	duration *prometheus.HistogramVec
	datasets *prometheus.CounterVec
	errors   *prometheus.CounterVec
	// progress, when set, is called as a crawl's ingest goes.
	progress func(catalog.CrawlRun)
}

// OnProgress makes the runner call f with the run as each crawl goes:
// once its source is read, and after every batch of datasets it ingests
// (see store.Store.CrawlReporting). For `almanac crawl`'s progress bar.
func (r *Runner) OnProgress(f func(catalog.CrawlRun)) { r.progress = f }

// NewRunner returns a runner writing to st. Its collectors are registered
// with reg, unless reg is nil; create one runner per registry.
func NewRunner(st *store.Store, log *slog.Logger, reg prometheus.Registerer) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{
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
		reg.MustRegister(r.duration, r.datasets, r.errors)
	}
	return r
}

// Crawl crawls src now and records the run.
func (r *Runner) Crawl(ctx context.Context, src Source) (catalog.CrawlRun, error) {
	source := src.Provenance()
	h, err := harvester(src)
	if err != nil {
		return catalog.CrawlRun{}, err
	}
	r.log.Info("crawl started", "source", source)
	run, err := r.store.CrawlReporting(ctx, source, h, r.progress)
	if errors.Is(err, store.ErrCrawlRunning) {
		r.log.Info("crawl skipped: another crawl of the source is running", "source", source)
		return run, err
	}
	r.duration.WithLabelValues(source, string(run.Status)).Observe(run.Duration().Seconds())
	for outcome, n := range map[string]int{
		"created": run.Counts.Created, "updated": run.Counts.Updated, "unchanged": run.Counts.Unchanged,
		"removed": run.Counts.Removed, "restored": run.Counts.Restored,
	} {
		r.datasets.WithLabelValues(source, outcome).Add(float64(n))
	}
	r.errors.WithLabelValues(source).Add(float64(len(run.Errors)))
	for _, e := range run.Errors {
		r.log.Warn("crawl error", "source", source, "object", e.Object, "error", e.Message)
	}
	r.log.Info("crawl finished", "source", source, "run", run.ID, "status", run.Status,
		"duration", run.Duration().Round(1e6), "seen", run.Counts.Seen, "created", run.Counts.Created,
		"updated", run.Counts.Updated, "unchanged", run.Counts.Unchanged, "removed", run.Counts.Removed,
		"restored", run.Counts.Restored, "errors", len(run.Errors))
	return run, err
}

// FailInterrupted marks failed the runs that processes now gone left
// running (see store.FailInterruptedRuns), and logs each.
func (r *Runner) FailInterrupted(ctx context.Context) error {
	runs, err := r.store.FailInterruptedRuns(ctx)
	for _, run := range runs {
		r.log.Warn("crawl interrupted: the process crawling the source is gone", "source", run.Source, "run", run.ID, "started", run.StartedAt)
	}
	return err
}

// crawledSince reports whether a crawl of src that started after t
// succeeded (or partly did).
func (r *Runner) crawledSince(ctx context.Context, src Source, t time.Time) (bool, error) {
	runs, err := r.store.CrawlRuns(ctx, src.Provenance(), 0, 10)
	if err != nil {
		return false, err
	}
	for _, run := range runs {
		if run.StartedAt.After(t) && (run.Status == catalog.CrawlSucceeded || run.Status == catalog.CrawlPartial) {
			return true, nil
		}
	}
	return false, nil
}
