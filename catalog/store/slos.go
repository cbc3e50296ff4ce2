package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/anomaly"
	"almanac/catalog/slo"
)

// This file evaluates SLOs from what the catalog observed: freshness
// observations and completed runs of the jobs writing a dataset are its
// updates; quality results its checks' outcomes; written row counts
// (dataset_metrics) its volume; runs of its producing jobs its pipeline.

// SLOReport is one SLO with its evaluation.
type SLOReport struct {
	SLO    slo.SLO
	Report slo.Report
	// Err says why the SLO could not be evaluated; Report is then empty.
	Err error
	// EvaluatedAt is when: the time asked for, or that of the stored
	// evaluation read (Evaluations).
	EvaluatedAt time.Time
}

// volumeHistory is how much history before the window a volume SLO
// learns its expected range from.
const volumeHistory = 8 * 7 * 24 * time.Hour

// DatasetSLOs evaluates, at now, the SLOs of each dataset of keys: those
// of declared that are about it, and those harvested from the thresholds
// of its newest dbt source freshness observation of each source, and
// those its sources' facts declare (dbt meta.slo, see slo.Declaration),
// and those people declared in Almanac (CreateSLO). SLOs are ordered by name, then source. It reads each kind of observation of
// every dataset in one statement.
func (s *Store) DatasetSLOs(ctx context.Context, keys []catalog.Key, declared []slo.SLO, now time.Time) (map[catalog.Key][]SLOReport, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	want := map[catalog.Key]bool{}
	for _, k := range keys {
		want[k] = true
	}
	slos := map[catalog.Key][]slo.SLO{}
	longest := 28 * 24 * time.Hour
	for _, d := range declared {
		if want[d.Dataset] {
			slos[d.Dataset] = append(slos[d.Dataset], d)
			longest = max(longest, d.Spec.Window)
		}
	}
	nss, names := splitKeys(keys)
	// SLOs declared where the models are (dbt meta.slo), as facts of
	// their source, and those people declared in Almanac (CreateSLO).
	rows, err := s.pool.Query(ctx, `
		SELECT d.namespace, d.name, f.source, f.properties->>'slo', 'fact'
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		JOIN dataset_facts f ON f.dataset_id = d.id AND f.removed_at IS NULL AND f.properties ? 'slo'
		UNION ALL
		SELECT d.namespace, d.name, p.source, p.declaration::text, 'people'
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
		JOIN dataset_slos p ON p.dataset_id = d.id
		UNION ALL
		SELECT io.namespace, io.name, f.source,
		       jsonb_build_object('namespace', j.namespace, 'name', j.name, 'sla', f.properties->>'airflow_sla',
		                          'producer', coalesce(f.properties->>'airflow_sla_producer', ''))::text, 'airflow'
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN job_io io ON io.namespace = k.namespace AND io.name = k.name AND io.direction = 'out'
		JOIN job_facts f ON f.job_id = io.job_id AND f.source = io.source AND f.removed_at IS NULL AND f.properties ? 'airflow_sla'
		JOIN jobs j ON j.id = io.job_id
		ORDER BY 1, 2, 3, 4`, customPlan, nss, names)
	if err != nil {
		return nil, fmt.Errorf("declared slos: %w", err)
	}
	var (
		dk       catalog.Key
		dsource  string
		declText string
		from     string
	)
	if _, err := pgx.ForEachRow(rows, []any{&dk.Namespace, &dk.Name, &dsource, &declText, &from}, func() error {
		if from == "airflow" {
			var a struct{ Namespace, Name, SLA, Producer string }
			if err := json.Unmarshal([]byte(declText), &a); err != nil {
				return fmt.Errorf("airflow sla of %s: %w", dk, err)
			}
			sla, err := time.ParseDuration(a.SLA)
			if err != nil || sla <= 0 {
				return nil // written by the receiver, which reads it (openlineage.ParseAirflowSLA)
			}
			h := slo.FromAirflowSLA(dsource, a.Producer, dk, catalog.JobKey{Namespace: a.Namespace, Name: a.Name}, sla)
			slos[dk] = append(slos[dk], h)
			longest = max(longest, h.Spec.Window)
			return nil
		}
		if from == "people" {
			var d slo.Declaration
			if err := json.Unmarshal([]byte(declText), &d); err != nil {
				return fmt.Errorf("slo of %s: %w", dk, err)
			}
			s, err := d.Build(dk, dsource, PeopleSLOOrigin)
			if err != nil {
				// Validated when written: a later, stricter rule shows
				// as an SLO in error rather than hiding it.
				s = slo.SLO{Name: d.Name, Dataset: dk, Spec: slo.Spec{Kind: slo.Kind(d.Kind)}, Source: dsource, Origin: PeopleSLOOrigin}
			}
			slos[dk] = append(slos[dk], s)
			longest = max(longest, s.Spec.Window)
			return nil
		}
		decls, err := slo.ParseDeclarations(json.RawMessage(declText))
		if err != nil {
			return nil // the crawl warned of it
		}
		for _, d := range decls {
			if s, err := d.Build(dk, dsource, "meta.slo of the dbt model"); err == nil {
				slos[dk] = append(slos[dk], s)
				longest = max(longest, s.Spec.Window)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("declared slos: %w", err)
	}
	since := now.Add(-longest - volumeHistory)
	obs := make(map[catalog.Key]*slo.Observations, len(keys))
	results := map[catalog.Key][]checkResult{}
	// updates by where they come from, for SLOs that name it.
	updates := map[catalog.Key]map[slo.UpdateSource][]time.Time{}
	addUpdate := func(k catalog.Key, from slo.UpdateSource, at time.Time) {
		if updates[k] == nil {
			updates[k] = map[slo.UpdateSource][]time.Time{}
		}
		updates[k][from] = append(updates[k][from], at)
	}
	for _, k := range keys {
		obs[k] = &slo.Observations{}
	}

	// Freshness: updates, and the criteria of the newest observation of
	// each source.
	rows, err = s.pool.Query(ctx, `
		SELECT f.dataset_namespace, f.dataset_name, f.source, f.observed_at, f.max_loaded_at, f.warn_after, f.error_after
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN freshness_observations f ON f.dataset_namespace = k.namespace AND f.dataset_name = k.name
		WHERE f.observed_at > $3
		ORDER BY f.dataset_namespace, f.dataset_name, f.source, f.observed_at DESC`, customPlan, nss, names, since)
	if err != nil {
		return nil, fmt.Errorf("slo observations: %w", err)
	}
	var (
		k                catalog.Key
		source           string
		observedAt       time.Time
		loaded           *time.Time
		warnAt, errAfter string
		newest           = map[[2]string]bool{}
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &source, &observedAt, &loaded, &warnAt, &errAfter}, func() error {
		if loaded != nil {
			obs[k].Updates = append(obs[k].Updates, *loaded)
			from := slo.UpdatesSourceFreshness
			if strings.HasPrefix(source, deltaSourcePrefix) {
				from = slo.UpdatesDeltaCommits
			}
			addUpdate(k, from, *loaded)
		}
		if id := [2]string{k.String(), source}; !newest[id] {
			newest[id] = true
			if h, ok := slo.FromFreshnessCriteria(source, k, warnAt, errAfter); ok {
				slos[k] = append(slos[k], h)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("slo observations: %w", err)
	}

	// Runs of the jobs writing each dataset: pipeline runs, and their
	// completions are updates.
	// runs of each job writing each dataset, for SLOs of one job.
	jobRuns := map[catalog.Key]map[catalog.JobKey][]slo.Run{}
	if err := s.producerRuns(ctx, nss, names, `r.state_at > $3`, []any{since}, func(k catalog.Key, p producerRun) {
		r := slo.Run{Start: p.Started, Succeeded: p.State == "COMPLETE"}
		if p.Ended != nil && (p.State == "COMPLETE" || p.State == "FAIL" || p.State == "ABORT") {
			r.End = *p.Ended
		}
		if p.NominalStart != nil {
			r.NominalStart = *p.NominalStart
		}
		if p.NominalEnd != nil {
			r.NominalEnd = *p.NominalEnd
		}
		if jobRuns[k] == nil {
			jobRuns[k] = map[catalog.JobKey][]slo.Run{}
		}
		jobRuns[k][p.Job] = append(jobRuns[k][p.Job], r)
		if r.Succeeded && !r.End.IsZero() {
			obs[k].Updates = append(obs[k].Updates, r.End)
			addUpdate(k, slo.UpdatesRuns, r.End)
		}
		obs[k].Runs = append(obs[k].Runs, r)
	}); err != nil {
		return nil, fmt.Errorf("slo runs: %w", err)
	}

	// Written row counts.
	rows, err = s.pool.Query(ctx, `
		SELECT m.namespace, m.name, m.observed_at, m.row_count
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN dataset_metrics m ON m.namespace = k.namespace AND m.name = k.name
		WHERE m.observed_at > $3 AND m.row_count IS NOT NULL AND m.direction <> 'in'
		ORDER BY m.observed_at`, customPlan, nss, names, since)
	if err != nil {
		return nil, fmt.Errorf("slo volumes: %w", err)
	}
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &observedAt, &n}, func() error {
		obs[k].Values = append(obs[k].Values, anomaly.Point{At: observedAt, Value: float64(n)})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("slo volumes: %w", err)
	}

	// Check results, only for datasets with a quality SLO.
	var qn, qnames []string
	for _, k := range keys {
		if slices.ContainsFunc(slos[k], func(d slo.SLO) bool { return d.Spec.Kind == slo.Quality }) {
			qn, qnames = append(qn, k.Namespace), append(qnames, k.Name)
		}
	}
	if len(qn) > 0 {
		rows, err = s.pool.Query(ctx, `
			SELECT r.dataset_namespace, r.dataset_name, r.check_name, r.started_at, r.status
			FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
			JOIN quality_results r ON r.dataset_namespace = k.namespace AND r.dataset_name = k.name
			WHERE r.started_at > $3`, customPlan, qn, qnames, now.Add(-longest))
		if err != nil {
			return nil, fmt.Errorf("slo check results: %w", err)
		}
		var cr checkResult
		if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &cr.check, &cr.At, &cr.Status}, func() error {
			results[k] = append(results[k], cr)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("slo check results: %w", err)
		}
	}

	// Crawl changes, only for datasets with an SLO that counts them: the
	// change log's creations and changes of the dataset by a source
	// other than a person.
	var cn, cnames []string
	for _, k := range keys {
		if slices.ContainsFunc(slos[k], func(d slo.SLO) bool { return d.Spec.Updates == slo.UpdatesCrawlChanges }) {
			cn, cnames = append(cn, k.Namespace), append(cnames, k.Name)
		}
	}
	if len(cn) > 0 {
		rows, err = s.pool.Query(ctx, `
			SELECT d.namespace, d.name, c.at
			FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
			JOIN datasets d ON d.namespace = k.namespace AND d.name = k.name
			JOIN change_log c ON c.entity = 'dataset' AND c.entity_id = d.id
			WHERE c.kind IN ('created', 'updated', 'schema_changed', 'restored') AND c.source NOT LIKE 'user:%' AND c.at > $3`, customPlan,
			cn, cnames, since)
		if err != nil {
			return nil, fmt.Errorf("slo crawl changes: %w", err)
		}
		if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &observedAt}, func() error {
			addUpdate(k, slo.UpdatesCrawlChanges, observedAt)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("slo crawl changes: %w", err)
		}
	}

	out := make(map[catalog.Key][]SLOReport, len(keys))
	for _, k := range keys {
		list := slos[k]
		slices.SortStableFunc(list, func(a, b slo.SLO) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Source, b.Source)) })
		all := *obs[k]
		for _, d := range list {
			o := all
			if d.Spec.Updates != slo.UpdatesDefault {
				o.Updates = updates[k][d.Spec.Updates]
			}
			if d.Job != (catalog.JobKey{}) {
				o.Runs = jobRuns[k][d.Job]
			}
			if d.Spec.Kind == slo.Quality {
				o.Results = nil
				for _, r := range results[k] {
					if len(d.Checks) == 0 || slices.Contains(d.Checks, r.check) {
						o.Results = append(o.Results, r.Result)
					}
				}
			}
			rep, err := slo.Evaluate(d.Spec, o, now)
			out[k] = append(out[k], SLOReport{SLO: d, Report: rep, Err: err, EvaluatedAt: now})
		}
	}
	return out, nil
}

// deltaSourcePrefix starts the provenance of Delta crawls ("delta:lake"),
// whose freshness observations are the table's commits.
const deltaSourcePrefix = "delta:"

type checkResult struct {
	slo.Result
	check string
}
