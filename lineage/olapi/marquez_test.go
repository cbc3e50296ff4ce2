package olapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/lineage"
	"almanac/lineage/olapi"
)

type graphJSON struct {
	Graph []struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Data    json.RawMessage `json:"data"`
		InEdges []struct {
			Origin      string `json:"origin"`
			Destination string `json:"destination"`
		} `json:"inEdges"`
		OutEdges []struct {
			Origin      string `json:"origin"`
			Destination string `json:"destination"`
		} `json:"outEdges"`
	} `json:"graph"`
}

func TestMarquezReads(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	for _, f := range fixtureFiles(t) {
		if strings.Contains(f, "airflow_compat") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e.post(t, "/api/v1/lineage", b)
		}
	}
	e.drain(t)
	fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
	if err := fl.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	rd := olapi.NewReader(fl.Graph(), e.st, nil)
	get := func(h http.Handler, query string) (int, graphJSON, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage?"+query, nil))
		var g graphJSON
		json.Unmarshal(rec.Body.Bytes(), &g)
		return rec.Code, g, rec.Body.String()
	}
	code, g, body := get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:bigquery:mock-project.test.upload_cp")+"&depth=1")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var got []string
	for _, n := range g.Graph {
		got = append(got, n.Type+" "+n.ID)
		for _, e := range n.OutEdges {
			got = append(got, "  "+e.Origin+" > "+e.Destination)
		}
	}
	slices.Sort(got)
	want := []string{
		"  dataset:bigquery:mock-project.test.upload > job:airflow:BQ.copy",
		"  dataset:bigquery:mock-project.test.upload_cp > job:airflow:BQ.download",
		"  job:airflow:BQ.copy > dataset:bigquery:mock-project.test.upload_cp",
		"  job:airflow:BQ.download > dataset:gs://mock-bucket:result.csv",
		"DATASET dataset:bigquery:mock-project.test.upload",
		"DATASET dataset:bigquery:mock-project.test.upload_cp",
		"DATASET dataset:gs://mock-bucket:result.csv",
		"JOB job:airflow:BQ.copy",
		"JOB job:airflow:BQ.download",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lineage (-want +got):\n%s", diff)
	}
	// A namespace with colons resolves; the default depth reaches the
	// whole chain.
	code, g, body = get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:gs://mock-bucket:copied.csv"))
	if code != 200 || len(g.Graph) != 7 {
		t.Errorf("copied.csv at the default depth: %d, %d nodes, want 7: %s", code, len(g.Graph), body)
	}
	for _, q := range []string{"nodeId=run:9f1c", "nodeId=dataset:x", "nodeId=job:x", "nodeId=job:airflow:BQ.copy&withDownstream=maybe&depth=x", "nodeId=" + url.QueryEscape("dataset:bigquery:mock-project.test.upload") + "&depth=-1"} {
		if code, _, body := get(rd.GetLineage(), q); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	if code, _, _ := get(rd.GetLineage(), "nodeId="+url.QueryEscape("dataset:bigquery:nope")); code != 404 {
		t.Errorf("unknown dataset: %d, want 404", code)
	}
	// Names no catalog can hold are the client's error, never a 500.
	for _, q := range []string{"nodeId=dataset:rv:a%FF", "nodeId=dataset:rv:a%00", "nodeId=job:rv:a%FF"} {
		if code, _, body := get(rd.GetLineage(), q); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}
	if code, _, body := get(rd.GetColumnLineage(), "nodeId=datasetField:rv:a%FF:c"); code != 400 {
		t.Errorf("column lineage of a field that is not UTF-8: %d %s, want 400", code, body)
	}

	// Like Marquez, column lineage goes upstream only unless asked for
	// downstream too.
	field := "nodeId=" + url.QueryEscape("datasetField:bigquery:mock-project.test.upload_cp:a")
	for _, tt := range []struct {
		query string
		want  []string
	}{
		// The default depth reaches the sources of upload.
		{field, []string{
			"datasetField:bigquery:mock-project.test.upload:a > datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:bigquery:mock-project.test.upload:a",
			"datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:gs://mock-bucket:copied.csv:a > datasetField:bigquery:mock-project.test.upload:a",
			"datasetField:gs://mock-bucket:copied.csv:a",
			"datasetField:gs://mock-bucket:test.csv:a > datasetField:bigquery:mock-project.test.upload:a",
			"datasetField:gs://mock-bucket:test.csv:a",
		}},
		{field + "&withDownstream=true&depth=1", []string{
			"datasetField:bigquery:mock-project.test.upload:a > datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:bigquery:mock-project.test.upload:a",
			"datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:bigquery:mock-project.test.upload_cp:a > datasetField:gs://mock-bucket:result.csv:a",
			"datasetField:gs://mock-bucket:result.csv:a",
		}},
		// depth counts edges: the second hop upstream is cut.
		{"nodeId=" + url.QueryEscape("datasetField:gs://mock-bucket:result.csv:a") + "&depth=1", []string{
			"datasetField:bigquery:mock-project.test.upload_cp:a > datasetField:gs://mock-bucket:result.csv:a",
			"datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:gs://mock-bucket:result.csv:a",
		}},
		// A job stands for the fields of its outputs.
		{"nodeId=" + url.QueryEscape("job:airflow:BQ.copy") + "&depth=1", []string{
			"datasetField:bigquery:mock-project.test.upload:a > datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:bigquery:mock-project.test.upload:a",
			"datasetField:bigquery:mock-project.test.upload:b > datasetField:bigquery:mock-project.test.upload_cp:b",
			"datasetField:bigquery:mock-project.test.upload:b",
			"datasetField:bigquery:mock-project.test.upload:c > datasetField:bigquery:mock-project.test.upload_cp:c",
			"datasetField:bigquery:mock-project.test.upload:c",
			"datasetField:bigquery:mock-project.test.upload:d > datasetField:bigquery:mock-project.test.upload_cp:d",
			"datasetField:bigquery:mock-project.test.upload:d",
			"datasetField:bigquery:mock-project.test.upload_cp:a",
			"datasetField:bigquery:mock-project.test.upload_cp:b",
			"datasetField:bigquery:mock-project.test.upload_cp:c",
			"datasetField:bigquery:mock-project.test.upload_cp:d",
		}},
	} {
		code, g, body = get(rd.GetColumnLineage(), tt.query)
		if code != 200 {
			t.Fatalf("column lineage %s: %d %s", tt.query, code, body)
		}
		got = nil
		for _, n := range g.Graph {
			if n.Type != "DATASET_FIELD" {
				t.Errorf("%s: node %s of type %q", tt.query, n.ID, n.Type)
			}
			got = append(got, n.ID)
			for _, e := range n.OutEdges {
				got = append(got, e.Origin+" > "+e.Destination)
			}
		}
		slices.Sort(got)
		slices.Sort(tt.want)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("column lineage of %s (-want +got):\n%s", tt.query, diff)
		}
		if !strings.Contains(body, `"transformationType":"DIRECT/IDENTITY"`) {
			t.Errorf("column lineage lacks transformation types: %s", body)
		}
	}
	// Unknown nodes: 404 in Marquez's error shape.
	for _, q := range []string{"nodeId=" + url.QueryEscape("datasetField:bigquery:mock-project.test.upload_cp:nope"),
		"nodeId=" + url.QueryEscape("dataset:bigquery:nope"), "nodeId=" + url.QueryEscape("job:airflow:nope")} {
		rec := httptest.NewRecorder()
		rd.GetColumnLineage().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/column-lineage?"+q, nil))
		var e marquezError
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || rec.Code != 404 || e.Code != 404 || e.Message == "" {
			t.Errorf("column lineage of %s: %d %s, want 404 with code and message", q, rec.Code, rec.Body)
		}
	}
}

