package openlineage

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

func decodeFile(t *testing.T, path string) Event {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Decode(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

// TestDeriveMetrics maps the dataQualityMetrics input facet and the
// outputStatistics output facet of real events to observations.
func TestDeriveMetrics(t *testing.T) {
	spark := decodeFile(t, "testdata/openlineage_client_fixtures/spark_serde/openlineage-event.json")
	full := decodeFile(t, "testdata/marquez_fixtures/event_full.json")
	p, errs := Derive([]Event{spark, full})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	sparkAt := time.Date(2021, 1, 1, 0, 0, 1, 0, time.UTC)
	fullAt := time.Date(2020, 12, 28, 19, 51, 1, 641000000, time.UTC)
	sparkJob := catalog.JobKey{Namespace: "namespace", Name: "jobName"}
	fullJob := catalog.JobKey{Namespace: "my-scheduler-namespace", Name: "myjob.mytask"}
	table := catalog.Key{Namespace: "my-datasource-namespace", Name: "instance.schema.table"}
	want := []catalog.DatasetMetrics{
		// Derive orders by event time: event_full is older.
		{Dataset: table, ObservedAt: fullAt, Direction: catalog.MetricsRead, RunID: "ea041791-68bc-4ae1-bd89-4c8106a157e4", Job: fullJob,
			RowCount: ptr[int64](1000), Bytes: ptr[int64](1048576)},
		{Dataset: table, ObservedAt: fullAt, Direction: catalog.MetricsWritten, RunID: "ea041791-68bc-4ae1-bd89-4c8106a157e4", Job: fullJob,
			RowCount: ptr[int64](2000), Bytes: ptr[int64](2097152)},
		{Dataset: catalog.Key{Namespace: "ins", Name: "input"}, ObservedAt: sparkAt, Direction: catalog.MetricsRead,
			RunID: "5f24c93c-2ce9-49dc-82e7-95ab4915242f", Job: sparkJob,
			RowCount: ptr[int64](10), Bytes: ptr[int64](20), FileCount: ptr[int64](5),
			Columns: map[string]catalog.ColumnMetrics{"mycol": {NullCount: ptr[int64](1), DistinctCount: ptr[int64](10),
				Sum: ptr(3000.0), Count: ptr(10.0), Min: ptr(5.0), Max: ptr(30.0), Quantiles: map[string]float64{"25": 52}}}},
		{Dataset: catalog.Key{Namespace: "ons", Name: "output"}, ObservedAt: sparkAt, Direction: catalog.MetricsWritten,
			RunID: "5f24c93c-2ce9-49dc-82e7-95ab4915242f", Job: sparkJob,
			RowCount: ptr[int64](10), Bytes: ptr[int64](20), FileCount: ptr[int64](5)},
	}
	if diff := cmp.Diff(want, p.Metrics); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	// The assertions of event_full still became checks.
	if len(p.Results) != 2 {
		t.Errorf("%d quality results, want the 2 assertions", len(p.Results))
	}
}

// TestDeriveMetricsDatasetFacet reads the deprecated dataQualityMetrics
// dataset facet, here on a dataset event, as the spec's example gives it.
func TestDeriveMetricsDatasetFacet(t *testing.T) {
	e, err := Decode([]byte(`{"eventTime": "2023-05-30T10:54:22Z", "producer": "p", "dataset": {"namespace": "pg", "name": "payments", "facets": {
		"dataQualityMetrics": {"columnMetrics": {"amount": {"count": 10, "max": 1500, "min": 100, "sum": 6600}, "user_id": {"distinctCount": 3, "nullCount": 0}},
		"rowCount": 10, "fileCount": 5, "lastUpdated": "2023-05-30T10:54:22.355067Z"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if len(p.Metrics) != 1 {
		t.Fatalf("metrics = %+v, want one observation", p.Metrics)
	}
	m := p.Metrics[0]
	if m.Direction != catalog.MetricsStatic || *m.RowCount != 10 || *m.FileCount != 5 || m.Bytes != nil ||
		*m.Columns["user_id"].DistinctCount != 3 || *m.Columns["user_id"].NullCount != 0 || *m.Columns["amount"].Sum != 6600 {
		t.Errorf("metrics = %+v", m)
	}
}

// TestDeriveMalformedMetrics checks that a malformed metrics facet is
// reported by its facet and field, drops only its observation, and leaves
// the rest of the event in the push.
func TestDeriveMalformedMetrics(t *testing.T) {
	const head = `{"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8058"}, "job": {"namespace": "ns", "name": "j"},`
	tests := []struct {
		name, body, field string
	}{
		{"row count is a string", `"inputs": [{"namespace": "pg", "name": "a", "inputFacets": {"dataQualityMetrics": {"rowCount": "many"}}}]`,
			"inputs[0].inputFacets.dataQualityMetrics.rowCount"},
		{"fractional row count", `"inputs": [{"namespace": "pg", "name": "a", "inputFacets": {"dataQualityMetrics": {"rowCount": 1.5}}}]`,
			"inputs[0].inputFacets.dataQualityMetrics.rowCount"},
		{"null count is a string", `"inputs": [{"namespace": "pg", "name": "a", "inputFacets": {"dataQualityMetrics": {"columnMetrics": {"id": {"nullCount": "x"}}}}}]`,
			"inputs[0].inputFacets.dataQualityMetrics.columnMetrics.id.nullCount"},
		{"negative distinct count", `"inputs": [{"namespace": "pg", "name": "a", "inputFacets": {"dataQualityMetrics": {"columnMetrics": {"id": {"distinctCount": -1}}}}}]`,
			"inputs[0].inputFacets.dataQualityMetrics.columnMetrics.id.distinctCount"},
		{"column metrics not an object", `"inputs": [{"namespace": "pg", "name": "a", "inputFacets": {"dataQualityMetrics": {"columnMetrics": [1]}}}]`,
			"inputs[0].inputFacets.dataQualityMetrics.columnMetrics"},
		{"size is a string", `"inputs": [{"namespace": "pg", "name": "a"}], "outputs": [{"namespace": "pg", "name": "b", "outputFacets": {"outputStatistics": {"rowCount": 3, "size": "1 MB"}}}]`,
			"outputs[0].outputFacets.outputStatistics.size"},
		{"negative row count", `"inputs": [{"namespace": "pg", "name": "a"}], "outputs": [{"namespace": "pg", "name": "b", "outputFacets": {"outputStatistics": {"rowCount": -3}}}]`,
			"outputs[0].outputFacets.outputStatistics.rowCount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Decode([]byte(head + tt.body + "}"))
			if err != nil {
				t.Fatalf("Decode rejected the event for a metrics facet: %v", err)
			}
			p, errs := Derive([]Event{e})
			if errs[0] == nil || !strings.Contains(errs[0].Error(), tt.field+": ") {
				t.Errorf("error = %v, want one naming %s", errs[0], tt.field)
			}
			if len(p.Metrics) != 0 {
				t.Errorf("malformed facet recorded %+v", p.Metrics)
			}
			if len(p.Jobs) != 1 || len(p.Runs) != 1 || len(p.Datasets) == 0 {
				t.Errorf("the rest of the event was dropped: %d jobs, %d runs, %d datasets", len(p.Jobs), len(p.Runs), len(p.Datasets))
			}
		})
	}
}

// TestDeriveAssertionsSeverityFailures keeps an assertion's severity on
// its check and its failing-row count as the result's observed value.
func TestDeriveAssertionsSeverityFailures(t *testing.T) {
	e, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000001"}, "job": {"namespace": "airflow", "name": "load"},
		"inputs": [{"namespace": "pg", "name": "shop.public.orders", "inputFacets": {"dataQualityAssertions": {"assertions": [
			{"assertion": "not_null", "success": false, "column": "id", "severity": "warn", "failures": 7},
			{"assertion": "row_count", "success": true}]}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if len(p.Checks) != 2 || p.Checks[0].Severity != "warn" || p.Checks[1].Severity != "" {
		t.Errorf("checks = %+v, want the first with severity warn", p.Checks)
	}
	at := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	key := catalog.Key{Namespace: "pg", Name: "shop.public.orders"}
	want := []catalog.QualityResult{
		{Check: "airflow/load: not_null(id)", Dataset: key, Status: catalog.QualityFail, Failures: ptr[int64](7), Observed: "7",
			StartedAt: at, RunID: "0190a2b4-0000-7000-8000-000000000001"},
		{Check: "airflow/load: row_count", Dataset: key, Status: catalog.QualityPass, StartedAt: at, RunID: "0190a2b4-0000-7000-8000-000000000001"},
	}
	if diff := cmp.Diff(want, p.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

// TestDeriveAssertionsNamedActual keeps apart two tests a producer names
// that assert the same on one column, reads a failing-row count sent as
// a string, drops one that is no count (not the event), and takes actual
// and expected where there is no count.
func TestDeriveAssertionsNamedActual(t *testing.T) {
	e, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000001"}, "job": {"namespace": "dbt", "name": "shop.test"},
		"inputs": [{"namespace": "pg", "name": "shop.public.orders", "inputFacets": {"dataQualityAssertions": {"assertions": [
			{"assertion": "expect_column_values_to_be_between", "name": "amount_between_0_100", "column": "amount", "success": true},
			{"assertion": "expect_column_values_to_be_between", "name": "amount_between_0_10", "column": "amount", "success": false, "failures": "3"},
			{"assertion": "not_null", "column": "id", "success": false, "failures": "many"},
			{"assertion": "expect_column_quantile_values_to_be_between", "success": false, "actual": "6", "expected": "0"}]}}}]}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	var checks []string
	for _, c := range p.Checks {
		checks = append(checks, c.Name+" on "+c.Column)
	}
	wantChecks := []string{"dbt/shop.test: amount_between_0_100 on amount", "dbt/shop.test: amount_between_0_10 on amount",
		"dbt/shop.test: not_null(id) on id", "dbt/shop.test: expect_column_quantile_values_to_be_between on "}
	if !slices.Equal(checks, wantChecks) {
		t.Errorf("checks = %q, want %q", checks, wantChecks)
	}
	at := time.Date(2024, 3, 1, 6, 0, 0, 0, time.UTC)
	key := catalog.Key{Namespace: "pg", Name: "shop.public.orders"}
	run := "0190a2b4-0000-7000-8000-000000000001"
	want := []catalog.QualityResult{
		{Check: wantChecks[0][:len(wantChecks[0])-len(" on amount")], Dataset: key, Status: catalog.QualityPass, StartedAt: at, RunID: run},
		{Check: "dbt/shop.test: amount_between_0_10", Dataset: key, Status: catalog.QualityFail, Failures: ptr[int64](3), Observed: "3", StartedAt: at, RunID: run},
		{Check: "dbt/shop.test: not_null(id)", Dataset: key, Status: catalog.QualityFail, StartedAt: at, RunID: run},
		{Check: "dbt/shop.test: expect_column_quantile_values_to_be_between", Dataset: key, Status: catalog.QualityFail,
			Observed: `"6"`, Message: `expected "0"`, StartedAt: at, RunID: run},
	}
	if diff := cmp.Diff(want, p.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}
