package openlineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

func fixtures(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) < 50 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	return files
}

func TestDecodeFixtures(t *testing.T) {
	kinds := map[string]Kind{}
	for _, f := range fixtures(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Decode(b)
		if strings.HasSuffix(f, "nominal_time_without_end.json") {
			// A facet on its own, not an event.
			if err == nil {
				t.Errorf("%s: accepted a facet as an event", f)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if e.Time.IsZero() {
			t.Errorf("%s: no event time", f)
		}
		kinds[filepath.Base(f)] = e.Kind
	}
	want := map[string]Kind{
		"event_dataset_event.json":         KindDataset,
		"serde_example_dataset_event.json": KindDataset,
		"event_job_event.json":             KindJob,
		"serde_example_job_event.json":     KindJob,
		"event_full.json":                  KindRun,
		"line_01.json":                     KindRun,
	}
	for name, k := range want {
		if kinds[name] != k {
			t.Errorf("%s: kind %q, want %q", name, kinds[name], k)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	const ok = `"eventTime": "2024-01-01T00:00:00Z", "producer": "p", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8058"}, "job": {"namespace": "ns", "name": "j"}`
	tests := []struct {
		name, body, field string
	}{
		{"malformed", `{"eventTime": `, ""},
		{"not an object", `[1, 2]`, ""},
		{"no time", `{"run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j"}}`, "eventTime"},
		{"bad time", `{"eventTime": "yesterday", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j"}}`, "eventTime"},
		{"time is a number", `{"eventTime": 12, "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j"}}`, "eventTime"},
		{"unknown event type", `{"eventType": "FINISHED", ` + ok + `}`, "eventType"},
		{"event type is a number", `{"eventType": 3, ` + ok + `}`, "eventType"},
		{"no run id", `{"eventTime": "2024-01-01T00:00:00Z", "run": {}, "job": {"namespace": "n", "name": "j"}}`, "run.runId"},
		{"run id is a number", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": 7}, "job": {"namespace": "n", "name": "j"}}`, "run.runId"},
		{"run id not a UUID", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "run-1"}, "job": {"namespace": "n", "name": "j"}}`, "run.runId"},
		{"run id a UUID without hyphens", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "0190f4a3b5c67d8e9f0a1b2c3d4e5f60"}, "job": {"namespace": "n", "name": "j"}}`, "run.runId"},
		{"run id a UUID in braces", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "{0190f4a3-b5c6-7d8e-9f0a-1b2c3d4e5f60}"}, "job": {"namespace": "n", "name": "j"}}`, "run.runId"},
		{"no job", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}}`, "job"},
		{"job without namespace", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"name": "j"}}`, "job.namespace"},
		{"nothing", `{"eventTime": "2024-01-01T00:00:00Z"}`, ""},
		{"input without name", `{` + ok + `, "inputs": [{"namespace": "n"}]}`, "inputs[0].name"},
		{"inputs not an array", `{` + ok + `, "inputs": {"namespace": "n"}}`, "inputs"},
		{"schema fields not an array", `{` + ok + `, "outputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": "a"}}}]}`, "outputs[0].facets.schema.fields"},
		{"schema field without name", `{` + ok + `, "outputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": [{"type": "int"}]}}}]}`, "outputs[0].facets.schema.fields[0].name"},
		{"column lineage input without field", `{` + ok + `, "outputs": [{"namespace": "n", "name": "d", "facets": {"columnLineage": {"fields": {"a": {"inputFields": [{"namespace": "n", "name": "s"}]}}}}}]}`, "outputs[0].facets.columnLineage.fields.a.inputFields[0]"},
		{"input facet owner without name", `{` + ok + `, "inputs": [{"namespace": "n", "name": "d", "inputFacets": {"ownership": {"owners": [{"type": "x"}]}}}]}`, "inputs[0].inputFacets.ownership.owners[0].name"},
		{"job owner without name", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j", "facets": {"ownership": {"owners": [{"no-name": "x"}]}}}}`, "job.facets.ownership.owners[0].name"},
		{"job owner with a blank name", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j", "facets": {"ownership": {"owners": [{"name": "a"}, {"name": "  "}]}}}}`, "job.facets.ownership.owners[1].name"},
		{"output facet owner without name", `{` + ok + `, "outputs": [{"namespace": "n", "name": "d", "inputFacets": {}, "outputFacets": {"ownership": {"owners": [{"type": "x"}]}}}]}`, "outputs[0].outputFacets.ownership.owners[0].name"},
		{"parent run id is a number", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057", "facets": {"parent": {"job": {"namespace": "n", "name": "p"}, "run": {"runId": 1}}}}, "job": {"namespace": "n", "name": "j"}}`, "run.facets.parent.run.runId"},
		{"assertion success a string", `{` + ok + `, "inputs": [{"namespace": "n", "name": "d", "inputFacets": {"dataQualityAssertions": {"assertions": [{"assertion": "a", "success": true}, {"assertion": "b", "success": "yes"}]}}}]}`, "inputs[0].inputFacets.dataQualityAssertions.assertions[1].success"},
		{"spec 3", `{` + ok + `, "schemaURL": "https://openlineage.io/spec/3-0-0/OpenLineage.json#/$defs/RunEvent"}`, "schemaURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("Decode = %v, want an *Error", err)
			}
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if oe.Field != tt.field {
				t.Errorf("field = %q, want %q (%v)", oe.Field, tt.field, err)
			}
		})
	}
}

