package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file writes a harvest: the facts of its source on datasets, then
// jobs, runs, column lineage and quality facts, each in the file of its
// table family.

// batchSize is how many datasets one ingest transaction writes.
const batchSize = 5000

// ingest writes a harvest: in one transaction per batch, it replaces the
// facts of h.Source on every dataset whose facts changed, records schema
// versions and change log entries, then marks removed the datasets of the
// source under h.Scopes (anywhere, when h.DatasetsComplete) that the
// harvest no longer reports. Datasets that
// did not change are not written at all. Invalid datasets are recorded as
// errors on run and skipped; they are never taken for removed.
func (s *Store) ingest(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	return s.ingestReporting(ctx, h, run, func() {})
}

// ingestReporting is ingest, calling progress after every batch of
// datasets.
func (s *Store) ingestReporting(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun, progress func()) error {
	if h.Source == "" || catalog.IsUserSource(h.Source) {
		return fmt.Errorf("ingest: source %q cannot be crawled: %w", h.Source, catalog.ErrInvalid)
	}
	seen := make(map[catalog.Key]bool, len(h.Datasets))
	batch := make([]*prepared, 0, min(batchSize, len(h.Datasets)))
	for _, f := range h.Datasets {
		if seen[f.Key] {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: f.Key.String(), Message: "reported twice by the source; the first is kept"})
			continue
		}
		seen[f.Key] = true
		run.Counts.Seen++
		nf, err := f.Normalize()
		if err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: f.Key.String(), Message: err.Error()})
			continue
		}
		run.Counts.Columns += len(nf.Columns)
		batch = append(batch, &prepared{facts: nf, prior: prior{hash: nf.Hash()}})
		if len(batch) == batchSize {
			if err := s.ingestBatch(ctx, h.Source, batch, &run.Counts); err != nil {
				return err
			}
			batch = batch[:0]
			progress()
		}
	}
	if len(batch) > 0 {
		if err := s.ingestBatch(ctx, h.Source, batch, &run.Counts); err != nil {
			return err
		}
		progress()
	}
	// Jobs, runs, column lineage and quality facts, after the datasets
	// they name were written.
	if err := s.ingestLineageQuality(ctx, h, run); err != nil {
		return err
	}
	return s.removeUnseen(ctx, h.Source, h.Scopes, h.DatasetsComplete, seen, &run.Counts)
}

// ingestLineageQuality writes h.Jobs, h.Runs, h.Checks, h.Results and
// h.Freshness. Invalid items are recorded as errors on run and skipped.
func (s *Store) ingestLineageQuality(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	if err := s.ingestJobs(ctx, h, run); err != nil {
		return err
	}
	if err := s.ingestRuns(ctx, h, run); err != nil {
		return err
	}
	if err := s.ingestColumnLineage(ctx, h.Source, h.ColumnLineage); err != nil {
		return err
	}
	// Checks, results and freshness are read first, then written in one
	// transaction that records one ChangeQuality per dataset touched.
	var (
		writes  []qualityWrite
		touched []catalog.Key
	)
	for _, prepare := range []func(context.Context, catalog.Harvest, *catalog.CrawlRun) (qualityWrite, []catalog.Key, error){
		s.prepareChecks, s.prepareResults, s.prepareFreshness,
	} {
		w, keys, err := prepare(ctx, h, run)
		if err != nil {
			return err
		}
		if w != nil {
			writes = append(writes, w)
			touched = append(touched, keys...)
		}
	}
	if len(writes) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		for _, w := range writes {
			if err := w(ctx, tx, now); err != nil {
				return err
			}
		}
		return s.appendQualityChanges(ctx, tx, h.Source, touched, now)
	})
	if err != nil {
		return fmt.Errorf("ingest quality facts of %s: %w", h.Source, translate(err))
	}
	return nil
}

// qualityWrite writes what a prepare step found new or changed.
type qualityWrite func(ctx context.Context, tx pgx.Tx, now time.Time) error

