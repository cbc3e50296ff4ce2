package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file reads and writes dataset aliases (dataset_aliases). A dataset
// may be known by several keys, as when a Spark job
// writes the files s3://bucket/warehouse/t that the Hive metastore serves
// as table db.t. An OpenLineage symlinks facet on the dataset an event is
// about declares its other keys; the dataset the event is about is
// canonical, its symlinks are aliases (dataset_aliases). A push resolves
// every dataset key it names through the aliases that live sources
// declare, so that lineage through either key joins on one dataset:
//
//   - a key that several datasets declare as an alias resolves to the
//     oldest of them (the smallest id), whatever the order of arrival;
//   - an alias of an alias resolves to the end of the chain, and keys that
//     alias each other in a cycle all resolve to the smallest key of the
//     cycle;
//   - a push that declares aliases for a key that is itself an alias
//     declares them for that key's dataset.
//
// Only pushes resolve: what a crawl reports about a key stays on that key.

// maxAliasHops bounds how far a chain of aliases is followed.
const maxAliasHops = 4

// ResolveAliases returns, for each key, the dataset a lookup by that name
// means: the key itself while a live source describes it, else the
// dataset it is an alias of (through the symlinks OpenLineage reported,
// following chains), else the key itself. Asking for a Hive table then
// finds the S3 dataset that declared it. It also returns which keys are
// live. Two queries, however many keys.
func (s *Store) ResolveAliases(ctx context.Context, keys []catalog.Key) (meant map[catalog.Key]catalog.Key, live map[catalog.Key]bool, err error) {
	if live, err = s.LiveDatasets(ctx, keys); err != nil {
		return nil, nil, err
	}
	var others []catalog.Key
	for _, k := range keys {
		if !live[k] {
			others = append(others, k)
		}
	}
	hops := map[catalog.Key]catalog.Key{}
	if len(others) > 0 {
		if hops, err = s.aliasHops(ctx, others); err != nil {
			return nil, nil, err
		}
	}
	meant = make(map[catalog.Key]catalog.Key, len(keys))
	for _, k := range keys {
		meant[k] = k
		if !live[k] {
			meant[k] = resolveAlias(hops, k)
		}
	}
	return meant, live, nil
}

// FindDataset returns the id of the dataset a lookup by key means (see
// ResolveAliases); 0 when there is none.
func (s *Store) FindDataset(ctx context.Context, key catalog.Key) (int64, error) {
	meant, _, err := s.ResolveAliases(ctx, []catalog.Key{key})
	if err != nil {
		return 0, err
	}
	key = meant[key]
	ids, err := s.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return 0, err
	}
	return ids[key], nil
}

