// Package store is the PostgreSQL store of the catalog: it reads datasets
// with their facts from every source, and it ingests harvests, one
// transaction per batch, recording crawl runs, schema history and the
// change log. Driver errors are translated here into the error kinds of
// package catalog.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
)

// Store reads and writes the catalog in PostgreSQL.
type Store struct {
	pool db
	now  func() time.Time
}

// New returns a store over a migrated database.
func New(pool *pgxpool.Pool) *Store {
	// Times are kept to the microsecond, as PostgreSQL stores them, so that
	// what a write returns equals what a later read finds.
	return &Store{pool: db{pool}, now: func() time.Time { return time.Now().Truncate(time.Microsecond) }}
}

// Pool returns the connection pool, for health checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Ping checks that the catalog database answers; an outage is
// catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping catalog database: %w", Unavailable(err))
	}
	return nil
}

// translate maps driver errors to catalog error kinds.
func translate(err error) error {
	if err := Unavailable(err); errors.Is(err, catalog.ErrUnavailable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return catalog.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrConflict)
		case "22P02", "22001", "23502", "23514": // bad text representation, too long, not null, check
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrInvalid)
		case "22021": // a NUL byte or invalid UTF-8 in text; the server's message names the encoding
			return fmt.Errorf("text contains a NUL character or is not valid UTF-8: %w", catalog.ErrInvalid)
		case "54000": // a value too large to index
			return fmt.Errorf("%s: %w", pgErr.Message, catalog.ErrInvalid)
		}
	}
	return err
}

// Source is a configured source as the catalog knows it.
type Source struct {
	Name      string // provenance, "postgres:warehouse"
	Type      string
	Namespace string
	Schedule  string
	LastRun   *catalog.CrawlRun
}

// RegisterSource records a configured source, so that pages can list
// sources that have never run.
func (s *Store) RegisterSource(ctx context.Context, src Source) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sources (name, type, namespace, schedule) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET type = $2, namespace = $3, schedule = $4, updated_at = now()
		WHERE (sources.type, sources.namespace, sources.schedule) IS DISTINCT FROM ($2, $3, $4)`,
		src.Name, src.Type, src.Namespace, src.Schedule)
	if err != nil {
		return fmt.Errorf("register source %q: %w", src.Name, translate(err))
	}
	return nil
}

// Sources lists the known sources (configured or seen in crawl runs) with
// their latest run.
func (s *Store) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.pool.Query(ctx, `
		WITH names AS (
			SELECT name FROM sources UNION SELECT DISTINCT source FROM crawl_runs
		)
		SELECT n.name, coalesce(s.type, split_part(n.name, ':', 1)), coalesce(s.namespace, ''), coalesce(s.schedule, ''),
		       r.id, r.started_at, r.finished_at, r.status, coalesce(r.counts, '{}'), coalesce(r.errors, '[]')
		FROM names n
		LEFT JOIN sources s ON s.name = n.name
		LEFT JOIN LATERAL (
			SELECT * FROM crawl_runs WHERE source = n.name ORDER BY started_at DESC, id DESC LIMIT 1
		) r ON true
		ORDER BY n.name`)
	if err != nil {
		return nil, fmt.Errorf("list sources: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Source, error) {
		var (
			src Source
			id  *int64
			run catalog.CrawlRun
			st  *string
			at  *time.Time
		)
		err := row.Scan(&src.Name, &src.Type, &src.Namespace, &src.Schedule, &id, &at, &run.FinishedAt, &st, &run.Counts, &run.Errors)
		if err != nil || id == nil {
			return src, err
		}
		run.ID, run.Source, run.StartedAt, run.Status = *id, src.Name, *at, catalog.CrawlStatus(*st)
		src.LastRun = &run
		return src, nil
	})
}

// Changes returns change log entries after seq, oldest first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]catalog.Change, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT seq, entity, entity_id, namespace, name, kind, source, at
		FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read change log after %d: %w", after, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Change, error) {
		var c catalog.Change
		err := row.Scan(&c.Seq, &c.Entity, &c.EntityID, &c.Key.Namespace, &c.Key.Name, &c.Kind, &c.Source, &c.At)
		return c, err
	})
}

// Stats counts what the catalog holds, for the home page and /metrics.
type Stats struct {
	Datasets   int
	Removed    int
	Columns    int
	Namespaces int
	Sources    int
}

// Stats counts live datasets, removed ones, columns, namespaces and sources.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE removed_at IS NULL),
		       count(*) FILTER (WHERE removed_at IS NOT NULL),
		       (SELECT count(DISTINCT (dataset_id, name)) FROM columns),
		       count(DISTINCT namespace),
		       (SELECT count(*) FROM (SELECT name FROM sources UNION SELECT source FROM crawl_runs) s)
		FROM datasets`).Scan(&st.Datasets, &st.Removed, &st.Columns, &st.Namespaces, &st.Sources)
	if err != nil {
		return st, fmt.Errorf("count catalog: %w", err)
	}
	return st, nil
}
