package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file writes the lineage and data-quality parts of a harvest: jobs
// with their inputs and outputs, quality checks, check results and
// freshness observations. Jobs and checks follow the rules of datasets
// (per-source facts, written only when their content hash changed, marked
// removed under a scope that no longer reports them); results and
// observations are history, appended once and never replaced.

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

type preparedJob struct {
	job catalog.Job
	prior
}

func (s *Store) ingestJobs(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	seen := make(map[catalog.JobKey]bool, len(h.Jobs))
	batch := make([]*preparedJob, 0, min(batchSize, len(h.Jobs)))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.ingestJobBatch(ctx, h.Source, batch)
		batch = batch[:0]
		return err
	}
	for _, j := range h.Jobs {
		if seen[j.Key] {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "job " + j.Key.String(), Message: "reported twice by the source; the first is kept"})
			continue
		}
		seen[j.Key] = true
		nj, err := j.Normalize()
		if err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "job " + j.Key.String(), Message: err.Error()})
			continue
		}
		run.Counts.Jobs++
		batch = append(batch, &preparedJob{job: nj, prior: prior{hash: nj.Hash()}})
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return s.removeUnseenJobs(ctx, h.Source, h.Scopes, h.JobsComplete, seen)
}

// ingestRuns records the runs of h that are not recorded as they are:
// new runs, and runs whose state, times or message changed. Runs of jobs
// that do not exist, or under the id of another job's run, are recorded
// as errors on run.
func (s *Store) ingestRuns(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) error {
	if len(h.Runs) == 0 {
		return nil
	}
	ids := make([]string, len(h.Runs))
	for i, r := range h.Runs {
		ids[i] = r.ID
	}
	old, err := s.RunsByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("ingest runs of %s: %w", h.Source, err)
	}
	var todo []catalog.Run
	for _, r := range h.Runs {
		if o, ok := old[r.ID]; !ok || !sameRun(o, r) {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var errs []error
	if err := s.upsertRuns(ctx, h.Source, todo, &errs); err != nil {
		return err
	}
	for _, err := range errs {
		run.Errors = append(run.Errors, catalog.CrawlError{Object: "runs", Message: err.Error()})
	}
	run.Counts.Runs += len(todo) - len(errs)
	return nil
}

// sameRun reports whether the stored run a says what r says, at the
// precision PostgreSQL stores times.
func sameRun(a, r catalog.Run) bool {
	us := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := p.Truncate(time.Microsecond)
		return &v
	}
	eq := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.Job == r.Job && a.State == r.State && a.StateAt.Equal(r.StateAt.Truncate(time.Microsecond)) &&
		eq(a.StartedAt, us(r.StartedAt)) && eq(a.EndedAt, us(r.EndedAt)) && a.ErrorMessage == r.ErrorMessage &&
		a.ParentID == r.ParentID && a.ParentJob == r.ParentJob && eq(a.NominalStart, us(r.NominalStart)) && eq(a.NominalEnd, us(r.NominalEnd))
}

func jobKeyArrays(batch []*preparedJob) (nss, names []string) {
	nss, names = make([]string, len(batch)), make([]string, len(batch))
	for i, p := range batch {
		nss[i], names[i] = p.job.Key.Namespace, p.job.Key.Name
	}
	return nss, names
}

