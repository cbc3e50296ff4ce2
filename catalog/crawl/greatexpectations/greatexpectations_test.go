package greatexpectations

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const warehouseNS = "postgres://warehouse.internal:5432"

func crawl(t *testing.T, paths ...string) catalog.Harvest {
	t.Helper()
	h, err := Crawl(context.Background(), Config{Source: "great_expectations:test", Paths: paths, Namespace: warehouseNS, Database: "analytics"})
	if err != nil {
		t.Fatalf("Crawl(%v): %v", paths, err)
	}
	return h
}

// TestGolden crawls each fixture folder and compares the harvest with its
// golden file. Run with -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	for _, dir := range []string{"shared", "gx1_store", "gx1_checkpoint", "bad"} {
		t.Run(dir, func(t *testing.T) {
			h := crawl(t, filepath.Join("testdata", dir))
			got, err := json.MarshalIndent(h, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", dir+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("harvest of %s differs from %s (-want +got):\n%s", dir, golden, diff)
			}
		})
	}
}

// result finds the result of the check named by its prefix in run.
func result(t *testing.T, h catalog.Harvest, checkPrefix, run string) catalog.QualityResult {
	t.Helper()
	var found []catalog.QualityResult
	for _, r := range h.Results {
		if strings.HasPrefix(r.Check, checkPrefix) && strings.Contains(r.RunID, run) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d results of %q in run %q, want 1: %+v", len(found), checkPrefix, run, found)
	}
	return found[0]
}

func ptr[T any](v T) *T { return &v }

