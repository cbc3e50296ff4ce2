package olapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/lineage/olapi"
)

const fixtureDir = "../../catalog/crawl/openlineage/testdata"

type env struct {
	st  *store.Store
	rc  *olapi.Receiver
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg olapi.Config) *env { return buildEnv(t, cfg) }

func buildEnv(t testing.TB, cfg olapi.Config) *env {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	rc := olapi.NewReceiver(st, cfg)
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/lineage", rc.PostLineage())
	mux.Handle("POST /api/v1/lineage/batch", rc.PostBatch())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{st, rc, srv}
}

func (e *env) post(t *testing.T, path string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func (e *env) drain(t *testing.T) {
	t.Helper()
	if _, err := e.rc.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func fixtureFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(fixtureDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, "nominal_time_without_end.json") {
			files = append(files, path)
		}
		return err
	})
	slices.Sort(files)
	return files
}

// edges lists the live dataset-level lineage as "input -> job -> output"
// strings, with a job without inputs or outputs as "-".
func edges(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	err := st.LineageJobs(context.Background(), nil, func(j catalog.JobEdges) error {
		for _, in := range j.Inputs {
			out = append(out, in.String()+" -> "+j.Key.String())
		}
		for _, o := range j.Outputs {
			out = append(out, j.Key.String()+" -> "+o.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestIngestEveryFixture(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	files := fixtureFiles(t)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if code, body := e.post(t, "/api/v1/lineage", b); code != http.StatusCreated {
			t.Errorf("%s: %d %s", f, code, body)
		}
	}
	e.drain(t)
	ctx := context.Background()
	if errs, err := eventErrors(ctx, e.st); err != nil || len(errs) > 0 {
		t.Errorf("event errors: %v %v", errs, err)
	}
	got := edges(t, e.st)
	want := []string{
		"bigquery/mock-project.test.upload -> airflow/BQ.copy",
		"bigquery/mock-project.test.upload_cp -> airflow/BQ.download",
		"gs://mock-bucket/copied.csv -> airflow/BQ.upload",
		"gs://mock-bucket/test.csv -> airflow/BQ.upload",
		"gs://mock-bucket/to_be_deleted.txt -> airflow/gcs_hook.delete",
		"airflow/BQ.copy -> bigquery/mock-project.test.upload_cp",
		"airflow/BQ.download -> gs://mock-bucket/result.csv",
		"airflow/BQ.upload -> bigquery/mock-project.test.upload",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("edge %q missing", w)
		}
	}
	if len(got) < 30 {
		t.Errorf("%d edges, want at least 30:\n%s", len(got), strings.Join(got, "\n"))
	}

	// Schema facets became columns, documentation a description.
	d, err := readDataset(ctx, e.st, catalog.Key{Namespace: "bigquery", Name: "mock-project.test.upload_cp"})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range d.Columns {
		cols = append(cols, c.Name+" "+c.Type+" "+c.TypeSource)
	}
	if diff := cmp.Diff([]string{"a INTEGER openlineage", "b INTEGER openlineage", "c INTEGER openlineage", "d INTEGER openlineage"}, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	ds, err := readDataset(ctx, e.st, catalog.Key{Namespace: "my-dataset-namespace", Name: "my-dataset-name"})
	if err != nil {
		t.Fatalf("dataset event: %v", err)
	}
	if len(ds.Columns) != 1 || ds.Columns[0].Name != "col_a" || ds.Columns[0].Type != "VARCHAR" {
		t.Errorf("dataset event columns = %+v", ds.Columns)
	}
	in1, err := readDataset(ctx, e.st, catalog.Key{Namespace: "my-datasource-namespace", Name: "instance.schema.input-1"})
	if err != nil || in1.Description != "input documentation" {
		t.Errorf("job event input: description %q, %v", in1.Description, err)
	}

	// Column lineage with transformation types.
	cl, err := e.st.ColumnLineage(ctx, []catalog.Key{{Namespace: "bigquery", Name: "mock-project.test.upload_cp"}})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range cl {
		if c.Value.Output.Name == "mock-project.test.upload_cp" {
			lines = append(lines, c.Value.Input.Name+"."+c.Value.InputColumn+" -> "+c.Value.Column+" "+c.Value.Type+"/"+c.Value.Subtype)
		}
	}
	wantCL := []string{
		"mock-project.test.upload.a -> a DIRECT/IDENTITY", "mock-project.test.upload.b -> b DIRECT/IDENTITY",
		"mock-project.test.upload.c -> c DIRECT/IDENTITY", "mock-project.test.upload.d -> d DIRECT/IDENTITY",
	}
	if diff := cmp.Diff(wantCL, lines); diff != "" {
		t.Errorf("column lineage (-want +got):\n%s", diff)
	}

	// Data-quality assertions became results.
	res, err := qualityResults(ctx, e.st, catalog.Key{Namespace: "my-datasource-namespace", Name: "instance.schema.table"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) < 2 {
		t.Errorf("quality results = %+v, want the assertions", res)
	}

	// Runs: the failed Spark-style run kept its error message; a run with
	// only a START is running.
	runs, err := jobRuns(ctx, e.st, catalog.JobKey{Namespace: "my-scheduler-namespace", Name: "myjob.mytask"}, 10)
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs of myjob.mytask: %v %v", runs, err)
	}
	if runs[0].ParentID != "3f5e83fa-3480-44ff-99c5-ff943904e5e8" {
		t.Errorf("parent run = %q", runs[0].ParentID)
	}
}

// TestAirflowDAG checks that every Airflow task is a job whose runs hang
// off the DAG run through the parent run facet.
func TestAirflowDAG(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	var batch [][]byte
	for _, f := range fixtureFiles(t) {
		if strings.Contains(f, "airflow_compat") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, b)
		}
	}
	// Deliver in reverse, so that every COMPLETE comes before its START.
	slices.Reverse(batch)
	body := append([]byte("["), bytes.Join(batch, []byte(","))...)
	body = append(body, ']')
	if code, msg := e.post(t, "/api/v1/lineage/batch", body); code != http.StatusCreated {
		t.Fatalf("batch: %d %s", code, msg)
	}
	e.drain(t)
	ctx := context.Background()
	dagRuns, err := jobRuns(ctx, e.st, catalog.JobKey{Namespace: "airflow", Name: "BQ"}, 10)
	if err != nil || len(dagRuns) != 1 {
		t.Fatalf("runs of DAG BQ: %+v %v", dagRuns, err)
	}
	children, err := childRuns(ctx, e.st, dagRuns[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range children {
		got = append(got, c.Job.Name+" "+string(c.State))
		if c.Duration() <= 0 {
			t.Errorf("run of %s: duration %v, want > 0", c.Job, c.Duration())
		}
	}
	if diff := cmp.Diff([]string{"BQ.copy COMPLETE", "BQ.download COMPLETE", "BQ.upload COMPLETE"}, got); diff != "" {
		t.Errorf("task runs of the DAG run (-want +got):\n%s", diff)
	}
	gcs, err := jobRuns(ctx, e.st, catalog.JobKey{Namespace: "airflow", Name: "gcs_hook"}, 10)
	if err != nil || len(gcs) != 1 {
		t.Fatalf("runs of DAG gcs_hook: %+v %v", gcs, err)
	}
	children, err = childRuns(ctx, e.st, gcs[0].ID)
	if err != nil || len(children) != 9 {
		t.Errorf("gcs_hook task runs = %d, want 9 (%v)", len(children), err)
	}
	if gcs[0].State != catalog.RunComplete || gcs[0].Duration() <= 0 {
		t.Errorf("DAG run = %+v, want COMPLETE with a duration", gcs[0])
	}
}

func TestIdempotentAndMerging(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	ev := func(typ, run, extra string) []byte {
		return []byte(`{"eventType": "` + typ + `", "eventTime": "2024-05-01T10:00:0` + map[string]string{"START": "0", "COMPLETE": "9"}[typ] + `Z",
			"run": {"runId": "` + runUUID(run) + `"}, "job": {"namespace": "ns", "name": "load"}, "producer": "test",
			"inputs": [{"namespace": "pg", "name": "src"}], "outputs": [{"namespace": "pg", "name": "dst"` + extra + `}]}`)
	}
	schema := `, "facets": {"schema": {"fields": [{"name": "id", "type": "int"}]}, "documentation": {"description": "the target"}}`
	for range 2 { // duplicate delivery
		for _, b := range [][]byte{ev("COMPLETE", "r1", schema), ev("START", "r1", "")} {
			if code, msg := e.post(t, "/api/v1/lineage", b); code != http.StatusCreated {
				t.Fatalf("%d %s", code, msg)
			}
		}
		e.drain(t)
	}
	// A later event without facets keeps the schema and description.
	e.post(t, "/api/v1/lineage", ev("START", "r2", ""))
	e.drain(t)
	d, err := readDataset(ctx, e.st, catalog.Key{Namespace: "pg", Name: "dst"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Columns) != 1 || d.Description != "the target" {
		t.Errorf("dst = %d columns, description %q; want the facets of the first event kept", len(d.Columns), d.Description)
	}
	if diff := cmp.Diff([]string{"ns/load -> pg/dst", "pg/src -> ns/load"}, edges(t, e.st)); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	r, err := runByID(ctx, e.st, runUUID("r1"))
	if err != nil {
		t.Fatal(err)
	}
	if r.State != catalog.RunComplete || r.Duration().Seconds() != 9 {
		t.Errorf("run r1 = %s, %v; want COMPLETE after 9s", r.State, r.Duration())
	}
	var events int
	e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM openlineage_events`).Scan(&events)
	if events != 3 {
		t.Errorf("%d raw events stored, want 3 (duplicates once)", events)
	}
	var changes int
	e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM change_log WHERE entity = 'job'`).Scan(&changes)
	if changes != 1 {
		t.Errorf("%d job changes, want 1: duplicates change nothing", changes)
	}
}

// uuidR is a run id.
const uuidR = "0190f4a3-b5c6-7d8e-9f0a-1b2c3d4e5f60"

// runUUID is the run id a test calls label: OpenLineage run ids are UUIDs.
func runUUID(label string) string {
	h := fnv.New64a()
	h.Write([]byte(label))
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", h.Sum64()&(1<<48-1))
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestRejects(t *testing.T) {
	e := newEnv(t, olapi.Config{Token: "s3cret", MaxBody: 4096})
	good := []byte(`{"eventType": "START", "eventTime": "2024-05-01T10:00:00Z", "run": {"runId": "` + uuidR + `"}, "job": {"namespace": "n", "name": "j"}}`)
	auth := []string{"Authorization", "Bearer s3cret"}
	tests := []struct {
		name   string
		path   string
		body   []byte
		header []string
		code   int
		reason string
	}{
		{"ok", "/api/v1/lineage", good, auth, 201, ""},
		{"gzip", "/api/v1/lineage", gz(good), append([]string{"Content-Encoding", "gzip"}, auth...), 201, ""},
		{"no token", "/api/v1/lineage", good, nil, 401, "bearer token"},
		{"wrong token", "/api/v1/lineage", good, []string{"Authorization", "Bearer nope"}, 401, "bearer token"},
		{"scheme in lower case", "/api/v1/lineage", good, []string{"Authorization", "bearer s3cret"}, 201, ""},
		{"token without a scheme", "/api/v1/lineage", good, []string{"Authorization", "s3cret"}, 401, "bearer token"},
		{"another scheme", "/api/v1/lineage", good, []string{"Authorization", "Basic s3cret"}, 401, "bearer token"},
		{"malformed", "/api/v1/lineage", []byte(`{"eventType":`), auth, 400, "malformed JSON"},
		{"wrong type", "/api/v1/lineage", []byte(`{"eventTime": "2024-05-01T10:00:00Z", "run": {"runId": 5}, "job": {"namespace": "n", "name": "j"}}`), auth, 400, "run.runId"},
		{"unknown event type", "/api/v1/lineage", bytes.Replace(good, []byte("START"), []byte("BEGIN"), 1), auth, 400, "eventType"},
		{"run id not a UUID", "/api/v1/lineage", bytes.Replace(good, []byte(uuidR), []byte("run-1"), 1), auth, 400, "run.runId: must be a UUID"},
		{"batch with a run id not a UUID", "/api/v1/lineage/batch", []byte("[" + string(good) + "," + string(bytes.Replace(good, []byte(uuidR), []byte("42"), 1)) + "]"), auth, 400, "[1].run.runId: must be a UUID"},
		{"too large", "/api/v1/lineage", bytes.Repeat([]byte(" "), 5000), auth, 413, "over 4096"},
		{"gzip bomb", "/api/v1/lineage", gz(bytes.Repeat([]byte(" "), 100000)), append([]string{"Content-Encoding", "gzip"}, auth...), 413, "over 4096"},
		{"bad gzip", "/api/v1/lineage", good, append([]string{"Content-Encoding", "gzip"}, auth...), 400, "gzip"},
		{"batch", "/api/v1/lineage/batch", []byte("[" + string(good) + "]"), auth, 201, ""},
		{"batch with a bad event", "/api/v1/lineage/batch", []byte("[" + string(good) + `, {"eventTime": "x"}]`), auth, 400, "[1].eventTime"},
		{"array for an event", "/api/v1/lineage", []byte("[" + string(good) + "]"), auth, 400, "an event must be a JSON object, got an array"},
		{"object for a batch", "/api/v1/lineage/batch", good, auth, 400, "a batch must be a JSON array of events, got an object"},
		{"NUL in a dataset name", "/api/v1/lineage", bytes.Replace(good, []byte(`"name": "j"}`), []byte(`"name": "j"}, "outputs": [{"namespace": "n", "name": "t\u0000"}]`), 1), auth, 400, "outputs[0].name"},
		{"name too long", "/api/v1/lineage", bytes.Replace(good, []byte(`"name": "j"}`), []byte(`"name": "`+strings.Repeat("j", 1100)+`"}`), 1), auth, 400, "job.name"},
		{"array in a batch", "/api/v1/lineage/batch", []byte("[" + string(good) + ", []]"), auth, 400, "[1]: an event must be a JSON object, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := e.post(t, tt.path, tt.body, tt.header...)
			if code != tt.code || !strings.Contains(body, tt.reason) {
				t.Errorf("got %d %q, want %d with %q", code, body, tt.code, tt.reason)
			}
		})
	}
	// Nothing rejected was stored.
	var n int
	e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM openlineage_events`).Scan(&n)
	if n != 1 {
		t.Errorf("%d events stored, want 1 (the same event thrice)", n)
	}
}

// TestReceiveMetrics stores the dataQualityMetrics and outputStatistics
// facets of received events as dataset metrics: once however often an
// event is delivered, and without losing the rest of an event whose
// metrics facet is malformed.
func TestReceiveMetrics(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	spark, err := os.ReadFile(filepath.Join(fixtureDir, "openlineage_client_fixtures/spark_serde/openlineage-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00Z", "producer": "test", "run": {"runId": "` + runUUID("r-bad") + `"},
		"job": {"namespace": "ns", "name": "profile"},
		"inputs": [{"namespace": "pg", "name": "src", "inputFacets": {"dataQualityMetrics": {"rowCount": 5, "columnMetrics": {"id": {"nullCount": "none"}}}}}],
		"outputs": [{"namespace": "pg", "name": "dst", "outputFacets": {"outputStatistics": {"rowCount": 5}}}]}`)
	for range 2 {
		for _, b := range [][]byte{spark, bad} {
			if code, msg := e.post(t, "/api/v1/lineage", b); code != http.StatusCreated {
				t.Fatalf("%d %s", code, msg)
			}
		}
		e.drain(t)
	}
	in, err := metricsHistory(ctx, e.st, catalog.Key{Namespace: "ins", Name: "input"})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 {
		t.Fatalf("input metrics = %+v, want one observation", in)
	}
	m := in[0].Value
	if *m.RowCount != 10 || *m.Bytes != 20 || *m.FileCount != 5 || *m.Columns["mycol"].NullCount != 1 ||
		*m.Columns["mycol"].DistinctCount != 10 || m.Columns["mycol"].Quantiles["25"] != 52 || m.Direction != catalog.MetricsRead {
		t.Errorf("input metrics = %+v", m)
	}
	out, err := e.st.LatestMetrics(ctx, catalog.Key{Namespace: "ons", Name: "output"})
	if err != nil || *out.Value.RowCount != 10 || out.Value.Direction != catalog.MetricsWritten || out.Value.Job.Name != "jobName" {
		t.Errorf("output metrics = %+v, %v", out, err)
	}
	// The malformed facet is reported by its field; the event's output
	// statistics, job and run were still recorded.
	errs, err := eventErrors(ctx, e.st)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, msg := range errs {
		found = found || strings.Contains(msg, "inputs[0].inputFacets.dataQualityMetrics.columnMetrics.id.nullCount")
	}
	if !found {
		t.Errorf("event errors %v do not name the malformed field", errs)
	}
	if _, err := e.st.LatestMetrics(ctx, catalog.Key{Namespace: "pg", Name: "src"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("malformed input metrics recorded: %v", err)
	}
	if dst, err := e.st.LatestMetrics(ctx, catalog.Key{Namespace: "pg", Name: "dst"}); err != nil || *dst.Value.RowCount != 5 {
		t.Errorf("output statistics of the same event = %+v, %v", dst, err)
	}
	if r, err := runByID(ctx, e.st, runUUID("r-bad")); err != nil || r.State != catalog.RunComplete {
		t.Errorf("run of the event = %+v, %v", r, err)
	}
}

// runEvent is a COMPLETE run event of job ns/<job> reading inputs and
// writing outputs, given as JSON arrays of datasets, with the run id
// runUUID(run).
func runEvent(run, job, inputs, outputs string) []byte {
	return []byte(`{"eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00Z", "producer": "test",
		"run": {"runId": "` + runUUID(run) + `"}, "job": {"namespace": "ns", "name": "` + job + `"},
		"inputs": ` + inputs + `, "outputs": ` + outputs + `}`)
}

// eventRow is what the store recorded of one received event.
type eventRow struct {
	Job       string
	Processed bool
	Failed    bool
	Error     string
}

func eventRows(t *testing.T, st *store.Store) []eventRow {
	t.Helper()
	rows, err := st.Pool().Query(context.Background(), `
		SELECT job_name, processed_at IS NOT NULL, failed_at IS NOT NULL, error FROM openlineage_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []eventRow
	for rows.Next() {
		var r eventRow
		if err := rows.Scan(&r.Job, &r.Processed, &r.Failed, &r.Error); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFailedEventDoesNotBlock checks that an event the store refuses on
// its own (a NUL byte in a description passes validation, PostgreSQL text
// cannot hold it) is marked failed with its error, and that the events
// received before and after it, in the same batch and later, are derived.
func TestFailedEventDoesNotBlock(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	bad := runEvent("r-bad", "bad", `[]`, `[{"namespace": "pg", "name": "bad_out", "facets": {"documentation": {"description": "a\u0000b"}}}]`)
	for _, b := range [][]byte{
		runEvent("r1", "first", `[{"namespace": "pg", "name": "a"}]`, `[{"namespace": "pg", "name": "b"}]`),
		bad,
		runEvent("r2", "second", `[{"namespace": "pg", "name": "b"}]`, `[{"namespace": "pg", "name": "c"}]`),
	} {
		if code, msg := e.post(t, "/api/v1/lineage", b); code != http.StatusCreated {
			t.Fatalf("%d %s", code, msg)
		}
	}
	n, err := e.rc.Drain(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Drain = %d, %v; want 3 events processed", n, err)
	}
	// Later events are not held up either, and nothing is tried again.
	e.post(t, "/api/v1/lineage", runEvent("r3", "third", `[{"namespace": "pg", "name": "c"}]`, `[{"namespace": "pg", "name": "d"}]`))
	if n, err := e.rc.Drain(ctx); err != nil || n != 1 {
		t.Fatalf("second Drain = %d, %v; want the one new event", n, err)
	}
	if n, err := e.rc.Drain(ctx); err != nil || n != 0 {
		t.Fatalf("third Drain = %d, %v; want nothing left", n, err)
	}
	want := []string{
		"ns/first -> pg/b", "ns/second -> pg/c", "ns/third -> pg/d",
		"pg/a -> ns/first", "pg/b -> ns/second", "pg/c -> ns/third",
	}
	if diff := cmp.Diff(want, edges(t, e.st)); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	rows := eventRows(t, e.st)
	if len(rows) != 4 {
		t.Fatalf("events = %+v", rows)
	}
	for i, r := range rows {
		if !r.Processed {
			t.Errorf("event %d (%s) not processed", i, r.Job)
		}
		if r.Failed != (r.Job == "bad") {
			t.Errorf("event %d (%s): failed = %v", i, r.Job, r.Failed)
		}
	}
	if !strings.Contains(rows[1].Error, "NUL character") {
		t.Errorf("error of the failed event = %q, want the store's reason", rows[1].Error)
	}
	if n, err := e.st.FailedEvents(ctx); err != nil || n != 1 {
		t.Errorf("FailedEvents = %d, %v; want 1", n, err)
	}
	if _, err := runByID(ctx, e.st, runUUID("r-bad")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("run of the failed event: %v, want none recorded", err)
	}
}

// TestRunIDBelongsToOneJob checks that a run id reported again for another
// job is refused for that job, with an error on the event naming both
// jobs, whether the two events arrive in one batch or apart; the rest of
// the second event is kept.
func TestRunIDBelongsToOneJob(t *testing.T) {
	for _, apart := range []bool{false, true} {
		t.Run(map[bool]string{false: "one batch", true: "apart"}[apart], func(t *testing.T) {
			e := newEnv(t, olapi.Config{})
			ctx := context.Background()
			e.post(t, "/api/v1/lineage", runEvent("r1", "owner", `[]`, `[{"namespace": "pg", "name": "a"}]`))
			if apart {
				e.drain(t)
			}
			e.post(t, "/api/v1/lineage", runEvent("r1", "intruder", `[]`, `[{"namespace": "pg", "name": "b"}]`))
			e.drain(t)
			r, err := runByID(ctx, e.st, runUUID("r1"))
			if err != nil || r.Job.Name != "owner" {
				t.Fatalf("run r1 = %+v, %v; want the run of ns/owner", r, err)
			}
			if runs, err := jobRuns(ctx, e.st, catalog.JobKey{Namespace: "ns", Name: "intruder"}, 10); err != nil || len(runs) != 0 {
				t.Errorf("runs of ns/intruder = %+v, %v; want none", runs, err)
			}
			rows := eventRows(t, e.st)
			if rows[0].Error != "" || rows[1].Failed {
				t.Errorf("events = %+v", rows)
			}
			if msg := rows[1].Error; !strings.Contains(msg, "run "+runUUID("r1")+" belongs to job ns/owner") || !strings.Contains(msg, "job ns/intruder") {
				t.Errorf("error of the second event = %q, want both jobs named", msg)
			}
			if diff := cmp.Diff([]string{"ns/intruder -> pg/b", "ns/owner -> pg/a"}, edges(t, e.st)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSymlinksJoinLineage checks that a dataset named by its symlink
// joins the lineage of the dataset declaring it, whichever event arrives
// first: a writer job outputs s3://bucket /warehouse/t, declared to be
// hive://metastore db.t, which a reader job reads. A follower loaded
// after the first event catches up from the change log.
func TestSymlinksJoinLineage(t *testing.T) {
	writer := runEvent("w1", "writer", `[{"namespace": "pg", "name": "src"}]`, `[{"namespace": "s3://bucket", "name": "/warehouse/t",
		"facets": {"symlinks": {"identifiers": [{"namespace": "hive://metastore", "name": "db.t", "type": "TABLE"}]},
			"schema": {"fields": [{"name": "id", "type": "int"}]}}}]`)
	reader := runEvent("r1", "reader", `[{"namespace": "hive://metastore", "name": "db.t"}]`, `[{"namespace": "pg", "name": "report",
		"facets": {"columnLineage": {"fields": {"id": {"inputFields": [{"namespace": "hive://metastore", "name": "db.t", "field": "id"}]}}}}}]`)
	canonical := catalog.Key{Namespace: "s3://bucket", Name: "/warehouse/t"}
	alias := catalog.Key{Namespace: "hive://metastore", Name: "db.t"}
	report := catalog.Key{Namespace: "pg", Name: "report"}
	for _, tt := range []struct {
		name  string
		order [][]byte
	}{
		{"writer first", [][]byte{writer, reader}},
		{"reader first", [][]byte{reader, writer}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, olapi.Config{})
			ctx := context.Background()
			e.post(t, "/api/v1/lineage", tt.order[0])
			e.drain(t)
			fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
			if err := fl.Load(ctx); err != nil {
				t.Fatal(err)
			}
			e.post(t, "/api/v1/lineage", tt.order[1])
			e.drain(t)
			if err := fl.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			sub, err := fl.Graph().Traverse(lineage.Query{Start: report, Direction: lineage.Upstream, Depth: 5})
			if err != nil {
				t.Fatal(err)
			}
			var nodes []string
			for _, n := range sub.Nodes {
				nodes = append(nodes, n.ID.String())
			}
			slices.Sort(nodes)
			want := []string{"dataset:pg:report", "dataset:pg:src", "dataset:s3://bucket:/warehouse/t", "job:ns:reader", "job:ns:writer"}
			if diff := cmp.Diff(want, nodes); diff != "" {
				t.Errorf("upstream of pg/report (-want +got):\n%s", diff)
			}
			want = []string{"ns/reader -> pg/report", "ns/writer -> s3://bucket//warehouse/t", "pg/src -> ns/writer", "s3://bucket//warehouse/t -> ns/reader"}
			if diff := cmp.Diff(want, edges(t, e.st)); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			cl, err := e.st.ColumnLineage(ctx, []catalog.Key{report})
			if err != nil || len(cl) != 1 || cl[0].Value.Input != canonical {
				t.Errorf("column lineage of pg/report = %+v, %v; want its input on %s", cl, err, canonical)
			}
			if d, err := readDataset(ctx, e.st, alias); err == nil && d.RemovedAt == nil {
				t.Errorf("alias %s is a live dataset apart from %s", alias, canonical)
			}
			d, err := readDataset(ctx, e.st, canonical)
			if err != nil || len(d.Columns) != 1 {
				t.Errorf("dataset %s = %+v, %v", canonical, d, err)
			}
			if errs, err := eventErrors(ctx, e.st); err != nil || len(errs) > 0 {
				t.Errorf("event errors: %v %v", errs, err)
			}
			// Asked for by the alias's name, the catalog and the Marquez
			// reads answer with the dataset it is an alias of.
			if id, err := e.st.FindDataset(ctx, alias); err != nil || id != d.ID {
				t.Errorf("FindDataset(%s) = %d, %v; want %s's %d", alias, id, err, canonical, d.ID)
			}
			rec := httptest.NewRecorder()
			olapi.NewReader(fl.Graph(), e.st, nil).GetLineage().ServeHTTP(rec,
				httptest.NewRequest("GET", "/api/v1/lineage?nodeId="+url.QueryEscape("dataset:hive://metastore:db.t")+"&depth=1", nil))
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"dataset:s3://bucket:/warehouse/t"`) {
				t.Errorf("Marquez lineage of the alias: %d %.300s", rec.Code, rec.Body)
			}
		})
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}

// TestRunDerivesWhatItIsWokenFor runs the worker with a poll interval
// longer than the test, so that only the receiver's wake can start a
// drain: one event waits for a batch to gather (gatherWait) and is then
// derived alone, and a batch of batchLimit events is derived at once.
func TestRunDerivesWhatItIsWokenFor(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var ran sync.WaitGroup
	ran.Go(func() { e.rc.Run(ctx, time.Hour) })
	defer ran.Wait()
	defer cancel()

	event := func(i int) string {
		return fmt.Sprintf(`{"eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00Z", "producer": "test",
			"run": {"runId": "00000000-0000-4000-8000-%012d"}, "job": {"namespace": "gather", "name": "job"},
			"outputs": [{"namespace": "pg", "name": "t%d"}]}`, i, i)
	}
	derived := func(want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			n, err := pendingEvents(ctx, e.st)
			if err != nil {
				t.Fatal(err)
			}
			var done int
			if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM openlineage_events WHERE processed_at IS NOT NULL AND error = ''`).Scan(&done); err != nil {
				t.Fatal(err)
			}
			if n == 0 && done == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 20 s, %d events pending and %d derived, want 0 and %d", n, done, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The first event may be derived by the drain Run starts with; the
	// second comes once Run waits for wakes.
	for i := range 2 {
		if code, body := e.post(t, "/api/v1/lineage", []byte(event(i))); code != http.StatusCreated {
			t.Fatalf("POST: %d %s", code, body)
		}
		derived(i + 1)
	}

	events := make([]string, 1000)
	for i := range events {
		events[i] = event(i + 2)
	}
	if code, body := e.post(t, "/api/v1/lineage/batch", []byte("["+strings.Join(events, ",")+"]")); code != http.StatusCreated {
		t.Fatalf("POST batch: %d %s", code, body)
	}
	derived(1002)
}

// TestSchemaNameTwiceStored posts an event whose schema lists a column
// twice (Marquez issue 2379's event; the spec allows it): it is taken,
// the dataset gets the first column of each name, and the event's error
// names the one dropped.
func TestSchemaNameTwiceStored(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	body := `{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000001"}, "job": {"namespace": "spark", "name": "j"},
		"outputs": [{"namespace": "s3://b", "name": "twice", "facets": {"schema": {"fields": [
			{"name": "a", "type": "VARCHAR"}, {"name": "a", "type": "INT"}, {"name": "b", "type": "INT"}]}}}]}`
	if code, resp := e.post(t, "/api/v1/lineage", []byte(body)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, resp)
	}
	e.drain(t)
	ctx := context.Background()
	rows, err := e.st.Pool().Query(ctx, `
		SELECT c.name || ' ' || c.data_type FROM columns c JOIN datasets d ON d.id = c.dataset_id
		WHERE d.namespace = 's3://b' AND d.name = 'twice' ORDER BY c.ordinal`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a VARCHAR", "b INT"}; !slices.Equal(got, want) {
		t.Errorf("columns = %q, want %q", got, want)
	}
	var msg string
	if err := e.st.Pool().QueryRow(ctx, `SELECT error FROM openlineage_events`).Scan(&msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, `schema lists "a" more than once`) {
		t.Errorf("event error = %q, want it to name the column listed twice", msg)
	}
}

// TestLineageFacetsStored posts an event whose job facet declares column
// lineage for a dataset the event does not name (LineageJobFacet): it
// is stored, and the event has no error.
func TestLineageFacetsStored(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	body := `{"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p",
		"run": {"runId": "0190f2b8-0000-7000-8000-000000000002"},
		"job": {"namespace": "ns", "name": "job", "facets": {"lineage": {"entries": [
			{"namespace": "pg", "name": "public.summary", "type": "DATASET",
			 "fields": {"total": {"inputs": [{"namespace": "pg", "name": "public.orders", "type": "DATASET", "field": "amount"}]}}}]}}},
		"outputs": [{"namespace": "ons", "name": "out", "facets": {"lineage": {"fields": {
			"id": {"inputs": [{"namespace": "pg", "name": "public.customers", "type": "DATASET", "field": "id"}]}}}}}]}`
	if code, resp := e.post(t, "/api/v1/lineage", []byte(body)); code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, resp)
	}
	e.drain(t)
	ctx := context.Background()
	var msg string
	if err := e.st.Pool().QueryRow(ctx, `SELECT error FROM openlineage_events`).Scan(&msg); err != nil || msg != "" {
		t.Fatalf("event error %q, %v", msg, err)
	}
	rows, err := e.st.Pool().Query(ctx, `SELECT name || '.' || column_name || ' <- ' || input_name || '.' || input_column FROM column_lineage ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"out.id <- public.customers.id", "public.summary.total <- public.orders.amount"}; !slices.Equal(got, want) {
		t.Errorf("column lineage = %q, want %q", got, want)
	}
}

// TestTagsFacetStored: a dataset's tags facet becomes its tags under the
// source openlineage ("pii" for a value of true, "env:production"
// otherwise); a later event without the facet keeps them, one with it
// replaces them; a column's tag and a tag without key are left out and
// named in the event's error.
func TestTagsFacetStored(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	post := func(run, facets string) {
		t.Helper()
		body := `{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
			"run": {"runId": "0190a2b4-0000-7000-8000-00000000000` + run + `"}, "job": {"namespace": "spark", "name": "j"},
			"outputs": [{"namespace": "s3://b", "name": "tagged", "facets": {` + facets + `}}]}`
		if code, resp := e.post(t, "/api/v1/lineage", []byte(body)); code != http.StatusCreated {
			t.Fatalf("POST: %d %s", code, resp)
		}
		e.drain(t)
	}
	tags := func() []string {
		t.Helper()
		rows, err := e.st.Pool().Query(ctx, `
			SELECT g.source || ' ' || g.tag FROM tags g JOIN datasets d ON d.id = g.dataset_id
			WHERE d.namespace = 's3://b' AND d.name = 'tagged' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	post("1", `"tags": {"tags": [{"key": "pii", "value": "true", "source": "USER"}, {"key": "env", "value": "production"},
		{"key": "sensitive", "value": "true", "field": "email"}, {"key": "", "value": "x"}]}`)
	if got, want := tags(), []string{"openlineage env:production", "openlineage pii"}; !slices.Equal(got, want) {
		t.Errorf("tags = %q, want %q", got, want)
	}
	var msg string
	if err := e.st.Pool().QueryRow(ctx, `SELECT error FROM openlineage_events ORDER BY id LIMIT 1`).Scan(&msg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`tags of columns "email" left out`, "tags[3] has no key"} {
		if !strings.Contains(msg, want) {
			t.Errorf("event error = %q, want it to say %q", msg, want)
		}
	}
	post("2", `"documentation": {"description": "d"}`)
	if got, want := tags(), []string{"openlineage env:production", "openlineage pii"}; !slices.Equal(got, want) {
		t.Errorf("after an event without the facet, tags = %q, want %q", got, want)
	}
	post("3", `"tags": {"tags": [{"key": "tier", "value": "gold"}]}`)
	if got, want := tags(), []string{"openlineage tier:gold"}; !slices.Equal(got, want) {
		t.Errorf("after a new tags facet, tags = %q, want %q", got, want)
	}
	if code, resp := e.post(t, "/api/v1/lineage", []byte(`{"eventType": "COMPLETE", "eventTime": "2024-03-01T06:00:00Z", "producer": "p",
		"run": {"runId": "0190a2b4-0000-7000-8000-000000000009"}, "job": {"namespace": "spark", "name": "j"},
		"outputs": [{"namespace": "s3://b", "name": "tagged", "facets": {"tags": {"tags": "pii"}}}]}`)); code != http.StatusBadRequest || !strings.Contains(resp, "tags") {
		t.Errorf("a tags facet that is no list: %d %s", code, resp)
	}
}