// marquezError is the error body Marquez (Dropwizard) answers.
type marquezError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// TestMarquezJobLineage reads the lineage around a job node, as Marquez's
// lineage view does when a job is selected.
func TestMarquezJobLineage(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	for _, f := range fixtureFiles(t) {
		if strings.Contains(f, "airflow_compat") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			e.post(t, "/api/v1/lineage", b)
		}
	}
	e.drain(t)
	fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
	if err := fl.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	rd := olapi.NewReader(fl.Graph(), e.st, nil)
	get := func(query string) (int, string, []string) {
		rec := httptest.NewRecorder()
		rd.GetLineage().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage?"+query, nil))
		var g graphJSON
		json.Unmarshal(rec.Body.Bytes(), &g)
		var got []string
		for _, n := range g.Graph {
			got = append(got, n.Type+" "+n.ID)
			for _, e := range n.OutEdges {
				got = append(got, "  "+e.Origin+" > "+e.Destination)
			}
		}
		slices.Sort(got)
		return rec.Code, rec.Body.String(), got
	}
	copyJob := "nodeId=" + url.QueryEscape("job:airflow:BQ.copy")
	tests := []struct {
		query string
		want  []string
	}{
		{copyJob + "&depth=1", []string{
			"  dataset:bigquery:mock-project.test.upload > job:airflow:BQ.copy",
			"  job:airflow:BQ.copy > dataset:bigquery:mock-project.test.upload_cp",
			"DATASET dataset:bigquery:mock-project.test.upload",
			"DATASET dataset:bigquery:mock-project.test.upload_cp",
			"JOB job:airflow:BQ.copy",
		}},
		{copyJob + "&depth=2&direction=downstream", []string{
			"  dataset:bigquery:mock-project.test.upload_cp > job:airflow:BQ.download",
			"  job:airflow:BQ.copy > dataset:bigquery:mock-project.test.upload_cp",
			"  job:airflow:BQ.download > dataset:gs://mock-bucket:result.csv",
			"DATASET dataset:bigquery:mock-project.test.upload_cp",
			"DATASET dataset:gs://mock-bucket:result.csv",
			"JOB job:airflow:BQ.copy",
			"JOB job:airflow:BQ.download",
		}},
	}
	for _, tt := range tests {
		code, body, got := get(tt.query)
		if code != 200 {
			t.Fatalf("%s: %d %s", tt.query, code, body)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("lineage of %s (-want +got):\n%s", tt.query, diff)
		}
	}
	// The default depth reaches the whole chain, both ways: the same
	// graph as from the job's output.
	_, _, fromJob := get(copyJob)
	_, _, fromDataset := get("nodeId=" + url.QueryEscape("dataset:bigquery:mock-project.test.upload_cp"))
	if diff := cmp.Diff(fromDataset, fromJob); diff != "" {
		t.Errorf("job lineage at the default depth differs from its chain's (-dataset +job):\n%s", diff)
	}
	// The job node carries Marquez's job data.
	_, body, _ := get(copyJob + "&depth=1")
	for _, want := range []string{`"type":"BATCH"`, `"inputs":[{"namespace":"bigquery","name":"mock-project.test.upload"}]`,
		`"outputs":[{"namespace":"bigquery","name":"mock-project.test.upload_cp"}]`} {
		if !strings.Contains(body, want) {
			t.Errorf("job node lacks %s: %s", want, body)
		}
	}
	// A node cap of 2 keeps the job and one dataset, counting the rest.
	code, body, got := get(copyJob + "&maxNodes=2")
	if code != 200 || len(got) != 3 || !strings.Contains(body, `"more":`) {
		t.Errorf("capped job lineage: %d %v %s", code, got, body)
	}
	// An unknown job is 404 with Marquez's error body, which does not
	// repeat what was asked for: an answer that echoes its request is
	// the raw material of reflected content.
	rec := httptest.NewRecorder()
	rd.GetLineage().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage?nodeId="+url.QueryEscape("job:airflow:<b>nope</b>"), nil))
	var me marquezError
	if err := json.Unmarshal(rec.Body.Bytes(), &me); err != nil || rec.Code != 404 || me.Code != 404 || me.Message == "" {
		t.Errorf("unknown job: %d %s, want 404 {code, message}", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "nope") {
		t.Errorf("the 404 echoes the node id: %s", rec.Body)
	}
}

