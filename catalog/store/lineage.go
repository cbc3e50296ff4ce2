package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file writes what push sources (OpenLineage) report, and reads the
// lineage graph: jobs with their inputs and outputs, column lineage and
// runs.

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

// PartialError is the error of an ApplyPush that skipped invalid items
// and wrote all the rest. Any other error of ApplyPush means that some of
// the push may not have been written.
type PartialError struct {
	Errs []error
}

func (e *PartialError) Error() string   { return errors.Join(e.Errs...).Error() }
func (e *PartialError) Unwrap() []error { return e.Errs }

// ApplyPush writes what a push source (OpenLineage) reported: on each
// dataset and job it replaces only the parts the push asserts (see
// catalog.DatasetUpdate and catalog.JobUpdate), adds job inputs and
// outputs, records runs and quality results, and never removes anything.
// Invalid items are skipped and returned as a *PartialError; nothing valid
// is lost because of them. A run id belongs to the job that first ran it:
// a run of another job under the same id is refused.
//
// Dataset keys resolve through aliases (see resolveAliases): a push that
// names a known alias of a dataset writes to that dataset, and the rows
// the source wrote before on a key that the push declares an alias are
// moved onto its dataset (see adoptAliases).
func (s *Store) ApplyPush(ctx context.Context, p catalog.Push) error {
	if p.Source == "" || catalog.IsUserSource(p.Source) {
		return fmt.Errorf("apply push: source %q cannot push: %w", p.Source, catalog.ErrInvalid)
	}
	p, adopt, err := s.resolvePush(ctx, p)
	if err != nil {
		return err
	}
	datasets, err := s.mergeDatasetUpdates(ctx, p.Source, p.Datasets)
	if err != nil {
		return err
	}
	jobs, err := s.mergeJobUpdates(ctx, p.Source, p.Jobs)
	if err != nil {
		return err
	}
	h := catalog.Harvest{Source: p.Source, Datasets: datasets, Jobs: jobs, Checks: p.Checks, Results: p.Results, ColumnLineage: p.ColumnLineage}
	var run catalog.CrawlRun
	if err := s.Ingest(ctx, h, &run); err != nil {
		return fmt.Errorf("apply push of %s: %w", p.Source, err)
	}
	var errs []error
	for _, e := range run.Errors {
		errs = append(errs, fmt.Errorf("%s: %s: %w", e.Object, e.Message, catalog.ErrInvalid))
	}
	if err := s.upsertRuns(ctx, p.Source, p.Runs, &errs); err != nil {
		return err
	}
	if err := s.recordMetrics(ctx, p.Source, p.Metrics, &errs); err != nil {
		return err
	}
	if err := s.adoptAliases(ctx, p.Source, adopt); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &PartialError{Errs: errs}
	}
	return nil
}

// mergeDatasetUpdates lays each update over what the source said before.
func (s *Store) mergeDatasetUpdates(ctx context.Context, source string, updates []catalog.DatasetUpdate) ([]catalog.DatasetFacts, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	keys := make([]catalog.Key, 0, len(updates))
	for _, u := range updates {
		keys = append(keys, u.Facts.Key)
	}
	old, err := s.sourceDatasetFacts(ctx, source, keys)
	if err != nil {
		return nil, err
	}
	merged := map[catalog.Key]*catalog.DatasetFacts{}
	var order []catalog.Key
	for _, u := range updates {
		k := u.Facts.Key
		f := merged[k]
		if f == nil {
			base, ok := old[k]
			if !ok {
				base = catalog.DatasetFacts{Key: k}
			}
			f = &base
			merged[k] = f
			order = append(order, k)
		}
		n := u.Facts
		if n.Platform != "" {
			f.Platform = n.Platform
		}
		if n.Kind != "" {
			f.Kind = n.Kind
		}
		if u.Asserts&catalog.FacetSchema != 0 {
			f.Columns = n.Columns
		}
		if u.Asserts&catalog.FacetDescription != 0 {
			f.Description = n.Description
		}
		if u.Asserts&catalog.FacetOwners != 0 {
			f.Owners = n.Owners
		}
		if u.Asserts&catalog.FacetAliases != 0 {
			f.Aliases = n.Aliases
		} else if len(n.Aliases) > 0 {
			// What an alias of the dataset declares adds to its aliases
			// (resolvePush).
			f.Aliases = append(slices.Clone(f.Aliases), n.Aliases...)
		}
		if len(n.Properties) > 0 {
			if f.Properties == nil {
				f.Properties = map[string]string{}
			}
			maps.Copy(f.Properties, n.Properties)
		}
	}
	out := make([]catalog.DatasetFacts, 0, len(order))
	for _, k := range order {
		f := merged[k]
		f.Aliases = slices.DeleteFunc(slices.Clone(f.Aliases), func(a catalog.Alias) bool { return a.Key == k })
		out = append(out, *f)
	}
	return out, nil
}

