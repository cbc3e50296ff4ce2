package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/crawl"
	"almanac/catalog/pgcluster"
	"almanac/cmd/almanac/config"
)

// warehouseSQL builds the demo warehouse: an e-commerce analytics
// warehouse over raw, staging, marts, finance and ops schemas.
//
//go:embed demo/warehouse.sql
var warehouseSQL string

// demoNamespace is the OpenLineage namespace the demo warehouse is
// catalogued under, fixed so that it does not follow the private
// cluster's port.
const demoNamespace = "postgres://warehouse.demo:5432"

// demo is `almanac demo`, what `make run` starts: with no database
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
func demo(ctx context.Context, cfg *config.Config, log *slog.Logger, force, reset bool) error {
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
		// preloaded (see runDemoWorkload).
		if cluster, err = preloadStatements(ctx, cluster, ".almanac/pg", log); err != nil {
			return err
		}
		adminURL = cluster.URL("postgres")
		cfg.DatabaseURL = cluster.URL("almanac")
		warehouseDB = "warehouse"
		if reset {
			if err := resetDemo(ctx, adminURL, []string{"almanac", warehouseDB}, cfg.Search.IndexDir, log); err != nil {
				return err
			}
		}
		if _, err := ensureDatabase(ctx, adminURL, "almanac"); err != nil {
			return err
		}
	}
	created, err := ensureDatabase(ctx, adminURL, warehouseDB)
	if err != nil {
		return err
	}
	whURL, err := withDatabase(adminURL, warehouseDB)
	if err != nil {
		return err
	}
	if !created {
		// A warehouse an earlier version of the script built lacks what
		// the README's examples name: build it again.
		built, err := warehouseBuiltFrom(ctx, whURL)
		if err != nil {
			return err
		}
		if built != warehouseVersion() {
			log.Info("rebuilding demo warehouse: the demo script changed", "database", warehouseDB)
			if err := dropDatabase(ctx, adminURL, warehouseDB); err != nil {
				return fmt.Errorf("drop outdated demo warehouse: %w", err)
			}
			if created, err = ensureDatabase(ctx, adminURL, warehouseDB); err != nil {
				return err
			}
		}
	}
	if created {
		log.Info("building demo warehouse", "database", warehouseDB)
		if err := loadWarehouse(ctx, whURL); err != nil {
			if derr := dropDatabase(ctx, adminURL, warehouseDB); derr != nil {
				log.Error("drop half-built demo warehouse", "error", derr)
			}
			return err
		}
	}
	return serveDemo(ctx, cfg, log, whURL)
}

