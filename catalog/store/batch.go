package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// batcher is what runs a batch of statements: the pool, or a transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// DatasetsByIDs returns the datasets with the given ids, merged, in the
// order of ids; ids of no dataset are left out. It reads the facts of all
// of them with five statements in one round trip, however many there are,
// so that the API can load a page of datasets without a query per dataset.
// Referenced (foreign keys pointing at a dataset) is not filled in: see
// ReferencedBy.
func (s *Store) DatasetsByIDs(ctx context.Context, ids []int64) ([]catalog.Dataset, error) {
	ds, err := datasetsByIDs(ctx, s.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("get %d datasets: %w", len(ids), err)
	}
	return ds, nil
}

func datasetsByIDs(ctx context.Context, q batcher, ids []int64) ([]catalog.Dataset, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	set := queueFacts(b, ids, factRead{full: true})
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return set.merged(ids), nil
}

// loadedSet gathers the rows of many datasets as the statements of a
// batch return them, to merge them once the batch is done.
type loadedSet map[int64]*loaded

// loaded is one dataset of a loadedSet: its row and its facts by source.
type loaded struct {
	key      catalog.Key
	created  time.Time
	removed  *time.Time
	facts    []catalog.SourceFacts
	bySource map[string]int
}

// add records the row of a dataset, once however many times it is called
// (a join repeats it on every row of facts). removed is copied: the
// caller may scan the next row into it.
func (s loadedSet) add(id int64, key catalog.Key, created time.Time, removed *time.Time) *loaded {
	if l := s[id]; l != nil {
		return l
	}
	l := &loaded{key: key, created: created, removed: clonePtr(removed), bySource: map[string]int{}}
	s[id] = l
	return l
}

// addFacts records a source's facts row on a dataset added before, and
// drops it otherwise (the dataset went between statements). f.RemovedAt is
// copied, as removed is by add.
func (s loadedSet) addFacts(id int64, f catalog.SourceFacts) {
	l := s[id]
	if l == nil {
		return
	}
	f.Key, f.RemovedAt = l.key, clonePtr(f.RemovedAt)
	l.bySource[f.Source] = len(l.facts)
	l.facts = append(l.facts, f)
}

// facts returns the facts of a source on a dataset, for its columns,
// owners and tags to be added to. It adds them if the source has columns
// or owners but no facts row (ingest never does that; keep the facts
// rather than lose them).
func (s loadedSet) facts(id int64, source string) *catalog.DatasetFacts {
	l := s[id]
	if l == nil {
		return &catalog.DatasetFacts{} // the dataset went between statements
	}
	i, ok := l.bySource[source]
	if !ok {
		i = len(l.facts)
		l.facts = append(l.facts, catalog.SourceFacts{Source: source, DatasetFacts: catalog.DatasetFacts{Key: l.key}})
		l.bySource[source] = i
	}
	return &l.facts[i].DatasetFacts
}