// mergeJobUpdates lays each update over what the source said before.
func (s *Store) mergeJobUpdates(ctx context.Context, source string, updates []catalog.JobUpdate) ([]catalog.JobFacts, error) {
	if len(updates) == 0 {
		return nil, nil
	}
	keys := make([]catalog.JobKey, 0, len(updates))
	for _, u := range updates {
		keys = append(keys, u.Job.Key)
	}
	old, err := s.sourceJobs(ctx, source, keys)
	if err != nil {
		return nil, err
	}
	merged := map[catalog.JobKey]*catalog.JobFacts{}
	var order []catalog.JobKey
	for _, u := range updates {
		n := u.Job
		j := merged[n.Key]
		if j == nil {
			base, ok := old[n.Key]
			if !ok {
				base = catalog.JobFacts{Key: n.Key, Type: n.Type}
			}
			j = &base
			merged[n.Key] = j
			order = append(order, n.Key)
		}
		if u.Asserts&catalog.FacetJobType != 0 || j.Type == "" {
			j.Type = n.Type
		}
		if u.Asserts&catalog.FacetDescription != 0 {
			j.Description = n.Description
		}
		if u.Asserts&catalog.FacetSQL != 0 {
			j.SQL = n.SQL
		}
		if len(n.Properties) > 0 {
			if j.Properties == nil {
				j.Properties = map[string]string{}
			}
			maps.Copy(j.Properties, n.Properties)
		}
		j.Inputs = append(j.Inputs, n.Inputs...)
		j.Outputs = append(j.Outputs, n.Outputs...)
	}
	out := make([]catalog.JobFacts, 0, len(order))
	for _, k := range order {
		out = append(out, *merged[k])
	}
	return out, nil
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

func splitKeys(keys []catalog.Key) (nss, names []string) {
	nss, names = make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		nss[i], names[i] = k.Namespace, k.Name
	}
	return nss, names
}

