package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file reads datasets (datasets, dataset_facts, columns,
// foreign_keys, owners, tags): in batches by id, merged by catalog.Merge,
// as the portal and the API show them; found by filters; counted.

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

// DatasetHeadsByIDs returns the datasets with the given ids as
// DatasetsByIDs does, merged and in the order of ids, but without their
// columns and foreign keys: what a drawing's or a list's nodes say
// (platform, kind, owners, tags, description), in three statements
// whose rows are one a dataset and source rather than one a column.
func (s *Store) DatasetHeadsByIDs(ctx context.Context, ids []int64) ([]catalog.Dataset, error) {
	ds, err := readDatasets(ctx, s.pool, ids, factRead{noColumns: true})
	if err != nil {
		return nil, fmt.Errorf("get %d datasets: %w", len(ids), err)
	}
	return ds, nil
}

func datasetsByIDs(ctx context.Context, q batcher, ids []int64) ([]catalog.Dataset, error) {
	return readDatasets(ctx, q, ids, factRead{full: true})
}

func readDatasets(ctx context.Context, q batcher, ids []int64, r factRead) ([]catalog.Dataset, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	set := queueFacts(b, ids, r)
	if err := q.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return set.merged(ids), nil
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
	// noColumns leaves out the columns (and foreign keys, which only
	// full reads).
	noColumns bool
}

// queueFacts queues the statements that read the datasets ids with the
// facts r asks for, and returns the set they fill in when the batch runs:
// four statements (three without columns), five with foreign keys, six
// with aliases. It is the
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
	if !r.noColumns {
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
	}
	if r.full && !r.noColumns {
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

// sourceDatasetFacts returns what one source asserts about the datasets
// keys, as stored, aliases included; keys it says nothing about are
// absent.
func (s *Store) sourceDatasetFacts(ctx context.Context, source string, keys []catalog.Key) (map[catalog.Key]catalog.DatasetFacts, error) {
	ids, err := s.DatasetIDs(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read facts of %s: %w", source, err)
	}
	out := map[catalog.Key]catalog.DatasetFacts{}
	if len(ids) == 0 {
		return out, nil
	}
	idList := slices.Collect(maps.Values(ids))
	b := &pgx.Batch{}
	set := queueFacts(b, idList, factRead{source: source, full: true, aliases: true})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("read facts of %s: %w", source, err)
	}
	for _, l := range set {
		if len(l.facts) > 0 {
			out[l.key] = l.facts[0].DatasetFacts
		}
	}
	return out, nil
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

// LiveDatasets reports which of the datasets keys a source reports now,
// in one statement.
func (s *Store) LiveDatasets(ctx context.Context, keys []catalog.Key) (map[catalog.Key]bool, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT d.namespace, d.name FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		WHERE EXISTS (SELECT 1 FROM dataset_facts f WHERE f.dataset_id = d.id AND f.removed_at IS NULL)`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key]bool{}
	var k catalog.Key
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name}, func() error { out[k] = true; return nil }); err != nil {
		return nil, fmt.Errorf("look up %d datasets: %w", len(keys), err)
	}
	return out, nil
}

// DatasetOwners returns the owners of the datasets keys that their live
// sources report, each owner once per ownership type.
func (s *Store) DatasetOwners(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.Owner, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT DISTINCT d.namespace, d.name, o.owner, o.owner_kind, o.ownership_type
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		JOIN owners o ON o.dataset_id = d.id
		JOIN dataset_facts f ON f.dataset_id = d.id AND f.source = o.source AND f.removed_at IS NULL
		ORDER BY 1, 2, 3, 5`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("read owners: %w", err)
	}
	out := map[catalog.Key][]catalog.Owner{}
	var (
		k catalog.Key
		o catalog.Owner
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &o.Name, &o.Kind, &o.Type}, func() error {
		out[k] = append(out[k], o)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read owners: %w", err)
	}
	return out, nil
}

// DatasetFilter selects datasets; empty fields select everything.
type DatasetFilter struct {
	Namespace string
	// Prefix of the dataset name, e.g. "warehouse.marts."
	Prefix string
	Kind   catalog.Kind
	// Source selects datasets a source reports (or reported, when removed).
	Source string
	// Owner and Tag select datasets a live source says are owned by or
	// tagged with them.
	Owner string
	// OwnerKind narrows Owner to owners of one kind: a team, say.
	OwnerKind catalog.OwnerKind
	Tag       string
	// Platform selects datasets a live source places on that platform.
	Platform string
	// Attention selects datasets that need someone's attention for that
	// reason; "" selects them all.
	Attention      Attention
	IncludeRemoved bool
}

// Attention is why a dataset needs someone's attention.
type Attention string

// Reasons a dataset needs attention.
const (
	// AttentionFailing: the latest result of one of its live checks
	// failed or errored.
	AttentionFailing Attention = "failing"
	// AttentionStale: its latest freshness observation of some source
	// warned or erred.
	AttentionStale Attention = "stale"
	// AttentionUndocumented: no live source nor person describes it.
	AttentionUndocumented Attention = "undocumented"
)

// Attentions lists the reasons, in the order the home page shows them.
var Attentions = []Attention{AttentionFailing, AttentionStale, AttentionUndocumented}

// Valid reports whether a is one of Attentions.
func (a Attention) Valid() bool {
	for _, x := range Attentions {
		if a == x {
			return true
		}
	}
	return false
}

// attentionSQL is the condition on a dataset DS for each reason, shared by
// the filter, the health order and the counts, so that a count card and
// its list agree; attention names the dataset's alias.
var attentionSQL = map[Attention]string{
	AttentionFailing: `EXISTS (
		SELECT 1 FROM quality_checks c
		CROSS JOIN LATERAL (
			SELECT r.status FROM quality_results r
			WHERE r.source = c.source AND r.check_name = c.name
			ORDER BY r.started_at DESC LIMIT 1) latest
		WHERE c.dataset_namespace = DS.namespace AND c.dataset_name = DS.name
		  AND c.removed_at IS NULL AND latest.status IN ('fail', 'error'))`,
	// A source's observation that did not pass and that no later one
	// of the source follows: written as a plain semi-join (not DISTINCT
	// ON), which the planner drives from the few failing observations
	// rather than probing every dataset.
	AttentionStale: `EXISTS (
		SELECT 1 FROM freshness_observations o
		WHERE o.dataset_namespace = DS.namespace AND o.dataset_name = DS.name AND o.status <> 'pass'
		  AND NOT EXISTS (
			SELECT 1 FROM freshness_observations later
			WHERE later.source = o.source AND later.dataset_namespace = o.dataset_namespace
			  AND later.dataset_name = o.dataset_name AND later.observed_at > o.observed_at))`,
	AttentionUndocumented: `NOT EXISTS (
		SELECT 1 FROM dataset_facts f
		WHERE f.dataset_id = DS.id AND f.removed_at IS NULL AND f.description <> '')`,
}

func attention(a Attention, alias string) string {
	return strings.ReplaceAll(attentionSQL[a], "DS.", alias+".")
}

// DatasetSort is the order of a listing.
type DatasetSort string

// Orders of a listing. Every order ends by namespace and name, so that
// pages never overlap.
const (
	// SortName orders by namespace and name, the default.
	SortName DatasetSort = ""
	// SortChanged puts the datasets whose facts changed most recently in
	// the catalog first.
	SortChanged DatasetSort = "changed"
	// SortPopular puts the most read datasets first: by their
	// popularity score (see catalog.Popularity and RefreshPopularity),
	// then by the jobs of live sources with the dataset among their
	// inputs.
	SortPopular DatasetSort = "popular"
	// SortHealth puts the datasets that need attention first: failing
	// checks, then stale, then the rest.
	SortHealth DatasetSort = "health"
)

// DatasetSorts lists the orders, in the order the home page offers them.
var DatasetSorts = []DatasetSort{SortName, SortChanged, SortPopular, SortHealth}

// orderBy is the ORDER BY of each sort over the CTE matching (id,
// namespace, name, updated_at).
var orderBy = map[DatasetSort]string{
	SortName:    "namespace, name",
	SortChanged: "updated_at DESC, namespace, name",
	SortPopular: `coalesce((SELECT p.score FROM dataset_popularity p WHERE p.dataset_id = m.id), 0) DESC,
		(SELECT count(DISTINCT io.job_id) FROM job_io io
		JOIN job_facts jf ON jf.job_id = io.job_id AND jf.source = io.source AND jf.removed_at IS NULL
		WHERE io.direction = 'in' AND io.namespace = m.namespace AND io.name = m.name) DESC, namespace, name`,
	// SortHealth has a statement of its own: see healthPage.
	SortHealth: "",
}

// DatasetPage is a page of datasets ordered by namespace and name.
type DatasetPage struct {
	IDs []int64
	// Total is the number of datasets matching the filter, or -1 when not
	// asked for.
	Total int
}

// Paging asks for one page of a listing in the order Sort: at most Limit
// items after the key After (from the start when nil; only in name order),
// of which the first Offset are skipped. Keyset pagination (After) costs
// the same on the last page as on the first; Offset serves pages numbered
// in links. Total asks for the number of every match too.
type Paging struct {
	After  *catalog.Key
	Offset int
	Limit  int
	Total  bool
	Sort   DatasetSort
}

// FindDatasets returns the ids of the page p of the datasets matching f,
// in one statement. DatasetsByIDs reads them.
func (s *Store) FindDatasets(ctx context.Context, f DatasetFilter, p Paging) (DatasetPage, error) {
	// Only the filters in use become conditions, so that the planner sees
	// plain semi-joins it can drive from the owner or tag index rather
	// than an OR it must test on every dataset.
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Namespace != "" {
		where = append(where, "d.namespace = "+arg(f.Namespace))
	}
	if f.Prefix != "" {
		where = append(where, "d.name LIKE "+arg(escapeLike(f.Prefix)+"%"))
	}
	if !f.IncludeRemoved {
		where = append(where, "d.removed_at IS NULL")
	}
	if f.Source != "" {
		where = append(where, "d.id IN (SELECT dataset_id FROM dataset_facts WHERE source = "+arg(f.Source)+")")
	}
	if f.Kind != "" {
		where = append(where, "d.id IN (SELECT dataset_id FROM dataset_facts WHERE kind = "+arg(string(f.Kind))+" AND removed_at IS NULL)")
	}
	if f.Owner != "" || f.OwnerKind != "" {
		var owner []string
		if f.Owner != "" {
			owner = append(owner, "o.owner = "+arg(f.Owner))
		}
		if f.OwnerKind != "" {
			owner = append(owner, "o.owner_kind = "+arg(string(f.OwnerKind)))
		}
		where = append(where, `d.id IN (
			SELECT o.dataset_id FROM owners o JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source
			WHERE `+strings.Join(owner, " AND ")+` AND f.removed_at IS NULL)`)
	}
	if f.Tag != "" {
		where = append(where, `d.id IN (
			SELECT t.dataset_id FROM tags t JOIN dataset_facts f ON f.dataset_id = t.dataset_id AND f.source = t.source
			WHERE t.tag = `+arg(f.Tag)+` AND f.removed_at IS NULL)`)
	}
	if f.Platform != "" {
		where = append(where, "d.id IN (SELECT dataset_id FROM dataset_facts WHERE platform = "+arg(f.Platform)+" AND removed_at IS NULL)")
	}
	if f.Attention != "" {
		if !f.Attention.Valid() {
			return DatasetPage{}, fmt.Errorf("find datasets: unknown attention %q: %w", f.Attention, catalog.ErrInvalid)
		}
		where = append(where, attention(f.Attention, "d"))
	}
	order, ok := orderBy[p.Sort]
	if !ok {
		return DatasetPage{}, fmt.Errorf("find datasets: unknown sort %q: %w", p.Sort, catalog.ErrInvalid)
	}
	if p.After != nil && p.Sort != SortName {
		return DatasetPage{}, fmt.Errorf("find datasets: a cursor pages the name order only, not %q: %w", p.Sort, catalog.ErrInvalid)
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, "\n\t\t\t  AND ")
	}
	page := "true"
	if p.After != nil {
		page = "(namespace, name) > (" + arg(p.After.Namespace) + ", " + arg(p.After.Name) + ")"
	}
	total := "NULL::bigint"
	if p.Total {
		total = "(SELECT count(*) FROM matching)"
	}
	var sql string
	if p.Sort == SortHealth {
		sql = healthPage(cond, arg(p.Limit), arg(p.Offset), total)
	} else {
		sql = `
		WITH matching AS NOT MATERIALIZED (
			SELECT d.id, d.namespace, d.name, d.updated_at FROM datasets d
			WHERE ` + cond + `
		)
		SELECT array(SELECT id FROM matching m WHERE ` + page + ` ORDER BY ` + order + ` LIMIT ` + arg(p.Limit) + ` OFFSET ` + arg(p.Offset) + `), ` + total
	}
	var (
		res DatasetPage
		n   *int
	)
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&res.IDs, &n); err != nil {
		return res, fmt.Errorf("find datasets: %w", translate(err))
	}
	res.Total = -1
	if n != nil {
		res.Total = *n
	}
	return res, nil
}

