package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the history of dataset metrics (dataset_metrics): row
// counts, sizes and column profiles as runs observe them.

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
// what it read. The other observations of its run (a run reports in
// several events, reading and writing) fill in what it does not say, the
// newer first: a COMPLETE event's output statistics keep the column
// profile its START event measured. A dataset without observations is
// catalog.ErrNotFound.
func (s *Store) LatestMetrics(ctx context.Context, key catalog.Key) (catalog.Sourced[catalog.DatasetMetrics], error) {
	rows, err := s.pool.Query(ctx, `
		WITH l AS (
			SELECT * FROM dataset_metrics WHERE namespace = $1 AND name = $2
			ORDER BY `+metricsOrder+` LIMIT 1)
		SELECT `+prefixed("m.", metricsColumns)+` FROM l JOIN dataset_metrics m
		  ON m.namespace = l.namespace AND m.name = l.name AND m.source = l.source AND m.run_id = l.run_id
		 AND (l.run_id <> '' OR (m.observed_at, m.direction, m.job_namespace, m.job_name) = (l.observed_at, l.direction, l.job_namespace, l.job_name))
		ORDER BY `+prefixed("m.", metricsOrder), key.Namespace, key.Name)
	if err != nil {
		return catalog.Sourced[catalog.DatasetMetrics]{}, fmt.Errorf("metrics of dataset %s: %w", key, err)
	}
	ms, err := pgx.CollectRows(rows, scanMetrics(key))
	if err != nil {
		return catalog.Sourced[catalog.DatasetMetrics]{}, fmt.Errorf("metrics of dataset %s: %w", key, err)
	}
	if len(ms) == 0 {
		return catalog.Sourced[catalog.DatasetMetrics]{}, fmt.Errorf("metrics of dataset %s: %w", key, catalog.ErrNotFound)
	}
	latest := ms[0]
	for _, m := range ms[1:] {
		latest.Value = latest.Value.Merge(m.Value)
	}
	return latest, nil
}

// metricsOrder orders a dataset's observations newest first, and of one
// time what was written before what was read.
const metricsOrder = `observed_at DESC, direction DESC, source, run_id, job_namespace, job_name`

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(prefix, columns string) string {
	return prefix + strings.ReplaceAll(columns, ", ", ", "+prefix)
}

// RowCounts returns the last limit row counts of a dataset, newest first:
// the trend of its size. A run counts once, by its newest observation
// that counted rows (what it wrote before what it read), however many of
// its events counted them; an observation no run made counts on its own.
func (s *Store) RowCounts(ctx context.Context, key catalog.Key, limit int) ([]catalog.RowCount, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT observed_at, row_count, direction, job_namespace, job_name, run_id FROM (
			SELECT *, row_number() OVER (PARTITION BY source, run_id ORDER BY `+metricsOrder+`) AS nth
			FROM dataset_metrics WHERE namespace = $1 AND name = $2 AND row_count IS NOT NULL) m
		WHERE run_id = '' OR nth = 1
		ORDER BY `+metricsOrder+` LIMIT $3`, key.Namespace, key.Name, limit)
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
// newest of each dataset and the others of its run, so that a dataset's
// page keeps what LatestMetrics reads however long ago it was measured.
// It returns how many it deleted.
func (s *Store) PruneMetrics(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `
		WITH newest AS (
			SELECT DISTINCT ON (namespace, name) namespace, name, observed_at, source, run_id FROM dataset_metrics
			WHERE (namespace, name) IN (SELECT namespace, name FROM dataset_metrics WHERE observed_at < $1)
			ORDER BY namespace, name, `+metricsOrder+`)
		DELETE FROM dataset_metrics m USING newest n
		WHERE m.namespace = n.namespace AND m.name = n.name AND m.observed_at < $1 AND m.observed_at < n.observed_at
		  AND NOT (m.run_id <> '' AND m.source = n.source AND m.run_id = n.run_id)`, before)
	if err != nil {
		return 0, fmt.Errorf("prune dataset metrics: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RunMetrics returns what one run observed of the datasets it read and
// wrote, one observation per dataset and direction (of several events of
// the run, the newer fills in what the older left out), written ones
// first, then by dataset.
func (s *Store) RunMetrics(ctx context.Context, runID string) ([]catalog.DatasetMetrics, error) {
	if runID == "" {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT namespace, name, `+metricsColumns+` FROM dataset_metrics
		WHERE run_id = $1
		ORDER BY direction DESC, namespace, name, observed_at DESC`, runID)
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	var (
		out  []catalog.DatasetMetrics
		key  catalog.Key
		m    catalog.Sourced[catalog.DatasetMetrics]
		v    = &m.Value
		last = -1
	)
	_, err = pgx.ForEachRow(rows, []any{&key.Namespace, &key.Name, &m.Source, &v.ObservedAt, &v.Direction, &v.RunID, &v.Job.Namespace, &v.Job.Name,
		&v.RowCount, &v.Bytes, &v.FileCount, &v.Columns, &m.UpdatedAt}, func() error {
		v.Dataset = key
		if len(v.Columns) == 0 {
			v.Columns = nil
		}
		if last >= 0 && out[last].Dataset == key && out[last].Direction == v.Direction {
			out[last] = out[last].Merge(*v)
		} else {
			out = append(out, *v)
			last++
		}
		m = catalog.Sourced[catalog.DatasetMetrics]{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("metrics of run %s: %w", runID, err)
	}
	return out, nil
}
