package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
	want := ms[4] // what the run wrote before what it read
	if diff := cmp.Diff(want, latest.Value); diff != "" || latest.Source != catalog.SourceOpenLineage {
		t.Errorf("latest metrics from %s (-want +got):\n%s", latest.Source, diff)
	}
	hist, err := st.MetricsHistory(ctx, orders, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || cmp.Diff(ms[5], hist[1].Value) != "" {
		t.Errorf("history = %+v, want the read profile second", hist)
	}

	counts, err := st.RowCounts(ctx, orders, 4)
	if err != nil {
		t.Fatal(err)
	}
	var rows []int64
	for _, c := range counts {
		rows = append(rows, c.Rows)
	}
	if diff := cmp.Diff([]int64{500, 400, 400, 300}, rows); diff != "" {
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
	hist, err = st.MetricsHistory(ctx, orders, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := []catalog.DatasetMetrics{}
	for _, h := range hist {
		got = append(got, h.Value)
	}
	if diff := cmp.Diff(ms[4:6], got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after pruning (-want +got):\n%s", diff)
	}
}
