package dbt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"almanac/catalog"
)

// editJSON rewrites a JSON file of dir through edit.
func editJSON(t *testing.T, dir, file string, edit func(doc map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, file)
	var doc map[string]any
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	edit(doc)
	if b, err = json.Marshal(doc); err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// warningsAbout returns the crawl errors whose object or message names s.
func warningsAbout(h catalog.Harvest, s string) []string {
	var out []string
	for _, e := range h.Errors {
		if strings.Contains(e.Object, s) || strings.Contains(e.Message, s) {
			out = append(out, e.Object+": "+e.Message)
		}
	}
	return out
}

// TestCrawlV1TestMessageCounts: dbt 0.19's `dbt test` wrote each result's
// number of failing rows as its message (run_results v1 allows a string,
// an integer or null, and has no failures field).
func TestCrawlV1TestMessageCounts(t *testing.T) {
	dir := copyTarget(t, "testdata/manifest_v1")
	results := `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v1.json", "dbt_version": "0.19.1",
		"generated_at": "2021-03-01T10:00:05Z", "invocation_id": "5e4ef2b4-7b4d-4c3e-9f51-0a3c8a8b8c01", "env": {}},
	"results": [
		{"status": "fail", "message": 3, "unique_id": "test.dbt_demo.unique_fact_catalog_returns_cr_item_sk", "thread_id": "Thread-1",
		 "execution_time": 0.2, "adapter_response": {}, "timing": [{"name": "execute", "started_at": "2021-03-01T10:00:01Z", "completed_at": "2021-03-01T10:00:02Z"}]},
		{"status": "pass", "message": 0, "unique_id": "test.dbt_demo.not_null_fact_catalog_returns_cr_item_sk", "thread_id": "Thread-1",
		 "execution_time": 0.1, "adapter_response": {}, "timing": []},
		{"status": "error", "message": "Database Error in test x: relation does not exist", "unique_id": "test.dbt_demo.unique_fact_third_party_performance_company_id",
		 "thread_id": "Thread-2", "execution_time": 0.1, "adapter_response": {}, "timing": []}
	],
	"elapsed_time": 1.5, "args": {"which": "test"}}`
	if err := os.WriteFile(filepath.Join(dir, "run_results.json"), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	if w := warningsAbout(h, "run_results.json"); len(w) > 0 {
		t.Errorf("warnings about run_results.json: %q", w)
	}
	type got struct {
		status   string
		failures int64
		message  string
	}
	byCheck := map[string]got{}
	for _, r := range h.Results {
		g := got{status: r.Status, failures: -1, message: r.Message}
		if r.Failures != nil {
			g.failures = *r.Failures
		}
		byCheck[r.Check] = g
	}
	want := map[string]got{
		"test.dbt_demo.unique_fact_catalog_returns_cr_item_sk":         {catalog.QualityFail, 3, ""},
		"test.dbt_demo.not_null_fact_catalog_returns_cr_item_sk":       {catalog.QualityPass, 0, ""},
		"test.dbt_demo.unique_fact_third_party_performance_company_id": {catalog.QualityError, -1, "Database Error in test x: relation does not exist"},
	}
	for id, w := range want {
		if g, ok := byCheck[id]; !ok || g != w {
			t.Errorf("result of %s = %+v (found %v), want %+v", id, g, ok, w)
		}
	}
}

// TestCrawlV12OwnerListsAndFunctions: manifest v12 allows an owner's email
// as a list (exposures and groups), and dbt 1.11's user-defined functions
// sit in their own section, are named in the depends_on of the models that
// call them, and have results of their own in dbt build.
func TestCrawlV12OwnerListsAndFunctions(t *testing.T) {
	dir := copyTarget(t, "testdata/jaffle_shop_1.12")
	const (
		model = "model.jaffle_shop.stg_products"
		fn    = "function.jaffle_shop.area_of_circle"
	)
	editJSON(t, dir, "manifest.json", func(m map[string]any) {
		m["groups"] = map[string]any{"group.jaffle_shop.finance": map[string]any{
			"name": "finance", "resource_type": "group", "package_name": "jaffle_shop", "path": "groups.yml",
			"original_file_path": "models/groups.yml", "unique_id": "group.jaffle_shop.finance",
			"owner": map[string]any{"email": []any{"finance@jaffleshop.com", "cfo@jaffleshop.com"}, "name": nil},
		}}
		m["exposures"] = map[string]any{"exposure.jaffle_shop.weekly": map[string]any{
			"name": "weekly", "resource_type": "exposure", "package_name": "jaffle_shop", "path": "exposures.yml",
			"original_file_path": "models/exposures.yml", "unique_id": "exposure.jaffle_shop.weekly", "fqn": []any{"jaffle_shop", "weekly"},
			"type": "dashboard", "owner": map[string]any{"email": []any{"ann@jaffleshop.com", "bob@jaffleshop.com"}, "name": "Ann"},
			"depends_on": map[string]any{"nodes": []any{model}, "macros": []any{}},
		}}
		m["functions"] = map[string]any{fn: map[string]any{
			"name": "area_of_circle", "resource_type": "function", "package_name": "jaffle_shop", "path": "functions/area_of_circle.sql",
			"original_file_path": "functions/area_of_circle.sql", "unique_id": fn, "fqn": []any{"jaffle_shop", "area_of_circle"},
			"database": "jaffle", "schema": "main", "alias": "area_of_circle", "returns": map[string]any{"data_type": "float"},
			"arguments": []any{map[string]any{"name": "radius", "data_type": "float"}},
		}}
		n := m["nodes"].(map[string]any)[model].(map[string]any)
		n["group"] = "finance"
		deps := n["depends_on"].(map[string]any)
		deps["nodes"] = append(deps["nodes"].([]any), fn)
	})
	editJSON(t, dir, "run_results.json", func(r map[string]any) {
		r["args"].(map[string]any)["which"] = "build"
		r["results"] = append(r["results"].([]any), map[string]any{
			"unique_id": fn, "status": "success", "message": "CREATE FUNCTION", "thread_id": "Thread-1",
			"execution_time": 0.05, "adapter_response": map[string]any{}, "timing": []any{}, "failures": nil,
		})
	})
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	for _, s := range []string{"owner.email", "function", "does not have"} {
		if w := warningsAbout(h, s); len(w) > 0 {
			t.Errorf("warnings about %q: %q", s, w)
		}
	}
	var exposure *catalog.JobFacts
	for i, j := range h.Jobs {
		if j.Key.Name == "exposure.jaffle_shop.weekly" {
			exposure = &h.Jobs[i]
		}
		if j.Key.Name == model && j.Properties[PropDependsOnUnknown] != "" {
			t.Errorf("%s: %s = %q", model, PropDependsOnUnknown, j.Properties[PropDependsOnUnknown])
		}
	}
	if exposure == nil {
		t.Fatal("no job for the exposure")
	}
	if got, want := exposure.Properties[PropOwnerEmail], "ann@jaffleshop.com, bob@jaffleshop.com"; got != want {
		t.Errorf("exposure's %s = %q, want %q", PropOwnerEmail, got, want)
	}
	for _, d := range h.Datasets {
		if strings.HasSuffix(d.Key.Name, ".stg_products") && !slices.ContainsFunc(d.Owners, func(o catalog.Owner) bool { return o.Name == "finance@jaffleshop.com" }) {
			t.Errorf("%s owners %+v, want the group's first email", d.Key.Name, d.Owners)
		}
	}
}

// TestText: a string, or a number kept as written (an integer also as a
// number); anything else is a type error, which the stream reports as a
// warning naming the field.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		in     string
		s      string
		number int64 // -1: none
	}{
		{`"late by 3 hours"`, "late by 3 hours", -1},
		{`3`, "3", 3},
		{`0`, "0", 0},
		{`1.5`, "1.5", -1},
		{`null`, "", -1},
	} {
		var v struct {
			T text `json:"t"`
		}
		if err := json.Unmarshal([]byte(`{"t": `+tc.in+`}`), &v); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		n := int64(-1)
		if v.T.number != nil {
			n = *v.T.number
		}
		if v.T.s != tc.s || n != tc.number {
			t.Errorf("%s: got %q, %d; want %q, %d", tc.in, v.T.s, n, tc.s, tc.number)
		}
	}
	for _, in := range []string{`{}`, `[1]`, `true`} {
		var v struct {
			T text `json:"t"`
		}
		var typeErr *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(`{"t": `+in+`}`), &v); !errors.As(err, &typeErr) {
			t.Errorf("%s: error %v, want a type error", in, err)
		}
	}
}
