package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/slo"
)

// TestDatasetSLOs evaluates declared SLOs and one harvested from dbt
// source freshness criteria on what the catalog observed.
func TestDatasetSLOs(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders, customers := key("shop.public.orders"), key("shop.public.customers")
	now := time.Date(2024, 3, 29, 12, 0, 0, 0, time.UTC)

	// dbt source freshness, hourly for 28 days; the last load was 31 h
	// before now: error_after 1 day is missed for the last 7 h.
	var fresh []catalog.FreshnessObservation
	for h := 28 * 24; h >= 0; h-- {
		at := now.Add(-time.Duration(h) * time.Hour)
		loaded := at.Add(-time.Hour)
		if h < 30 {
			loaded = now.Add(-31 * time.Hour)
		}
		fresh = append(fresh, catalog.FreshnessObservation{Dataset: orders, ObservedAt: at, MaxLoadedAt: &loaded,
			Status: catalog.FreshnessPass, WarnAfter: "12 hour", ErrorAfter: "1 day"})
	}
	if _, err := st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Freshness: fresh}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// A check passing 9 days in 10, another always failing, and daily
	// row counts, one out of range.
	p := catalog.Push{Source: "sql:x"}
	for d := range 20 {
		at := now.Add(-time.Duration(d)*24*time.Hour - time.Hour)
		status := catalog.QualityPass
		if d%10 == 0 {
			status = catalog.QualityFail
		}
		p.Results = append(p.Results,
			catalog.QualityResult{Check: "a", Dataset: orders, Status: status, StartedAt: at, RunID: fmt.Sprint("a", d)},
			catalog.QualityResult{Check: "b", Dataset: orders, Status: catalog.QualityFail, StartedAt: at, RunID: fmt.Sprint("b", d)})
		rows := int64(1000)
		if d == 3 {
			rows = 10
		}
		p.Metrics = append(p.Metrics, catalog.DatasetMetrics{Dataset: orders, ObservedAt: at, Direction: catalog.MetricsWritten, RowCount: &rows, RunID: fmt.Sprint("m", d)})
	}
	if err := st.ApplyPush(ctx, p); err != nil {
		t.Fatal(err)
	}
	lo, hi := 500.0, 2000.0
	declared := []slo.SLO{
		{Name: "checks pass", Dataset: orders, Source: "config", Checks: []string{"a"},
			Spec: slo.Spec{Kind: slo.Quality, Objective: 0.8, Window: 28 * 24 * time.Hour}},
		{Name: "rows", Dataset: orders, Source: "config",
			Spec: slo.Spec{Kind: slo.Volume, Objective: 0.9, Window: 28 * 24 * time.Hour, Min: &lo, Max: &hi}},
		{Name: "elsewhere", Dataset: key("shop.public.other"), Source: "config",
			Spec: slo.Spec{Kind: slo.Quality, Objective: 0.9, Window: 24 * time.Hour}},
	}
	got, err := st.DatasetSLOs(ctx, []catalog.Key{orders, customers}, declared, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[customers]) != 0 {
		t.Errorf("customers has SLOs: %+v", got[customers])
	}
	var lines []string
	for _, r := range got[orders] {
		if r.Err != nil {
			t.Errorf("%s: %v", r.SLO.Name, r.Err)
		}
		lines = append(lines, fmt.Sprintf("%s [%s] %s %.4f %s", r.SLO.Name, r.SLO.Source, r.Report.Status, r.Report.Attainment, r.Report.Unit))
	}
	want := []string{
		// 2 failures in 20, the newest an hour ago: the fast burn fires
		"checks pass [config] at_risk 0.9000 results",
		// stale from 24 h after the last load, 7 h of the 672 of the window
		fmt.Sprintf("freshness (error_after 1 day) [dbt:shop] breached %.4f minutes", 1-7.0/(28*24)),
		"rows [config] ok 0.9500 observations",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("slos:\n got %q\nwant %q", lines, want)
	}
	if r := got[orders][1]; r.SLO.Origin != "error_after of dbt source freshness" || r.SLO.Spec.MaxAge != 24*time.Hour {
		t.Errorf("harvested slo = %+v", r.SLO)
	}
}

// TestDatasetSLOsFromFacts evaluates the SLOs a source's facts declare
// (dbt meta.slo), with that source as provenance, while the source
// reports them.
func TestDatasetSLOsFromFacts(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	orders := key("shop.public.orders")
	ds := warehouse()
	for i := range ds {
		if ds[i].Key == orders {
			ds[i].Properties = map[string]string{"slo": `[{"name":"rows","kind":"volume","min":"500"},{"name":"broken","kind":"nope"}]`}
		}
	}
	crawlHarvest(t, st, catalog.Harvest{Datasets: ds, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}})
	now := time.Now()
	got, err := st.DatasetSLOs(ctx, []catalog.Key{orders}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if r := got[orders]; len(r) != 1 || r[0].SLO.Name != "rows" || r[0].SLO.Source != "dbt:shop" || r[0].SLO.Origin != "meta.slo of the dbt model" ||
		r[0].Report.Status != slo.StatusNoData || *r[0].SLO.Spec.Min != 500 {
		t.Fatalf("slos = %+v, want rows from dbt:shop with no data", r)
	}
	// The source no longer reports the dataset: its SLO goes with it.
	crawlHarvest(t, st, catalog.Harvest{Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}})
	if got, err := st.DatasetSLOs(ctx, []catalog.Key{orders}, nil, now); err != nil || len(got[orders]) != 0 {
		t.Errorf("after removal: %+v, %v", got[orders], err)
	}
}