func TestDecodeBatchNamesIndex(t *testing.T) {
	_, err := DecodeBatch([]byte(`[{"eventTime": "2024-01-01T00:00:00Z", "job": {"namespace": "n", "name": "j"}}, {"eventTime": "x", "job": {"namespace": "n", "name": "j"}}]`))
	var oe *Error
	if !errors.As(err, &oe) || oe.Field != "[1].eventTime" {
		t.Fatalf("DecodeBatch = %v, want an error on [1].eventTime", err)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2020-12-28T19:51:01.641Z", "2020-12-28T19:51:01.641499", "2020-12-28T19:52:00.001+10:00", "2024-11-26T13:05:34.626595+00:00", "2020-12-28T19:51:01.123456789Z",
		// RFC 3339 §5.6 allows "t" and "z" in lower case.
		"2024-01-01t00:00:00z", "2024-01-01t00:00:00.5+01:00"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("ParseTime(%q): %v", s, err)
		}
	}
	if a, b := mustParseTime(t, "2024-01-01t10:00:00z"), mustParseTime(t, "2024-01-01T10:00:00Z"); !a.Equal(b) {
		t.Errorf("lower-case t and z parse as %v, upper case as %v", a, b)
	}
}

func mustParseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestSchemaNameTwice takes an event whose schema lists a name twice (the
// spec allows it; Spark's plans carry such attributes): the first field
// of each name is kept, with its nested fields, and the event's error
// names what was dropped.
func TestSchemaNameTwice(t *testing.T) {
	e, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000001"}, "job": {"namespace": "spark", "name": "j"},
		"outputs": [{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": [
			{"name": "a", "type": "VARCHAR"}, {"name": "s", "type": "struct", "fields": [{"name": "x", "type": "int"}, {"name": "x", "type": "long"}]},
			{"name": "a", "type": "INT"}, {"name": "b", "type": "INT"}]}}}]}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), `schema lists "s.x", "a" more than once`) {
		t.Errorf("error = %v, want it to name s.x and a", errs[0])
	}
	if len(p.Datasets) != 1 {
		t.Fatalf("%d datasets, want 1", len(p.Datasets))
	}
	var got []string
	for _, c := range p.Datasets[0].Facts.Columns {
		got = append(got, fmt.Sprintf("%d %s %s", c.Ordinal, c.Name, c.Type))
	}
	want := []string{"1 a VARCHAR", "2 s struct", "3 s.x int", "4 b INT"}
	if !slices.Equal(got, want) {
		t.Errorf("columns = %q, want %q", got, want)
	}
}

