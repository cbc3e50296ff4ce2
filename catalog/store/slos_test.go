package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/slo"
	"almanac/catalog/store"
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

// airflowTaskEvent is an event of the Airflow task etl.load as
// apache-airflow-providers-openlineage sends it (see
// catalog/crawl/openlineage/airflow.go): the START event carries the run
// facets nominalTime and airflow (with task.sla, written by the
// provider's TaskInfo as "<seconds> seconds", null without one), the
// COMPLETE event neither.
func airflowTaskEvent(t *testing.T, typ, runID string, at, intervalEnd time.Time, sla any) openlineage.Event {
	t.Helper()
	facets := map[string]any{}
	if typ == "START" {
		facets["nominalTime"] = map[string]any{"_producer": airflowProducer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
			"nominalStartTime": intervalEnd.Add(-24 * time.Hour).Format(time.RFC3339), "nominalEndTime": intervalEnd.Format(time.RFC3339)}
		facets["airflow"] = map[string]any{"_producer": airflowProducer, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/AirflowRunFacet.json",
			"dag":          map[string]any{"dag_id": "etl", "schedule_interval": "@daily"},
			"dagRun":       map[string]any{"dag_id": "etl", "data_interval_start": intervalEnd.Add(-24 * time.Hour).Format(time.RFC3339), "data_interval_end": intervalEnd.Format(time.RFC3339), "run_type": "scheduled"},
			"task":         map[string]any{"task_id": "load", "operator_class": "PythonOperator", "owner": "data-eng", "retries": 1, "sla": sla},
			"taskInstance": map[string]any{"try_number": 1, "pool": "default_pool"},
			"taskUuid":     runID}
	}
	b, err := json.Marshal(map[string]any{
		"eventType": typ, "eventTime": at.Format(time.RFC3339Nano), "producer": airflowProducer,
		"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
		"run":       map[string]any{"runId": runID, "facets": facets},
		"job":       map[string]any{"namespace": "airflow", "name": "etl.load"},
		"inputs":    []any{},
		"outputs":   []any{map[string]any{"namespace": ns, "name": "shop.public.daily"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := openlineage.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const airflowProducer = "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0"

// TestAirflowSLA harvests the SLA of an Airflow task from its events as
// an on-time SLO of the dataset it writes, evaluates it on the task's
// runs (one on time, one late, one missing), and follows the SLA as
// later events change it and drop it.
func TestAirflowSLA(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	daily := key("shop.public.daily")
	day := 24 * time.Hour
	d0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	now := d0.Add(3*day + 12*time.Hour)
	push := func(events ...openlineage.Event) {
		t.Helper()
		p, errs := openlineage.Derive(events)
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := st.ApplyPush(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// Intervals ending 1 and 2 May: delivered 00:40 (on time) and 03:00
	// (two hours late); the runs of 3 and 4 May never came, though their
	// deadlines passed. An SLA of an hour.
	for i, done := range []time.Duration{40 * time.Minute, 3 * time.Hour} {
		end := d0.Add(time.Duration(i) * day)
		id := fmt.Sprintf("0190e3c8-0000-7000-8000-00000000000%d", i)
		push(airflowTaskEvent(t, "START", id, end.Add(10*time.Minute), end, "3600.0 seconds"),
			airflowTaskEvent(t, "COMPLETE", id, end.Add(done), end, nil))
	}
	slos := func() []store.SLOReport {
		t.Helper()
		m, err := st.DatasetSLOs(ctx, []catalog.Key{daily}, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		var out []store.SLOReport
		for _, r := range m[daily] {
			if r.SLO.Source == catalog.SourceOpenLineage {
				out = append(out, r)
			}
		}
		return out
	}
	got := slos()
	if len(got) != 1 {
		t.Fatalf("harvested SLOs = %+v, want the Airflow SLA", got)
	}
	s, r := got[0].SLO, got[0].Report
	if s.Name != "Airflow SLA of airflow/etl.load" || s.Spec.Kind != slo.OnTime || s.Spec.AfterNominal != time.Hour ||
		s.Job != (catalog.JobKey{Namespace: "airflow", Name: "etl.load"}) || got[0].Err != nil ||
		s.Origin != "sla of the Airflow task airflow/etl.load (1h after its data interval), from its OpenLineage events by "+airflowProducer {
		t.Errorf("SLO = %+v (%v), want on time within 1h of the nominal end, of the job", s, got[0].Err)
	}
	// Deadlines 01:00 of 1 to 4 May passed: one met.
	if r.Good != 1 || r.Total != 4 || r.Status != slo.StatusBreached {
		t.Errorf("report %v/%v %s, want 1 of 4 deadlines met, breached: %s", r.Good, r.Total, r.Status, r.Summary)
	}
	// The same SLA declared by people (after_nominal: 1h, with the
	// harvested objective and window) counts the runs of every job
	// writing the dataset, here the same ones: the same report.
	declared := slo.SLO{Name: "daily within 1h", Dataset: daily, Source: "config", Origin: "almanac.yaml:3",
		Spec: slo.Spec{Kind: slo.OnTime, Objective: slo.HarvestedObjective, Window: slo.HarvestedWindow, AfterNominal: time.Hour}}
	m, err := st.DatasetSLOs(ctx, []catalog.Key{daily}, []slo.SLO{declared}, now)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range m[daily] {
		if d.SLO.Source != "config" {
			continue
		}
		found = true
		if diff := cmp.Diff(r, d.Report); diff != "" || d.Err != nil {
			t.Errorf("declared report (%v) (-harvested +declared):\n%s", d.Err, diff)
		}
	}
	if !found {
		t.Error("the declared SLO was not evaluated")
	}

	// A later run, of 4 May, says the SLA is now 3 hours: the 03:00
	// delivery is on time, 3 May still missed.
	id := "0190e3c8-0000-7000-8000-000000000009"
	push(airflowTaskEvent(t, "START", id, d0.Add(3*day+10*time.Minute), d0.Add(3*day), "10800.0 seconds"))
	got = slos()
	if len(got) != 1 || got[0].SLO.Spec.AfterNominal != 3*time.Hour {
		t.Fatalf("after the SLA changed: %+v, want one SLO of 3h", got)
	}
	// 4 May's run started and is not done, its deadline 03:00 passed.
	if r := got[0].Report; r.Good != 2 || r.Total != 4 {
		t.Errorf("report %v/%v, want 2 of 4 (1 and 2 May met, 3 May missing, 4 May not delivered by 03:00): %s", r.Good, r.Total, r.Summary)
	}
	// A malformed SLA changes nothing, and the event is kept with a
	// warning.
	p, errs := openlineage.Derive([]openlineage.Event{airflowTaskEvent(t, "START", id, d0.Add(3*day+11*time.Minute), d0.Add(3*day), "whenever")})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "task.sla") {
		t.Errorf("malformed SLA: warning %v, want one naming task.sla", errs[0])
	}
	if err := st.ApplyPush(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got = slos(); len(got) != 1 || got[0].SLO.Spec.AfterNominal != 3*time.Hour {
		t.Errorf("after a malformed SLA: %+v, want the 3h SLO kept", got)
	}
	// The task no longer declares one: the harvested SLO goes.
	push(airflowTaskEvent(t, "START", id, d0.Add(3*day+12*time.Minute), d0.Add(3*day), nil))
	if got = slos(); len(got) != 0 {
		t.Errorf("after the SLA was dropped: %+v, want none", got)
	}
}
