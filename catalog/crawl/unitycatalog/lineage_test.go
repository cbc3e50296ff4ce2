package unitycatalog_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/unitycatalog"
)

// lineageAnswers are table lineage answers in the shape Databricks
// documents for GET /api/2.0/lineage-tracking/table-lineage with
// include_entity_lineage=true: "upstreams" and "downstreams", each item a
// tableInfo (or a fileInfo for a path) with the notebooks, jobs and
// pipelines that read and wrote. No recorded answer exists; these are
// written for the sample tables: numbers is built by a job from
// user_countries and a landing path, and read by a notebook into
// marksheet and into a table of another catalog that is not crawled.
const lineageAnswers = `{
 "unity.default.numbers": {
  "upstreams": [
   {"tableInfo": {"name": "user_countries", "catalog_name": "unity", "schema_name": "default", "table_type": "TABLE", "lineage_timestamp": "2026-05-30 20:19:00.0"},
    "jobInfos": [{"workspace_id": 310942840210298, "job_id": 1042, "lineage_timestamp": "2026-05-30 20:19:00.0"}]},
   {"fileInfo": {"path": "s3://landing/numbers/", "has_permission": true, "securable_type": "EXTERNAL_LOCATION", "lineage_timestamp": "2026-05-30 20:19:00.0"},
    "jobInfos": [{"workspace_id": 310942840210298, "job_id": 1042}]}
  ],
  "downstreams": [
   {"tableInfo": {"name": "marksheet", "catalog_name": "unity", "schema_name": "default", "table_type": "TABLE"},
    "notebookInfos": [{"workspace_id": 310942840210298, "notebook_id": 2071, "lineage_timestamp": "2026-05-30 20:19:00.0"}]},
   {"tableInfo": {"name": "report", "catalog_name": "reap_open_lakehouse", "schema_name": "gold", "table_type": "TABLE"},
    "pipelineInfos": [{"workspace_id": "310942840210298", "pipeline_id": "9f1e-77", "update_id": "u1"}]}
  ]
 },
 "unity.default.marksheet": {
  "upstreams": [
   {"tableInfo": {"name": "numbers", "catalog_name": "unity", "schema_name": "default", "table_type": "TABLE"},
    "notebookInfos": [{"workspace_id": 310942840210298, "notebook_id": 2071}]}
  ]
 }
}`

func TestDatabricksLineage(t *testing.T) {
	s := newServer(t, databricks)
	if err := json.Unmarshal([]byte(lineageAnswers), &s.lineage); err != nil {
		t.Fatal(err)
	}
	cfg := config(s)
	cfg.Lineage = true
	hv := crawl(t, cfg)
	if len(hv.Errors) != 0 {
		t.Errorf("errors: %v", hv.Errors)
	}
	key := func(name string) catalog.Key {
		for _, d := range hv.Datasets {
			if d.Properties[unitycatalog.PropFullName] == "unity.default."+name {
				return d.Key
			}
		}
		t.Fatalf("no dataset %s", name)
		return catalog.Key{}
	}
	want := []catalog.JobFacts{
		{
			Key: catalog.JobKey{Namespace: "unity-catalog", Name: "lineage:reap_open_lakehouse.gold.report"}, Type: unitycatalog.JobLineage,
			Properties: map[string]string{"pipelines": "310942840210298/9f1e-77"},
			Inputs:     []catalog.Key{key("numbers")},
			Outputs:    []catalog.Key{{Namespace: "unity-catalog", Name: "reap_open_lakehouse.gold.report"}},
		},
		{
			Key: catalog.JobKey{Namespace: "unity-catalog", Name: "lineage:unity.default.marksheet"}, Type: unitycatalog.JobLineage,
			Properties: map[string]string{"notebooks": "310942840210298/2071"},
			Inputs:     []catalog.Key{key("numbers")},
			Outputs:    []catalog.Key{key("marksheet")},
		},
		{
			Key: catalog.JobKey{Namespace: "unity-catalog", Name: "lineage:unity.default.numbers"}, Type: unitycatalog.JobLineage,
			Properties: map[string]string{"jobs": "310942840210298/1042"},
			Inputs:     []catalog.Key{key("user_countries"), {Namespace: "s3://landing", Name: "numbers"}},
			Outputs:    []catalog.Key{key("numbers")},
		},
	}
	slices.SortFunc(want[2].Inputs, catalog.Key.Compare)
	if diff := cmp.Diff(want, hv.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
	if !hasScope(hv, "lineage:unity.default.") || !hv.JobsComplete {
		t.Errorf("scopes %v, jobs complete %v: want the lineage of unity.default claimed", hv.Scopes, hv.JobsComplete)
	}
	if n := requests(s, "/api/2.0/lineage-tracking/table-lineage?"); n != 4 {
		t.Errorf("%d lineage requests, want one per table", n)
	}

	// A table whose lineage cannot be read is an error naming it; the
	// schema's lineage is no longer claimed complete.
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("table_name") == "unity.default.user_countries" {
			s.fail(w, http.StatusForbidden, "PERMISSION_DENIED", "no access to lineage")
			return true
		}
		return false
	}
	hv = crawl(t, cfg)
	if len(hv.Errors) != 1 || hv.Errors[0].Object != "unity.default.user_countries" || !strings.Contains(hv.Errors[0].Message, "table lineage: HTTP 403") {
		t.Errorf("errors = %v", hv.Errors)
	}
	if hasScope(hv, "lineage:unity.default.") || hv.JobsComplete || !hv.DatasetsComplete {
		t.Errorf("scopes %v, complete %v/%v", hv.Scopes, hv.DatasetsComplete, hv.JobsComplete)
	}
}

