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

// ChecksOf returns the quality checks on each of the datasets keys from
// every source, each with its latest result, ordered by column, then
// name, in one statement. Removed checks are included with RemovedAt set.
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