// ingestJobBatch replaces the source's facts on the jobs of batch whose
// content changed, in one transaction; it writes nothing when none did.
func (s *Store) ingestJobBatch(ctx context.Context, source string, batch []*preparedJob) error {
	nss, names := jobKeyArrays(batch)
	rows, err := s.pool.Query(ctx, `
		SELECT k.i, j.id, f.content_hash, f.removed_at IS NOT NULL
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(namespace, name, i)
		JOIN jobs j ON j.namespace = k.namespace AND j.name = k.name
		LEFT JOIN job_facts f ON f.job_id = j.id AND f.source = $3`, nss, names, source)
	if err != nil {
		return fmt.Errorf("look up jobs of %s: %w", source, err)
	}
	if err := readPriors(rows, func(i int) *prior { return &batch[i].prior }); err != nil {
		return fmt.Errorf("look up jobs of %s: %w", source, err)
	}
	var todo, fresh []*preparedJob
	for _, p := range batch {
		if p.changed() {
			todo = append(todo, p)
			if !p.existed {
				fresh = append(fresh, p)
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		now := s.now()
		if len(fresh) > 0 {
			nss, names := jobKeyArrays(fresh)
			if err := createMissing(ctx, tx, "jobs", nss, names, now, func(i int) *prior { return &fresh[i].prior }); err != nil {
				return fmt.Errorf("create jobs: %w", err)
			}
		}
		ids := make([]int64, len(todo))
		for i, p := range todo {
			ids[i] = p.id
		}
		for _, table := range []string{"job_facts", "job_io"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE job_id = ANY($1) AND source = $2`, ids, source); err != nil {
				return fmt.Errorf("replace %s: %w", table, err)
			}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"job_facts"},
			[]string{"job_id", "source", "type", "description", "sql", "compiled_sql", "properties", "content_hash", "updated_at"},
			pgx.CopyFromSlice(len(todo), func(i int) ([]any, error) {
				j := todo[i].job
				return []any{todo[i].id, source, j.Type, j.Description, j.SQL, j.CompiledSQL, j.Properties, todo[i].hash, now}, nil
			}))
		if err != nil {
			return fmt.Errorf("write job facts: %w", err)
		}
		var io [][]any
		for _, p := range todo {
			for _, k := range p.job.Inputs {
				io = append(io, []any{p.id, source, "in", k.Namespace, k.Name})
			}
			for _, k := range p.job.Outputs {
				io = append(io, []any{p.id, source, "out", k.Namespace, k.Name})
			}
		}
		if len(io) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"job_io"}, []string{"job_id", "source", "direction", "namespace", "name"}, pgx.CopyFromRows(io)); err != nil {
				return fmt.Errorf("write job inputs and outputs: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs SET updated_at = $2 WHERE id = ANY($1)`, ids, now); err != nil {
			return fmt.Errorf("touch jobs: %w", err)
		}
		changes := make([][]any, 0, len(todo))
		for _, p := range todo {
			kind := catalog.ChangeUpdated
			switch {
			case !p.existed:
				kind = catalog.ChangeCreated
			case p.factRemoved:
				kind = catalog.ChangeRestored
			}
			changes = append(changes, []any{"job", p.id, p.job.Key.Namespace, p.job.Key.Name, string(kind), source, now})
		}
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("ingest %d jobs of %s: %w", len(todo), source, translate(err))
	}
	return nil
}

// removeUnseenJobs marks removed the source's jobs under scopes (a job's
// key read as a dataset key), or anywhere when all, that the crawl did not
// report.
func (s *Store) removeUnseenJobs(ctx context.Context, source string, scopes []catalog.Scope, all bool, seen map[catalog.JobKey]bool) error {
	if len(scopes) == 0 && !all {
		return nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT j.id, j.namespace, j.name FROM job_facts f JOIN jobs j ON j.id = f.job_id
		WHERE f.source = $1 AND f.removed_at IS NULL`, source)
	if err != nil {
		return fmt.Errorf("find removed jobs of %s: %w", source, err)
	}
	var (
		gone    []int64
		changes [][]any
		id      int64
		key     catalog.JobKey
	)
	now := s.now()
	_, err = pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name}, func() error {
		if seen[key] || !all && !slices.ContainsFunc(scopes, func(sc catalog.Scope) bool { return sc.Covers(catalog.Key(key)) }) {
			return nil
		}
		gone = append(gone, id)
		changes = append(changes, []any{"job", id, key.Namespace, key.Name, string(catalog.ChangeRemoved), source, now})
		return nil
	})
	if err != nil {
		return fmt.Errorf("find removed jobs of %s: %w", source, err)
	}
	if len(gone) == 0 {
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE job_facts SET removed_at = $3 WHERE job_id = ANY($1) AND source = $2`, gone, source, now); err != nil {
			return err
		}
		return appendChanges(ctx, tx, changes)
	})
	if err != nil {
		return fmt.Errorf("mark %d jobs of %s removed: %w", len(gone), source, translate(err))
	}
	return nil
}