func TestDeriveColumnLineageAndRuns(t *testing.T) {
	var events []Event
	for _, f := range []string{"testdata/airflow_compat/line_04.json", "testdata/airflow_compat/line_05.json"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	// Deliver COMPLETE before START.
	events[0], events[1] = events[1], events[0]
	p, errs := Derive(events)
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	up := catalog.Key{Namespace: "bigquery", Name: "mock-project.test.upload"}
	cp := catalog.Key{Namespace: "bigquery", Name: "mock-project.test.upload_cp"}
	var want []catalog.ColumnLineage
	for _, c := range []string{"a", "b", "c", "d"} {
		want = append(want, catalog.ColumnLineage{Output: cp, Column: c, Input: up, InputColumn: c, Type: "DIRECT", Subtype: "IDENTITY", Description: "identical"})
	}
	if diff := cmp.Diff(want, p.ColumnLineage); diff != "" {
		t.Errorf("column lineage (-want +got):\n%s", diff)
	}
	if len(p.Runs) != 2 || p.Runs[0].State != catalog.RunStart || p.Runs[1].State != catalog.RunComplete {
		t.Errorf("runs not in event time order: %+v", p.Runs)
	}
	r := p.Runs[1].Merge(p.Runs[0])
	if r.State != catalog.RunComplete || r.StartedAt == nil || r.EndedAt == nil || r.Duration() <= 0 {
		t.Errorf("merged run = %+v, want COMPLETE with a duration", r)
	}
	if r.ParentJob != (catalog.JobKey{Namespace: "airflow", Name: "BQ"}) || r.ParentID == "" {
		t.Errorf("parent = %v %q, want the BQ DAG run", r.ParentJob, r.ParentID)
	}
	if len(p.Jobs) != 2 || p.Jobs[1].Job.Type != "airflow_task" {
		t.Errorf("jobs = %+v, want two updates of type airflow_task", p.Jobs)
	}
}

// TestDecodeErrorMessages checks that a rejected event is explained in
// OpenLineage terms, by the JSON path of the fault, never by Go types.
func TestDecodeErrorMessages(t *testing.T) {
	const ok = `"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8058"}, "job": {"namespace": "ns", "name": "j"}`
	tests := []struct {
		name, body, want string
	}{
		{"array for an event", `[{}]`, "openlineage event: an event must be a JSON object, got an array"},
		{"string for an event", `"x"`, "openlineage event: an event must be a JSON object, got a string"},
		{"number for a run id", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": 7}, "job": {"namespace": "n", "name": "j"}}`,
			"openlineage event: run.runId: must be a string, got a number"},
		{"run id not a UUID", `{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "manual__2024-01-01"}, "job": {"namespace": "n", "name": "j"}}`,
			`openlineage event: run.runId: must be a UUID, got "manual__2024-01-01"`},
		{"string for the run", `{"eventTime": "2024-01-01T00:00:00Z", "run": "r1"}`, "openlineage event: run: must be a JSON object, got a string"},
		{"object for inputs", `{` + ok + `, "inputs": {"namespace": "n"}}`, "openlineage event: inputs: must be a JSON array, got an object"},
		{"string for an input", `{` + ok + `, "inputs": ["pg/t"]}`, "openlineage event: inputs[0]: a dataset must be a JSON object, got a string"},
		{"number for an output name", `{` + ok + `, "outputs": [{"namespace": "n", "name": "a"}, {"namespace": "n", "name": 5}]}`,
			"openlineage event: outputs[1].name: must be a string, got a number"},
		{"boolean for facets", `{` + ok + `, "outputs": [{"namespace": "n", "name": "a", "facets": true}]}`,
			"openlineage event: outputs[0].facets: must be a JSON object, got a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Decode = %v, want %q", err, tt.want)
			}
		})
	}
	for _, tt := range []struct{ body, want string }{
		{`{"eventTime": "2024-01-01T00:00:00Z"}`, "openlineage event: a batch must be a JSON array of events, got an object"},
		{`"x"`, "openlineage event: a batch must be a JSON array of events, got a string"},
	} {
		if _, err := SplitBatch([]byte(tt.body)); err == nil || err.Error() != tt.want {
			t.Errorf("SplitBatch(%s) = %v, want %q", tt.body, err, tt.want)
		}
		if _, err := DecodeBatch([]byte(tt.body)); err == nil || err.Error() != tt.want {
			t.Errorf("DecodeBatch(%s) = %v, want %q", tt.body, err, tt.want)
		}
	}
	_, err := DecodeBatch([]byte(`[{` + ok + `}, [1]]`))
	if want := "openlineage event: [1]: an event must be a JSON object, got an array"; err == nil || err.Error() != want {
		t.Errorf("DecodeBatch = %v, want %q", err, want)
	}
}

