package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/crawl"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/store"
	"almanac/cmd/almanac/config"
	"almanac/migrations"
)

// crawlSources converts the configured sources into what the crawl
// runner consumes.
func crawlSources(cfg *config.Config) ([]crawl.Source, error) {
	var out []crawl.Source
	for _, s := range cfg.Sources {
		url := s.URL
		if s.Type == "postgres" || s.Type == "redshift" {
			var err error
			if url, err = s.ConnURL(); err != nil {
				return nil, err
			}
		}
		out = append(out, crawl.Source{
			Name: s.Name, Type: s.Type, URL: url, Databases: s.Databases, Namespace: s.Namespace,
			Include: s.Include, Exclude: s.Exclude, Paths: s.Paths, Database: s.Database, Teams: s.Teams,
			JobNamespace: s.JobNamespace, Token: s.Token, Lineage: s.Lineage,
			S3:       delta.S3{Endpoint: s.S3.Endpoint, Region: s.S3.Region, PathStyle: s.S3.PathStyle},
			Schedule: s.Schedule.Spec, Every: s.Schedule.Every,
		})
	}
	return out, nil
}

// openCatalog connects to the catalog database, brings its schema up to
// date and records the configured sources in it.
func openCatalog(ctx context.Context, cfg *config.Config) (*pgxpool.Pool, *store.Store, error) {
	pool, err := connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	if err := migrations.Apply(ctx, pool); err != nil {
		pool.Close()
		return nil, nil, err
	}
	sources, err := crawlSources(cfg)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	st := store.New(pool)
	for _, src := range sources {
		err := st.RegisterSource(ctx, store.Source{Name: src.Provenance(), Type: src.Type, Namespace: src.Namespace, Schedule: src.Schedule})
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
	}
	return pool, st, nil
}

// crawlNow is `almanac crawl [source…]`.
func crawlNow(ctx context.Context, cfg *config.Config, log *slog.Logger, names []string, out io.Writer) error {
	sources, err := crawlSources(cfg)
	if err != nil {
		return err
	}
	var todo []crawl.Source
	for _, n := range names {
		i := slices.IndexFunc(sources, func(s crawl.Source) bool { return s.Name == n || s.Provenance() == n })
		if i < 0 {
			return fmt.Errorf("no source %q in the configuration (have: %s)", n, sourceNames(cfg))
		}
		todo = append(todo, sources[i])
	}
	if len(names) == 0 {
		todo = sources
	}
	if len(todo) == 0 {
		return errors.New("no sources configured: add a sources list to the configuration file")
	}
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := crawl.NewRunner(st, log, nil)
	if err := r.FailInterrupted(ctx); err != nil {
		return err
	}
	bar := newProgress(out, cfg.Log.Format, log)
	r.OnProgress(func(run catalog.CrawlRun) {
		bar.Set("crawl "+run.Source, "datasets", int64(run.Counts.Seen), int64(run.Counts.Total))
	})
	var failed []string
	for _, src := range todo {
		run, err := r.Crawl(ctx, src)
		bar.Finish()
		if run.ID == 0 { // not started: the error says why
			fmt.Fprintf(out, "%s: not crawled: %v\n", src.Provenance(), err)
			failed = append(failed, src.Provenance())
			continue
		}
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

func sourceNames(cfg *config.Config) string {
	var names []string
	for _, s := range cfg.Sources {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// checkNow is `almanac check [check…]`: it runs the checks now, records
// their results, and prints one line each. It fails when a check left
// out of the configuration has a problem (so that CI catches it, where
// serve would only log it), or a check run did not pass.
func checkNow(ctx context.Context, cfg *config.Config, log *slog.Logger, names []string, out io.Writer) error {
	for _, err := range cfg.CheckProblems {
		fmt.Fprintln(out, err)
	}
	var todo []crawl.Check
	for _, n := range names {
		i := slices.IndexFunc(cfg.RunChecks, func(c crawl.Check) bool { return c.Name == n })
		if i < 0 {
			return fmt.Errorf("no valid check %q in the configuration", n)
		}
		todo = append(todo, cfg.RunChecks[i])
	}
	if len(names) == 0 {
		todo = cfg.RunChecks
	}
	if len(todo) == 0 && len(cfg.CheckProblems) == 0 {
		return errors.New("no checks configured: add a checks list to the configuration file")
	}
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	r := crawl.NewRunner(st, log, nil)
	var failed []string
	for _, c := range todo {
		res, err := r.RunCheck(ctx, c)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s: %s in %s", c.Name, res.Status, res.Duration.Round(time.Millisecond))
		if res.Observed != "" {
			line += ", observed " + res.Observed
		}
		if res.Message != "" {
			line += ": " + res.Message
		}
		fmt.Fprintln(out, line)
		if res.Status != catalog.QualityPass {
			failed = append(failed, c.Name)
		}
	}
	switch {
	case len(failed) > 0:
		return fmt.Errorf("checks not passing: %s", strings.Join(failed, ", "))
	case len(cfg.CheckProblems) > 0:
		return fmt.Errorf("%d checks or SLOs of the configuration have problems", len(cfg.CheckProblems))
	}
	return nil
}
