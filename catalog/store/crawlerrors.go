package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// CrawlWarning is an error that a source's last crawl met on one dataset,
// such as view SQL the lineage parser could not resolve, with the run
// that recorded it.
type CrawlWarning struct {
	RunID     int64
	Source    string
	StartedAt time.Time
	Status    catalog.CrawlStatus
	Message   string
}

// DatasetCrawlWarnings returns the errors naming the dataset k (a
// CrawlError whose Object is k.String()) in the latest ingested run of
// each source, by source and then in the order the run met them. Only
// runs that wrote their harvest count (succeeded or partial): a running
// crawl has recorded nothing yet, and a failed one left the dataset as
// the run before described it, warnings included.
func (s *Store) DatasetCrawlWarnings(ctx context.Context, k catalog.Key) ([]CrawlWarning, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.id, r.source, r.started_at, r.status, e.message
		FROM (
			SELECT DISTINCT ON (source) id, source, started_at, status, errors
			FROM crawl_runs WHERE status IN ('succeeded', 'partial')
			ORDER BY source, started_at DESC, id DESC
		) AS r
		CROSS JOIN LATERAL ROWS FROM (jsonb_to_recordset(r.errors) AS (object text, message text))
			WITH ORDINALITY AS e(object, message, n)
		WHERE e.object = $1
		ORDER BY r.source, e.n`, k.String())
	if err != nil {
		return nil, fmt.Errorf("crawl warnings of %s: %w", k, err)
	}
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (CrawlWarning, error) {
		var w CrawlWarning
		err := row.Scan(&w.RunID, &w.Source, &w.StartedAt, &w.Status, &w.Message)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("crawl warnings of %s: %w", k, err)
	}
	return ws, nil
}
