package main

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/url"
	"slices"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/pgcluster"
	"almanac/graph"
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
// stops the server and then the cluster.
func demo(ctx context.Context, cfg *Config, log *slog.Logger) error {
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
				log.Error("stop private PostgreSQL", "error", err)
			} else {
				log.Info("private PostgreSQL stopped")
			}
		}()
		adminURL = cluster.URL("postgres")
		cfg.DatabaseURL = cluster.URL("almanac")
		warehouseDB = "warehouse"
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
	if created {
		log.Info("building demo warehouse", "database", warehouseDB)
		if err := loadWarehouse(ctx, whURL); err != nil {
			if _, derr := dropDatabase(ctx, adminURL, warehouseDB); derr != nil {
				log.Error("drop half-built demo warehouse", "error", derr)
			}
			return err
		}
	}
	if !slices.ContainsFunc(cfg.Sources, func(s SourceConfig) bool { return s.Name == "demo" }) {
		cfg.Sources = append(cfg.Sources, SourceConfig{Name: "demo", Type: "postgres", URL: whURL, Namespace: demoNamespace})
	}
	if err := crawlNow(ctx, cfg, log, []string{"demo"}, discard{}); err != nil {
		return err
	}
	// The demo accepts OpenLineage events without a token, as Marquez's
	// quickstart does: it listens on 127.0.0.1.
	if !cfg.OpenLineage.Enabled() {
		cfg.OpenLineage.Anonymous = "true"
	}
	// The demo is a local playground: its API treats every request as the
	// editor "demo", so the GraphQL mutations can be tried in GraphiQL.
	// It listens on 127.0.0.1 unless told otherwise.
	return serve(ctx, cfg, log, graph.DevAuthenticator("demo"))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

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

func dropDatabase(ctx context.Context, adminURL, db string) (bool, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	return err == nil, err
}

// loadWarehouse runs the demo script in one transaction.
func loadWarehouse(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connect to demo warehouse: %w", err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, warehouseSQL)
		return err
	})
	if err != nil {
		return fmt.Errorf("build demo warehouse: %w", err)
	}
	return nil
}
