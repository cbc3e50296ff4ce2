package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// Dataset returns a dataset with the facts of every source, merged.
func (s *Store) Dataset(ctx context.Context, key catalog.Key) (catalog.Dataset, error) {
	var (
		id               int64
		created, updated time.Time
		removed          *time.Time
	)
	err := s.pool.QueryRow(ctx, `
		SELECT id, created_at, updated_at, removed_at FROM datasets WHERE namespace = $1 AND name = $2`,
		key.Namespace, key.Name).Scan(&id, &created, &updated, &removed)
	if err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %s: %w", key, translate(err))
	}
	return s.load(ctx, id, key, created, removed)
}

// DatasetByID returns a dataset by its internal id.
func (s *Store) DatasetByID(ctx context.Context, id int64) (catalog.Dataset, error) {
	var (
		key     catalog.Key
		created time.Time
		removed *time.Time
	)
	err := s.pool.QueryRow(ctx, `
		SELECT namespace, name, created_at, removed_at FROM datasets WHERE id = $1`,
		id).Scan(&key.Namespace, &key.Name, &created, &removed)
	if err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %d: %w", id, translate(err))
	}
	return s.load(ctx, id, key, created, removed)
}

// load reads every source's facts of one dataset in one round trip.
func (s *Store) load(ctx context.Context, id int64, key catalog.Key, created time.Time, removed *time.Time) (catalog.Dataset, error) {
	b := &pgx.Batch{}
	var facts []catalog.SourceFacts
	bySource := map[string]*catalog.DatasetFacts{}
	get := func(source string) *catalog.DatasetFacts {
		if f := bySource[source]; f != nil {
			return f
		}
		// A source with columns or owners but no dataset row cannot
		// happen through ingest; keep the facts rather than lose them.
		facts = append(facts, catalog.SourceFacts{Source: source})
		f := &facts[len(facts)-1].DatasetFacts
		bySource[source] = f
		return f
	}
	b.Queue(`
		SELECT source, platform, kind, description, definition, row_estimate, size_bytes,
		       partition_key, partitions, properties, updated_at, removed_at
		FROM dataset_facts WHERE dataset_id = $1 ORDER BY source`, id).Query(func(rows pgx.Rows) error {
		var err error
		facts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.SourceFacts, error) {
			var f catalog.SourceFacts
			err := row.Scan(&f.Source, &f.Platform, &f.Kind, &f.Description, &f.Definition, &f.RowEstimate, &f.SizeBytes,
				&f.PartitionKey, &f.Partitions, &f.Properties, &f.UpdatedAt, &f.RemovedAt)
			f.Key = key
			return f, err
		})
		// Index after collecting: the slice no longer grows.
		for i := range facts {
			bySource[facts[i].Source] = &facts[i].DatasetFacts
		}
		return err
	})
	b.Queue(`
		SELECT source, name, ordinal, data_type, nullable, default_expr, description, primary_key
		FROM columns WHERE dataset_id = $1 ORDER BY source, ordinal, name`, id).Query(func(rows pgx.Rows) error {
		var (
			src string
			c   catalog.Column
		)
		_, err := pgx.ForEachRow(rows, []any{&src, &c.Name, &c.Ordinal, &c.Type, &c.Nullable, &c.Default, &c.Description, &c.PrimaryKey}, func() error {
			f := get(src)
			f.Columns = append(f.Columns, c)
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT source, name, columns, target_namespace, target_name, target_columns
		FROM foreign_keys WHERE dataset_id = $1 ORDER BY source, name`, id).Query(func(rows pgx.Rows) error {
		var (
			src string
			fk  catalog.ForeignKey
		)
		_, err := pgx.ForEachRow(rows, []any{&src, &fk.Name, &fk.Columns, &fk.Target.Namespace, &fk.Target.Name, &fk.TargetCol}, func() error {
			f := get(src)
			f.ForeignKeys = append(f.ForeignKeys, fk)
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT source, owner, owner_kind, ownership_type
		FROM owners WHERE dataset_id = $1 ORDER BY source, owner`, id).Query(func(rows pgx.Rows) error {
		var (
			src string
			o   catalog.Owner
		)
		_, err := pgx.ForEachRow(rows, []any{&src, &o.Name, &o.Kind, &o.Type}, func() error {
			f := get(src)
			f.Owners = append(f.Owners, o)
			return nil
		})
		return err
	})
	b.Queue(`SELECT source, tag FROM tags WHERE dataset_id = $1 ORDER BY source, tag`, id).Query(func(rows pgx.Rows) error {
		var src, tag string
		_, err := pgx.ForEachRow(rows, []any{&src, &tag}, func() error {
			f := get(src)
			f.Tags = append(f.Tags, tag)
			return nil
		})
		return err
	})
	var referenced []catalog.Sourced[catalog.ReverseKey]
	b.Queue(`
		SELECT d.namespace, d.name, fk.name, fk.columns, fk.target_columns, fk.source, df.updated_at
		FROM foreign_keys fk
		JOIN datasets d ON d.id = fk.dataset_id
		JOIN dataset_facts df ON df.dataset_id = fk.dataset_id AND df.source = fk.source
		WHERE fk.target_namespace = $1 AND fk.target_name = $2 AND df.removed_at IS NULL
		ORDER BY d.name, fk.name`, key.Namespace, key.Name).Query(func(rows pgx.Rows) error {
		var r catalog.Sourced[catalog.ReverseKey]
		_, err := pgx.ForEachRow(rows, []any{&r.Value.From.Namespace, &r.Value.From.Name, &r.Value.Name, &r.Value.Columns, &r.Value.TargetCol, &r.Source, &r.UpdatedAt}, func() error {
			referenced = append(referenced, r)
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return catalog.Dataset{}, fmt.Errorf("get dataset %s: %w", key, err)
	}
	d := catalog.Merge(id, key, created, removed, facts)
	d.Referenced = referenced
	return d, nil
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
