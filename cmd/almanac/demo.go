package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/crawl"
	"almanac/catalog/demo"
	"almanac/catalog/pgcluster"
	"almanac/catalog/slo"
	"almanac/cmd/almanac/config"
)

// runDemo is `almanac demo`, what `make run` starts: with no database
// configured it runs a private PostgreSQL cluster under ./.almanac, builds
// the demo warehouse in it once, crawls it and serves the portal. Ctrl-C
// stops the server and then the cluster. It listens only on a loopback
// address unless forced: anyone who reaches the demo edits as its user.
//
// With reset it starts afresh: it drops the demo's catalog and warehouse
// databases and its search index first, so that the crawl, the teams,
// the replayed OpenLineage events and the checks are made anew. Only the
// private cluster's catalog is dropped: with database_url set, reset is
// refused rather than drop a configured catalog.
func runDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, force, reset bool) error {
	if !loopback(cfg.Listen) {
		if !force {
			return fmt.Errorf("demo: will not listen on %s: the demo lets anyone who reaches it edit the catalog and post lineage without a login; "+
				"listen on 127.0.0.1 or localhost, or pass -force to serve it there anyway", cfg.Listen)
		}
		log.Warn("the demo listens on a non-loopback address: anyone who reaches it can edit the catalog", "listen", cfg.Listen)
	}
	if reset && cfg.DatabaseURL != "" {
		return fmt.Errorf("demo -reset: database_url is set: will not drop a configured catalog; drop its database and %q yourself, or unset database_url to reset the private demo", "almanac_demo_warehouse")
	}
	adminURL := cfg.DatabaseURL
	warehouseDB := "almanac_demo_warehouse"
	if cfg.DatabaseURL == "" {
		if _, err := pgcluster.EnsureInstalled(ctx, log); err != nil {
			return err
		}
		cluster, err := pgcluster.Start(ctx, ".almanac/pg", log)
		if err != nil {
			return err
		}
		defer func() {
			if err := cluster.Stop(context.WithoutCancel(ctx)); err != nil {
				log.Error("stop private PostgreSQL", "err", err)
			} else {
				log.Info("private PostgreSQL stopped")
			}
		}()
		// Usage: the warehouse's statement statistics need the extension
		// preloaded (see demo.RunWorkload).
		if cluster, err = demo.PreloadStatements(ctx, cluster, ".almanac/pg", log); err != nil {
			return err
		}
		adminURL = cluster.URL("postgres")
		cfg.DatabaseURL = cluster.URL("almanac")
		warehouseDB = "warehouse"
		if reset {
			if err := demo.Reset(ctx, adminURL, []string{"almanac", warehouseDB}, cfg.Search.IndexDir, log); err != nil {
				return err
			}
		}
		if _, err := demo.EnsureDatabase(ctx, adminURL, "almanac"); err != nil {
			return err
		}
	}
	whURL, err := demo.EnsureWarehouse(ctx, adminURL, warehouseDB, log)
	if err != nil {
		return err
	}
	return serveDemo(ctx, cfg, log, whURL)
}

// serveDemo adds the demo warehouse at whURL to the configuration as the
// source "demo", with the demo's dbt project, checks and SLOs, opens the
// OpenLineage endpoint without a token unless one is configured, opens
// the catalog, builds the demo in it (demo.Build) and serves it. The
// README's GraphQL examples name what this catalog holds;
// TestREADMEExamplesOnDemo keeps them in step.
func serveDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, whURL string) error {
	if !slices.ContainsFunc(cfg.Sources, func(s config.SourceConfig) bool { return s.Name == demo.WarehouseSource }) {
		cfg.Sources = append(cfg.Sources, config.SourceConfig{Name: demo.WarehouseSource, Type: "postgres", URL: whURL, Namespace: demo.Namespace})
	}
	// The demo accepts OpenLineage events without a token, as Marquez's
	// quickstart does: it listens on a loopback address and answers only
	// requests for localhost (or public_url).
	if cfg.OpenLineage.Token == "" {
		cfg.OpenLineage.Anonymous = true
	}
	whCfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		return fmt.Errorf("demo warehouse url: %w", err)
	}
	// A dbt project over the warehouse, harvested after it: beside the
	// search index, under .almanac on `make run`.
	dbtDir := filepath.Join(filepath.Dir(cfg.Search.IndexDir), "demo-dbt")
	if err := demo.WriteDBT(dbtDir, time.Now()); err != nil {
		return err
	}
	if !slices.ContainsFunc(cfg.Sources, func(s config.SourceConfig) bool { return s.Name == demo.DBTSource }) {
		cfg.Sources = append(cfg.Sources, config.SourceConfig{Name: demo.DBTSource, Type: "dbt", Paths: []string{dbtDir},
			Namespace: demo.Namespace, Database: whCfg.Database})
	}
	sources, err := crawlSources(cfg)
	if err != nil {
		return err
	}
	// SQL checks (one failing) and SLOs (one breached, one burning its
	// budget), as if configured, leaving out any whose name the
	// configuration already uses.
	checks, slos, err := demo.Quality(whURL)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if !slices.ContainsFunc(cfg.RunChecks, func(x crawl.Check) bool { return x.Name == c.Name }) {
			cfg.RunChecks = append(cfg.RunChecks, c)
		}
	}
	for _, s := range slos {
		if !slices.ContainsFunc(cfg.RunSLOs, func(x slo.SLO) bool { return x.Name == s.Name }) {
			cfg.RunSLOs = append(cfg.RunSLOs, s)
		}
	}
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	wh := sources[slices.IndexFunc(sources, func(s crawl.Source) bool { return s.Name == demo.WarehouseSource })]
	dbt := sources[slices.IndexFunc(sources, func(s crawl.Source) bool { return s.Name == demo.DBTSource })]
	if err := demo.Build(ctx, st, crawl.NewRunner(st, log, nil), wh, dbt, whURL, time.Now(), log); err != nil {
		return err
	}
	// The demo is a local playground: its API treats every request as the
	// editor "demo", so the GraphQL mutations can be tried in GraphiQL.
	return serve(ctx, cfg, st, log, io.Discard, "demo")
}

// loopback reports whether addr, a host:port to listen on, is reachable
// only from this machine: localhost or a loopback IP. An empty host
// (":8080") listens on every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
