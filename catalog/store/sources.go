package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file records the configured sources (sources).

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