// healthPage is the statement of a page of the health order: the
// datasets matching cond with failing checks, then the stale ones, each
// by namespace and name, then the rest by namespace and name; limit and
// offset are its parameters, total the count's expression. Ordering every
// dataset by a CASE of its attention would probe each one (seconds at
// 100,000 datasets): instead the few needing attention are found from
// the checks and observations that say so, and the rest are read in the
// name index's order, skipping those, only as far as the page goes.
func healthPage(cond, limit, offset, total string) string {
	return `
		WITH matching AS NOT MATERIALIZED (
			SELECT d.id, d.namespace, d.name, d.updated_at FROM datasets d
			WHERE ` + cond + `
		),
		attn AS MATERIALIZED (
			SELECT id, namespace, name, min(health) AS health FROM (
				SELECT m.id, m.namespace, m.name, 0 AS health FROM matching m WHERE ` + attention(AttentionFailing, "m") + `
				UNION ALL
				SELECT m.id, m.namespace, m.name, 1 FROM matching m WHERE ` + attention(AttentionStale, "m") + `) a
			GROUP BY id, namespace, name
		),
		head AS (
			SELECT id, health, namespace, name FROM attn ORDER BY health, namespace, name LIMIT ` + limit + ` OFFSET ` + offset + `
		)
		SELECT array(SELECT id FROM head ORDER BY health, namespace, name) || array(
			SELECT m.id FROM matching m WHERE NOT EXISTS (SELECT 1 FROM attn a WHERE a.id = m.id)
			ORDER BY namespace, name
			LIMIT ` + limit + ` - (SELECT count(*) FROM head)
			OFFSET greatest(` + offset + ` - (SELECT count(*) FROM attn), 0)), ` + total
}

