package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// Dataset returns a dataset with the facts of every source, merged.
func (s *Store) Dataset(ctx context.Context, key catalog.Key) (catalog.Dataset, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT id FROM datasets WHERE namespace = $1 AND name = $2`, key.Namespace, key.Name).Scan(&id)
	if err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %s: %w", key, translate(err))
	}
	d, err := s.load(ctx, id)
	if err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %s: %w", key, err)
	}
	return d, nil
}

// DatasetByID returns a dataset by its internal id.
func (s *Store) DatasetByID(ctx context.Context, id int64) (catalog.Dataset, error) {
	d, err := s.load(ctx, id)
	if err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %d: %w", id, err)
	}
	return d, nil
}

// load reads one dataset as DatasetsByIDs does, and the foreign keys that
// point at it too, in one round trip.
func (s *Store) load(ctx context.Context, id int64) (catalog.Dataset, error) {
	b := &pgx.Batch{}
	set := queueFacts(b, []int64{id}, factRead{full: true})
	var referenced []catalog.Sourced[catalog.ReverseKey]
	b.Queue(`
		SELECT d.namespace, d.name, fk.name, fk.columns, fk.target_columns, fk.source, df.updated_at
		FROM datasets t
		JOIN foreign_keys fk ON fk.target_namespace = t.namespace AND fk.target_name = t.name
		JOIN datasets d ON d.id = fk.dataset_id
		JOIN dataset_facts df ON df.dataset_id = fk.dataset_id AND df.source = fk.source
		WHERE t.id = $1 AND df.removed_at IS NULL
		ORDER BY d.name, fk.name`, id).Query(func(rows pgx.Rows) error {
		var r catalog.Sourced[catalog.ReverseKey]
		_, err := pgx.ForEachRow(rows, []any{&r.Value.From.Namespace, &r.Value.From.Name, &r.Value.Name, &r.Value.Columns, &r.Value.TargetCol, &r.Source, &r.UpdatedAt}, func() error {
			referenced = append(referenced, r)
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return catalog.Dataset{}, err
	}
	ds := set.merged([]int64{id})
	if len(ds) == 0 {
		return catalog.Dataset{}, catalog.ErrNotFound // removed since its id was read, or never there
	}
	ds[0].Referenced = referenced
	return ds[0], nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SchemaHistory returns a dataset's schema versions, newest first.
func (s *Store) SchemaHistory(ctx context.Context, datasetID int64, limit int) ([]catalog.SchemaVersion, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT version, source, recorded_at, columns, diff
		FROM schema_versions WHERE dataset_id = $1 ORDER BY version DESC LIMIT $2`, datasetID, limit)
	if err != nil {
		return nil, fmt.Errorf("schema history of dataset %d: %w", datasetID, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.SchemaVersion, error) {
		var v catalog.SchemaVersion
		err := row.Scan(&v.Version, &v.Source, &v.At, &v.Columns, &v.Diff)
		return v, err
	})
}

// Namespaces lists namespaces with their number of live datasets.
func (s *Store) Namespaces(ctx context.Context) ([]NamespaceCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT namespace, count(*) FROM datasets WHERE removed_at IS NULL GROUP BY namespace ORDER BY namespace`)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[NamespaceCount])
}

// NamespaceCount is a namespace and how many live datasets it holds.
type NamespaceCount struct {
	Namespace string
	Datasets  int
}
