package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/lineage"
)

// TestDatasetActivity shows a dataset's lineage, quality checks and
// freshness as the dbt crawler records them.
func TestDatasetActivity(t *testing.T) {
	var st *store.Store
	p := newPortal(t, func(o *Options) { st = o.Store; o.Lineage = lineage.NewGraph() })
	orders := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.fct_orders"}
	customers := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.dim_customers"}
	staged := catalog.Key{Namespace: warehouseNS, Name: "warehouse.staging.stg_orders"}
	_, err := st.Crawl(context.Background(), "dbt:activity", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{
			Jobs: []catalog.JobFacts{
				{Key: catalog.JobKey{Namespace: "dbt", Name: "model.shop.fct_orders"}, Type: "dbt_model", Inputs: []catalog.Key{staged, customers}, Outputs: []catalog.Key{orders}},
				{Key: catalog.JobKey{Namespace: "dbt", Name: "exposure.shop.revenue"}, Type: "dbt_exposure", Description: "Revenue dashboard",
					Properties: map[string]string{"url": "javascript:alert(1)"}, Inputs: []catalog.Key{orders}},
			},
			Checks: []catalog.QualityCheck{
				{Dataset: orders, Column: "order_id", Name: "test.unique_order_id", Type: "unique"},
				{Dataset: orders, Column: "customer_key", Name: "test.not_null_customer_key", Type: "not_null"},
			},
			Results: []catalog.QualityResult{
				{Check: "test.unique_order_id", Dataset: orders, Status: catalog.QualityPass, StartedAt: now.Add(-time.Hour), RunID: "r1"},
				{Check: "test.not_null_customer_key", Dataset: orders, Status: "fail", Failures: ptr[int64](3), Message: "Got 3 results", StartedAt: now.Add(-time.Hour), RunID: "r1"},
			},
			Freshness: []catalog.FreshnessObservation{
				{Dataset: orders, ObservedAt: now.Add(-30 * time.Minute), MaxLoadedAt: ptr(now.Add(-2 * time.Hour)), Status: "warn", WarnAfter: "1 hour"},
			},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := p.get(t, datasetPath(orders))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	body := r.body
	for _, want := range []string{
		`id="lineage-heading"`, ">warehouse.staging.stg_orders</a>", ">warehouse.marts.dim_customers</a>",
		"model.shop.fct_orders", "exposure.shop.revenue", "Revenue dashboard",
		`id="quality-heading"`, "test.not_null_customer_key", "3 failing rows", "Got 3 results",
		`id="freshness-heading"`, "warn after 1 hour",
		`href="` + lineagePath(orders) + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dataset page lacks %q", want)
		}
	}
	// The failing check is listed before the passing one.
	if strings.Index(body, "test.not_null_customer_key") > strings.Index(body, "test.unique_order_id") {
		t.Error("failing check not listed first")
	}
	if strings.Contains(body, "javascript:") {
		t.Error("a crawled javascript: URL became a link")
	}
	// Upstream of the dimension: nothing; downstream: fct_orders.
	r = p.get(t, datasetPath(customers))
	if !strings.Contains(r.body, `id="lineage-heading"`) || !strings.Contains(r.body, ">warehouse.marts.fct_orders</a>") {
		t.Error("dim_customers does not show fct_orders downstream")
	}
}

// TestDatasetActivityMetrics shows what runs measured of a dataset, as
// OpenLineage pushes it: the latest size and column profile, and the row
// count trend.
func TestDatasetActivityMetrics(t *testing.T) {
	var st *store.Store
	p := newPortal(t, func(o *Options) { st = o.Store })
	orders := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.fct_orders"}
	job := catalog.JobKey{Namespace: "airflow", Name: "load_orders"}
	var ms []catalog.DatasetMetrics
	for i, rows := range []int64{1000, 1200, 1100, 1500} {
		ms = append(ms, catalog.DatasetMetrics{Dataset: orders, ObservedAt: now.Add(time.Duration(i-4) * time.Hour), Direction: catalog.MetricsWritten,
			RunID: fmt.Sprintf("r%d", i), Job: job, RowCount: ptr(rows), Bytes: ptr(rows * 2048), FileCount: ptr[int64](3)})
	}
	ms[3].Columns = map[string]catalog.ColumnMetrics{
		"order_id":     {NullCount: ptr[int64](0), DistinctCount: ptr[int64](1500)},
		"customer_key": {NullCount: ptr[int64](7)},
		"amount":       {Sum: ptr(99.5)}, // neither count: not listed
	}
	// Runs report in several events: r2 counted its output at RUNNING too,
	// and r3's COMPLETE, after the profile, has output statistics only.
	// Neither adds to the trend, nor hides the profile.
	ms = append(ms,
		catalog.DatasetMetrics{Dataset: orders, ObservedAt: ms[2].ObservedAt.Add(-5 * time.Minute), Direction: catalog.MetricsWritten,
			RunID: "r2", Job: job, RowCount: ptr[int64](1100)},
		catalog.DatasetMetrics{Dataset: orders, ObservedAt: ms[3].ObservedAt.Add(10 * time.Minute), Direction: catalog.MetricsWritten,
			RunID: "r3", Job: job, RowCount: ptr[int64](1500), Bytes: ptr[int64](1500 * 2048)})
	if err := st.ApplyPush(context.Background(), catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{Facts: catalog.DatasetFacts{Key: orders}}}, Metrics: ms}); err != nil {
		t.Fatal(err)
	}
	r := p.get(t, datasetPath(orders))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	for _, want := range []string{
		`id="metrics-heading"`, `<span title="1500">1.5k rows</span>`, "measured ", " by openlineage", "<dd>2.9 MiB</dd>", "<dd>3</dd>", "written by load_orders",
		`<td class="mono">customer_key</td><td>7</td><td></td>`, `<td class="mono">order_id</td><td>0</td><td>1500</td>`,
		"Row count, last 4 observations", "▁▃▂█", "<td>+200</td>", "<td>−100</td>", "<td>+400</td>",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("dataset page lacks %q", want)
		}
	}
	if strings.Contains(r.body, `<td class="mono">amount</td>`) {
		t.Error("a column without null or distinct counts is listed")
	}
	// A dataset no run measured has no such section.
	other := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.dim_customers"}
	if err := st.ApplyPush(context.Background(), catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{Facts: catalog.DatasetFacts{Key: other}}}}); err != nil {
		t.Fatal(err)
	}
	if r := p.get(t, datasetPath(other)); r.status != 200 || strings.Contains(r.body, "metrics-heading") {
		t.Errorf("unmeasured dataset: status %d, metrics shown: %v", r.status, strings.Contains(r.body, "metrics-heading"))
	}
}