// prepared is one dataset of a harvest ready to write.
type prepared struct {
	facts catalog.DatasetFacts
	prior
}

// prior is the hash of what a source says of an entity (a dataset, a
// job) now, beside what the store held of it before this ingest.
type prior struct {
	hash        []byte
	id          int64
	existed     bool // the entity's row exists
	hadFacts    bool // this source had facts on it
	factRemoved bool
	oldHash     []byte
}

func (p *prior) changed() bool {
	return !p.hadFacts || p.factRemoved || !bytes.Equal(p.hash, p.oldHash)
}

// readPriors scans rows of (ordinal in the batch, id, content hash or
// NULL, removed) into the priors of a batch.
func readPriors(rows pgx.Rows, at func(i int) *prior) error {
	var (
		i       int
		id      int64
		hash    []byte
		removed bool
	)
	_, err := pgx.ForEachRow(rows, []any{&i, &id, &hash, &removed}, func() error {
		p := at(i - 1)
		p.id, p.existed = id, true
		if hash != nil {
			p.hadFacts, p.oldHash, p.factRemoved = true, hash, removed
		}
		return nil
	})
	return err
}

// ingestBatch writes one batch. It reads what the source said before
// outside any transaction, and opens one only when something changed.
func (s *Store) ingestBatch(ctx context.Context, source string, batch []*prepared, counts *catalog.CrawlCounts) error {
	if err := s.lookup(ctx, source, batch); err != nil {
		return err
	}
	var todo []*prepared
	for _, p := range batch {
		if p.changed() {
			todo = append(todo, p)
		} else {
			counts.Unchanged++
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.write(ctx, tx, source, todo, counts)
	})
	if err != nil {
		return fmt.Errorf("ingest %d datasets of %s: %w", len(todo), source, translate(err))
	}
	return nil
}

// lookup fills in the ids and previous hashes of a batch.
func (s *Store) lookup(ctx context.Context, source string, batch []*prepared) error {
	nss, names := keyArrays(batch)
	rows, err := s.pool.Query(ctx, `
		SELECT k.i, d.id, f.content_hash, f.removed_at IS NOT NULL
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(namespace, name, i)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		LEFT JOIN dataset_facts f ON f.dataset_id = d.id AND f.source = $3`, nss, names, source)
	if err != nil {
		return fmt.Errorf("look up datasets of %s: %w", source, err)
	}
	if err := readPriors(rows, func(i int) *prior { return &batch[i].prior }); err != nil {
		return fmt.Errorf("look up datasets of %s: %w", source, err)
	}
	return nil
}

// createMissing inserts into table (datasets or jobs, both keyed by
// namespace and name) the rows of the keys nss[i], names[i] that are not
// there yet, then sets the id of each key on at(i). It returns the ids it
// created, whose updated_at is already now. Another ingest may create
// some of them at the same time: ON CONFLICT keeps theirs, and the select
// after finds their ids.
func createMissing(ctx context.Context, tx pgx.Tx, table string, nss, names []string, now time.Time, at func(i int) *prior) (map[int64]bool, error) {
	t := pgx.Identifier{table}.Sanitize()
	rows, err := tx.Query(ctx, `
		INSERT INTO `+t+` (namespace, name, created_at, updated_at)
		SELECT namespace, name, $3, $3 FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		ON CONFLICT (namespace, name) DO NOTHING
		RETURNING id`, nss, names, now)
	if err != nil {
		return nil, err
	}
	created := map[int64]bool{}
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { created[id] = true; return nil }); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `
		SELECT k.i, t.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(namespace, name, i)
		JOIN `+t+` t ON t.namespace = k.namespace AND t.name = k.name`, nss, names)
	if err != nil {
		return nil, err
	}
	var i int
	_, err = pgx.ForEachRow(rows, []any{&i, &id}, func() error { at(i - 1).id = id; return nil })
	return created, err
}