// resolvePush rewrites the dataset keys of p to the datasets they are
// aliases of, counting the aliases p itself declares, and returns the
// aliases p declares whose key the source may have written to before,
// each with its dataset.
func (s *Store) resolvePush(ctx context.Context, p catalog.Push) (catalog.Push, map[catalog.Key]catalog.Key, error) {
	var keys []catalog.Key
	for _, u := range p.Datasets {
		keys = append(keys, u.Facts.Key)
		for _, a := range u.Facts.Aliases {
			keys = append(keys, a.Key)
		}
	}
	for _, u := range p.Jobs {
		keys = append(keys, u.Job.Inputs...)
		keys = append(keys, u.Job.Outputs...)
	}
	for _, c := range p.ColumnLineage {
		keys = append(keys, c.Output, c.Input)
	}
	for _, c := range p.Checks {
		keys = append(keys, c.Dataset)
	}
	for _, r := range p.Results {
		keys = append(keys, r.Dataset)
	}
	for _, m := range p.Metrics {
		keys = append(keys, m.Dataset)
	}
	hops, err := s.aliasHops(ctx, keys)
	if err != nil {
		return p, nil, err
	}
	// What the push declares counts where the store knows nothing yet.
	var declared []catalog.Key
	for _, u := range p.Datasets {
		if u.Asserts&catalog.FacetAliases == 0 {
			continue
		}
		c := resolveAlias(hops, u.Facts.Key)
		for _, a := range u.Facts.Aliases {
			if a.Key == c || a.Key.Validate() != nil {
				continue
			}
			if _, ok := hops[a.Key]; !ok {
				hops[a.Key] = c
			}
			declared = append(declared, a.Key)
		}
	}
	if len(hops) == 0 {
		return p, nil, nil
	}
	of := func(k catalog.Key) catalog.Key { return resolveAlias(hops, k) }

	out := p
	out.Datasets = make([]catalog.DatasetUpdate, len(p.Datasets))
	for i, u := range p.Datasets {
		if k := of(u.Facts.Key); k != u.Facts.Key {
			// The platform and kind describe the alias's system, not the
			// dataset's; the aliases it declares add to the dataset's.
			u.Facts.Key, u.Facts.Platform, u.Facts.Kind = k, "", ""
			u.Asserts &^= catalog.FacetAliases
		}
		out.Datasets[i] = u
	}
	out.Jobs = make([]catalog.JobUpdate, len(p.Jobs))
	for i, u := range p.Jobs {
		u.Job.Inputs = resolveKeys(u.Job.Inputs, of)
		u.Job.Outputs = resolveKeys(u.Job.Outputs, of)
		out.Jobs[i] = u
	}
	out.ColumnLineage = make([]catalog.ColumnLineage, len(p.ColumnLineage))
	for i, c := range p.ColumnLineage {
		c.Output, c.Input = of(c.Output), of(c.Input)
		out.ColumnLineage[i] = c
	}
	out.Checks = make([]catalog.QualityCheck, len(p.Checks))
	for i, c := range p.Checks {
		c.Dataset = of(c.Dataset)
		out.Checks[i] = c
	}
	out.Results = make([]catalog.QualityResult, len(p.Results))
	for i, r := range p.Results {
		r.Dataset = of(r.Dataset)
		out.Results[i] = r
	}
	out.Metrics = make([]catalog.DatasetMetrics, len(p.Metrics))
	for i, m := range p.Metrics {
		m.Dataset = of(m.Dataset)
		out.Metrics[i] = m
	}
	adopt := map[catalog.Key]catalog.Key{}
	for _, a := range declared {
		if c := of(a); c != a {
			adopt[a] = c
		}
	}
	return out, adopt, nil
}

func resolveKeys(keys []catalog.Key, of func(catalog.Key) catalog.Key) []catalog.Key {
	out := make([]catalog.Key, len(keys))
	for i, k := range keys {
		out[i] = of(k)
	}
	return out
}

// resolveAlias follows hops (alias → the dataset declaring it) from k to
// the end of the chain; in a cycle, it returns the cycle's smallest key.
func resolveAlias(hops map[catalog.Key]catalog.Key, k catalog.Key) catalog.Key {
	path := []catalog.Key{k}
	at := map[catalog.Key]int{k: 0}
	for {
		next, ok := hops[k]
		if !ok {
			return k
		}
		if i, ok := at[next]; ok {
			return slices.MinFunc(path[i:], catalog.Key.Compare)
		}
		at[next] = len(path)
		path = append(path, next)
		k = next
	}
}