// serveDemo adds the demo warehouse at whURL to the configuration as the
// source "demo", opens the OpenLineage endpoint without a token unless one
// is configured, opens the catalog, crawls the warehouse into it and
// serves it. The README's GraphQL examples name what this catalog holds;
// TestREADMEExamplesOnDemo keeps them in step.
func serveDemo(ctx context.Context, cfg *config.Config, log *slog.Logger, whURL string) error {
	if !slices.ContainsFunc(cfg.Sources, func(s config.SourceConfig) bool { return s.Name == "demo" }) {
		cfg.Sources = append(cfg.Sources, config.SourceConfig{Name: "demo", Type: "postgres", URL: whURL, Namespace: demoNamespace})
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
	if err := writeDemoDBT(dbtDir, time.Now()); err != nil {
		return err
	}
	if !slices.ContainsFunc(cfg.Sources, func(s config.SourceConfig) bool { return s.Name == demoDBTSource }) {
		cfg.Sources = append(cfg.Sources, config.SourceConfig{Name: demoDBTSource, Type: "dbt", Paths: []string{dbtDir},
			Namespace: demoNamespace, Database: whCfg.Database})
	}
	sources, err := crawlSources(cfg)
	if err != nil {
		return err
	}
	// SQL checks (one failing) and SLOs (one breached, one burning its
	// budget), as if configured.
	if err := addDemoQuality(cfg, whURL, whCfg.Database); err != nil {
		return err
	}
	i := slices.IndexFunc(sources, func(s crawl.Source) bool { return s.Name == "demo" })
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	runDemoWorkload(ctx, whURL, log)
	runner := crawl.NewRunner(st, log, nil)
	if _, err := runner.Crawl(ctx, sources[i]); err != nil {
		return err
	}
	// A warehouse built now changes its schema after the first crawl, and
	// is crawled again: the catalog keeps both versions.
	if evolved, err := evolveWarehouse(ctx, whURL); err != nil {
		return err
	} else if evolved {
		if _, err := runner.Crawl(ctx, sources[i]); err != nil {
			return err
		}
	}
	j := slices.IndexFunc(sources, func(s crawl.Source) bool { return s.Name == demoDBTSource })
	if _, err := runner.Crawl(ctx, sources[j]); err != nil {
		return err
	}
	if err := seedTeams(ctx, st, whCfg.Database); err != nil {
		return err
	}
	// The OpenLineage worker serve starts derives the replayed runs.
	if n, err := replayDemoLineage(ctx, st, time.Now(), whCfg.Database); err != nil {
		return err
	} else if n > 0 {
		log.Info("replayed the demo Airflow DAG's OpenLineage events", "events", n, "days", demoLineageDays)
		// A fresh demo catalog: give its checks a history too.
		checks, _, err := demoQuality(whURL, whCfg.Database)
		if err != nil {
			return err
		}
		if err := backfillChecks(ctx, st, checks, time.Now()); err != nil {
			return err
		}
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

// resetDemo drops the private demo's catalog and warehouse databases dbs
// and removes its search index directory.
func resetDemo(ctx context.Context, adminURL string, dbs []string, indexDir string, log *slog.Logger) error {
	for _, db := range dbs {
		if err := dropDatabase(ctx, adminURL, db); err != nil {
			return fmt.Errorf("demo -reset: drop database %s: %w", db, err)
		}
	}
	if err := os.RemoveAll(indexDir); err != nil {
		return fmt.Errorf("demo -reset: remove search index: %w", err)
	}
	log.Info("demo reset: dropped its catalog, warehouse and search index", "index_dir", indexDir)
	return nil
}

func withDatabase(u, db string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	p.Path = "/" + db
	return p.String(), nil
}

// ensureDatabase creates a database unless it exists, and says whether it
// created it.
func ensureDatabase(ctx context.Context, adminURL, db string) (bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, fmt.Errorf("connect to create database %s: %w", db, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&exists); err != nil {
		return false, fmt.Errorf("look for database %s: %w", db, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return false, fmt.Errorf("create database %s: %w", db, err)
	}
	return true, nil
}

func dropDatabase(ctx context.Context, adminURL, db string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	return err
}

// warehouseVersion names the demo script a warehouse is built from; the
// database's comment keeps it (see loadWarehouse).
func warehouseVersion() string {
	return fmt.Sprintf("Almanac demo warehouse, script sha256 %x", sha256.Sum256([]byte(warehouseSQL)))
}

// warehouseBuiltFrom returns the warehouseVersion the database at url was
// built from, "" when it has none.
func warehouseBuiltFrom(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connect to demo warehouse: %w", err)
	}
	defer conn.Close(ctx)
	var v string
	err = conn.QueryRow(ctx, `
		SELECT coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname = current_database()`).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("read demo warehouse version: %w", err)
	}
	return v, nil
}

// loadWarehouse runs the demo script in one transaction and records its
// warehouseVersion as the database's comment.
func loadWarehouse(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to demo warehouse: %w", err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, warehouseSQL); err != nil {
			return err
		}
		// COMMENT takes no parameters: the server quotes the version.
		var comment string
		err := tx.QueryRow(ctx, `SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), $1::text)`, warehouseVersion()).Scan(&comment)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, comment)
		return err
	})
	if err != nil {
		return fmt.Errorf("build demo warehouse: %w", err)
	}
	return nil
}
