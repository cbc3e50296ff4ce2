package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the history of dataset metrics: row counts, sizes and
// column profiles as runs observe them.

// recordMetrics appends observations to the history of their datasets in
// one statement; an observation already recorded (a duplicate delivery)
// is skipped. Invalid observations are skipped and added to errs.
func (s *Store) recordMetrics(ctx context.Context, source string, ms []catalog.DatasetMetrics, errs *[]error) error {
	var (
		nss, names, dirs, runs, jns, jnames, cols []string
		at                                        []time.Time
		rowCounts, bytes, files                   []*int64
	)
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			*errs = append(*errs, err)
			continue
		}
		c, err := json.Marshal(m.Columns)
		if err != nil {
			*errs = append(*errs, fmt.Errorf("metrics of %s: columns: %v: %w", m.Dataset, err, catalog.ErrInvalid))
			continue
		}
		if m.Columns == nil {
			c = []byte("{}")
		}
		nss, names, at, dirs = append(nss, m.Dataset.Namespace), append(names, m.Dataset.Name), append(at, m.ObservedAt), append(dirs, m.Direction)
		runs, jns, jnames = append(runs, m.RunID), append(jns, m.Job.Namespace), append(jnames, m.Job.Name)
		rowCounts, bytes, files, cols = append(rowCounts, m.RowCount), append(bytes, m.Bytes), append(files, m.FileCount), append(cols, string(c))
	}
	if len(nss) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO dataset_metrics (source, namespace, name, observed_at, direction, run_id, job_namespace, job_name,
		                             row_count, bytes, file_count, column_metrics, recorded_at)
		SELECT $1, x.*, $13 FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[],
		                           $9::bigint[], $10::bigint[], $11::bigint[], $12::jsonb[]) AS x
		ON CONFLICT DO NOTHING`,
		source, nss, names, at, dirs, runs, jns, jnames, rowCounts, bytes, files, cols, s.now())
	if err != nil {
		return fmt.Errorf("record %d dataset metrics of %s: %w", len(nss), source, translate(err))
	}
	return nil
}

const metricsColumns = `source, observed_at, direction, run_id, job_namespace, job_name, row_count, bytes, file_count, column_metrics, recorded_at`

func scanMetrics(key catalog.Key) pgx.RowToFunc[catalog.Sourced[catalog.DatasetMetrics]] {
	return func(row pgx.CollectableRow) (catalog.Sourced[catalog.DatasetMetrics], error) {
		var m catalog.Sourced[catalog.DatasetMetrics]
		v := &m.Value
		err := row.Scan(&m.Source, &v.ObservedAt, &v.Direction, &v.RunID, &v.Job.Namespace, &v.Job.Name,
			&v.RowCount, &v.Bytes, &v.FileCount, &v.Columns, &m.UpdatedAt)
		v.Dataset = key
		if len(v.Columns) == 0 {
			v.Columns = nil
		}
		return m, err
	}
}

// LatestMetrics returns the newest metrics observation of a dataset from
// any source; of one event's observations, what a run wrote comes before
// what it read. A dataset without observations is catalog.ErrNotFound.
func (s *Store) LatestMetrics(ctx context.Context, key catalog.Key) (catalog.Sourced[catalog.DatasetMetrics], error) {
	ms, err := s.MetricsHistory(ctx, key, 1)
	if err != nil {
		return catalog.Sourced[catalog.DatasetMetrics]{}, err
	}
	if len(ms) == 0 {
		return catalog.Sourced[catalog.DatasetMetrics]{}, fmt.Errorf("metrics of dataset %s: %w", key, catalog.ErrNotFound)
	}
	return ms[0], nil
}

// MetricsHistory returns a dataset's metrics observations, newest first.
func (s *Store) MetricsHistory(ctx context.Context, key catalog.Key, limit int) ([]catalog.Sourced[catalog.DatasetMetrics], error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+metricsColumns+` FROM dataset_metrics
		WHERE namespace = $1 AND name = $2
		ORDER BY observed_at DESC, direction DESC, source, run_id, job_namespace, job_name LIMIT $3`, key.Namespace, key.Name, limit)
	if err != nil {
		return nil, fmt.Errorf("metrics of dataset %s: %w", key, err)
	}
	ms, err := pgx.CollectRows(rows, scanMetrics(key))
	if err != nil {
		return nil, fmt.Errorf("metrics of dataset %s: %w", key, err)
	}
	return ms, nil
}

// RowCounts returns the row counts of a dataset's last limit observations
// that counted rows, newest first: the trend of its size.
func (s *Store) RowCounts(ctx context.Context, key catalog.Key, limit int) ([]catalog.RowCount, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT observed_at, row_count, direction, job_namespace, job_name, run_id FROM dataset_metrics
		WHERE namespace = $1 AND name = $2 AND row_count IS NOT NULL
		ORDER BY observed_at DESC, direction DESC, source, run_id, job_namespace, job_name LIMIT $3`, key.Namespace, key.Name, limit)
	if err != nil {
		return nil, fmt.Errorf("row counts of dataset %s: %w", key, err)
	}
	counts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.RowCount, error) {
		var c catalog.RowCount
		err := row.Scan(&c.ObservedAt, &c.Rows, &c.Direction, &c.Job.Namespace, &c.Job.Name, &c.RunID)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("row counts of dataset %s: %w", key, err)
	}
	return counts, nil
}

// PruneMetrics deletes the metrics observations made before t, except the
// newest of each dataset, so that a dataset's page keeps its last known
// size however long ago it was measured. It returns how many it deleted.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM dataset_metrics m WHERE m.observed_at < $1
		AND EXISTS (SELECT 1 FROM dataset_metrics n WHERE n.namespace = m.namespace AND n.name = m.name AND n.observed_at > m.observed_at)`, before)
	if err != nil {
		return 0, fmt.Errorf("prune dataset metrics: %w", err)
	}
	return tag.RowsAffected(), nil
}
