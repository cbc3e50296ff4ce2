// Package migrations owns Almanac's database schema: numbered SQL files
// embedded in the binary and applied by golang-migrate, followed by the
// migrations of the River job queue, all under one PostgreSQL advisory lock
// so that any number of replicas can start at once.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"sync"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// lockKey is the advisory lock held while migrating ("almanac" in ASCII).
const lockKey = 0x616c6d616e6163

// Apply brings the database up to date: Almanac's migrations, then River's.
// Concurrent callers wait for each other on an advisory lock. A database
// one migration ahead of this binary (a newer release migrated it) is left
// as it is; one further ahead is refused.
func Apply(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(lockKey)) //nolint:errcheck // the lock goes with the session anyway

	if err := applyOwn(pool); err != nil {
		return err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

func applyOwn(pool *pgxpool.Pool) error {
	m, err := newMigrate(pool)
	if err != nil {
		return err
	}
	defer m.Close()
	// During a rolling upgrade the new binary migrates first; the old one,
	// restarted meanwhile, runs on the schema one migration ahead of it.
	version, dirty, err := m.Version()
	if err != nil && !errors.Is(err, migrate.ErrNilVersion) {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if err == nil && int(version) > Latest() {
		return ahead(int(version), dirty)
	}
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func newMigrate(pool *pgxpool.Pool) (*migrate.Migrate, error) {
	src, err := iofs.New(files, ".")
	if err != nil {
		return nil, fmt.Errorf("migrate: read embedded migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	drv, err := migratepgx.WithInstance(db, &migratepgx.Config{})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return m, nil
}

// Files returns the embedded migration files, so that a test harness can
// tell by their content when a migrated template database is out of date.
func Files() fs.FS { return files }

// Latest is the number of the newest embedded migration.
func Latest() int { return latest() }

// latest reads the embedded files once: Check, which /readyz calls, needs
// the number every time.
var latest = sync.OnceValue(func() int {
	n := 0
	re := regexp.MustCompile(`^(\d+)_.*\.up\.sql$`)
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		if m := re.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.Atoi(m[1])
			n = max(n, v)
		}
	}
	return n
})

// Check reports whether the database is at the newest migration (or one
// newer, applied by the next release during a rolling upgrade) and not
// left dirty by a failed one. /readyz uses it.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	var (
		version int
		dirty   bool
	)
	err := pool.QueryRow(ctx, "SELECT version, dirty FROM schema_migrations LIMIT 1").Scan(&version, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return errors.New("no migrations applied")
	}
	if err != nil {
		return fmt.Errorf("read migration version: %w", err)
	}
	if dirty {
		return fmt.Errorf("migration %d failed half-way (dirty)", version)
	}
	if want := Latest(); version > want {
		return ahead(version, false)
	} else if version != want {
		return fmt.Errorf("schema at migration %d, binary expects %d", version, want)
	}
	return nil
}

// ahead says whether this binary may run on a schema at migration
// version, newer than its own: migrations are backward compatible for
// one version (docs/operations.md), so the binary of the previous release
// keeps serving while a rolling upgrade replaces it; two versions back it
// must not.
func ahead(version int, dirty bool) error {
	switch {
	case dirty:
		return fmt.Errorf("migration %d, newer than this binary (%d), failed half-way (dirty)", version, Latest())
	case version > Latest()+1:
		return fmt.Errorf("schema at migration %d is more than one migration ahead of this binary (%d): upgrade the binary", version, Latest())
	}
	return nil
}
