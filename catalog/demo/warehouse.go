package demo

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/jackc/pgx/v5"
)

// warehouseSQL builds the demo warehouse: an e-commerce analytics
// warehouse over raw, staging, marts, finance and ops schemas.
//
//go:embed data/warehouse.sql
var warehouseSQL string

// EnsureWarehouse makes the database db, reached through the server at
// adminURL, hold the demo warehouse, and returns its URL. It builds the
// warehouse once; a warehouse an earlier version of the script built is
// dropped and built again, since it lacks what the README's examples
// name. A half-built warehouse is dropped.
func EnsureWarehouse(ctx context.Context, adminURL, db string, log *slog.Logger) (string, error) {
	created, err := EnsureDatabase(ctx, adminURL, db)
	if err != nil {
		return "", err
	}
	whURL, err := WithDatabase(adminURL, db)
	if err != nil {
		return "", err
	}
	if !created {
		built, err := WarehouseBuiltFrom(ctx, whURL)
		if err != nil {
			return "", err
		}
		if built != WarehouseVersion() {
			log.Info("rebuilding demo warehouse: the demo script changed", "database", db)
			if err := DropDatabase(ctx, adminURL, db); err != nil {
				return "", fmt.Errorf("drop outdated demo warehouse: %w", err)
			}
			if created, err = EnsureDatabase(ctx, adminURL, db); err != nil {
				return "", err
			}
		}
	}
	if created {
		log.Info("building demo warehouse", "database", db)
		if err := LoadWarehouse(ctx, whURL); err != nil {
			if derr := DropDatabase(ctx, adminURL, db); derr != nil {
				log.Error("drop half-built demo warehouse", "error", derr)
			}
			return "", err
		}
	}
	return whURL, nil
}

// Reset drops the private demo's catalog and warehouse databases dbs
// and removes its search index directory, so that the demo starts
// afresh.
func Reset(ctx context.Context, adminURL string, dbs []string, indexDir string, log *slog.Logger) error {
	for _, db := range dbs {
		if err := DropDatabase(ctx, adminURL, db); err != nil {
			return fmt.Errorf("demo -reset: drop database %s: %w", db, err)
		}
	}
	if err := os.RemoveAll(indexDir); err != nil {
		return fmt.Errorf("demo -reset: remove search index: %w", err)
	}
	log.Info("demo reset: dropped its catalog, warehouse and search index", "index_dir", indexDir)
	return nil
}

// WithDatabase returns the database URL u naming database db instead.
func WithDatabase(u, db string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("database url: %w", err)
	}
	p.Path = "/" + db
	return p.String(), nil
}

// EnsureDatabase creates a database unless it exists, and says whether it
// created it.
func EnsureDatabase(ctx context.Context, adminURL, db string) (bool, error) {
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

// DropDatabase drops the database db, if it exists, closing its
// connections.
func DropDatabase(ctx context.Context, adminURL, db string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)")
	return err
}

// WarehouseVersion names the demo script a warehouse is built from; the
// database's comment keeps it (see LoadWarehouse).
func WarehouseVersion() string {
	return fmt.Sprintf("Almanac demo warehouse, script sha256 %x", sha256.Sum256([]byte(warehouseSQL)))
}

// WarehouseBuiltFrom returns the WarehouseVersion the database at url was
// built from, "" when it has none.
func WarehouseBuiltFrom(ctx context.Context, url string) (string, error) {
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

// LoadWarehouse runs the demo script in one transaction and records its
// WarehouseVersion as the database's comment.
func LoadWarehouse(ctx context.Context, url string) error {
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
		err := tx.QueryRow(ctx, `SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), $1::text)`, WarehouseVersion()).Scan(&comment)
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