// TestLineageFirstTableGone: the first table's lineage answers 404
// RESOURCE_DOES_NOT_EXIST (dropped since it was listed): that is the
// table's error, and the other tables' lineage is read.
func TestLineageFirstTableGone(t *testing.T) {
	s := newServer(t, databricks)
	if err := json.Unmarshal([]byte(lineageAnswers), &s.lineage); err != nil {
		t.Fatal(err)
	}
	var first string
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		name := r.URL.Query().Get("table_name")
		if r.URL.Path != "/api/2.0/lineage-tracking/table-lineage" || (first != "" && name != first) {
			return false
		}
		first = name
		s.fail(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", "Table '"+name+"' does not exist.")
		return true
	}
	cfg := config(s)
	cfg.Lineage = true
	hv := crawl(t, cfg)
	if len(hv.Errors) != 1 || hv.Errors[0].Object != first || !strings.Contains(hv.Errors[0].Message, "HTTP 404") {
		t.Errorf("errors = %v, want one naming %s", hv.Errors, first)
	}
	if n := requests(s, "/api/2.0/lineage-tracking/table-lineage?"); n != 4 {
		t.Errorf("%d lineage requests, want one per table", n)
	}
	if len(hv.Jobs) == 0 {
		t.Error("no lineage jobs: the other tables' lineage was not read")
	}
}

// TestLineageOnOpenSource: the open-source server has no lineage API; the
// crawl says so once, keeps the tables, and claims no lineage.
func TestLineageOnOpenSource(t *testing.T) {
	s := newServer(t, oss)
	cfg := config(s)
	cfg.Lineage = true
	hv := crawl(t, cfg)
	if len(hv.Errors) != 1 || hv.Errors[0].Object != s.URL || !strings.Contains(hv.Errors[0].Message, "the server offers no table lineage") {
		t.Errorf("errors = %v", hv.Errors)
	}
	if n := requests(s, "/api/2.0/lineage-tracking/"); n != 1 {
		t.Errorf("%d lineage requests, want 1", n)
	}
	if len(hv.Datasets) != 4 || !hv.DatasetsComplete || hv.JobsComplete || len(hv.Jobs) != 0 {
		t.Errorf("%d datasets, complete %v/%v, jobs %v", len(hv.Datasets), hv.DatasetsComplete, hv.JobsComplete, hv.Jobs)
	}
}

