package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// TestMetricsHistory records dataset metrics through a push, twice, and
// reads back the latest observation and the row count trend.
func TestMetricsHistory(t *testing.T) {
	st, pool := newStore(t)
	ctx := context.Background()
	orders := key("shop.public.orders")
	job := catalog.JobKey{Namespace: "airflow", Name: "load_orders"}
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var ms []catalog.DatasetMetrics
	for i := range 5 {
		ms = append(ms, catalog.DatasetMetrics{Dataset: orders, ObservedAt: t0.Add(time.Duration(i) * time.Hour), Direction: catalog.MetricsWritten,
			RunID: "run-" + string(rune('a'+i)), Job: job, RowCount: ptr(int64(100 * (i + 1))), Bytes: ptr(int64(4096 * (i + 1)))})
	}
	// The last run also profiled what it read, at the same time.
	ms = append(ms, catalog.DatasetMetrics{Dataset: orders, ObservedAt: t0.Add(4 * time.Hour), Direction: catalog.MetricsRead, RunID: "run-e", Job: job,
		RowCount: ptr[int64](400), FileCount: ptr[int64](2),
		Columns: map[string]catalog.ColumnMetrics{"id": {NullCount: ptr[int64](0), DistinctCount: ptr[int64](400)},
			"amount": {Sum: ptr(1234.5), Quantiles: map[string]float64{"0.5": 3}}}})
	bad := catalog.DatasetMetrics{Dataset: orders, ObservedAt: t0, Direction: catalog.MetricsWritten, RowCount: ptr[int64](-1)}
	push := catalog.Push{Source: catalog.SourceOpenLineage, Metrics: append(ms, bad)}
	for range 2 { // a duplicate delivery records nothing new
		err := st.ApplyPush(ctx, push)
		if !errors.Is(err, catalog.ErrInvalid) {
			t.Fatalf("ApplyPush = %v, want the negative row count refused", err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM dataset_metrics`); n != 6 {
		t.Errorf("%d observations stored, want 6", n)
	}

	latest, err := st.LatestMetrics(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	// What the run wrote comes before what it read, which fills in what
	// the written observation does not say: the files and the profile.
	want := ms[4]
	want.FileCount, want.Columns = ms[5].FileCount, ms[5].Columns
	if diff := cmp.Diff(want, latest.Value); diff != "" || latest.Source != catalog.SourceOpenLineage {
		t.Errorf("latest metrics from %s (-want +got):\n%s", latest.Source, diff)
	}

	counts, err := st.RowCounts(ctx, orders, 4)
	if err != nil {
		t.Fatal(err)
	}
	var rows []int64
	for _, c := range counts {
		rows = append(rows, c.Rows)
	}
	// One count per run: run-e's, what it wrote.
	if diff := cmp.Diff([]int64{500, 400, 300, 200}, rows); diff != "" {
		t.Errorf("row counts, newest first (-want +got):\n%s", diff)
	}
	if counts[0].Job != job || counts[0].RunID != "run-e" || !counts[0].ObservedAt.Equal(t0.Add(4*time.Hour)) {
		t.Errorf("newest row count = %+v", counts[0])
	}

	if _, err := st.LatestMetrics(ctx, key("shop.public.nothing")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("LatestMetrics of an unmeasured dataset = %v, want ErrNotFound", err)
	}

	// Pruning everything keeps the newest observations of each dataset.
	n, err := st.PruneMetrics(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 4 {
		t.Errorf("PruneMetrics = %d, %v; want 4 deleted", n, err)
	}
	// What is left reads as before: the newest observations are those of
	// the latest run, and the trend is its count alone.
	latestAfter, err := st.LatestMetrics(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(latest, latestAfter); diff != "" {
		t.Errorf("latest metrics after pruning (-before +after):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM dataset_metrics WHERE namespace = $1 AND name = $2 AND run_id = 'run-e'`, orders.Namespace, orders.Name); n != 2 {
		t.Errorf("after pruning %d observations of run-e are left, want both", n)
	}
	if counts, err := st.RowCounts(ctx, orders, 10); err != nil || len(counts) != 1 || counts[0].Rows != 500 {
		t.Errorf("row counts after pruning = %+v, %v; want run-e's 500", counts, err)
	}
}

// TestMetricsOfOneRun checks that the observations of one run (several
// events, reading and writing) read as one: a later observation without
// a column profile keeps the profile of an earlier one of the same run,
// but never that of another run; the row count trend lists each run once;
// and pruning keeps every observation of the newest run.
func TestMetricsOfOneRun(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	orders := key("shop.public.orders")
	job := catalog.JobKey{Namespace: "spark", Name: "orders_daily"}
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	profile := map[string]catalog.ColumnMetrics{"id": {NullCount: ptr[int64](0), DistinctCount: ptr[int64](90)},
		"customer": {NullCount: ptr[int64](3)}}
	obs := func(run string, min int, dir string, rows int64, cols map[string]catalog.ColumnMetrics) catalog.DatasetMetrics {
		return catalog.DatasetMetrics{Dataset: orders, ObservedAt: t0.Add(time.Duration(min) * time.Minute), Direction: dir, RunID: run, Job: job,
			RowCount: ptr(rows), Columns: cols}
	}
	ms := []catalog.DatasetMetrics{
		// Run a: profiled at START, then RUNNING and COMPLETE events each
		// with the output statistics.
		obs("run-a", 0, catalog.MetricsRead, 90, profile),
		obs("run-a", 5, catalog.MetricsWritten, 100, nil),
		obs("run-a", 9, catalog.MetricsWritten, 100, nil),
		// Run b: likewise.
		obs("run-b", 60, catalog.MetricsRead, 100, map[string]catalog.ColumnMetrics{"id": {DistinctCount: ptr[int64](100)}}),
		obs("run-b", 65, catalog.MetricsWritten, 120, nil),
		obs("run-b", 69, catalog.MetricsWritten, 120, map[string]catalog.ColumnMetrics{"id": {NullCount: ptr[int64](1)}}),
	}
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Metrics: ms[:3]}); err != nil {
		t.Fatal(err)
	}
	latest, err := st.LatestMetrics(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	want := ms[2]
	want.Columns = profile
	if diff := cmp.Diff(want, latest.Value); diff != "" {
		t.Errorf("latest of run a (-want +got):\n%s", diff)
	}

	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Metrics: ms[3:]}); err != nil {
		t.Fatal(err)
	}
	latest, err = st.LatestMetrics(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	// Run b's profile, measure by measure, and nothing of run a's.
	want = ms[5]
	want.Columns = map[string]catalog.ColumnMetrics{"id": {NullCount: ptr[int64](1), DistinctCount: ptr[int64](100)}}
	if diff := cmp.Diff(want, latest.Value); diff != "" {
		t.Errorf("latest of run b (-want +got):\n%s", diff)
	}

	counts, err := st.RowCounts(ctx, orders, 10)
	if err != nil {
		t.Fatal(err)
	}
	type point struct {
		Run  string
		At   time.Time
		Rows int64
	}
	var got []point
	for _, c := range counts {
		got = append(got, point{c.RunID, c.ObservedAt, c.Rows})
	}
	if diff := cmp.Diff([]point{{"run-b", ms[5].ObservedAt, 120}, {"run-a", ms[2].ObservedAt, 100}}, got); diff != "" {
		t.Errorf("row counts (-want +got):\n%s", diff)
	}

	n, err := st.PruneMetrics(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 3 {
		t.Errorf("PruneMetrics = %d, %v; want run a's 3 deleted", n, err)
	}
	after, err := st.LatestMetrics(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(latest.Value, after.Value); diff != "" {
		t.Errorf("latest after pruning (-before +after):\n%s", diff)
	}
}