// upsertRuns records runs, folding several events about one run first.
// Runs of jobs that do not exist are reported in errs.
func (s *Store) upsertRuns(ctx context.Context, source string, runs []catalog.Run, errs *[]error) error {
	byID := map[string]catalog.Run{}
	var order []string
	for _, r := range runs {
		if err := r.Validate(); err != nil {
			*errs = append(*errs, err)
			continue
		}
		if old, ok := byID[r.ID]; ok {
			if old.Job != r.Job {
				*errs = append(*errs, runConflict(r.ID, old.Job, r.Job))
				continue
			}
			byID[r.ID] = old.Merge(r)
			continue
		}
		byID[r.ID] = r
		order = append(order, r.ID)
	}
	if len(order) == 0 {
		return nil
	}
	n := len(order)
	var (
		ids, jns, jnames, states, errMsgs, pids, pns, pnames = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		stateAt                                              = make([]time.Time, n)
		started, ended, nomStart, nomEnd                     = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	)
	for i, id := range order {
		r := byID[id]
		ids[i], jns[i], jnames[i], states[i], errMsgs[i] = r.ID, r.Job.Namespace, r.Job.Name, string(r.State), r.ErrorMessage
		pids[i], pns[i], pnames[i] = r.ParentID, r.ParentJob.Namespace, r.ParentJob.Name
		stateAt[i], started[i], ended[i], nomStart[i], nomEnd[i] = r.StateAt, r.StartedAt, r.EndedAt, r.NominalStart, r.NominalEnd
	}
	// The CASE mirrors catalog.Run.Supersedes: a terminal state beats START
	// and RUNNING, then the later event wins.
	rows, err := s.pool.Query(ctx, `
		WITH x AS (
			SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::timestamptz[], $14::timestamptz[])
				AS x(id, jns, jname, state, state_at, started, ended, err, pid, pns, pname, nstart, nend)
		), ins AS (
			INSERT INTO runs AS r (run_id, job_id, source, state, state_at, started_at, ended_at, error_message,
				parent_run_id, parent_job_namespace, parent_job_name, nominal_start, nominal_end, updated_at)
			SELECT x.id, j.id, $1, x.state, x.state_at, x.started, x.ended, x.err, x.pid, x.pns, x.pname, x.nstart, x.nend, $15
			FROM x JOIN jobs j ON j.namespace = x.jns AND j.name = x.jname
			ON CONFLICT (run_id) DO UPDATE SET
				state = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at) THEN excluded.state ELSE r.state END,
				state_at = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at) THEN excluded.state_at ELSE r.state_at END,
				ended_at = CASE WHEN run_supersedes(r.state, r.state_at, excluded.state, excluded.state_at)
					THEN coalesce(excluded.ended_at, r.ended_at) ELSE coalesce(r.ended_at, excluded.ended_at) END,
				started_at = LEAST(r.started_at, excluded.started_at),
				error_message = coalesce(nullif(excluded.error_message, ''), r.error_message),
				parent_run_id = coalesce(nullif(excluded.parent_run_id, ''), r.parent_run_id),
				parent_job_namespace = CASE WHEN excluded.parent_run_id <> '' THEN excluded.parent_job_namespace ELSE r.parent_job_namespace END,
				parent_job_name = CASE WHEN excluded.parent_run_id <> '' THEN excluded.parent_job_name ELSE r.parent_job_name END,
				nominal_start = coalesce(excluded.nominal_start, r.nominal_start),
				nominal_end = coalesce(excluded.nominal_end, r.nominal_end),
				updated_at = excluded.updated_at
			WHERE r.job_id = excluded.job_id
			RETURNING run_id
		)
		SELECT x.id, coalesce(oj.namespace, ''), coalesce(oj.name, '')
		FROM x LEFT JOIN runs o ON o.run_id = x.id LEFT JOIN jobs oj ON oj.id = o.job_id
		WHERE x.id NOT IN (SELECT run_id FROM ins)`,
		source, ids, jns, jnames, states, stateAt, started, ended, errMsgs, pids, pns, pnames, nomStart, nomEnd, s.now())
	if err != nil {
		return fmt.Errorf("record %d runs of %s: %w", n, source, translate(err))
	}
	var (
		id    string
		owner catalog.JobKey
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &owner.Namespace, &owner.Name}, func() error {
		if owner.Name != "" && owner != byID[id].Job {
			*errs = append(*errs, runConflict(id, owner, byID[id].Job))
		} else {
			*errs = append(*errs, fmt.Errorf("run %s: job %s unknown: %w", id, byID[id].Job, catalog.ErrInvalid))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("record %d runs of %s: %w", n, source, translate(err))
	}
	return nil
}

// runConflict is the error of a run of job under a run id that belongs to
// owner. It is catalog.ErrInvalid like the other items a push may skip.
func runConflict(id string, owner, job catalog.JobKey) error {
	return fmt.Errorf("run %s belongs to job %s: not recorded as a run of job %s: %w", id, owner, job, catalog.ErrInvalid)
}

func (s *Store) runs(ctx context.Context, where string, args ...any) ([]catalog.Run, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.run_id, j.namespace, j.name, r.state, r.state_at, r.started_at, r.ended_at, r.error_message,
		       r.parent_run_id, r.parent_job_namespace, r.parent_job_name, r.nominal_start, r.nominal_end
		FROM runs r JOIN jobs j ON j.id = r.job_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Run, error) {
		var r catalog.Run
		err := row.Scan(&r.ID, &r.Job.Namespace, &r.Job.Name, &r.State, &r.StateAt, &r.StartedAt, &r.EndedAt, &r.ErrorMessage,
			&r.ParentID, &r.ParentJob.Namespace, &r.ParentJob.Name, &r.NominalStart, &r.NominalEnd)
		return r, err
	})
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

// Aliases: a dataset may be known by several keys, as when a Spark job
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

// MeantKeys returns, for each key, the dataset a lookup by that name
// means: the key itself while a live source describes it, else the
// dataset it is an alias of (through the symlinks OpenLineage reported,
// following chains), else the key itself. Asking for a Hive table then
// finds the S3 dataset that declared it. It also returns which keys are
// live. Two queries, however many keys.
func (s *Store) MeantKeys(ctx context.Context, keys []catalog.Key) (meant map[catalog.Key]catalog.Key, live map[catalog.Key]bool, err error) {
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
// MeantKeys); 0 when there is none.
func (s *Store) FindDataset(ctx context.Context, key catalog.Key) (int64, error) {
	meant, _, err := s.MeantKeys(ctx, []catalog.Key{key})
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
