package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// DatasetJobs returns the jobs that write the dataset key and those that
// read it, with every input and output each source gave them. Removed
// jobs are included with RemovedAt set, as history. A key that no job
// names yields empty lists, not ErrNotFound: lineage may name datasets no
// source described.
func (s *Store) DatasetJobs(ctx context.Context, key catalog.Key) (catalog.DatasetJobs, error) {
	rows, err := s.pool.Query(ctx, `
		WITH around AS (
			SELECT DISTINCT job_id, source, direction FROM job_io WHERE namespace = $1 AND name = $2
		)
		SELECT a.direction, j.id, j.namespace, j.name, f.source, f.type, f.description, f.sql, f.compiled_sql,
		       f.properties, f.updated_at, f.removed_at,
		       coalesce((SELECT array_agg(io.namespace ORDER BY io.namespace, io.name) FROM job_io io
		                 WHERE io.job_id = j.id AND io.source = f.source AND io.direction = 'in'), '{}'),
		       coalesce((SELECT array_agg(io.name ORDER BY io.namespace, io.name) FROM job_io io
		                 WHERE io.job_id = j.id AND io.source = f.source AND io.direction = 'in'), '{}'),
		       coalesce((SELECT array_agg(io.namespace ORDER BY io.namespace, io.name) FROM job_io io
		                 WHERE io.job_id = j.id AND io.source = f.source AND io.direction = 'out'), '{}'),
		       coalesce((SELECT array_agg(io.name ORDER BY io.namespace, io.name) FROM job_io io
		                 WHERE io.job_id = j.id AND io.source = f.source AND io.direction = 'out'), '{}')
		FROM around a
		JOIN jobs j ON j.id = a.job_id
		JOIN job_facts f ON f.job_id = a.job_id AND f.source = a.source
		ORDER BY a.direction, j.namespace, j.name, f.source`, key.Namespace, key.Name)
	if err != nil {
		return catalog.DatasetJobs{}, fmt.Errorf("jobs of dataset %s: %w", key, err)
	}
	var (
		out                         catalog.DatasetJobs
		dir                         string
		j                           catalog.SourceJob
		inNS, inName, outNS, outNam []string
	)
	_, err = pgx.ForEachRow(rows, []any{&dir, &j.ID, &j.Key.Namespace, &j.Key.Name, &j.Source, &j.Type, &j.Description,
		&j.SQL, &j.CompiledSQL, &j.Properties, &j.UpdatedAt, &j.RemovedAt, &inNS, &inName, &outNS, &outNam}, func() error {
		j.Inputs, j.Outputs = zipKeys(inNS, inName), zipKeys(outNS, outNam)
		if dir == "out" {
			out.Producers = append(out.Producers, j)
		} else {
			out.Consumers = append(out.Consumers, j)
		}
		j = catalog.SourceJob{}
		return nil
	})
	if err != nil {
		return catalog.DatasetJobs{}, fmt.Errorf("jobs of dataset %s: %w", key, err)
	}
	return out, nil
}

func zipKeys(nss, names []string) []catalog.Key {
	keys := make([]catalog.Key, len(nss))
	for i := range nss {
		keys[i] = catalog.Key{Namespace: nss[i], Name: names[i]}
	}
	return keys
}

// Checks returns the quality checks on a dataset from every source, each
// with its latest result, ordered by column, then name. Removed checks are
// included with RemovedAt set.
func (s *Store) Checks(ctx context.Context, key catalog.Key) ([]catalog.SourceCheck, error) {
	m, err := s.ChecksOf(ctx, []catalog.Key{key})
	return m[key], err
}

// ChecksOf is Checks for many datasets in one statement.
func (s *Store) ChecksOf(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.SourceCheck, error) {
	nss, names := splitKeys(keys)
	rows, err := s.pool.Query(ctx, `
		SELECT c.dataset_namespace, c.dataset_name, c.source, c.name, c.column_name, c.type, c.severity, c.definition,
		       c.properties, c.updated_at, c.removed_at,
		       r.run_id, r.status, r.failures, r.message, r.started_at, r.duration
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
		message  *string
		started  *time.Time
		duration *time.Duration
	)
	_, err = pgx.ForEachRow(rows, []any{&c.Dataset.Namespace, &c.Dataset.Name, &c.Source, &c.Name, &c.Column, &c.Type, &c.Severity,
		&c.Definition, &c.Properties, &c.UpdatedAt, &c.RemovedAt, &runID, &status, &failures, &message, &started, &duration}, func() error {
		check := c
		if runID != nil {
			check.Latest = &catalog.QualityResult{Check: c.Name, Dataset: c.Dataset, RunID: *runID, Status: *status,
				Failures: failures, Message: *message, StartedAt: *started, Duration: *duration}
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

// CheckResults returns the history of one check of a source, newest first.
func (s *Store) CheckResults(ctx context.Context, source, check string, limit int) ([]catalog.Sourced[catalog.QualityResult], error) {
	return s.results(ctx, fmt.Sprintf("results of check %s of %s", check, source), `source = $1 AND check_name = $2`, source, check, limit)
}

// QualityResults returns the results of every check on a dataset, newest
// first.
func (s *Store) QualityResults(ctx context.Context, key catalog.Key, limit int) ([]catalog.Sourced[catalog.QualityResult], error) {
	return s.results(ctx, "quality results of dataset "+key.String(), `dataset_namespace = $1 AND dataset_name = $2`, key.Namespace, key.Name, limit)
}

// results reads results matching where, which compares two columns with
// $1 and $2.
func (s *Store) results(ctx context.Context, what, where, a, b string, limit int) ([]catalog.Sourced[catalog.QualityResult], error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		SELECT source, check_name, dataset_namespace, dataset_name, run_id, status, failures, message,
		       started_at, duration, recorded_at
		FROM quality_results WHERE `+where+`
		ORDER BY started_at DESC, check_name, source LIMIT $3`, a, b, limit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	res, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Sourced[catalog.QualityResult], error) {
		var r catalog.Sourced[catalog.QualityResult]
		v := &r.Value
		err := row.Scan(&r.Source, &v.Check, &v.Dataset.Namespace, &v.Dataset.Name, &v.RunID, &v.Status, &v.Failures, &v.Message,
			&v.StartedAt, &v.Duration, &r.UpdatedAt)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return res, nil
}

// FreshnessHistory returns a dataset's freshness observations from every
// source, newest first; limit <= 0 means 100.
func (s *Store) FreshnessHistory(ctx context.Context, key catalog.Key, limit int) ([]catalog.Sourced[catalog.FreshnessObservation], error) {
	if limit <= 0 {
		limit = 100
	}
	p := FreshnessPage{Dataset: key, Limit: limit}
	m, err := s.FreshnessPages(ctx, []FreshnessPage{p})
	return m[p], err
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