// TestRunIDIsUUID checks that a run id is read as a UUID: any case on
// input, one spelling (lower case) after.
func TestRunIDIsUUID(t *testing.T) {
	e, err := Decode([]byte(`{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "0190F4A3-B5C6-7D8E-9F0A-1B2C3D4E5F60",
		"facets": {"parent": {"run": {"runId": "0190F4A3-0000-7D8E-9F0A-1B2C3D4E5F60"}, "job": {"namespace": "n", "name": "dag"}}}},
		"job": {"namespace": "n", "name": "j"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "0190f4a3-b5c6-7d8e-9f0a-1b2c3d4e5f60"; e.RunID != want {
		t.Errorf("run id = %q, want %q", e.RunID, want)
	}
	p, _ := Derive([]Event{e})
	if want := "0190f4a3-0000-7d8e-9f0a-1b2c3d4e5f60"; len(p.Runs) != 1 || p.Runs[0].ParentID != want {
		t.Errorf("runs = %+v, want the parent %s", p.Runs, want)
	}
}

// TestDeriveDatasetWideColumnLineage checks that the column lineage
// facet's dataset-level inputs become dataset-wide rows (Column ""), held
// once, INDIRECT when the producer names no transformation.
func TestDeriveDatasetWideColumnLineage(t *testing.T) {
	e, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"},
		"job": {"namespace": "n", "name": "j"}, "outputs": [{"namespace": "n", "name": "out", "facets": {"columnLineage": {
			"fields": {"a": {"inputFields": [{"namespace": "n", "name": "in", "field": "a", "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}},
			"dataset": [{"namespace": "n", "name": "in", "field": "region", "transformations": [{"type": "INDIRECT", "subtype": "FILTER", "description": "region = 'EU'"}]},
			            {"namespace": "n", "name": "in", "field": "k"}]}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	out, in := catalog.Key{Namespace: "n", Name: "out"}, catalog.Key{Namespace: "n", Name: "in"}
	want := []catalog.ColumnLineage{
		{Output: out, Column: "", Input: in, InputColumn: "k", Type: "INDIRECT"},
		{Output: out, Column: "", Input: in, InputColumn: "region", Type: "INDIRECT", Subtype: "FILTER", Description: "region = 'EU'"},
		{Output: out, Column: "a", Input: in, InputColumn: "a", Type: "DIRECT", Subtype: "IDENTITY"},
	}
	if diff := cmp.Diff(want, p.ColumnLineage); diff != "" {
		t.Errorf("column lineage (-want +got):\n%s", diff)
	}
}

// TestFacetDeleted checks that a facet {"_deleted": true} is absent
// however the member is spelled, and that one without it is decoded.
func TestFacetDeleted(t *testing.T) {
	tests := []struct {
		raw     string
		present bool
		want    string
		err     bool
	}{
		{raw: `{"description": "d"}`, present: true, want: "d"},
		{raw: `{"description": "under_score _deletedness"}`, present: true, want: "under_score _deletedness"},
		{raw: `{"_deleted": true}`},
		{raw: `{"description": "d", "_deleted": true}`},
		{raw: `{"_DELETED": true}`},
		{raw: `{"_Deleted": true}`},
		{raw: `{"\u005fdeleted": true}`},
		{raw: `{"_\u0064eleted": true}`},
		{raw: `{"_deleted": false, "description": "d"}`, present: true, want: "d"},
		{raw: `{"_deleted": "yes"}`, err: true},
		{raw: `[1]`, err: true},
		{raw: `null`},
	}
	for _, tt := range tests {
		var doc documentationFacet
		ok, err := Facets{"documentation": json.RawMessage(tt.raw)}.facet("documentation", "facets", &doc)
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v, want error %t", tt.raw, err, tt.err)
			continue
		}
		if ok != tt.present || doc.Description != tt.want {
			t.Errorf("%s: present %t, description %q; want %t, %q", tt.raw, ok, doc.Description, tt.present, tt.want)
		}
	}
}

// TestDeriveLineageFacets takes the column lineage that the lineage
// dataset and job facets (LineageFacet 1-0-0) declare: inputs that are
// dataset fields, at field and dataset level; jobs, and whole datasets
// without a field, have no place in column lineage. What the column
// lineage facet says as well is kept once.
func TestDeriveLineageFacets(t *testing.T) {
	e, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p",
		"run": {"runId": "0190f2b8-0000-7000-8000-000000000002"},
		"job": {"namespace": "ns", "name": "job", "facets": {"lineage": {"entries": [
			{"namespace": "pg", "name": "public.summary", "type": "DATASET", "inputs": [],
			 "fields": {"total": {"inputs": [{"namespace": "pg", "name": "public.orders", "type": "DATASET", "field": "amount",
				"transformations": [{"type": "DIRECT", "subtype": "AGGREGATION", "description": "sum()"}]}]}}},
			{"namespace": "airflow", "name": "daily.load", "type": "JOB", "inputs": [{"namespace": "airflow", "name": "daily.transform", "type": "JOB"}]}]}}},
		"outputs": [{"namespace": "ons", "name": "out", "facets": {
			"lineage": {"inputs": [
				{"namespace": "pg", "name": "public.customers", "type": "DATASET", "field": "region"},
				{"namespace": "pg", "name": "public.regions", "type": "DATASET"},
				{"type": "JOB"}],
			 "fields": {
				"customer_id": {"inputs": [{"namespace": "pg", "name": "public.customers", "type": "DATASET", "field": "id",
					"transformations": [{"type": "DIRECT", "subtype": "IDENTITY", "masking": false}]}]},
				"loaded_by": {"inputs": [{"type": "JOB"}]}}},
			"columnLineage": {"fields": {"customer_id": {"inputFields": [{"namespace": "pg", "name": "public.customers", "field": "id",
				"transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}}}}}]}`))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	p, errs := Derive([]Event{e})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	var got []string
	for _, r := range p.ColumnLineage {
		got = append(got, fmt.Sprintf("%s.%s <- %s.%s %s/%s", r.Output.Name, r.Column, r.Input.Name, r.InputColumn, r.Type, r.Subtype))
	}
	// A facet named lineage that some producer shaped otherwise before
	// the spec named one is not the event's fault: it is taken, and the
	// facet left out.
	other, err := Decode([]byte(`{"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p",
		"run": {"runId": "0190f2b8-0000-7000-8000-000000000002"}, "job": {"namespace": "ns", "name": "job", "facets": {"lineage": {"entries": "all"}}},
		"outputs": [{"namespace": "ons", "name": "out", "facets": {"lineage": {"inputs": "upstream", "fields": ["a"]}}}]}`))
	if err != nil {
		t.Fatalf("Decode of a lineage facet of another shape: %v", err)
	}
	if p, errs := Derive([]Event{other}); errs[0] != nil || len(p.ColumnLineage) != 0 || len(p.Datasets) != 1 {
		t.Errorf("Derive of a lineage facet of another shape: %v, %d column lineage rows, %d datasets", errs[0], len(p.ColumnLineage), len(p.Datasets))
	}
	want := []string{
		"out. <- public.customers.region INDIRECT/",
		"out.customer_id <- public.customers.id DIRECT/IDENTITY",
		"public.summary.total <- public.orders.amount DIRECT/AGGREGATION",
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("column lineage =\n%q\nwant\n%q", got, want)
	}
}

// TestSchemaManyNamesTwice sends what an attacker would: a schema of
// 100,000 fields, each name listed twice. Dropping the repeats takes one
// pass, and the error names ten of them and counts the rest.
func TestSchemaManyNamesTwice(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000001"}, "job": {"namespace": "spark", "name": "j"},
		"outputs": [{"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": [`)
	const n = 50000
	for i := range 2 * n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name": "c%d"}`, i%n)
	}
	b.WriteString(`]}}}]}`)
	e, err := Decode([]byte(b.String()))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	start := time.Now()
	p, errs := Derive([]Event{e})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Derive took %s", d)
	}
	if len(p.Datasets) != 1 || len(p.Datasets[0].Facts.Columns) != n {
		t.Fatalf("datasets %d, want 1 of %d columns", len(p.Datasets), n)
	}
	if errs[0] == nil || !strings.Contains(errs[0].Error(), `"c9", and 49990 other names more than once`) || len(errs[0].Error()) > 1000 {
		t.Errorf("error = %.300v…, want ten names and a count", errs[0])
	}
}
