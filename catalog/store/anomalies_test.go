package store_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// TestDatasetAnomalies finds the known anomalies of a synthetic history
// and nothing else: ten weeks of daily loads with a weekly pattern
// (weekends half as big) and a little noise, every other load reported
// twice ten minutes apart, one load ten times the usual size, and three
// days without an update.
func TestDatasetAnomalies(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders, customers := key("shop.public.orders"), key("shop.public.customers")
	now := time.Date(2024, 3, 29, 8, 0, 0, 0, time.UTC) // a Friday, two hours after the day's load
	spike := time.Date(2024, 3, 20, 6, 0, 0, 0, time.UTC)
	gapFrom, gapTo := time.Date(2024, 3, 12, 6, 0, 0, 0, time.UTC), time.Date(2024, 3, 15, 6, 0, 0, 0, time.UTC)

	p := catalog.Push{Source: "sql:x"}
	var fresh []catalog.FreshnessObservation
	for d := 70; d >= 0; d-- {
		at := time.Date(2024, 3, 29-d, 6, 0, 0, 0, time.UTC)
		if at.After(gapFrom) && at.Before(gapTo) {
			continue // no load, no update
		}
		rows := 1000.0
		if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
			rows = 500
		}
		rows *= 1 + 0.03*math.Sin(float64(d)*1.7)
		if at.Equal(spike) {
			rows *= 10
		}
		n := int64(rows)
		p.Metrics = append(p.Metrics, catalog.DatasetMetrics{Dataset: orders, ObservedAt: at, Direction: catalog.MetricsWritten, RowCount: &n, RunID: fmt.Sprint("m", d)})
		loaded := at
		fresh = append(fresh, catalog.FreshnessObservation{Dataset: orders, ObservedAt: at.Add(time.Minute), MaxLoadedAt: &loaded, Status: catalog.FreshnessPass})
		if d%2 == 0 {
			// the same load reported again ten minutes later: one update
			again := at.Add(10 * time.Minute)
			fresh = append(fresh, catalog.FreshnessObservation{Dataset: orders, ObservedAt: at.Add(11 * time.Minute), MaxLoadedAt: &again, Status: catalog.FreshnessPass})
		}
	}
	if err := st.ApplyPush(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Freshness: fresh}, nil
	}); err != nil {
		t.Fatal(err)
	}

	got, err := st.DatasetAnomalies(ctx, []catalog.Key{orders, customers}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[customers]) != 0 {
		t.Errorf("customers, without history, has anomalies: %+v", got[customers])
	}
	var lines []string
	for _, a := range got[orders] {
		lines = append(lines, fmt.Sprintf("%s %s %.0f above=%v in [%.0f, %.0f]", a.At.Format(time.DateOnly), a.Metric, a.Value, a.Above, a.Lo, a.Hi))
		if a.Method == "" || !a.Known {
			t.Errorf("%s: no method or baseline: %+v", a.Metric, a)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("anomalies:\n%q\nwant the spike and the gap", lines)
	}
	// The spike: ten times a weekday's load, above a range around 1000.
	if a := got[orders][0]; a.Metric != store.MetricRowCount || !a.At.Equal(spike) || !a.Above || a.Value < 9000 || a.Hi > 1200 || a.Lo < 800 {
		t.Errorf("spike: %s", lines[0])
	}
	// The gap: a wait of 72 h where 24 h is usual.
	if a := got[orders][1]; a.Metric != store.MetricUpdateWait || !a.At.Equal(gapTo) || a.Value != 72 || a.Hi > 30 {
		t.Errorf("gap: %s", lines[1])
	}

	// A day later without a load, the update is overdue.
	later := now.Add(24 * time.Hour)
	got, err = st.DatasetAnomalies(ctx, []catalog.Key{orders}, later)
	if err != nil {
		t.Fatal(err)
	}
	if a := got[orders][0]; a.Metric != store.MetricSinceUpdate || !a.At.Equal(later) || a.Value != 26 {
		t.Errorf("overdue: %+v", a)
	}
}

// TestProducerRunsFanOut: the runs of a job writing several datasets
// count for each of them, in anomalies and in SLOs alike, and the runs of
// a job writing one of them only for that one.
func TestProducerRunsFanOut(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders, customers, other := key("shop.public.orders"), key("shop.public.customers"), key("shop.public.other")
	load := catalog.JobKey{Namespace: "airflow", Name: "shop.load"}
	extra := catalog.JobKey{Namespace: "airflow", Name: "shop.extra"}
	now := time.Date(2024, 3, 29, 8, 0, 0, 0, time.UTC)
	gapFrom, gapTo := time.Date(2024, 3, 12, 6, 0, 0, 0, time.UTC), time.Date(2024, 3, 15, 6, 0, 0, 0, time.UTC)
	var runs []catalog.Run
	for d := 70; d >= 0; d-- {
		end := time.Date(2024, 3, 29-d, 6, 0, 0, 0, time.UTC)
		if end.After(gapFrom) && end.Before(gapTo) {
			continue
		}
		start := end.Add(-20 * time.Minute)
		runs = append(runs, catalog.Run{ID: fmt.Sprint("load-", d), Job: load, State: catalog.RunComplete, StartedAt: &start, EndedAt: &end, StateAt: end})
	}
	failed := now.Add(-3 * time.Hour)
	runs = append(runs, catalog.Run{ID: "extra-1", Job: extra, State: catalog.RunFail, StartedAt: &failed, EndedAt: &failed, StateAt: failed})
	if _, err := st.Crawl(ctx, "airflow:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{
			Jobs: []catalog.JobFacts{
				{Key: load, Type: "airflow_task", Outputs: []catalog.Key{orders, customers}},
				{Key: extra, Type: "airflow_task", Outputs: []catalog.Key{customers}},
			},
			Runs: runs,
		}, nil
	}); err != nil {
		t.Fatal(err)
	}

	keys := []catalog.Key{orders, customers, other}
	got, err := st.DatasetAnomalies(ctx, keys, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []catalog.Key{orders, customers} {
		if len(got[k]) != 1 || got[k][0].Metric != store.MetricUpdateWait || !got[k][0].At.Equal(gapTo) || got[k][0].Value != 72 {
			t.Errorf("%s: anomalies %+v, want the 72 h wait ending %s", k.Name, got[k], gapTo)
		}
	}
	if len(got[other]) != 0 {
		t.Errorf("other, which no job writes, has anomalies: %+v", got[other])
	}

	pipeline := func(k catalog.Key) slo.SLO {
		return slo.SLO{Name: "runs succeed", Dataset: k, Source: "config", Origin: "almanac.yaml:1",
			Spec: slo.Spec{Kind: slo.Pipeline, Objective: 0.5, Window: 10 * 24 * time.Hour}}
	}
	reports, err := st.DatasetSLOs(ctx, keys, []slo.SLO{pipeline(orders), pipeline(customers), pipeline(other)}, now)
	if err != nil {
		t.Fatal(err)
	}
	// Ten days back from now: the load's runs of the days 20 to 29 for
	// both; customers also has the extra job's failed run.
	for k, want := range map[catalog.Key][2]float64{orders: {10, 10}, customers: {10, 11}, other: {0, 0}} {
		if len(reports[k]) != 1 || reports[k][0].Err != nil {
			t.Fatalf("%s: reports %+v", k.Name, reports[k])
		}
		if r := reports[k][0].Report; r.Good != want[0] || r.Total != want[1] {
			t.Errorf("%s: %v good of %v runs, want %v of %v", k.Name, r.Good, r.Total, want[0], want[1])
		}
	}
}