// TestLayouts reads one validation of each layout: 0.x operator results
// (run_results of validation_result wrappers), 0.x and 1.x-era standalone
// validation results, a 1.x validations store and a 1.x checkpoint result.
func TestLayouts(t *testing.T) {
	shared := crawl(t, "testdata/shared")
	gx1 := crawl(t, "testdata/gx1_store")
	cp := crawl(t, "testdata/gx1_checkpoint")
	for _, h := range []catalog.Harvest{shared, gx1, cp} {
		if len(h.Errors) > 0 {
			t.Errorf("%s: errors %v", h.Source, h.Errors)
		}
	}
	titanic := catalog.Key{Namespace: warehouseNS, Name: "analytics.titanic"}
	orders := catalog.Key{Namespace: warehouseNS, Name: "analytics.public.orders"}
	for _, tc := range []struct {
		name string
		h    catalog.Harvest
		// check prefix and run id part
		check, run string
		want       catalog.QualityResult
	}{
		{
			name: "0.x operator result: failure with an observed value", h: shared,
			check: "basic.warning: expect_table_row_count_to_be_between", run: "20200727T171932.959193Z/4e0d84813237541d5dbb9f8af649a7ef",
			want: catalog.QualityResult{Status: catalog.QualityFail, Observed: "30", Message: "observed 30",
				StartedAt: time.Date(2020, 7, 27, 17, 19, 32, 962507000, time.UTC)},
		},
		{
			name: "0.x standalone result: a check with unexpected rows that passes (mostly)", h: shared,
			check: "titanic: expect_column_values_to_match_regex(Name)", run: "titanic/__none__/19551105T000000.000000Z/1234",
			want: catalog.QualityResult{Dataset: titanic, Status: catalog.QualityPass, Failures: ptr[int64](3),
				StartedAt: time.Date(1955, 11, 5, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "0.x standalone result: failure counted in rows", h: shared,
			check: "titanic: expect_column_values_to_be_in_set(PClass)", run: "titanic/",
			want: catalog.QualityResult{Dataset: titanic, Status: catalog.QualityFail, Failures: ptr[int64](1),
				Message: "1 unexpected values of 1313 (0.08 %)", StartedAt: time.Date(1955, 11, 5, 0, 0, 0, 0, time.UTC)},
		},
		{
			name: "1.x store: an exception is an error", h: gx1,
			check: "orders_suite: expect_column_mean_to_be_between(discount)", run: "nightly-2024-05-02",
			want: catalog.QualityResult{Dataset: orders, Status: catalog.QualityError,
				Message:   `Error: The column "discount" in BatchData does not exist.`,
				StartedAt: time.Date(2024, 5, 2, 2, 1, 11, 654321000, time.UTC)},
		},
		{
			name: "1.x store: a failure of severity warning is a warning", h: gx1,
			check: "orders_suite: expect_column_values_to_be_between(amount) #60a4ebe8", run: "nightly-2024-05-02",
			want: catalog.QualityResult{Dataset: orders, Status: catalog.QualityWarn, Failures: ptr[int64](9),
				Message: "9 unexpected values of 512 (1.76 %)", StartedAt: time.Date(2024, 5, 2, 2, 1, 11, 654321000, time.UTC)},
		},
		{
			name: "1.x checkpoint: a structured observed value", h: cp,
			check: "payments: expect_column_quantile_values_to_be_between(amount)", run: "payments/",
			want: catalog.QualityResult{Dataset: catalog.Key{Namespace: warehouseNS, Name: "analytics.payments_csv"},
				Status:    catalog.QualityFail,
				Observed:  `{"quantiles":[0.5,0.9],"values":[42.0,1500.0]}`,
				Message:   `observed {"quantiles":[0.5,0.9],"values":[42.0,1500.0]}`,
				StartedAt: time.Date(2024, 5, 2, 2, 2, 30, 0, time.UTC)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := result(t, tc.h, tc.check, tc.run)
			if tc.want.Dataset == (catalog.Key{}) {
				tc.want.Dataset = catalog.Key{Namespace: warehouseNS, Name: "analytics.basic.warning"}
			}
			tc.want.Check, tc.want.RunID = got.Check, got.RunID
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestRunIDs checks that each validation's results carry Great
// Expectations' own identifier of the validation, whichever way the file
// was found, so that a validation read from the store and from a saved
// checkpoint result is recorded once.
func TestRunIDs(t *testing.T) {
	h := crawl(t, "testdata/gx1_store", "testdata/gx1_checkpoint")
	runs := map[string]int{}
	for _, r := range h.Results {
		runs[r.RunID]++
	}
	want := map[string]int{
		"orders_suite/nightly-2024-05-01/20240501T020000.000000Z/warehouse-orders_asset": 3,
		"orders_suite/nightly-2024-05-02/20240502T020000.000000Z/warehouse-orders_asset": 5,
		"payments/nightly-2024-05-02/20240502T020000.000000Z/landing-payments_csv":       3,
	}
	if diff := cmp.Diff(want, runs); diff != "" {
		t.Errorf("results by run (-want +got):\n%s", diff)
	}

	// The same titanic validation in the 0.x and 1.x-era layouts, as
	// standalone files: one run id built from its meta.
	h = crawl(t, "testdata/shared/titanic_expected_data_asset_validate_results.json", "testdata/shared/titanic_validate_results_gx1.json")
	runs = map[string]int{}
	for _, r := range h.Results {
		runs[r.RunID]++
	}
	if diff := cmp.Diff(map[string]int{"titanic/__none__/19551105T000000.000000Z/1234": 10}, runs); diff != "" {
		t.Errorf("titanic results by run (-want +got):\n%s", diff)
	}
}

// TestStandaloneGX1RunID: a GX 1.x result copied out of its store (as a
// standalone file, named otherwise) gets the run id its store key gives
// it: GX's batch identifier is the batch_id of the expectations' kwargs,
// not the result's id. So the same validation read both ways is one run.
func TestStandaloneGX1RunID(t *testing.T) {
	src := "testdata/gx1_store/validations/orders_suite/nightly-2024-05-01/20240501T020000.000000Z/warehouse-orders_asset.json"
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	standalone := filepath.Join(t.TempDir(), "result.json")
	if err := os.WriteFile(standalone, b, 0o644); err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, r := range crawl(t, standalone).Results {
		runs[r.RunID]++
	}
	if diff := cmp.Diff(map[string]int{"orders_suite/nightly-2024-05-01/20240501T020000.000000Z/warehouse-orders_asset": 3}, runs); diff != "" {
		t.Errorf("results by run (-want +got):\n%s", diff)
	}
}

// TestNewestValidationDefinesChecks: an expectation dropped from the suite
// is not a check any more, but its past results stay history.
func TestNewestValidationDefinesChecks(t *testing.T) {
	h := crawl(t, "testdata/gx1_store")
	var checks []string
	for _, c := range h.Checks {
		checks = append(checks, strings.TrimSuffix(c.Name, " on analytics.public.orders"))
	}
	want := []string{
		"orders_suite: expect_column_mean_to_be_between(discount)",
		"orders_suite: expect_column_values_to_be_between(amount) #31e5d553",
		"orders_suite: expect_column_values_to_be_between(amount) #60a4ebe8",
		"orders_suite: expect_column_values_to_not_be_null(order_id)",
		"orders_suite: expect_table_row_count_to_be_between",
	}
	if diff := cmp.Diff(want, checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	r := result(t, h, "orders_suite: expect_column_values_to_be_unique(customer_id)", "nightly-2024-05-01")
	if r.Status != catalog.QualityFail || r.Failures == nil || *r.Failures != 40 {
		t.Errorf("result of the dropped expectation = %+v, want a failure of 40 rows", r)
	}
	if len(h.Scopes) != 1 || h.Scopes[0] != (catalog.Scope{Namespace: warehouseNS}) {
		t.Errorf("scopes = %v, want the namespace: every file was read", h.Scopes)
	}
	for _, c := range h.Checks {
		if _, err := c.Normalize(); err != nil {
			t.Errorf("check %q: %v", c.Name, err)
		}
	}
}

// TestUnknownLayout: a file of another layout, malformed JSON or a
// validation that cannot be placed in time is a crawl error naming the
// file; the other files are read on, and nothing is marked removed.
func TestUnknownLayout(t *testing.T) {
	h := crawl(t, "testdata/bad", "testdata/gx1_store")
	type problem struct{ Object, Start string }
	var got []problem
	for _, e := range h.Errors {
		start, _, _ := strings.Cut(e.Message, ":")
		got = append(got, problem{e.Object, start})
	}
	want := []problem{
		{"testdata/bad/expectations_orders_suite.json", "unknown Great Expectations result layout"},
		{"testdata/bad/list.json", "unknown Great Expectations result layout"},
		{"testdata/bad/no_time.json", "no meta.validation_time or run_id.run_time"},
		{"testdata/bad/truncated.json", "malformed JSON at byte 90"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nall: %v", diff, h.Errors)
	}
	if len(h.Results) != 8 || len(h.Checks) != 5 {
		t.Errorf("%d results and %d checks, want the store's 8 and 5", len(h.Results), len(h.Checks))
	}
	if h.Scopes != nil {
		t.Errorf("scopes = %v, want none after errors", h.Scopes)
	}
	if !strings.Contains(h.Errors[0].Message, "among the members expectations, id, meta, name, notes") {
		t.Errorf("message %q does not say what the file holds", h.Errors[0].Message)
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Paths: []string{"testdata"}, Namespace: warehouseNS}, "empty source name"},
		{Config{Source: "great_expectations:x", Paths: []string{"testdata"}}, "empty dataset namespace"},
		{Config{Source: "great_expectations:x", Namespace: warehouseNS}, "no paths"},
		{Config{Source: "great_expectations:x", Namespace: warehouseNS, Paths: []string{"testdata/missing"}}, "testdata/missing: no such file or directory"},
	} {
		h, err := Crawl(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Crawl(%+v) = %v, want an error with %q", tc.cfg, err, tc.want)
		}
		if len(h.Errors) != 1 {
			t.Errorf("Crawl(%+v): errors %v, want one", tc.cfg, h.Errors)
		}
	}
	// One readable path is enough; the other is an error.
	h, err := Crawl(context.Background(), Config{Source: "great_expectations:x", Namespace: warehouseNS, Paths: []string{"testdata/missing", "testdata/gx1_store"}})
	if err != nil || len(h.Errors) != 1 || len(h.Results) != 8 {
		t.Errorf("Crawl with one missing path = %v, %d errors, %d results; want no error, 1 error, 8 results", err, len(h.Errors), len(h.Results))
	}
	if _, err := Crawl(context.Background(), Config{Source: "great_expectations:x", Namespace: warehouseNS, Paths: []string{"testdata/missing"}}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
}

func TestDatasetOf(t *testing.T) {
	c := &crawler{cfg: Config{Namespace: "ns", Database: "db"}}
	for _, tc := range []struct {
		meta string
		name string
		from string
	}{
		{`{"batch_spec": {"table_name": "orders", "schema_name": "sales"}, "active_batch_definition": {"data_asset_name": "orders_asset"}}`, "db.sales.orders", FromTable},
		{`{"batch_kwargs": {"table": "orders", "schema": "sales", "datasource": "wh"}}`, "db.sales.orders", FromTable},
		{`{"batch_kwargs": {"table": "orders"}}`, "db.orders", FromTable},
		{`{"batch_spec": {"path": "/data/x/2024-01-01.csv"}, "active_batch_definition": {"data_asset_name": "x_files"}}`, "db.x_files", FromDataAsset},
		{`{"batch_kwargs": {"path": "/data/x.csv", "datasource": "files"}}`, "/data/x.csv", FromPath},
		{`{"batch_kwargs": {"s3": "s3a://bucket/x.parquet"}}`, "s3a://bucket/x.parquet", FromPath},
		{`{"batch_kwargs": {"PandasInMemoryDF": true, "ge_batch_id": "1"}}`, "db.my.suite", FromSuite},
		// 0.10 and before: the asset in meta (GE's tests/test_sets/expected_cli_results_default.json,
		// tests/render/fixtures/BasicDatasetProfiler_evrs_with_exception.json).
		{`{"data_asset_name": "titanic", "expectation_suite_name": "default", "run_id": "19551105T000000.000000Z"}`, "db.titanic", FromDataAsset},
		{`{"data_asset_name": "my_datasource/my_generator/titanic_data"}`, "db.titanic_data", FromDataAsset},
	} {
		var m suiteMeta
		if err := json.Unmarshal([]byte(tc.meta), &m); err != nil {
			t.Fatal(err)
		}
		k, from := c.datasetOf(m, "my.suite")
		if k != (catalog.Key{Namespace: "ns", Name: tc.name}) || from != tc.from {
			t.Errorf("datasetOf(%s) = %v, %s; want %s, %s", tc.meta, k, from, tc.name, tc.from)
		}
	}
}

func TestStoreKey(t *testing.T) {
	for _, tc := range []struct{ path, suite, want string }{
		{"gx/uncommitted/validations/orders/warning/run 1/20200727T171932.959193Z/abc.json", "orders.warning", "orders/warning/run 1/20200727T171932.959193Z/abc"},
		{"validations/orders.warning/__none__/20200727T171932Z/abc.json", "orders.warning", "orders.warning/__none__/20200727T171932Z/abc"},
		{"results/orders.json", "orders", ""},
		{"validations/other/run/20200727T171932.959193Z/abc.json", "orders", ""},
		{"validations/orders/run/yesterday/abc.json", "orders", ""},
	} {
		if got := storeKey(tc.path, tc.suite); got != tc.want {
			t.Errorf("storeKey(%q, %q) = %q, want %q", tc.path, tc.suite, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2020, 7, 27, 17, 19, 32, 959193000, time.UTC)
	for _, s := range []string{"2020-07-27T17:19:32.959193+00:00", "20200727T171932.959193Z", "2020-07-27T19:19:32.959193+02:00", "2020-07-27T17:19:32.959193"} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday) succeeded")
	}
	// Before 0.11, run ids were strings.
	id, err := parseRunID(json.RawMessage(`"20190926T134241.000000Z"`))
	if err != nil || !id.Time.Equal(time.Date(2019, 9, 26, 13, 42, 41, 0, time.UTC)) {
		t.Errorf("parseRunID(string) = %+v, %v", id, err)
	}
}

func TestException(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		raised bool
		msg    string
	}{
		{`{"raised_exception": false, "exception_message": null}`, false, ""},
		{`{"raised_exception": true, "exception_message": "boom", "exception_traceback": "..."}`, true, "boom"},
		{`{"('a',)": {"raised_exception": true, "exception_message": "b"}, "('c',)": {"raised_exception": true, "exception_message": "a"}, "('d',)": {"raised_exception": false}}`, true, "a; b"},
		{`null`, false, ""},
		{`[1]`, false, ""},
	} {
		raised, msg := exception(json.RawMessage(tc.raw))
		if raised != tc.raised || msg != tc.msg {
			t.Errorf("exception(%s) = %v, %q; want %v, %q", tc.raw, raised, msg, tc.raised, tc.msg)
		}
	}
}

// TestChecksSorted keeps the harvest deterministic.
func TestChecksSorted(t *testing.T) {
	h := crawl(t, "testdata")
	if !slices.IsSortedFunc(h.Checks, func(a, b catalog.QualityCheck) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("checks are not sorted by name")
	}
}