// touched returns ids without those created, whose updated_at is already
// now: touching them again rewrote every row an ingest had just created,
// with all its index entries (8% of the OpenLineage worker's statement
// time in BenchmarkIngest, where most datasets are new).
func touched(ids []int64, created map[int64]bool) []int64 {
	if len(created) == 0 {
		return ids
	}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !created[id] {
			out = append(out, id)
		}
	}
	return out
}

func keyArrays(batch []*prepared) (nss, names []string) {
	nss, names = make([]string, len(batch)), make([]string, len(batch))
	for i, p := range batch {
		nss[i], names[i] = p.facts.Key.Namespace, p.facts.Key.Name
	}
	return nss, names
}

// write replaces the source's facts on the changed datasets of a batch.
func (s *Store) write(ctx context.Context, tx pgx.Tx, source string, todo []*prepared, counts *catalog.CrawlCounts) error {
	now := s.now()
	// Create the datasets nobody reported before. Another source may create
	// one at the same time: ON CONFLICT keeps theirs, and the select after
	// finds its id.
	var fresh []*prepared
	for _, p := range todo {
		if !p.existed {
			fresh = append(fresh, p)
		}
	}
	var created map[int64]bool
	if len(fresh) > 0 {
		nss, names := keyArrays(fresh)
		var err error
		if created, err = createMissing(ctx, tx, "datasets", nss, names, now, func(i int) *prior { return &fresh[i].prior }); err != nil {
			return fmt.Errorf("create datasets: %w", err)
		}
	}

	ids := make([]int64, len(todo))
	for i, p := range todo {
		ids[i] = p.id
	}
	// The datasets this ingest created have no facts, columns or
	// versions to read or replace: only the others are looked up.
	prior := touched(ids, created)
	versions, err := schemaChanges(ctx, tx, source, todo, prior, now)
	if err != nil {
		return err
	}
	old, err := readOldFacts(ctx, tx, source, prior)
	if err != nil {
		return err
	}

	// Replace the source's facts wholesale: delete, then COPY.
	if len(prior) > 0 {
		for _, table := range []string{"dataset_facts", "columns", "foreign_keys", "owners", "tags", "dataset_aliases"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE dataset_id = ANY($1) AND source = $2`, prior, source); err != nil {
				return fmt.Errorf("replace %s: %w", table, err)
			}
		}
	}
	if err := copyFacts(ctx, tx, source, todo, now); err != nil {
		return err
	}
	if len(prior) > 0 {
		if _, err := tx.Exec(ctx, `
			UPDATE datasets SET updated_at = $2, removed_at = NULL WHERE id = ANY($1)`, prior, now); err != nil {
			return fmt.Errorf("touch datasets: %w", err)
		}
	}

	changes := make([][]any, 0, len(todo)+len(versions))
	for _, p := range todo {
		kind := catalog.ChangeUpdated
		switch {
		case !p.existed:
			kind = catalog.ChangeCreated
			counts.Created++
		case p.factRemoved:
			kind = catalog.ChangeRestored
			counts.Restored++
		default:
			counts.Updated++
		}
		changes = append(changes, changeRowDetails(p.id, p.facts.Key, kind, source, now, factChanges(old[p.id], p.facts)))
	}
	for _, v := range versions {
		if v.version > 1 {
			changes = append(changes, changeRowDetails(v.p.id, v.p.facts.Key, catalog.ChangeSchemaChanged, source, now, columnChanges(v.diff)))
		}
	}
	return appendChanges(ctx, tx, changes)
}

func copyFacts(ctx context.Context, tx pgx.Tx, source string, todo []*prepared, now time.Time) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"dataset_facts"},
		[]string{"dataset_id", "source", "platform", "kind", "description", "definition", "row_estimate", "size_bytes",
			"partition_key", "partitions", "properties", "content_hash", "updated_at"},
		pgx.CopyFromSlice(len(todo), func(i int) ([]any, error) {
			f := todo[i].facts
			return []any{todo[i].id, source, f.Platform, string(f.Kind), f.Description, f.Definition, f.RowEstimate, f.SizeBytes,
				f.PartitionKey, f.Partitions, f.Properties, todo[i].hash, now}, nil
		}))
	if err != nil {
		return fmt.Errorf("write dataset facts: %w", err)
	}

	var cols, fks, owners, tags, aliases [][]any
	for _, p := range todo {
		for _, c := range p.facts.Columns {
			cols = append(cols, []any{p.id, source, c.Name, c.Ordinal, c.Type, c.Nullable, c.Default, c.Description, c.PrimaryKey})
		}
		for _, fk := range p.facts.ForeignKeys {
			fks = append(fks, []any{p.id, source, fk.Name, fk.Columns, fk.Target.Namespace, fk.Target.Name, fk.TargetCol})
		}
		for _, o := range p.facts.Owners {
			owners = append(owners, []any{p.id, source, o.Name, string(o.Kind), o.Type})
		}
		for _, t := range p.facts.Tags {
			tags = append(tags, []any{p.id, source, t})
		}
		for _, a := range p.facts.Aliases {
			aliases = append(aliases, []any{p.id, source, a.Key.Namespace, a.Key.Name, a.Type})
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"columns", []string{"dataset_id", "source", "name", "ordinal", "data_type", "nullable", "default_expr", "description", "primary_key"}, cols},
		{"foreign_keys", []string{"dataset_id", "source", "name", "columns", "target_namespace", "target_name", "target_columns"}, fks},
		{"owners", []string{"dataset_id", "source", "owner", "owner_kind", "ownership_type"}, owners},
		{"tags", []string{"dataset_id", "source", "tag"}, tags},
		{"dataset_aliases", []string{"dataset_id", "source", "namespace", "name", "type"}, aliases},
	}
	for _, c := range copies {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return fmt.Errorf("write %s: %w", c.table, err)
		}
	}
	return nil
}

// removeUnseen marks removed the source's datasets under scopes, or
// anywhere when all, that the crawl did not report. A dataset stays live
// while another source (other than people's edits) still reports it.
func (s *Store) removeUnseen(ctx context.Context, source string, scopes []catalog.Scope, all bool, seen map[catalog.Key]bool, counts *catalog.CrawlCounts) error {
	if len(scopes) == 0 && !all {
		return nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.namespace, d.name FROM dataset_facts f JOIN datasets d ON d.id = f.dataset_id
		WHERE f.source = $1 AND f.removed_at IS NULL`, source)
	if err != nil {
		return fmt.Errorf("find removed datasets of %s: %w", source, err)
	}
	var (
		gone []int64
		id   int64
		key  catalog.Key
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name}, func() error {
		if seen[key] {
			return nil
		}
		if all {
			gone = append(gone, id)
			return nil
		}
		for _, sc := range scopes {
			if sc.Covers(key) {
				gone = append(gone, id)
				break
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("find removed datasets of %s: %w", source, err)
	}
	if len(gone) == 0 {
		return nil
	}
	now := s.now()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE dataset_facts SET removed_at = $3 WHERE dataset_id = ANY($1) AND source = $2`, gone, source, now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			UPDATE datasets d SET updated_at = $2::timestamptz,
				removed_at = CASE WHEN EXISTS (
					SELECT 1 FROM dataset_facts f
					WHERE f.dataset_id = d.id AND f.removed_at IS NULL AND f.source NOT LIKE 'user:%'
				) THEN NULL ELSE $2::timestamptz END
			WHERE id = ANY($1)
			RETURNING id, namespace, name, removed_at IS NOT NULL`, gone, now)
		if err != nil {
			return err
		}
		var (
			changes [][]any
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
			return err
		}
		counts.Removed += len(gone)
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("mark %d datasets of %s removed: %w", len(gone), source, translate(err))
	}
	return nil
}