// aliasHops returns, for the keys and the keys they lead to (up to
// maxAliasHops away), the dataset each is an alias of, where it is one:
// the oldest live dataset that a live source says it is an alias of.
func (s *Store) aliasHops(ctx context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Key, error) {
	hops := map[catalog.Key]catalog.Key{}
	looked := map[catalog.Key]bool{}
	var todo []catalog.Key
	for _, k := range keys {
		if !looked[k] {
			looked[k] = true
			todo = append(todo, k)
		}
	}
	for round := 0; round < maxAliasHops && len(todo) > 0; round++ {
		nss, names := splitKeys(todo)
		rows, err := s.pool.Query(ctx, `
			SELECT DISTINCT ON (k.namespace, k.name) k.namespace, k.name, d.namespace, d.name
			FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
			JOIN dataset_aliases a ON a.namespace = k.namespace AND a.name = k.name
			JOIN datasets d ON d.id = a.dataset_id AND (d.namespace, d.name) <> (k.namespace, k.name)
			JOIN dataset_facts f ON f.dataset_id = a.dataset_id AND f.source = a.source AND f.removed_at IS NULL
			ORDER BY k.namespace, k.name, d.id`, nss, names)
		if err != nil {
			return nil, fmt.Errorf("resolve dataset aliases: %w", err)
		}
		todo = nil
		var alias, dataset catalog.Key
		if _, err := pgx.ForEachRow(rows, []any{&alias.Namespace, &alias.Name, &dataset.Namespace, &dataset.Name}, func() error {
			hops[alias] = dataset
			if !looked[dataset] {
				looked[dataset] = true
				todo = append(todo, dataset)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("resolve dataset aliases: %w", err)
		}
	}
	return hops, nil
}

// adoptAliases moves what source wrote before on each alias key of adopt
// onto the dataset the key is an alias of, in one transaction: job inputs
// and outputs, and column lineage into and out of the alias; the source's
// facts on the alias's own dataset are marked removed, so that it no
// longer shows apart from its dataset (unless another source still
// reports it). Each job and column lineage output changed, and the alias's
// dataset, gets a change log entry, so that the lineage graph and search
// follow. Other sources' facts on the alias are left alone.
func (s *Store) adoptAliases(ctx context.Context, source string, adopt map[catalog.Key]catalog.Key) error {
	if len(adopt) == 0 {
		return nil
	}
	var aliases, datasets []catalog.Key
	for _, a := range slices.SortedFunc(maps.Keys(adopt), func(a, b catalog.Key) int { return strings.Compare(a.String(), b.String()) }) {
		aliases, datasets = append(aliases, a), append(datasets, adopt[a])
	}
	ans, anames := splitKeys(aliases)
	cns, cnames := splitKeys(datasets)
	// Most pushes re-declare aliases already adopted: look before locking.
	var pending bool
	if err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS m(ns, name) WHERE
			EXISTS (SELECT 1 FROM job_io io WHERE io.source = $1 AND io.namespace = m.ns AND io.name = m.name)
			OR EXISTS (SELECT 1 FROM column_lineage c WHERE c.source = $1 AND c.namespace = m.ns AND c.name = m.name)
			OR EXISTS (SELECT 1 FROM column_lineage c WHERE c.source = $1 AND c.input_namespace = m.ns AND c.input_name = m.name)
			OR EXISTS (SELECT 1 FROM datasets d JOIN dataset_facts f ON f.dataset_id = d.id
				WHERE d.namespace = m.ns AND d.name = m.name AND f.source = $1 AND f.removed_at IS NULL))`,
		source, ans, anames).Scan(&pending); err != nil {
		return fmt.Errorf("look up aliases to adopt: %w", err)
	}
	if !pending {
		return nil
	}
	now := s.now()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		const moves = `unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS m(ans, aname, cns, cname)`
		var changes [][]any

		// Job inputs and outputs.
		if _, err := tx.Exec(ctx, `
			INSERT INTO job_io (job_id, source, direction, namespace, name)
			SELECT io.job_id, io.source, io.direction, m.cns, m.cname FROM job_io io JOIN `+moves+`
				ON io.namespace = m.ans AND io.name = m.aname
			WHERE io.source = $1
			ON CONFLICT DO NOTHING`, source, ans, anames, cns, cnames); err != nil {
			return fmt.Errorf("move job inputs and outputs: %w", err)
		}
		rows, err := tx.Query(ctx, `
			WITH gone AS (
				DELETE FROM job_io io USING `+moves+`
				WHERE io.source = $1 AND io.namespace = m.ans AND io.name = m.aname
				RETURNING io.job_id
			)
			SELECT DISTINCT j.id, j.namespace, j.name FROM gone JOIN jobs j ON j.id = gone.job_id ORDER BY j.id`,
			source, ans, anames, cns, cnames)
		if err != nil {
			return fmt.Errorf("move job inputs and outputs: %w", err)
		}
		var (
			id  int64
			job catalog.JobKey
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &job.Namespace, &job.Name}, func() error {
			changes = append(changes, []any{"job", id, job.Namespace, job.Name, string(catalog.ChangeUpdated), source, now})
			return nil
		}); err != nil {
			return fmt.Errorf("move job inputs and outputs: %w", err)
		}

		// Column lineage, on either side.
		const matched = `FROM column_lineage c
			LEFT JOIN ` + moves + ` ON c.namespace = m.ans AND c.name = m.aname
			LEFT JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS mi(ans, aname, cns, cname)
				ON c.input_namespace = mi.ans AND c.input_name = mi.aname
			WHERE c.source = $1 AND (m.ans IS NOT NULL OR mi.ans IS NOT NULL)`
		if _, err := tx.Exec(ctx, `
			INSERT INTO column_lineage (source, namespace, name, column_name, input_namespace, input_name, input_column,
				transformation_type, transformation_subtype, description, masking, updated_at)
			SELECT c.source, coalesce(m.cns, c.namespace), coalesce(m.cname, c.name), c.column_name,
				coalesce(mi.cns, c.input_namespace), coalesce(mi.cname, c.input_name), c.input_column,
				c.transformation_type, c.transformation_subtype, c.description, c.masking, $6
			`+matched+`
			ON CONFLICT DO NOTHING`, source, ans, anames, cns, cnames, now); err != nil {
			return fmt.Errorf("move column lineage: %w", err)
		}
		rows, err = tx.Query(ctx, `
			WITH gone AS (
				DELETE FROM column_lineage d USING (SELECT c.namespace, c.name, c.column_name, c.input_namespace, c.input_name,
						c.input_column, c.transformation_type, c.transformation_subtype,
						coalesce(m.cns, c.namespace) AS to_namespace, coalesce(m.cname, c.name) AS to_name `+matched+`) x
				WHERE d.source = $1 AND (d.namespace, d.name, d.column_name, d.input_namespace, d.input_name, d.input_column,
					d.transformation_type, d.transformation_subtype) = (x.namespace, x.name, x.column_name, x.input_namespace,
					x.input_name, x.input_column, x.transformation_type, x.transformation_subtype)
				RETURNING x.namespace, x.name, x.to_namespace, x.to_name
			)
			SELECT namespace, name FROM gone UNION SELECT to_namespace, to_name FROM gone ORDER BY 1, 2`,
			source, ans, anames, cns, cnames)
		if err != nil {
			return fmt.Errorf("move column lineage: %w", err)
		}
		outputs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Key, error) {
			var k catalog.Key
			err := row.Scan(&k.Namespace, &k.Name)
			return k, err
		})
		if err != nil {
			return fmt.Errorf("move column lineage: %w", err)
		}

		// The source's facts on the alias's own dataset.
		rows, err = tx.Query(ctx, `
			WITH gone AS (
				UPDATE dataset_facts f SET removed_at = $4 FROM datasets d, unnest($2::text[], $3::text[]) AS m(ns, name)
				WHERE d.namespace = m.ns AND d.name = m.name AND f.dataset_id = d.id AND f.source = $1 AND f.removed_at IS NULL
				RETURNING f.dataset_id
			)
			UPDATE datasets d SET updated_at = $4,
				removed_at = CASE WHEN EXISTS (
					SELECT 1 FROM dataset_facts f
					WHERE f.dataset_id = d.id AND f.removed_at IS NULL AND f.source NOT LIKE 'user:%' AND f.source <> $1
				) THEN NULL ELSE $4 END
			WHERE d.id IN (SELECT dataset_id FROM gone)
			RETURNING d.id, d.namespace, d.name, d.removed_at IS NOT NULL`, source, ans, anames, now)
		if err != nil {
			return fmt.Errorf("mark aliases removed: %w", err)
		}
		var (
			key     catalog.Key
			removed bool
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name, &removed}, func() error {
			kind := catalog.ChangeUpdated
			if removed {
				kind = catalog.ChangeRemoved
			}
			changes = append(changes, changeRow(id, key, kind, source, now))
			return nil
		}); err != nil {
			return fmt.Errorf("mark aliases removed: %w", err)
		}
		if err := appendChanges(ctx, tx, changes); err != nil {
			return err
		}
		if len(outputs) > 0 {
			return appendColumnLineageChanges(ctx, tx, source, outputs, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("adopt %d aliases of %s: %w", len(adopt), source, translate(err))
	}
	return nil
}
