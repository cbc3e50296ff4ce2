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

// ListOptions filters and pages a dataset listing.
type ListOptions struct {
	Namespace string
	// Prefix of the dataset name, e.g. "warehouse.marts."
	Prefix         string
	Kind           catalog.Kind
	Source         string
	IncludeRemoved bool
	Limit          int // default 50, at most 500
	Offset         int
}

// ListDatasets lists datasets ordered by namespace and name, with the total
// number matching the filters.
func (s *Store) ListDatasets(ctx context.Context, opt ListOptions) ([]catalog.DatasetSummary, int, error) {
	if opt.Limit <= 0 {
		opt.Limit = 50
	}
	opt.Limit = min(opt.Limit, 500)
	prefix := escapeLike(opt.Prefix) + "%"
	rows, err := s.pool.Query(ctx, `
		WITH matching AS (
			SELECT d.id, d.namespace, d.name, d.updated_at, d.removed_at
			FROM datasets d
			WHERE ($1 = '' OR d.namespace = $1)
			  AND d.name LIKE $2
			  AND ($3 OR d.removed_at IS NULL)
			  AND ($4 = '' OR EXISTS (SELECT 1 FROM dataset_facts f WHERE f.dataset_id = d.id AND f.source = $4))
			  AND ($5 = '' OR EXISTS (SELECT 1 FROM dataset_facts f WHERE f.dataset_id = d.id AND f.kind = $5 AND f.removed_at IS NULL))
		)
		SELECT m.id, m.namespace, m.name, m.updated_at, m.removed_at, count(*) OVER (),
		       coalesce(f.platform, ''), coalesce(f.kind, ''), coalesce(doc.description, ''),
		       (SELECT count(DISTINCT c.name) FROM columns c WHERE c.dataset_id = m.id),
		       array(SELECT DISTINCT o.owner FROM owners o WHERE o.dataset_id = m.id ORDER BY 1),
		       array(SELECT DISTINCT t.tag FROM tags t WHERE t.dataset_id = m.id ORDER BY 1)
		FROM matching m
		LEFT JOIN LATERAL (
			SELECT platform, kind FROM dataset_facts
			WHERE dataset_id = m.id AND kind <> ''
			ORDER BY removed_at IS NOT NULL, source LIKE 'user:%', updated_at DESC LIMIT 1
		) f ON true
		LEFT JOIN LATERAL (
			SELECT description FROM dataset_facts
			WHERE dataset_id = m.id AND description <> '' AND removed_at IS NULL
			ORDER BY source NOT LIKE 'user:%', source NOT LIKE 'dbt:%', updated_at DESC LIMIT 1
		) doc ON true
		ORDER BY m.namespace, m.name
		LIMIT $6 OFFSET $7`,
		opt.Namespace, prefix, opt.IncludeRemoved, opt.Source, string(opt.Kind), opt.Limit, opt.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list datasets: %w", err)
	}
	total := 0
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.DatasetSummary, error) {
		var d catalog.DatasetSummary
		err := row.Scan(&d.ID, &d.Key.Namespace, &d.Key.Name, &d.UpdatedAt, &d.RemovedAt, &total,
			&d.Platform, &d.Kind, &d.Description, &d.Columns, &d.Owners, &d.Tags)
		return d, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list datasets: %w", err)
	}
	return list, total, nil
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