// TestMarquezNodeData reads a small graph whose nodes the catalog
// describes and compares it with testdata/marquez_lineage.json (go test
// -update rewrites it): dataset nodes carry their fields, tags and
// description, job nodes their latest run, column lineage nodes their
// field types. A dataset no job names is a graph of itself alone.
func TestMarquezNodeData(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	ns := "postgres://db:5432"
	orders, big := catalog.Key{Namespace: ns, Name: "shop.public.orders"}, catalog.Key{Namespace: ns, Name: "shop.public.big_orders"}
	job := catalog.JobKey{Namespace: "airflow", Name: "shop_dag.big_orders"}
	if _, err := e.st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{
			{Key: orders, Platform: "postgres", Kind: catalog.KindTable, Description: "Orders.", Tags: []string{"pii", "core"},
				Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint", Description: "The order."}, {Name: "amount", Ordinal: 2, Type: "numeric"}}},
			{Key: catalog.Key{Namespace: ns, Name: "shop.public.fx_rates"}, Platform: "postgres", Kind: catalog.KindTable,
				Columns: []catalog.Column{{Name: "rate", Ordinal: 1, Type: "numeric"}}},
			{Key: catalog.Key{Namespace: "kafka://broker:9092", Name: "orders"}, Platform: "kafka", Kind: catalog.KindTable},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	start, end := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 0, 1, 500_000_000, time.UTC)
	if err := e.st.ApplyPush(ctx, catalog.Push{
		Source: catalog.SourceOpenLineage,
		Jobs: []catalog.JobUpdate{{Job: catalog.JobFacts{Key: job, Type: "airflow_task", Description: "Keeps the big orders.",
			Properties: map[string]string{"sourceCodeLocation": "https://git/dags/shop.py"}, Inputs: []catalog.Key{orders}, Outputs: []catalog.Key{big}},
			Asserts: catalog.FacetJobType | catalog.FacetDescription}},
		Runs: []catalog.Run{{ID: "run-1", Job: job, State: catalog.RunComplete, StartedAt: &start, EndedAt: &end, StateAt: end,
			ParentID: "dag-run-1", ParentJob: catalog.JobKey{Namespace: "airflow", Name: "shop_dag"}}},
		ColumnLineage: []catalog.ColumnLineage{{Output: big, Column: "id", Input: orders, InputColumn: "id", Type: "DIRECT", Subtype: "IDENTITY"}},
	}); err != nil {
		t.Fatal(err)
	}
	fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
	if err := fl.Load(ctx); err != nil {
		t.Fatal(err)
	}
	rd := olapi.NewReader(fl.Graph(), e.st, nil)
	get := func(h http.Handler, path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	}
	got := map[string]json.RawMessage{}
	for name, path := range map[string]string{
		"lineage":        "/api/v1/lineage?depth=1&nodeId=" + url.QueryEscape("dataset:"+ns+":shop.public.orders"),
		"alone":          "/api/v1/lineage?nodeId=" + url.QueryEscape("dataset:"+ns+":shop.public.fx_rates"),
		"stream":         "/api/v1/lineage?nodeId=" + url.QueryEscape("dataset:kafka://broker:9092:orders"),
		"column-lineage": "/api/v1/column-lineage?nodeId=" + url.QueryEscape("datasetField:"+ns+":shop.public.big_orders:id"),
	} {
		h := rd.GetLineage()
		if strings.HasPrefix(path, "/api/v1/column-lineage") {
			h = rd.GetColumnLineage()
		}
		got[name] = json.RawMessage(get(h, path))
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// Catalog timestamps are the time of the test.
	b = regexp.MustCompile(`"(createdAt|updatedAt)": "20[^"]+"`).ReplaceAll(b, []byte(`"$1": "<time>"`))
	b = append(b, '\n')
	golden := filepath.Join("testdata", "marquez_lineage.json")
	if *updateGolden {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("Marquez lineage differs from %s (-want +got):\n%s", golden, diff)
	}

	// Only a dataset the catalog does not hold is 404.
	rec := httptest.NewRecorder()
	rd.GetLineage().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage?nodeId="+url.QueryEscape("dataset:"+ns+":shop.public.nope"), nil))
	if rec.Code != 404 {
		t.Errorf("unknown dataset: %d %s, want 404", rec.Code, rec.Body)
	}
}

// TestDatasetWideColumnLineage posts a Spark event whose column lineage
// facet (the spec's test payload) has dataset-level inputs, a sort and a
// filter: every column of the output, also one with no input of its own,
// lists them as INDIRECT inputs, in the Marquez API and in the graph.
func TestDatasetWideColumnLineage(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()
	facet, err := os.ReadFile(filepath.Join("testdata", "ColumnLineageDatasetFacet_2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ ColumnLineage json.RawMessage }
	if err := json.Unmarshal(facet, &f); err != nil {
		t.Fatal(err)
	}
	const (
		ns     = "s3://test-bucket"
		people = "/iceberg_warehouse/some-database/people"
		out    = "/iceberg_warehouse/some-database/people_next"
	)
	event := `{"eventType": "COMPLETE", "eventTime": "2024-11-20T10:00:00Z", "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/spark",
		"run": {"runId": "0193476b-7d1e-7c3a-9a55-2f0c1b3e8d41"}, "job": {"namespace": "spark", "name": "people_next_year"},
		"inputs": [{"namespace": "` + ns + `", "name": "` + people + `"}],
		"outputs": [{"namespace": "` + ns + `", "name": "` + out + `", "facets": {
			"schema": {"fields": [{"name": "id"}, {"name": "firstName"}, {"name": "lastName"}, {"name": "ageNextYear"}, {"name": "loadedAt"}]},
			"columnLineage": ` + string(f.ColumnLineage) + `}}]}`
	if code, msg := e.post(t, "/api/v1/lineage", []byte(event)); code != http.StatusCreated {
		t.Fatalf("%d %s", code, msg)
	}
	e.drain(t)
	fl := lineage.NewFollower(e.st, lineage.NewGraph(), nil)
	if err := fl.Load(ctx); err != nil {
		t.Fatal(err)
	}
	rd := olapi.NewReader(fl.Graph(), e.st, nil)
	field := func(ds, f string) string { return "datasetField:" + ns + ":" + ds + ":" + f }
	wide := []string{field(people, "last_name") + " INDIRECT/SORT", field(people, "first_name") + " INDIRECT/SORT", field(people, "age") + " INDIRECT/FILTER"}

	// inputs lists each field of the answer with its input fields.
	inputs := func(query string) map[string][]string {
		t.Helper()
		rec := httptest.NewRecorder()
		rd.GetColumnLineage().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/column-lineage?"+query, nil))
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", query, rec.Code, rec.Body)
		}
		var g struct {
			Graph []struct {
				ID   string `json:"id"`
				Data struct {
					InputFields []struct {
						Namespace, Dataset, Field, TransformationType string
					} `json:"inputFields"`
				} `json:"data"`
			} `json:"graph"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, n := range g.Graph {
			got[n.ID] = []string{}
			for _, in := range n.Data.InputFields {
				got[n.ID] = append(got[n.ID], "datasetField:"+in.Namespace+":"+in.Dataset+":"+in.Field+" "+in.TransformationType)
			}
			slices.Sort(got[n.ID])
		}
		return got
	}
	sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }
	got := inputs("nodeId=" + url.QueryEscape(field(out, "firstName")) + "&depth=1")
	if diff := cmp.Diff(sorted(append([]string{field(people, "first_name") + " DIRECT/IDENTITY"}, wide...)...), got[field(out, "firstName")]); diff != "" {
		t.Errorf("inputs of firstName (-want +got):\n%s", diff)
	}
	got = inputs("nodeId=" + url.QueryEscape(field(out, "loadedAt")) + "&depth=1")
	if diff := cmp.Diff(sorted(wide...), got[field(out, "loadedAt")]); diff != "" {
		t.Errorf("inputs of loadedAt, a column without lineage of its own (-want +got):\n%s", diff)
	}
	got = inputs("nodeId=" + url.QueryEscape(field(people, "age")) + "&depth=1&withDownstream=true")
	var downstream []string
	for id := range got {
		downstream = append(downstream, id)
	}
	if diff := cmp.Diff(sorted(field(people, "age"), field(out, "id"), field(out, "firstName"), field(out, "lastName"), field(out, "ageNextYear"), field(out, "loadedAt")),
		sorted(downstream...)); diff != "" {
		t.Errorf("downstream of people.age (-want +got):\n%s", diff)
	}

	// The graph, as GraphQL's columnLineage and columnImpact read it.
	sub, err := fl.ColumnLineage(ctx, lineage.ColumnQuery{Start: lineage.ColumnID{Dataset: catalog.Key{Namespace: ns, Name: out}, Column: "lastName"}, Direction: lineage.Upstream})
	if err != nil {
		t.Fatal(err)
	}
	var edges []string
	for _, e := range sub.Edges {
		edges = append(edges, e.From.String()+" "+e.Type+"/"+e.Subtype)
	}
	if diff := cmp.Diff(sorted(append([]string{field(people, "last_name") + " DIRECT/IDENTITY"}, wide...)...), sorted(edges...)); diff != "" {
		t.Errorf("upstream of lastName in the graph (-want +got):\n%s", diff)
	}
	levels, err := fl.ColumnImpact(ctx, lineage.ColumnID{Dataset: catalog.Key{Namespace: ns, Name: people}, Column: "age"}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var impacted []string
	for _, l := range levels {
		for _, c := range l.Columns {
			impacted = append(impacted, c.ID.Column)
		}
	}
	if diff := cmp.Diff([]string{"ageNextYear", "firstName", "id", "lastName", "loadedAt"}, impacted); diff != "" {
		t.Errorf("impact of people.age (-want +got):\n%s", diff)
	}
}