// TestViews: a view is keyed by its name, has its definition, and its
// view_dependencies become a job reading the tables it depends on. The
// sample database has no view; this one is added by the test.
func TestViews(t *testing.T) {
	s := newServer(t, oss)
	view := `{"name":"top_marks","catalog_name":"unity","schema_name":"default","table_type":"VIEW",` +
		`"columns":[{"name":"name","type_text":"string","type_name":"STRING","position":0,"nullable":true}],` +
		`"comment":"Best students","view_definition":"SELECT name FROM unity.default.marksheet WHERE marks > 90",` +
		`"view_dependencies":{"dependencies":[{"table":{"table_full_name":"unity.default.marksheet"}},{"function":{"function_full_name":"unity.default.sum"}}]},` +
		`"table_id":"00000000-0000-4000-8000-000000000001","created_at":1721241605700}`
	s.tables["unity.default"] = append(s.tables["unity.default"], json.RawMessage(view))
	hv := crawl(t, config(s))
	vk := catalog.Key{Namespace: "unity-catalog", Name: "unity.default.top_marks"}
	i := slices.IndexFunc(hv.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == vk })
	if i < 0 {
		t.Fatalf("no dataset %s in %v", vk, hv.Datasets)
	}
	v := hv.Datasets[i]
	if v.Kind != catalog.KindView || v.Definition == "" || v.Description != "Best students" || len(v.Aliases) != 0 {
		t.Errorf("view = %+v", v)
	}
	marks := abs(t, "testdata/etc/data/managed/unity/default/tables/marksheet")
	want := []catalog.JobFacts{{
		Key: catalog.JobKey{Namespace: "unity-catalog", Name: "view:unity.default.top_marks"}, Type: unitycatalog.JobView,
		SQL:     "SELECT name FROM unity.default.marksheet WHERE marks > 90",
		Inputs:  []catalog.Key{{Namespace: "file", Name: marks}},
		Outputs: []catalog.Key{vk},
	}}
	if diff := cmp.Diff(want, hv.Jobs); diff != "" {
		t.Errorf("jobs (-want +got):\n%s", diff)
	}
}

// TestViewsOnDatabricks: Databricks lists views without their
// dependencies ("not returned by ListTables"); the crawl asks for each
// such view on its own and gives it its job. A view that cannot be read
// is an error naming it, and keeps its dataset.
func TestViewsOnDatabricks(t *testing.T) {
	s := newServer(t, databricks)
	const listed = `{"name":"%s","catalog_name":"unity","schema_name":"default","table_type":"VIEW",` +
		`"columns":[{"name":"name","type_text":"string","type_name":"STRING","position":0,"nullable":true}],` +
		`"view_definition":"SELECT name FROM unity.default.marksheet WHERE marks > 90","table_id":"00000000-0000-4000-8000-00000000000%d"}`
	s.tables["unity.default"] = append(s.tables["unity.default"], json.RawMessage(fmt.Sprintf(listed, "top_marks", 1)), json.RawMessage(fmt.Sprintf(listed, "gone", 2)))
	s.full = map[string]json.RawMessage{"unity.default.top_marks": json.RawMessage(strings.Replace(fmt.Sprintf(listed, "top_marks", 1), `"table_id"`,
		`"view_dependencies":{"dependencies":[{"table":{"table_full_name":"unity.default.marksheet"}}]},"table_id"`, 1))}
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/2.1/unity-catalog/tables/unity.default.gone" {
			s.fail(w, http.StatusForbidden, "PERMISSION_DENIED", "no access")
			return true
		}
		return false
	}
	hv := crawl(t, config(s))
	vk := catalog.Key{Namespace: "unity-catalog", Name: "unity.default.top_marks"}
	i := slices.IndexFunc(hv.Jobs, func(j catalog.JobFacts) bool { return j.Key.Name == "view:unity.default.top_marks" })
	if i < 0 {
		t.Fatalf("no job for the view; jobs %v", hv.Jobs)
	}
	if j := hv.Jobs[i]; len(j.Inputs) != 1 || !strings.HasSuffix(j.Inputs[0].Name, "marksheet") || !slices.Equal(j.Outputs, []catalog.Key{vk}) {
		t.Errorf("view job %+v", j)
	}
	if len(hv.Errors) != 1 || hv.Errors[0].Object != "unity.default.gone" || !strings.Contains(hv.Errors[0].Message, "HTTP 403") {
		t.Errorf("errors %v, want one naming unity.default.gone", hv.Errors)
	}
	if !slices.ContainsFunc(hv.Datasets, func(d catalog.DatasetFacts) bool { return d.Key.Name == "unity.default.gone" }) {
		t.Error("the view that could not be read lost its dataset")
	}
	if n := requests(s, "/api/2.1/unity-catalog/tables/"); n != 2 {
		t.Errorf("%d requests for single tables, want one per view listed without dependencies", n)
	}
}
