package store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file reads and writes data quality (quality_checks,
// quality_results, freshness_observations). Checks follow the rules of
// datasets (per-source facts, written only when their content changed,
// marked removed under a scope that no longer reports them); results and
// observations are history, appended once and never replaced.

// ChecksOf returns the quality checks on each of the datasets keys from
// every source, each with its latest result, ordered by column, then
// name, in one statement. Removed checks are included with RemovedAt set.
func (s *Store) ChecksOf(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.SourceCheck, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT c.dataset_namespace, c.dataset_name, c.source, c.name, c.column_name, c.type, c.severity, c.definition,
		       c.properties, c.updated_at, c.removed_at,
		       r.run_id, r.status, r.failures, r.observed, r.message, r.started_at, r.duration
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN quality_checks c ON c.dataset_namespace = k.namespace AND c.dataset_name = k.name
		LEFT JOIN LATERAL (
			SELECT * FROM quality_results r
			WHERE r.source = c.source AND r.check_name = c.name
			ORDER BY r.started_at DESC, r.recorded_at DESC LIMIT 1
		) r ON true
		ORDER BY c.dataset_namespace, c.dataset_name, c.column_name, c.name, c.source`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("checks of %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key][]catalog.SourceCheck{}
	var (
		c        catalog.SourceCheck
		runID    *string
		status   *string
		failures *int64
		observed *string
		message  *string
		started  *time.Time
		duration *time.Duration
	)
	_, err = pgx.ForEachRow(rows, []any{&c.Dataset.Namespace, &c.Dataset.Name, &c.Source, &c.Name, &c.Column, &c.Type, &c.Severity,
		&c.Definition, &c.Properties, &c.UpdatedAt, &c.RemovedAt, &runID, &status, &failures, &observed, &message, &started, &duration}, func() error {
		check := c
		if runID != nil {
			check.Latest = &catalog.QualityResult{Check: c.Name, Dataset: c.Dataset, RunID: *runID, Status: *status,
				Failures: failures, Observed: *observed, Message: *message, StartedAt: *started, Duration: *duration}
		}
		out[c.Dataset] = append(out[c.Dataset], check)
		c.Properties = nil // scanning JSON into a map would add to the last row's
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checks of %d datasets: %w", len(keys), err)
	}
	return out, nil
}

// FreshnessPage asks for the newest Limit freshness observations of a
// dataset.
type FreshnessPage struct {
	Dataset catalog.Key
	Limit   int
}

// FreshnessPages reads pages of freshness observations of any number of
// datasets in one statement, each newest first (then by source). A
// dataset without observations has an empty page.
func (s *Store) FreshnessPages(ctx context.Context, pages []FreshnessPage) (map[FreshnessPage][]catalog.Sourced[catalog.FreshnessObservation], error) {
	pages = slices.Clone(pages)
	slices.SortFunc(pages, func(a, b FreshnessPage) int {
		return cmp.Or(a.Dataset.Compare(b.Dataset), cmp.Compare(a.Limit, b.Limit))
	})
	pages = slices.Compact(pages)
	n := len(pages)
	nss, names, limits := make([]string, n), make([]string, n), make([]int32, n)
	for i, p := range pages {
		nss[i], names[i], limits[i] = p.Dataset.Namespace, p.Dataset.Name, int32(max(p.Limit, 0))
	}
	rows, err := s.pool.Query(ctx, `
		SELECT p.i, f.source, f.observed_at, f.max_loaded_at, f.status, f.warn_after, f.error_after, f.criteria, f.message,
		       f.run_id, f.recorded_at
		FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS p(namespace, name, lim, i)
		CROSS JOIN LATERAL (
			SELECT * FROM freshness_observations f
			WHERE f.dataset_namespace = p.namespace AND f.dataset_name = p.name
			ORDER BY f.observed_at DESC, f.source LIMIT p.lim
		) f
		ORDER BY p.i, f.observed_at DESC, f.source`, nss, names, limits)
	if err != nil {
		return nil, fmt.Errorf("freshness of %d datasets: %w", n, err)
	}
	out := make(map[FreshnessPage][]catalog.Sourced[catalog.FreshnessObservation], n)
	for _, p := range pages {
		out[p] = []catalog.Sourced[catalog.FreshnessObservation]{}
	}
	var (
		i int
		o catalog.Sourced[catalog.FreshnessObservation]
	)
	v := &o.Value
	_, err = pgx.ForEachRow(rows, []any{&i, &o.Source, &v.ObservedAt, &v.MaxLoadedAt, &v.Status, &v.WarnAfter, &v.ErrorAfter,
		&v.Criteria, &v.Message, &v.RunID, &o.UpdatedAt}, func() error {
		p := pages[i-1]
		v.Dataset = p.Dataset
		out[p] = append(out[p], o)
		o = catalog.Sourced[catalog.FreshnessObservation]{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("freshness of %d datasets: %w", n, err)
	}
	return out, nil
}

// ResultPage asks for one page of a check's results, newest first (by
// start time, then run id): at most Limit results started before AfterAt,
// or at AfterAt with a run id before AfterRun. AfterRun "" is the start.
type ResultPage struct {
	Source, Check string
	Limit         int
	AfterAt       time.Time
	AfterRun      string
}

// ResultPages reads pages of results of any number of checks in one
// statement. A check without results has an empty page.
func (s *Store) ResultPages(ctx context.Context, pages []ResultPage) (map[ResultPage][]catalog.QualityResult, error) {
	n := len(pages)
	sources, checks, runs := make([]string, n), make([]string, n), make([]string, n)
	limits, ats := make([]int32, n), make([]*time.Time, n)
	for i, p := range pages {
		sources[i], checks[i], runs[i], limits[i] = p.Source, p.Check, p.AfterRun, int32(max(p.Limit, 0))
		if p.AfterRun != "" {
			at := p.AfterAt
			ats[i] = &at
		}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT p.i, r.run_id, r.dataset_namespace, r.dataset_name, r.status, r.failures, r.observed, r.message,
		       r.started_at, r.duration
		FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[]) WITH ORDINALITY AS p(source, chk, lim, at, run, i)
		CROSS JOIN LATERAL (
			SELECT * FROM quality_results r
			WHERE r.source = p.source AND r.check_name = p.chk
			  AND (p.run = '' OR (r.started_at, r.run_id) < (p.at, p.run))
			ORDER BY r.started_at DESC, r.run_id DESC LIMIT p.lim
		) r
		ORDER BY p.i, r.started_at DESC, r.run_id DESC`, sources, checks, limits, ats, runs)
	if err != nil {
		return nil, fmt.Errorf("results of %d checks: %w", n, err)
	}
	out := make(map[ResultPage][]catalog.QualityResult, n)
	for _, p := range pages {
		out[p] = []catalog.QualityResult{}
	}
	var (
		i int
		r catalog.QualityResult
	)
	_, err = pgx.ForEachRow(rows, []any{&i, &r.RunID, &r.Dataset.Namespace, &r.Dataset.Name, &r.Status, &r.Failures,
		&r.Observed, &r.Message, &r.StartedAt, &r.Duration}, func() error {
		p := pages[i-1]
		r.Check = p.Check
		out[p] = append(out[p], r)
		r = catalog.QualityResult{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("results of %d checks: %w", n, err)
	}
	return out, nil
}

// PruneQuality deletes the quality results, freshness observations and
// days of SLO report history older than before, except the newest result of each check and the
// newest observation of each dataset by each source, so that a check that
// stopped running still shows how it last ended. It returns how many rows
// it deleted.
func (s *Store) PruneQuality(ctx context.Context, before time.Time) (int64, error) {
	results, err := s.pool.Exec(ctx, `
		DELETE FROM quality_results r
		WHERE r.started_at < $1
		  AND EXISTS (
			SELECT 1 FROM quality_results n
			WHERE n.source = r.source AND n.check_name = r.check_name
			  AND (n.started_at, n.run_id) > (r.started_at, r.run_id))`, before)
	if err != nil {
		return 0, fmt.Errorf("prune quality results: %w", err)
	}
	fresh, err := s.pool.Exec(ctx, `
		DELETE FROM freshness_observations f
		WHERE f.observed_at < $1
		  AND EXISTS (
			SELECT 1 FROM freshness_observations n
			WHERE n.source = f.source AND n.dataset_namespace = f.dataset_namespace
			  AND n.dataset_name = f.dataset_name AND n.observed_at > f.observed_at)`, before)
	if err != nil {
		return 0, fmt.Errorf("prune freshness observations: %w", err)
	}
	days, err := s.pool.Exec(ctx, `DELETE FROM slo_report_days WHERE day < $1::date`, before)
	if err != nil {
		return 0, fmt.Errorf("prune slo report history: %w", err)
	}
	return results.RowsAffected() + fresh.RowsAffected() + days.RowsAffected(), nil
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
		checks, runs, nss, names, statuses, messages, observed []string
		failures                                               []*int64
		started                                                []time.Time
		secs                                                   []float64
		touched                                                []catalog.Key
	)
	for _, r := range valid {
		if !seen[rkey{r.Check, r.RunID}] {
			continue // recorded before
		}
		checks, runs = append(checks, r.Check), append(runs, r.RunID)
		nss, names = append(nss, r.Dataset.Namespace), append(names, r.Dataset.Name)
		statuses, messages, observed = append(statuses, r.Status), append(messages, r.Message), append(observed, r.Observed)
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
				failures, message, started_at, duration, recorded_at, observed)
			SELECT $1, c, r, n, d, st, f, m, sa, make_interval(secs => du), $11, o
			FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[],
				$9::timestamptz[], $10::float8[], $12::text[]) AS x(c, r, n, d, st, f, m, sa, du, o)
			ON CONFLICT DO NOTHING`,
			h.Source, checks, runs, nss, names, statuses, failures, messages, started, secs, now, observed)
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

// QualityHealth is how a dataset's live checks last ended and how fresh
// it last was, for badges in listings.
type QualityHealth struct {
	// Checks counts the live checks that ran; Failing those whose latest
	// result failed or errored with a severity other than warn; Warning
	// the other ones that did not pass.
	Checks, Failing, Warning int
	// Freshness is the status of the newest freshness observation; ""
	// without one.
	Freshness string
}

// QualityHealths reads the QualityHealth of each of keys in one
// statement; a dataset without checks or observations is left out.
func (s *Store) QualityHealths(ctx context.Context, keys []catalog.Key) (map[catalog.Key]QualityHealth, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT k.namespace, k.name,
		       count(r.status),
		       count(*) FILTER (WHERE r.status IN ('fail', 'error') AND c.severity <> 'warn'),
		       count(*) FILTER (WHERE r.status = 'warn' OR (r.status IN ('fail', 'error') AND c.severity = 'warn')),
		       coalesce((SELECT f.status FROM freshness_observations f
		                 WHERE f.dataset_namespace = k.namespace AND f.dataset_name = k.name
		                 ORDER BY f.observed_at DESC LIMIT 1), '')
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		LEFT JOIN quality_checks c ON c.dataset_namespace = k.namespace AND c.dataset_name = k.name AND c.removed_at IS NULL
		LEFT JOIN LATERAL (
			SELECT r.status FROM quality_results r
			WHERE r.source = c.source AND r.check_name = c.name
			ORDER BY r.started_at DESC, r.recorded_at DESC LIMIT 1
		) r ON true
		GROUP BY k.namespace, k.name`, nss, names)
	if err != nil {
		return nil, fmt.Errorf("quality health of %d datasets: %w", len(keys), err)
	}
	out := map[catalog.Key]QualityHealth{}
	var (
		k catalog.Key
		h QualityHealth
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &h.Checks, &h.Failing, &h.Warning, &h.Freshness}, func() error {
		if h.Checks > 0 || h.Freshness != "" {
			out[k] = h
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("quality health of %d datasets: %w", len(keys), err)
	}
	return out, nil
}