// merged returns the datasets of the set merged across sources, in the
// order of ids, leaving out ids of no dataset.
func (s loadedSet) merged(ids []int64) []catalog.Dataset {
	out := make([]catalog.Dataset, 0, len(s))
	for _, id := range ids {
		if l := s[id]; l != nil {
			out = append(out, catalog.Merge(id, l.key, l.created, l.removed, l.facts))
		}
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// factRead says what a read of dataset facts reads.
type factRead struct {
	// source, when not "", reads only that source's facts.
	source string
	// full reads all of the facts. Without it the read leaves out what
	// the search index does not use and what would slow a rebuild of the
	// whole catalog: definitions, sizes, partitions, properties, column
	// defaults and foreign keys.
	full bool
	// aliases reads the aliases the sources declare, which a push lays
	// its own over.
	aliases bool
}

// queueFacts queues the statements that read the datasets ids with the
// facts r asks for, and returns the set they fill in when the batch runs:
// three statements, four with foreign keys, five with aliases. It is the
// one definition of how the catalog reads a dataset's facts.
func queueFacts(b *pgx.Batch, ids []int64, r factRead) loadedSet {
	set := make(loadedSet, len(ids))
	b.Queue(`
		SELECT d.id, d.namespace, d.name, d.created_at, d.removed_at,
		       f.source, f.platform, f.kind, f.description, f.updated_at, f.removed_at,
		       CASE WHEN $3 THEN f.definition END, CASE WHEN $3 THEN f.row_estimate END, CASE WHEN $3 THEN f.size_bytes END,
		       CASE WHEN $3 THEN f.partition_key END, CASE WHEN $3 THEN f.partitions END, CASE WHEN $3 THEN f.properties END
		FROM datasets d LEFT JOIN dataset_facts f ON f.dataset_id = d.id AND ($2 = '' OR f.source = $2)
		WHERE d.id = ANY($1) ORDER BY d.id, f.source`, ids, r.source, r.full).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				id                       int64
				key                      catalog.Key
				created                  time.Time
				removed                  *time.Time
				source, platform, kind   *string
				desc, def, partKey       *string
				rowEst, size             *int64
				parts                    []catalog.Partition
				props                    map[string]string
				factUpdated, factRemoved *time.Time
			)
			if err := rows.Scan(&id, &key.Namespace, &key.Name, &created, &removed,
				&source, &platform, &kind, &desc, &factUpdated, &factRemoved, &def, &rowEst, &size, &partKey, &parts, &props); err != nil {
				return err
			}
			set.add(id, key, created, removed)
			if source == nil {
				continue // a dataset without facts (of r.source)
			}
			set.addFacts(id, catalog.SourceFacts{
				Source: *source, UpdatedAt: *factUpdated, RemovedAt: factRemoved,
				DatasetFacts: catalog.DatasetFacts{
					Platform: *platform, Kind: catalog.Kind(*kind), Description: *desc, Definition: deref(def),
					RowEstimate: rowEst, SizeBytes: size, PartitionKey: deref(partKey), Partitions: parts, Properties: props,
				},
			})
		}
		return rows.Err()
	})
	b.Queue(`
		SELECT dataset_id, source, name, ordinal, data_type, nullable, CASE WHEN $3 THEN default_expr ELSE '' END, description, primary_key
		FROM columns WHERE dataset_id = ANY($1) AND ($2 = '' OR source = $2)
		ORDER BY dataset_id, source, ordinal, name`, ids, r.source, r.full).Query(func(rows pgx.Rows) error {
		var (
			id  int64
			src string
			c   catalog.Column
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &src, &c.Name, &c.Ordinal, &c.Type, &c.Nullable, &c.Default, &c.Description, &c.PrimaryKey}, func() error {
			f := set.facts(id, src)
			f.Columns = append(f.Columns, c)
			return nil
		})
		return err
	})
	if r.full {
		b.Queue(`
			SELECT dataset_id, source, name, columns, target_namespace, target_name, target_columns
			FROM foreign_keys WHERE dataset_id = ANY($1) AND ($2 = '' OR source = $2)
			ORDER BY dataset_id, source, name`, ids, r.source).Query(func(rows pgx.Rows) error {
			var (
				id  int64
				src string
				fk  catalog.ForeignKey
			)
			_, err := pgx.ForEachRow(rows, []any{&id, &src, &fk.Name, &fk.Columns, &fk.Target.Namespace, &fk.Target.Name, &fk.TargetCol}, func() error {
				f := set.facts(id, src)
				f.ForeignKeys = append(f.ForeignKeys, fk)
				return nil
			})
			return err
		})
	}
	b.Queue(`
		SELECT dataset_id, source, owner, owner_kind, ownership_type
		FROM owners WHERE dataset_id = ANY($1) AND ($2 = '' OR source = $2)
		ORDER BY dataset_id, source, owner`, ids, r.source).Query(func(rows pgx.Rows) error {
		var (
			id  int64
			src string
			o   catalog.Owner
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &src, &o.Name, &o.Kind, &o.Type}, func() error {
			f := set.facts(id, src)
			f.Owners = append(f.Owners, o)
			return nil
		})
		return err
	})
	b.Queue(`
		SELECT dataset_id, source, tag FROM tags WHERE dataset_id = ANY($1) AND ($2 = '' OR source = $2)
		ORDER BY dataset_id, source, tag`, ids, r.source).Query(func(rows pgx.Rows) error {
		var (
			id       int64
			src, tag string
		)
		_, err := pgx.ForEachRow(rows, []any{&id, &src, &tag}, func() error {
			f := set.facts(id, src)
			f.Tags = append(f.Tags, tag)
			return nil
		})
		return err
	})
	if r.aliases {
		b.Queue(`
			SELECT dataset_id, source, namespace, name, type
			FROM dataset_aliases WHERE dataset_id = ANY($1) AND ($2 = '' OR source = $2)
			ORDER BY dataset_id, source, namespace, name`, ids, r.source).Query(func(rows pgx.Rows) error {
			var (
				id  int64
				src string
				a   catalog.Alias
			)
			_, err := pgx.ForEachRow(rows, []any{&id, &src, &a.Key.Namespace, &a.Key.Name, &a.Type}, func() error {
				f := set.facts(id, src)
				f.Aliases = append(f.Aliases, a)
				return nil
			})
			return err
		})
	}
	return set
}

func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// DatasetIDs returns the ids of the datasets with the given keys; keys of
// no dataset are left out of the map.
func (s *Store) DatasetIDs(ctx context.Context, keys []catalog.Key) (map[catalog.Key]int64, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.namespace, d.name FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), translate(err))
	}
	out := make(map[catalog.Key]int64, len(keys))
	var (
		id  int64
		key catalog.Key
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name}, func() error { out[key] = id; return nil }); err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), translate(err))
	}
	return out, nil
}

// ReferencedBy returns, for each key, the foreign keys of live facts of
// other datasets that point at it, in one statement.
func (s *Store) ReferencedBy(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.Sourced[catalog.ReverseKey], error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT fk.target_namespace, fk.target_name, d.namespace, d.name, fk.name, fk.columns, fk.target_columns, fk.source, df.updated_at
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN foreign_keys fk ON fk.target_namespace = k.namespace AND fk.target_name = k.name
		JOIN datasets d ON d.id = fk.dataset_id
		JOIN dataset_facts df ON df.dataset_id = fk.dataset_id AND df.source = fk.source
		WHERE df.removed_at IS NULL
		ORDER BY fk.target_namespace, fk.target_name, d.name, fk.name`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("find foreign keys referencing %d datasets: %w", len(keys), err)
	}
	out := make(map[catalog.Key][]catalog.Sourced[catalog.ReverseKey], len(keys))
	var (
		target catalog.Key
		r      catalog.Sourced[catalog.ReverseKey]
	)
	_, err = pgx.ForEachRow(rows, []any{&target.Namespace, &target.Name, &r.Value.From.Namespace, &r.Value.From.Name,
		&r.Value.Name, &r.Value.Columns, &r.Value.TargetCol, &r.Source, &r.UpdatedAt}, func() error {
		out[target] = append(out[target], r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find foreign keys referencing %d datasets: %w", len(keys), err)
	}
	return out, nil
}

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