// NamespaceCount is a namespace and how many live datasets it holds.
type NamespaceCount struct {
	Namespace string
	Datasets  int
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

// Count is a value of a facet (a platform, a team) and how many live
// datasets have it; Namespace is set for schemas, which are named within
// one.
type Count struct {
	Namespace string
	Value     string
	Datasets  int
}

// Browse is what a catalog offers to browse by: the platforms, schemas,
// kinds, teams and people of live datasets, each the limit largest by
// number of datasets (then by name), and how many datasets need attention
// for each reason.
type Browse struct {
	Platforms, Schemas, Kinds, Teams, People []Count
	Attention                                map[Attention]int
}

// Browse reads the facets of live datasets in one round trip. A schema is
// a dataset name without its last dot-separated part
// ("analytics.public" of "analytics.public.orders").
func (s *Store) Browse(ctx context.Context, limit int) (Browse, error) {
	b := Browse{Attention: map[Attention]int{}}
	facts := `FROM dataset_facts f JOIN datasets d ON d.id = f.dataset_id AND d.removed_at IS NULL WHERE f.removed_at IS NULL`
	owners := `FROM owners o
		JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
		JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL`
	queries := []struct {
		into *[]Count
		sql  string
	}{
		{&b.Platforms, `SELECT '', f.platform, count(DISTINCT f.dataset_id) ` + facts + ` AND f.platform <> '' GROUP BY 2`},
		{&b.Kinds, `SELECT '', f.kind, count(DISTINCT f.dataset_id) ` + facts + ` AND f.kind <> '' GROUP BY 2`},
		{&b.Schemas, `SELECT namespace, substring(name from '^(.*)\.[^.]*$'), count(*) FROM datasets
			WHERE removed_at IS NULL AND name LIKE '%.%' GROUP BY 1, 2`},
		{&b.Teams, `SELECT '', o.owner, count(DISTINCT o.dataset_id) ` + owners + ` WHERE o.owner_kind = 'team' GROUP BY 2`},
		{&b.People, `SELECT '', o.owner, count(DISTINCT o.dataset_id) ` + owners + ` WHERE o.owner_kind = 'user' GROUP BY 2`},
	}
	batch := &pgx.Batch{}
	for _, q := range queries {
		batch.Queue(`SELECT * FROM (`+q.sql+`) c ORDER BY 3 DESC, 1, 2 LIMIT $1`, limit).Query(func(rows pgx.Rows) error {
			var err error
			*q.into, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Count])
			return err
		})
	}
	// One count per reason, each condition in a WHERE of its own, where
	// the planner makes it a semi- or anti-join driven from the smaller
	// side (checks, observations) rather than a subplan run per dataset.
	for _, a := range Attentions {
		batch.Queue(`SELECT count(*) FROM datasets d WHERE d.removed_at IS NULL AND ` + attention(a, "d")).QueryRow(func(row pgx.Row) error {
			var n int
			err := row.Scan(&n)
			b.Attention[a] = n
			return err
		})
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return Browse{}, fmt.Errorf("browse catalog: %w", translate(err))
	}
	return b, nil
}

