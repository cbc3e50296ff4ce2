package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file reads and writes column lineage (column_lineage): output
// column ← input column, per source.

// ingestColumnLineage replaces the source's column lineage of every output
// dataset named in rows. It compares each output's rows with what the
// source said before and rewrites only the outputs whose rows changed, each
// with a ChangeColumnLineage entry, so that an unchanged re-crawl or a
// repeated OpenLineage run writes nothing and wakes no follower.
func (s *Store) ingestColumnLineage(ctx context.Context, source string, rows []catalog.ColumnLineage) error {
	if len(rows) == 0 {
		return nil
	}
	next, order := columnLineageByOutput(rows)
	if len(order) == 0 {
		return nil
	}
	old, err := s.sourceColumnLineage(ctx, source, order)
	if err != nil {
		return err
	}
	var changed []catalog.Key
	for _, k := range order {
		if !sameColumnLineage(old[k], next[k]) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	var copyRows [][]any
	now := s.now()
	for _, k := range changed {
		for _, r := range next[k] {
			copyRows = append(copyRows, []any{source, r.Output.Namespace, r.Output.Name, r.Column, r.Input.Namespace, r.Input.Name,
				r.InputColumn, r.Type, r.Subtype, r.Description, r.Masking, now})
		}
	}
	outNSs, outNames := splitKeys(changed)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			DELETE FROM column_lineage c USING unnest($2::text[], $3::text[]) AS k(namespace, name)
			WHERE c.source = $1 AND c.namespace = k.namespace AND c.name = k.name`, source, outNSs, outNames); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"column_lineage"},
			[]string{"source", "namespace", "name", "column_name", "input_namespace", "input_name", "input_column",
				"transformation_type", "transformation_subtype", "description", "masking", "updated_at"},
			pgx.CopyFromRows(copyRows)); err != nil {
			return err
		}
		return appendColumnLineageChanges(ctx, tx, source, changed, now)
	})
	if err != nil {
		return fmt.Errorf("write column lineage of %d datasets of %s: %w", len(changed), source, translate(err))
	}
	return nil
}

// columnLineageByOutput groups valid rows by output dataset, in the order
// the outputs first appear, keeping the first of rows that share a key.
func columnLineageByOutput(rows []catalog.ColumnLineage) (map[catalog.Key][]catalog.ColumnLineage, []catalog.Key) {
	type pk struct {
		out, in             catalog.Key
		col, inCol, typ, st string
	}
	seen := map[pk]bool{}
	byOut := map[catalog.Key][]catalog.ColumnLineage{}
	var order []catalog.Key
	for _, r := range rows {
		if r.Output.Validate() != nil || r.Input.Validate() != nil {
			continue
		}
		k := pk{r.Output, r.Input, r.Column, r.InputColumn, r.Type, r.Subtype}
		if seen[k] {
			continue
		}
		seen[k] = true
		if _, ok := byOut[r.Output]; !ok {
			order = append(order, r.Output)
		}
		byOut[r.Output] = append(byOut[r.Output], r)
	}
	return byOut, order
}

// sameColumnLineage reports whether two sets of rows, each without
// repeats, hold the same rows in any order.
func sameColumnLineage(a, b []catalog.ColumnLineage) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[catalog.ColumnLineage]bool, len(a))
	for _, r := range a {
		in[r] = true
	}
	for _, r := range b {
		if !in[r] {
			return false
		}
	}
	return true
}

// sourceColumnLineage returns the column lineage that source asserts now
// into the outputs keys, by output.
func (s *Store) sourceColumnLineage(ctx context.Context, source string, keys []catalog.Key) (map[catalog.Key][]catalog.ColumnLineage, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT c.namespace, c.name, c.column_name, c.input_namespace, c.input_name, c.input_column,
		       c.transformation_type, c.transformation_subtype, c.description, c.masking
		FROM unnest($2::text[], $3::text[]) AS k(namespace, name)
		JOIN column_lineage c ON c.namespace = k.namespace AND c.name = k.name AND c.source = $1`, source, nss, names)
	if err != nil {
		return nil, fmt.Errorf("read column lineage of %s: %w", source, err)
	}
	out := map[catalog.Key][]catalog.ColumnLineage{}
	var c catalog.ColumnLineage
	if _, err := pgx.ForEachRow(rows, []any{&c.Output.Namespace, &c.Output.Name, &c.Column, &c.Input.Namespace, &c.Input.Name,
		&c.InputColumn, &c.Type, &c.Subtype, &c.Description, &c.Masking}, func() error {
		out[c.Output] = append(out[c.Output], c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read column lineage of %s: %w", source, err)
	}
	return out, nil
}

// appendColumnLineageChanges records a ChangeColumnLineage entry for each
// output of keys, with the output's dataset id where it has one.
func appendColumnLineageChanges(ctx context.Context, tx pgx.Tx, source string, keys []catalog.Key, now time.Time) error {
	nss, names := splitKeys(keys)
	rows, err := tx.Query(ctx, `
		SELECT k.namespace, k.name, coalesce(d.id, 0) FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(namespace, name, i)
		LEFT JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name ORDER BY k.i`, nss, names)
	if err != nil {
		return fmt.Errorf("find datasets of column lineage changes: %w", err)
	}
	var (
		changes [][]any
		key     catalog.Key
		id      int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&key.Namespace, &key.Name, &id}, func() error {
		changes = append(changes, []any{"column_lineage", id, key.Namespace, key.Name, string(catalog.ChangeColumnLineage), source, now})
		return nil
	}); err != nil {
		return fmt.Errorf("find datasets of column lineage changes: %w", err)
	}
	return appendChanges(ctx, tx, changes)
}

// LineageColumns calls fn with the live column lineage of every output
// dataset, or of the outputs keys when keys is not nil; an output of keys
// with no live column lineage is reported with no edges, so that a
// follower can drop what it held. Rows of a source that marked the output
// removed are not live.
func (s *Store) LineageColumns(ctx context.Context, keys []catalog.Key, fn func(catalog.ColumnEdges) error) error {
	var nss, names []string
	if keys != nil {
		nss, names = splitKeys(keys)
	}
	wide, err := s.datasetWideColumns(ctx, nss, names)
	if err != nil {
		return fmt.Errorf("read column lineage graph: %w", err)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT c.namespace, c.name, c.column_name, c.input_namespace, c.input_name, c.input_column,
		       c.transformation_type, c.transformation_subtype
		FROM column_lineage c
		WHERE ($1::text[] IS NULL OR (c.namespace, c.name) IN (SELECT * FROM unnest($1::text[], $2::text[])))
		  AND NOT `+columnLineageRemoved+`
		ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`, nss, names)
	if err != nil {
		return fmt.Errorf("read column lineage graph: %w", err)
	}
	var (
		cur    *catalog.ColumnEdges
		done   = map[catalog.Key]bool{}
		out    catalog.Key
		e      catalog.ColumnInput
		report = func() error {
			if cur == nil {
				return nil
			}
			done[cur.Output] = true
			cur.Columns = wide[cur.Output]
			err := fn(*cur)
			cur = nil
			return err
		}
	)
	_, err = pgx.ForEachRow(rows, []any{&out.Namespace, &out.Name, &e.Column, &e.Input.Namespace, &e.Input.Name, &e.InputColumn, &e.Type, &e.Subtype}, func() error {
		if cur != nil && cur.Output != out {
			if err := report(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &catalog.ColumnEdges{Output: out}
		}
		cur.Edges = append(cur.Edges, e)
		return nil
	})
	if err == nil {
		err = report()
	}
	if err != nil {
		return fmt.Errorf("read column lineage graph: %w", err)
	}
	for _, k := range keys {
		if !done[k] {
			done[k] = true
			if err := fn(catalog.ColumnEdges{Output: k}); err != nil {
				return fmt.Errorf("read column lineage graph: %w", err)
			}
		}
	}
	return nil
}

// DatasetWideColumns returns the columns that the dataset-wide column
// lineage (rows of Column "": a join key, a filter) into each of the
// outputs keys applies to, for those of keys that have some: the columns
// the dataset's live sources report, and those its live column lineage
// names, sorted. Dataset-wide lineage is stored once per input, not once
// per column, and reads expand it with these columns.
func (s *Store) DatasetWideColumns(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]string, error) {
	nss, names := splitKeys(keys)
	out, err := s.datasetWideColumns(ctx, nss, names)
	if err != nil {
		return nil, fmt.Errorf("read columns of dataset-wide lineage: %w", err)
	}
	return out, nil
}

// datasetWideColumns is DatasetWideColumns of the outputs nss, names, or
// of every output when nss is nil.
func (s *Store) datasetWideColumns(ctx context.Context, nss, names []string) (map[catalog.Key][]string, error) {
	rows, err := s.pool.Query(ctx, `
		WITH w AS (
			SELECT DISTINCT c.namespace, c.name FROM column_lineage c
			WHERE c.column_name = ''
			  AND ($1::text[] IS NULL OR (c.namespace, c.name) IN (SELECT * FROM unnest($1::text[], $2::text[])))
			  AND NOT `+columnLineageRemoved+`)
		SELECT w.namespace, w.name, array(
			SELECT col.name FROM datasets d
			JOIN columns col ON col.dataset_id = d.id
			JOIN dataset_facts f ON f.dataset_id = d.id AND f.source = col.source AND f.removed_at IS NULL
			WHERE d.namespace = w.namespace AND d.name = w.name
			UNION
			SELECT c.column_name FROM column_lineage c
			WHERE c.namespace = w.namespace AND c.name = w.name AND c.column_name <> '' AND NOT `+columnLineageRemoved+`
			ORDER BY 1)
		FROM w`, nss, names)
	if err != nil {
		return nil, err
	}
	out := map[catalog.Key][]string{}
	var (
		k    catalog.Key
		cols []string
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &cols}, func() error {
		out[k] = cols
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// columnLineageRemoved holds for a row of column_lineage c whose source
// no longer reports its output dataset: a crawl marked the dataset's facts
// of that source removed. Such rows are kept, like the dataset, as history
// (a crawl that reports the dataset again restores them), but lineage reads
// leave them out.
const columnLineageRemoved = `EXISTS (
			SELECT 1 FROM datasets rd JOIN dataset_facts rf ON rf.dataset_id = rd.id
			WHERE rd.namespace = c.namespace AND rd.name = c.name AND rf.source = c.source AND rf.removed_at IS NOT NULL)`

// ColumnLineage returns the column lineage whose output (upstream side) or
// input (downstream side) is one of keys, from every source, sorted. Rows
// of a source that marked their output dataset removed are left out.
func (s *Store) ColumnLineage(ctx context.Context, keys []catalog.Key) ([]catalog.Sourced[catalog.ColumnLineage], error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT c.source, c.updated_at, c.namespace, c.name, c.column_name, c.input_namespace, c.input_name, c.input_column,
		       c.transformation_type, c.transformation_subtype, c.description, c.masking
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN column_lineage c ON (c.namespace = k.namespace AND c.name = k.name)
		                      OR (c.input_namespace = k.namespace AND c.input_name = k.name)
		WHERE NOT `+columnLineageRemoved, nss, names)
	if err != nil {
		return nil, fmt.Errorf("read column lineage: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Sourced[catalog.ColumnLineage], error) {
		var (
			r catalog.Sourced[catalog.ColumnLineage]
			c = &r.Value
		)
		err := row.Scan(&r.Source, &r.UpdatedAt, &c.Output.Namespace, &c.Output.Name, &c.Column, &c.Input.Namespace, &c.Input.Name,
			&c.InputColumn, &c.Type, &c.Subtype, &c.Description, &c.Masking)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("read column lineage: %w", err)
	}
	slices.SortFunc(out, func(a, b catalog.Sourced[catalog.ColumnLineage]) int {
		x, y := a.Value, b.Value
		return cmp.Or(strings.Compare(x.Output.String(), y.Output.String()), strings.Compare(x.Column, y.Column),
			strings.Compare(x.Input.String(), y.Input.String()), strings.Compare(x.InputColumn, y.InputColumn),
			strings.Compare(x.Type, y.Type), strings.Compare(x.Subtype, y.Subtype), strings.Compare(a.Source, b.Source))
	})
	return out, nil
}