// prepareChecks finds the source's checks whose content changed, to be
// replaced, and those under a scope that the harvest no longer reports, to
// be marked removed.
func (s *Store) prepareChecks(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) (qualityWrite, []catalog.Key, error) {
	type prev struct {
		hash    []byte
		removed bool
		dataset catalog.Key
	}
	old := map[string]prev{}
	rows, err := s.pool.Query(ctx, `
		SELECT name, content_hash, removed_at IS NOT NULL, dataset_namespace, dataset_name
		FROM quality_checks WHERE source = $1`, h.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("look up checks of %s: %w", h.Source, err)
	}
	var (
		name string
		p    prev
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &p.hash, &p.removed, &p.dataset.Namespace, &p.dataset.Name}, func() error {
		old[name] = p
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("look up checks of %s: %w", h.Source, err)
	}

	type preparedCheck struct {
		check catalog.QualityCheck
		hash  []byte
	}
	var (
		todo     []preparedCheck
		touched  []catalog.Key // datasets whose checks changed
		seen     = make(map[string]bool, len(h.Checks))
		replaced []string
	)
	for _, c := range h.Checks {
		if seen[c.Name] {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "check " + c.Name, Message: "reported twice by the source; the first is kept"})
			continue
		}
		seen[c.Name] = true
		nc, err := c.Normalize()
		if err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "check " + c.Name, Message: err.Error()})
			continue
		}
		run.Counts.Checks++
		hash := nc.Hash()
		o, existed := old[nc.Name]
		if existed && !o.removed && bytes.Equal(o.hash, hash) {
			continue
		}
		todo = append(todo, preparedCheck{nc, hash})
		touched = append(touched, nc.Dataset)
		if existed {
			replaced = append(replaced, nc.Name)
			if o.dataset != nc.Dataset {
				touched = append(touched, o.dataset)
			}
		}
	}
	var gone []string
	if len(h.Scopes) > 0 {
		for name, o := range old {
			if seen[name] || o.removed {
				continue
			}
			for _, sc := range h.Scopes {
				if sc.Covers(o.dataset) {
					gone = append(gone, name)
					touched = append(touched, o.dataset)
					break
				}
			}
		}
	}
	if len(todo) == 0 && len(gone) == 0 {
		return nil, nil, nil
	}
	slices.Sort(gone)
	return func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		if len(replaced) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM quality_checks WHERE source = $1 AND name = ANY($2)`, h.Source, replaced); err != nil {
				return fmt.Errorf("replace checks: %w", err)
			}
		}
		if len(todo) > 0 {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"quality_checks"},
				[]string{"source", "name", "dataset_namespace", "dataset_name", "column_name", "type", "severity", "definition", "properties", "content_hash", "updated_at"},
				pgx.CopyFromSlice(len(todo), func(i int) ([]any, error) {
					c := todo[i].check
					return []any{h.Source, c.Name, c.Dataset.Namespace, c.Dataset.Name, c.Column, c.Type, c.Severity, c.Definition, c.Properties, todo[i].hash, now}, nil
				}))
			if err != nil {
				return fmt.Errorf("write checks: %w", err)
			}
		}
		if len(gone) > 0 {
			if _, err := tx.Exec(ctx, `
				UPDATE quality_checks SET removed_at = $3 WHERE source = $1 AND name = ANY($2)`, h.Source, gone, now); err != nil {
				return fmt.Errorf("mark checks removed: %w", err)
			}
		}
		return nil
	}, touched, nil
}

// appendQualityChanges records a ChangeQuality entry for each known
// dataset among keys. Keys that name no dataset yet get none: there is
// nothing to re-read on them.
func (s *Store) appendQualityChanges(ctx context.Context, tx pgx.Tx, source string, keys []catalog.Key, now time.Time) error {
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return nil
	}
	nss, names := splitKeys(keys)
	rows, err := tx.Query(ctx, `
		SELECT d.id, d.namespace, d.name FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name ORDER BY d.id`, nss, names)
	if err != nil {
		return fmt.Errorf("find datasets of quality changes: %w", err)
	}
	var (
		changes [][]any
		id      int64
		key     catalog.Key
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &key.Namespace, &key.Name}, func() error {
		changes = append(changes, changeRow(id, key, catalog.ChangeQuality, source, now))
		return nil
	}); err != nil {
		return fmt.Errorf("find datasets of quality changes: %w", err)
	}
	return appendChanges(ctx, tx, changes)
}

// prepareResults finds the results not recorded before, to be appended.
func (s *Store) prepareResults(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) (qualityWrite, []catalog.Key, error) {
	type rkey struct{ check, run string }
	var (
		valid   []catalog.QualityResult
		seen    = map[rkey]bool{}
		runIDs  []string
		seenRun = map[string]bool{}
	)
	for _, r := range h.Results {
		if err := r.Validate(); err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "result of " + r.Check, Message: err.Error()})
			continue
		}
		k := rkey{r.Check, r.RunID}
		if seen[k] {
			continue
		}
		seen[k] = true
		if !seenRun[r.RunID] {
			seenRun[r.RunID] = true
			runIDs = append(runIDs, r.RunID)
		}
		valid = append(valid, r)
	}
	if len(valid) == 0 {
		return nil, nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT check_name, run_id FROM quality_results WHERE source = $1 AND run_id = ANY($2)`, h.Source, runIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("look up results of %s: %w", h.Source, err)
	}
	var k rkey
	if _, err := pgx.ForEachRow(rows, []any{&k.check, &k.run}, func() error { delete(seen, k); return nil }); err != nil {
		return nil, nil, fmt.Errorf("look up results of %s: %w", h.Source, err)
	}
	var (
		checks, runs, nss, names, statuses, messages []string
		failures                                     []*int64
		started                                      []time.Time
		secs                                         []float64
		touched                                      []catalog.Key
	)
	for _, r := range valid {
		if !seen[rkey{r.Check, r.RunID}] {
			continue // recorded before
		}
		checks, runs = append(checks, r.Check), append(runs, r.RunID)
		nss, names = append(nss, r.Dataset.Namespace), append(names, r.Dataset.Name)
		statuses, messages = append(statuses, r.Status), append(messages, r.Message)
		failures, started, secs = append(failures, r.Failures), append(started, r.StartedAt), append(secs, r.Duration.Seconds())
		touched = append(touched, r.Dataset)
	}
	if len(checks) == 0 {
		return nil, nil, nil
	}
	return func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		// ON CONFLICT: a concurrent ingest may have recorded some since.
		tag, err := tx.Exec(ctx, `
			INSERT INTO quality_results (source, check_name, run_id, dataset_namespace, dataset_name, status,
				failures, message, started_at, duration, recorded_at)
			SELECT $1, c, r, n, d, st, f, m, sa, make_interval(secs => du), $11
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[],
				$9::timestamptz[], $10::float8[]) AS x(c, r, n, d, st, f, m, sa, du)
			ON CONFLICT DO NOTHING`,
			h.Source, checks, runs, nss, names, statuses, failures, messages, started, secs, now)
		if err != nil {
			return fmt.Errorf("write results: %w", err)
		}
		run.Counts.Results += int(tag.RowsAffected())
		return nil
	}, touched, nil
}