// OwnerCount is an owner and how many live datasets it owns.
type OwnerCount struct {
	Owner    catalog.Owner // without Type: an owner counts once whatever its ownership types
	Datasets int
}

// Owners lists the distinct owners of live datasets (as live sources say)
// ordered by name and kind, at most limit of them after the owner after.
func (s *Store) Owners(ctx context.Context, after *catalog.Owner, limit int) ([]OwnerCount, error) {
	var afterName, afterKind *string
	if after != nil {
		afterName, afterKind = &after.Name, (*string)(&after.Kind)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT o.owner, o.owner_kind, count(DISTINCT o.dataset_id)
		FROM owners o
		JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
		JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL
		WHERE $1::text IS NULL OR (o.owner, o.owner_kind) > ($1, $2::text)
		GROUP BY o.owner, o.owner_kind
		ORDER BY o.owner, o.owner_kind LIMIT $3`, afterName, afterKind, limit)
	if err != nil {
		return nil, fmt.Errorf("list owners: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (OwnerCount, error) {
		var c OwnerCount
		err := row.Scan(&c.Owner.Name, &c.Owner.Kind, &c.Datasets)
		return c, err
	})
}

// TagCount is a tag and how many live datasets carry it.
type TagCount struct {
	Tag      string
	Datasets int
}

// Tags lists the distinct tags of live datasets (as live sources say)
// ordered by name, at most limit of them after the tag after ("" for the
// start).
func (s *Store) Tags(ctx context.Context, after string, limit int) ([]TagCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT t.tag, count(DISTINCT t.dataset_id)
		FROM tags t
		JOIN dataset_facts f ON f.dataset_id = t.dataset_id AND f.source = t.source AND f.removed_at IS NULL
		JOIN datasets d ON d.id = t.dataset_id AND d.removed_at IS NULL
		WHERE t.tag > $1
		GROUP BY t.tag ORDER BY t.tag LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[TagCount])
}

// Stats counts what the catalog holds, for the home page and /metrics.
type Stats struct {
	Datasets   int
	Removed    int
	Columns    int
	Namespaces int
	Sources    int
}

// Stats counts live datasets, removed ones, columns, namespaces and sources.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE removed_at IS NULL),
		       count(*) FILTER (WHERE removed_at IS NOT NULL),
		       (SELECT count(DISTINCT (dataset_id, name)) FROM columns),
		       count(DISTINCT namespace),
		       (SELECT count(*) FROM (SELECT name FROM sources UNION SELECT source FROM crawl_runs) s)
		FROM datasets`).Scan(&st.Datasets, &st.Removed, &st.Columns, &st.Namespaces, &st.Sources)
	if err != nil {
		return st, fmt.Errorf("count catalog: %w", err)
	}
	return st, nil
}
