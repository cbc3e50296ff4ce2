package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/anomaly"
)

// Metrics anomalies are found in.
const (
	// MetricRowCount is the rows a run wrote (dataset_metrics).
	MetricRowCount = "row_count"
	// MetricUpdateWait is the hours between two consecutive updates.
	MetricUpdateWait = "update_wait"
	// MetricSinceUpdate is the hours since the latest update, now: an
	// update overdue.
	MetricSinceUpdate = "hours_since_update"
)

// AnomalyWindow is how far back DatasetAnomalies reports anomalies;
// the observations before it are history the baselines learn from.
const AnomalyWindow = 28 * 24 * time.Hour

// Anomaly is an observation of a dataset outside the range its history
// expects (see package anomaly).
type Anomaly struct {
	// Metric is MetricRowCount, MetricUpdateWait or MetricSinceUpdate.
	Metric string
	// Verdict holds the time and value observed, the expected value and
	// range, and the side.
	anomaly.Verdict
	// Method says how the range was learned.
	Method string
}

// DatasetAnomalies judges, at now, the written row counts and the waits
// between updates of each dataset of keys in the last AnomalyWindow,
// each against a baseline learned from the observations before it, and
// the wait since the latest update. Updates are those DatasetSLOs counts
// (sources' freshness observations and completed runs of the producing
// jobs). Each dataset's anomalies are newest first. It reads each kind of
// observation of every dataset in one statement.
func (s *Store) DatasetAnomalies(ctx context.Context, keys []catalog.Key, now time.Time) (map[catalog.Key][]Anomaly, error) {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, catalog.Key.Compare)
	keys = slices.Compact(keys)
	nss, names := splitKeys(keys)
	volume, fresh := anomaly.DefaultVolume(), anomaly.DefaultFreshness()
	from := now.Add(-AnomalyWindow)
	since := from.Add(-max(volume.History, fresh.History))

	counts := map[catalog.Key][]anomaly.Point{}
	rows, err := s.pool.Query(ctx, `
		SELECT m.namespace, m.name, m.observed_at, m.row_count
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN dataset_metrics m ON m.namespace = k.namespace AND m.name = k.name
		WHERE m.observed_at > $3 AND m.observed_at <= $4 AND m.row_count IS NOT NULL AND m.direction <> 'in'`, customPlan,
		nss, names, since, now)
	if err != nil {
		return nil, fmt.Errorf("anomalies: row counts: %w", err)
	}
	var (
		k  catalog.Key
		at time.Time
		n  int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &at, &n}, func() error {
		counts[k] = append(counts[k], anomaly.Point{At: at, Value: float64(n)})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("anomalies: row counts: %w", err)
	}

	updates := map[catalog.Key][]time.Time{}
	rows, err = s.pool.Query(ctx, `
		SELECT f.dataset_namespace, f.dataset_name, f.max_loaded_at
		FROM unnest($1::text[], $2::text[]) AS k(namespace, name)
		JOIN freshness_observations f ON f.dataset_namespace = k.namespace AND f.dataset_name = k.name
		WHERE f.max_loaded_at > $3 AND f.max_loaded_at <= $4`, customPlan, nss, names, since, now)
	if err != nil {
		return nil, fmt.Errorf("anomalies: updates: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name, &at}, func() error {
		updates[k] = append(updates[k], at)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("anomalies: updates: %w", err)
	}
	// Completed runs of the jobs writing each dataset are updates too; an
	// update both observed and run is one load (oneUpdatePerLoad).
	if err := s.producerRuns(ctx, nss, names, `r.state = 'COMPLETE' AND r.ended_at > $3 AND r.ended_at <= $4`, []any{since, now},
		func(k catalog.Key, r producerRun) { updates[k] = append(updates[k], *r.Ended) }); err != nil {
		return nil, fmt.Errorf("anomalies: updates: %w", err)
	}

	out := make(map[catalog.Key][]Anomaly, len(keys))
	for _, k := range keys {
		var list []Anomaly
		for _, v := range anomaly.DetectAfter(counts[k], from, volume) {
			if v.Anomaly {
				list = append(list, Anomaly{Metric: MetricRowCount, Verdict: v, Method: volume.Method()})
			}
		}
		ups := oneUpdatePerLoad(updates[k])
		for _, v := range anomaly.DetectAfter(anomaly.Waits(ups), from, fresh) {
			if v.Anomaly {
				list = append(list, Anomaly{Metric: MetricUpdateWait, Verdict: v, Method: fresh.Method()})
			}
		}
		if v, ok := anomaly.Overdue(ups, now, fresh); ok && v.Anomaly {
			list = append(list, Anomaly{Metric: MetricSinceUpdate, Verdict: v, Method: fresh.Method()})
		}
		slices.SortStableFunc(list, func(a, b Anomaly) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Metric, b.Metric)) })
		out[k] = list
	}
	return out, nil
}

// sameLoad is how close two updates are taken for one load reported
// twice (a dbt freshness observation and the end of the run that loaded
// it), which would otherwise add a wait of minutes to the series.
const sameLoad = time.Hour

// oneUpdatePerLoad returns the updates in time order, without those less
// than sameLoad after the one kept before them.
func oneUpdatePerLoad(updates []time.Time) []time.Time {
	u := slices.Clone(updates)
	slices.SortFunc(u, time.Time.Compare)
	out := u[:0]
	for _, t := range u {
		if len(out) == 0 || t.Sub(out[len(out)-1]) >= sameLoad {
			out = append(out, t)
		}
	}
	return out
}
