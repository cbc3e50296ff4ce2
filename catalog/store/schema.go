package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the schema history of datasets (schema_versions): a
// version for each change of a source's columns, with its diff.

// HistoryPage asks for a page of one dataset's schema history: at most
// Limit versions older than Before (all when Before is 0), newest first.
// Without Columns, versions come with their diffs but not the full column
// lists, which are most of their size.
type HistoryPage struct {
	DatasetID int64
	Limit     int
	Before    int
	Columns   bool
}

// SchemaHistories returns a page of schema history for each request, in
// one statement.
func (s *Store) SchemaHistories(ctx context.Context, pages []HistoryPage) (map[HistoryPage][]catalog.SchemaVersion, error) {
	ids, limits, befores, cols := make([]int64, len(pages)), make([]int32, len(pages)), make([]int32, len(pages)), make([]bool, len(pages))
	for i, p := range pages {
		ids[i], limits[i], befores[i], cols[i] = p.DatasetID, int32(p.Limit), int32(p.Before), p.Columns
	}
	rows, err := s.pool.Query(ctx, `
		SELECT k.i, v.version, v.source, v.recorded_at, CASE WHEN k.cols THEN v.columns ELSE '[]' END, v.diff
		FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bool[]) WITH ORDINALITY AS k(id, lim, before, cols, i)
		CROSS JOIN LATERAL (
			SELECT * FROM schema_versions
			WHERE dataset_id = k.id AND (k.before = 0 OR version < k.before)
			ORDER BY version DESC LIMIT k.lim
		) v
		ORDER BY k.i, v.version DESC`, ids, limits, befores, cols)
	if err != nil {
		return nil, fmt.Errorf("schema history of %d datasets: %w", len(pages), err)
	}
	out := make(map[HistoryPage][]catalog.SchemaVersion, len(pages))
	var (
		i int
		v catalog.SchemaVersion
	)
	_, err = pgx.ForEachRow(rows, []any{&i, &v.Version, &v.Source, &v.At, &v.Columns, &v.Diff}, func() error {
		p := pages[i-1]
		out[p] = append(out[p], v)
		v = catalog.SchemaVersion{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema history of %d datasets: %w", len(pages), err)
	}
	return out, nil
}

type version struct {
	p       *prepared
	version int
	diff    catalog.SchemaDiff
}

// schemaChanges compares the columns the source reported before with the
// new ones and records a schema version for every dataset whose columns
// changed (and a first version for datasets seen for the first time).
// ids are those of todo's datasets that may have columns or versions
// already; the others are new.
func schemaChanges(ctx context.Context, tx pgx.Tx, source string, todo []*prepared, ids []int64, now time.Time) ([]version, error) {
	old := map[int64][]catalog.Column{}
	latest := map[int64]int{}
	if len(ids) > 0 {
		if err := readPriorSchemas(ctx, tx, source, ids, old, latest); err != nil {
			return nil, err
		}
	}

	var out []version
	for _, p := range todo {
		if len(p.facts.Columns) == 0 && len(old[p.id]) == 0 {
			continue
		}
		diff := catalog.DiffColumns(old[p.id], p.facts.Columns)
		if diff.Empty() {
			continue
		}
		latest[p.id]++
		out = append(out, version{p: p, version: latest[p.id], diff: diff})
	}
	if len(out) == 0 {
		return nil, nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"schema_versions"},
		[]string{"dataset_id", "version", "source", "recorded_at", "columns", "diff"},
		pgx.CopyFromSlice(len(out), func(i int) ([]any, error) {
			v := out[i]
			cols := v.p.facts.Columns
			if cols == nil {
				cols = []catalog.Column{}
			}
			return []any{v.p.id, v.version, source, now, cols, v.diff}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("record schema versions: %w", err)
	}
	return out, nil
}

// readPriorSchemas reads the columns source reported before on ids into
// old, and the latest schema version of each into latest.
func readPriorSchemas(ctx context.Context, tx pgx.Tx, source string, ids []int64, old map[int64][]catalog.Column, latest map[int64]int) error {
	rows, err := tx.Query(ctx, `
		SELECT dataset_id, name, ordinal, data_type, nullable, default_expr, description, primary_key
		FROM columns WHERE dataset_id = ANY($1) AND source = $2 ORDER BY dataset_id, ordinal`, ids, source)
	if err != nil {
		return fmt.Errorf("read previous columns: %w", err)
	}
	var (
		id int64
		c  catalog.Column
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &c.Name, &c.Ordinal, &c.Type, &c.Nullable, &c.Default, &c.Description, &c.PrimaryKey}, func() error {
		old[id] = append(old[id], c)
		return nil
	}); err != nil {
		return fmt.Errorf("read previous columns: %w", err)
	}
	rows, err = tx.Query(ctx, `
		SELECT dataset_id, max(version) FROM schema_versions WHERE dataset_id = ANY($1) GROUP BY dataset_id`, ids)
	if err != nil {
		return fmt.Errorf("read schema versions: %w", err)
	}
	var v int
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error { latest[id] = v; return nil }); err != nil {
		return fmt.Errorf("read schema versions: %w", err)
	}
	return nil
}