// prepareFreshness finds the observations not recorded before, to be
// appended.
func (s *Store) prepareFreshness(ctx context.Context, h catalog.Harvest, run *catalog.CrawlRun) (qualityWrite, []catalog.Key, error) {
	type okey struct {
		dataset catalog.Key
		at      int64 // microseconds, PostgreSQL's precision
	}
	var (
		valid []catalog.FreshnessObservation
		seen  = map[okey]bool{}
	)
	for _, o := range h.Freshness {
		if err := o.Validate(); err != nil {
			run.Errors = append(run.Errors, catalog.CrawlError{Object: "freshness of " + o.Dataset.String(), Message: err.Error()})
			continue
		}
		o.ObservedAt = o.ObservedAt.Truncate(time.Microsecond)
		k := okey{o.Dataset, o.ObservedAt.UnixMicro()}
		if seen[k] {
			continue
		}
		seen[k] = true
		valid = append(valid, o)
	}
	if len(valid) == 0 {
		return nil, nil, nil
	}
	nss, names, ats := make([]string, len(valid)), make([]string, len(valid)), make([]time.Time, len(valid))
	for i, o := range valid {
		nss[i], names[i], ats[i] = o.Dataset.Namespace, o.Dataset.Name, o.ObservedAt
	}
	rows, err := s.pool.Query(ctx, `
		SELECT f.dataset_namespace, f.dataset_name, f.observed_at
		FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS k(namespace, name, at)
		JOIN freshness_observations f ON f.source = $1 AND f.dataset_namespace = k.namespace
			AND f.dataset_name = k.name AND f.observed_at = k.at`, h.Source, nss, names, ats)
	if err != nil {
		return nil, nil, fmt.Errorf("look up freshness of %s: %w", h.Source, err)
	}
	var (
		key catalog.Key
		at  time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&key.Namespace, &key.Name, &at}, func() error {
		delete(seen, okey{key, at.UnixMicro()})
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("look up freshness of %s: %w", h.Source, err)
	}
	var (
		fresh   []catalog.FreshnessObservation
		touched []catalog.Key
	)
	for _, o := range valid {
		if seen[okey{o.Dataset, o.ObservedAt.UnixMicro()}] {
			fresh = append(fresh, o)
			touched = append(touched, o.Dataset)
		}
	}
	if len(fresh) == 0 {
		return nil, nil, nil
	}
	return func(ctx context.Context, tx pgx.Tx, now time.Time) error {
		var (
			nss, names, statuses, warns, errs, criteria, messages, runIDs []string
			observed                                                      []time.Time
			loaded                                                        []*time.Time
		)
		for _, o := range fresh {
			nss, names, observed, loaded = append(nss, o.Dataset.Namespace), append(names, o.Dataset.Name), append(observed, o.ObservedAt), append(loaded, o.MaxLoadedAt)
			statuses, warns, errs = append(statuses, o.Status), append(warns, o.WarnAfter), append(errs, o.ErrorAfter)
			criteria, messages, runIDs = append(criteria, o.Criteria), append(messages, o.Message), append(runIDs, o.RunID)
		}
		// ON CONFLICT: a concurrent ingest may have recorded some since.
		tag, err := tx.Exec(ctx, `
			INSERT INTO freshness_observations (source, dataset_namespace, dataset_name, observed_at, max_loaded_at,
				status, warn_after, error_after, criteria, message, run_id, recorded_at)
			SELECT $1, n, d, o, m, st, w, e, c, msg, r, $12
			FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[]) AS x(n, d, o, m, st, w, e, c, msg, r)
			ON CONFLICT DO NOTHING`,
			h.Source, nss, names, observed, loaded, statuses, warns, errs, criteria, messages, runIDs, now)
		if err != nil {
			return fmt.Errorf("write freshness observations: %w", err)
		}
		n := int(tag.RowsAffected())
		run.Counts.Freshness += n
		return nil
	}, touched, nil
}
