package dbt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

const (
	warehouseNS = "postgres://warehouse.internal:5432"
	noCatalog   = "catalog.json: not found: column types are unknown (run `dbt docs generate` to write it)"
)

func crawlDir(t *testing.T, cfg Config) catalog.Harvest {
	t.Helper()
	if cfg.Source == "" {
		cfg.Source = "dbt:test"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = warehouseNS
	}
	h, err := Crawl(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Crawl: %v (errors %v)", err, h.Errors)
	}
	return h
}

// summary counts what a harvest holds.
type summary struct {
	Models, Seeds, Snapshots, Sources int
	SemanticModels, Metrics, Exports  int // exports of saved queries
	Exposures, SavedQueries           int
	UnitTests                         int
	Checks, Results, Freshness, Runs  int
	Columns, TypedColumns             int
	DescribedColumns                  int
	Edges                             int // job inputs: dataset → job → dataset
	ColumnLineage                     int
	Scopes                            int
	Errors                            []string
}

func summarize(h catalog.Harvest) summary {
	var s summary
	for _, d := range h.Datasets {
		for _, id := range strings.Split(d.Properties[PropUniqueID], ", ") {
			switch typ, _, _ := strings.Cut(id, "."); typ {
			case "model":
				s.Models++
			case "seed":
				s.Seeds++
			case "snapshot":
				s.Snapshots++
			case "source":
				s.Sources++
			case "semantic_model":
				s.SemanticModels++
			case "metric":
				s.Metrics++
			case "saved_query":
				s.Exports++
			}
		}
		s.Columns += len(d.Columns)
		for _, c := range d.Columns {
			if c.Type != "" {
				s.TypedColumns++
			}
			if c.Description != "" {
				s.DescribedColumns++
			}
		}
	}
	for _, j := range h.Jobs {
		switch j.Type {
		case catalog.JobDBTExposure:
			s.Exposures++
		case catalog.JobDBTSavedQuery:
			s.SavedQueries++
		}
		s.Edges += len(j.Inputs)
	}
	s.Checks, s.Results, s.Freshness, s.Runs, s.Scopes = len(h.Checks), len(h.Results), len(h.Freshness), len(h.Runs), len(h.Scopes)
	s.ColumnLineage = len(h.ColumnLineage)
	for _, c := range h.Checks {
		if c.Type == "unit_test" {
			s.UnitTests++
		}
	}
	for _, e := range h.Errors {
		s.Errors = append(s.Errors, filepath.Base(e.Object)+": "+e.Message)
	}
	return s
}

func TestCrawlFixtures(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want summary
	}{
		// 13 models, 6 seeds and 6 sources over the seeds' tables: 19
		// datasets, and the semantic layer: 6 semantic models (35
		// entities and dimensions, 11 described), 23 metrics and 3 saved
		// queries exporting a table each. 27 tests and 3 unit tests. Its
		// run_results.json is dbt docs generate's: compilations, no runs
		// or test results (see TestCrawlCompileResults).
		// Edges: 17 between relations, 6 from models to semantic models,
		// 27 into metrics and 11 from metrics to saved queries.
		{"jaffle_shop_1.12", summary{Models: 13, Seeds: 6, Sources: 6, SemanticModels: 6, Metrics: 23, Exports: 3, SavedQueries: 3,
			Checks: 30, UnitTests: 3,
			Columns: 147, TypedColumns: 147, DescribedColumns: 34, Edges: 61, ColumnLineage: 99, Scopes: 2}},
		{"jaffle_shop_v7", summary{Models: 5, Seeds: 3, Checks: 20, Columns: 21, DescribedColumns: 16, Edges: 8, ColumnLineage: 39, Scopes: 2,
			Errors: []string{noCatalog}}},
		// 10 passing and 4 failing tests of dbt 0.21 against a v2 manifest.
		{"tests_with_failures", summary{Models: 4, Sources: 2, Checks: 14, Results: 14, Columns: 5, DescribedColumns: 5, Edges: 4, Scopes: 2,
			Errors: []string{noCatalog}}},
		// Two models read columns without a qualifier from several tables
		// that no source declares: their columns cannot be placed.
		{"manifest_v1", summary{Models: 6, Checks: 6, Columns: 28, TypedColumns: 28, DescribedColumns: 7, Edges: 4, ColumnLineage: 46, Scopes: 2,
			Errors: []string{
				`DBT_DEMO.PUBLIC.raw_inventory_value: column lineage of model.dbt_demo.raw_inventory_value: column "dt": column "inv_date_sk" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, whose columns are not all known; column "quantity": column "inv_quantity_on_hand" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, whose columns are not all known; column "inventory_value": column "inv_quantity_on_hand" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, whose columns are not all known; column "inventory_cost": column "inv_quantity_on_hand" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, whose columns are not all known`,
				`DBT_DEMO.PUBLIC.raw_inventory_item_warehouse: column lineage of model.dbt_demo.raw_inventory_item_warehouse: column "dt": column "inv_date_sk" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, DBT_DEMO.PUBLIC.WAREHOUSE, whose columns are not all known; column "inventory_value": column "inv_quantity_on_hand" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, DBT_DEMO.PUBLIC.WAREHOUSE, whose columns are not all known; column "inventory_cost": column "inv_quantity_on_hand" could be in any of DBT_DEMO.PUBLIC.INVENTORY, DBT_DEMO.PUBLIC.ITEM, DBT_DEMO.PUBLIC.WAREHOUSE, whose columns are not all known`,
			}}},
		// The ephemeral stg_payments is no dataset: customer_payments reads
		// the six payment partitions through it, and customer.
		{"pagila", summary{Models: 1, Seeds: 1, Snapshots: 1, Sources: 12, Exposures: 1, Checks: 5, UnitTests: 1, Results: 5, Freshness: 12, Runs: 3,
			Columns: 3, TypedColumns: 1, DescribedColumns: 3, Edges: 10, Scopes: 2, Errors: []string{noCatalog,
				// Their compiled SQL is a placeholder, "select 1".
				`pagila.analytics.customer_payments: column lineage of model.sample_dbt.customer_payments: column 1: PostgreSQL names it "?column?": skipped (give it an alias)`,
				`pagila.analytics.customer_snapshot: column lineage of snapshot.sample_dbt.customer_snapshot: column 1: PostgreSQL names it "?column?": skipped (give it an alias)`}}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			h := crawlDir(t, Config{TargetDirs: []string{filepath.Join("testdata", tc.dir)}})
			got := summarize(h)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("harvest of %s (-want +got):\n%s", tc.dir, diff)
			}
		})
	}
}

func pkey(name string) catalog.Key { return catalog.Key{Namespace: warehouseNS, Name: name} }

func find[T any](t *testing.T, list []T, match func(T) bool) T {
	t.Helper()
	i := slices.IndexFunc(list, match)
	if i < 0 {
		var zero T
		t.Fatalf("no %T matches", zero)
	}
	return list[i]
}

// TestCrawlPagilaDetails checks one of each kind of fact in full.
func TestCrawlPagilaDetails(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/pagila"}, JobNamespace: "dbt://sample"})

	cp := find(t, h.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == pkey("pagila.analytics.customer_payments") })
	want := catalog.DatasetFacts{
		Key: pkey("pagila.analytics.customer_payments"), Platform: "dbt", Kind: catalog.KindTable,
		Description: "Payments per customer.",
		Properties: map[string]string{
			PropUniqueID: "model.sample_dbt.customer_payments", PropResourceType: "model", PropPackage: "sample_dbt",
			PropPath: "models/customer_payments.sql", PropMaterialization: "table", PropDBTVersion: "1.8.0",
			PropSchemaVersion: "https://schemas.getdbt.com/dbt/manifest/v12.json",
		},
		Columns: []catalog.Column{
			{Name: "customer_id", Ordinal: 1, Type: "integer", Nullable: true, Description: "The customer."},
			{Name: "total", Ordinal: 2, Nullable: true, Description: "Sum of payments."},
		},
		Owners: []catalog.Owner{
			{Name: "alice@corp.example", Kind: catalog.OwnerUser, Type: "technical"},
			{Name: "finance", Kind: catalog.OwnerTeam, Type: "technical"},
			{Name: "Data Platform Team", Kind: catalog.OwnerTeam, Type: "technical"},
		},
		Tags: []string{"finance"},
	}
	if diff := cmp.Diff(want, cp); diff != "" {
		t.Errorf("customer_payments (-want +got):\n%s", diff)
	}

	// Named as dbt-ol names it: database.schema.package.model.
	job := find(t, h.Jobs, func(j catalog.JobFacts) bool { return j.Key.Name == "pagila.analytics.sample_dbt.customer_payments" })
	var inputs []string
	for _, k := range job.Inputs {
		inputs = append(inputs, k.Name)
	}
	slices.Sort(inputs)
	wantInputs := []string{"pagila.public.customer"}
	for i := 1; i <= 6; i++ {
		wantInputs = append(wantInputs, fmt.Sprintf("pagila.public.payment_p2020_0%d", i))
	}
	if diff := cmp.Diff(wantInputs, inputs); diff != "" {
		t.Errorf("inputs through the ephemeral model (-want +got):\n%s", diff)
	}
	if job.Key.Namespace != "dbt://sample" || job.Type != catalog.JobDBTModel || job.SQL != "select 1 -- customer_payments" ||
		job.CompiledSQL != "select 1 /* customer_payments */" || !slices.Equal(job.Outputs, []catalog.Key{cp.Key}) {
		t.Errorf("job = %+v", job)
	}
	// Every job in the source's namespace, named as dbt-ol names it: a
	// snapshot with ".snapshot", a seed keeping its "seed." prefix; an
	// exposure, which dbt-ol does not report, by its unique_id.
	var keys []string
	for _, j := range h.Jobs {
		keys = append(keys, j.Key.String())
	}
	wantKeys := []string{
		"dbt://sample/pagila.analytics.sample_dbt.customer_payments",
		"dbt://sample/pagila.analytics.sample_dbt.customer_snapshot.snapshot",
		"dbt://sample/pagila.analytics.seed.sample_dbt.country_codes",
		"dbt://sample/exposure.sample_dbt.revenue_dashboard",
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("job keys (-want +got):\n%s", diff)
	}
	if slices.ContainsFunc(h.Jobs, func(j catalog.JobFacts) bool { return strings.Contains(j.Key.Name, "stg_payments") }) {
		t.Error("an ephemeral model must not be a job of its own")
	}

	exp := find(t, h.Jobs, func(j catalog.JobFacts) bool { return j.Type == catalog.JobDBTExposure })
	wantExp := catalog.JobFacts{
		Key: catalog.JobKey{Namespace: "dbt://sample", Name: "exposure.sample_dbt.revenue_dashboard"}, Type: catalog.JobDBTExposure,
		Description: "Revenue by customer.",
		Properties: map[string]string{PropExposureType: "dashboard", PropURL: "https://bi.example/revenue", PropMaturity: "high", PropLabel: "Revenue",
			PropOwnerName: "Carol", PropOwnerEmail: "carol@corp.example", PropPackage: "sample_dbt", PropPath: "models/exposures.yml"},
		Inputs: []catalog.Key{cp.Key, pkey("pagila.analytics.customer_snapshot")},
	}
	if diff := cmp.Diff(wantExp, exp); diff != "" {
		t.Errorf("exposure (-want +got):\n%s", diff)
	}

	checks := map[string]catalog.QualityCheck{}
	for _, c := range h.Checks {
		checks[c.Name] = c
	}
	wantChecks := map[string]catalog.QualityCheck{
		"test.sample_dbt.not_null_customer_payments_customer_id.abc123": {Dataset: cp.Key, Column: "customer_id", Type: "not_null", Severity: "error"},
		"test.sample_dbt.accepted_values_customer_payments_total.abc123": {Dataset: cp.Key, Column: "total", Type: "accepted_values", Severity: "warn",
			Properties: map[string]string{PropTestKwargs: `{"values":[1,2]}`}},
		"test.sample_dbt.source_unique_pagila_actor_actor_id.abc123": {Dataset: pkey("pagila.public.actor"), Column: "actor_id", Type: "unique", Severity: "error"},
		"test.sample_dbt.assert_positive_total.abc123":               {Dataset: cp.Key, Type: "singular", Severity: "error"},
	}
	for name, w := range wantChecks {
		w.Name, w.Definition = name, "select * from x where 1=0"
		if w.Properties == nil {
			w.Properties = map[string]string{}
		}
		w.Properties[PropPackage], w.Properties[PropPath] = "sample_dbt", "models/schema.yml"
		if diff := cmp.Diff(w, checks[name]); diff != "" {
			t.Errorf("check %s (-want +got):\n%s", name, diff)
		}
	}

	three := int64(3)
	res := find(t, h.Results, func(r catalog.QualityResult) bool { return r.Status == catalog.QualityFail })
	wantRes := catalog.QualityResult{
		Check: "test.sample_dbt.not_null_customer_payments_customer_id.abc123", Dataset: cp.Key, Status: catalog.QualityFail,
		Failures: &three, Message: "Got 3 results, configured to fail if != 0",
		StartedAt: time.Date(2021, 6, 18, 21, 34, 0, 5e8, time.UTC), Duration: 500 * time.Millisecond, RunID: "just-some-random-id",
	}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("failed result (-want +got):\n%s", diff)
	}
	var statuses []string
	for _, r := range h.Results {
		statuses = append(statuses, r.Status)
	}
	slices.Sort(statuses)
	if diff := cmp.Diff([]string{"error", "fail", "fail", "pass", "warn"}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// The unit test checks the model it tests, with its rows as its
	// definition; its result is a result of the check.
	ut := find(t, h.Checks, func(c catalog.QualityCheck) bool { return c.Type == "unit_test" })
	wantUT := catalog.QualityCheck{
		Dataset: cp.Key, Name: "unit_test.sample_dbt.customer_payments.test_totals_add_up", Type: "unit_test", Severity: "error",
		Definition: `{"expect":{"rows":[{"customer_id":1,"total":3.0}],"format":"dict","fixture":null},"given":[{"input":"ref('stg_payments')","rows":[{"customer_id":1,"amount":2.5},{"customer_id":1,"amount":0.5}],"format":"dict","fixture":null},{"input":"source('pagila', 'customer')","rows":[{"customer_id":1}],"format":"dict","fixture":null}]}`,
		Properties: map[string]string{PropPackage: "sample_dbt", PropPath: "models/customer_payments.yml", "description": "Payments of a customer add up to their total."},
	}
	if diff := cmp.Diff(wantUT, ut); diff != "" {
		t.Errorf("unit test (-want +got):\n%s", diff)
	}
	utRes := find(t, h.Results, func(r catalog.QualityResult) bool { return r.Check == ut.Name })
	if utRes.Status != catalog.QualityFail || utRes.Dataset != cp.Key || !strings.Contains(utRes.Message, "actual differs from expected") {
		t.Errorf("result of the unit test = %+v", utRes)
	}

	// The snapshot is in the group finance: its owner owns it.
	snap := find(t, h.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == pkey("pagila.analytics.customer_snapshot") })
	if !slices.Contains(snap.Owners, catalog.Owner{Name: "Finance Analytics Team", Kind: catalog.OwnerTeam, Type: "technical"}) || snap.Properties[PropGroup] != "finance" {
		t.Errorf("snapshot in group finance: owners %v, properties %v", snap.Owners, snap.Properties)
	}
	// The analysis is no catalog entity, and known: no warning names it.
	for _, e := range h.Errors {
		if strings.Contains(e.Error(), "analysis") {
			t.Errorf("warning about the analysis: %v", e)
		}
	}

	fr := find(t, h.Freshness, func(o catalog.FreshnessObservation) bool { return o.Dataset == pkey("pagila.public.actor") })
	loaded := time.Date(2020, 2, 15, 9, 34, 33, 0, time.UTC)
	wantFr := catalog.FreshnessObservation{
		Dataset: pkey("pagila.public.actor"), ObservedAt: time.Date(2021, 6, 18, 17, 8, 55, 925443000, time.UTC), MaxLoadedAt: &loaded,
		Status: catalog.FreshnessPass, WarnAfter: "123456789 day", ErrorAfter: "999999999 day", RunID: "just-some-random-id",
	}
	if diff := cmp.Diff(wantFr, fr, cmpTimes); diff != "" {
		t.Errorf("freshness of actor (-want +got):\n%s", diff)
	}
}

var cmpTimes = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// TestCrawlRuns reads the results of a model, a snapshot that failed and
// a seed skipped after it as runs of their jobs; the result of a hook is
// no run.
func TestCrawlRuns(t *testing.T) {
	cfg := Config{TargetDirs: []string{"testdata/pagila"}, JobNamespace: "dbt://sample"}
	h := crawlDir(t, cfg)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	job := func(name string) catalog.JobKey { return catalog.JobKey{Namespace: "dbt://sample", Name: name} }
	want := []catalog.Run{
		{Job: job("pagila.analytics.sample_dbt.customer_payments"), State: catalog.RunComplete,
			StartedAt: at("2021-06-18T21:33:58.1Z"), EndedAt: at("2021-06-18T21:33:59.1Z"), StateAt: *at("2021-06-18T21:33:59.1Z")},
		{Job: job("pagila.analytics.sample_dbt.customer_snapshot.snapshot"), State: catalog.RunFail,
			StartedAt: at("2021-06-18T21:33:59.3Z"), EndedAt: at("2021-06-18T21:33:59.9Z"), StateAt: *at("2021-06-18T21:33:59.9Z"),
			ErrorMessage: "Database Error in snapshot customer_snapshot (snapshots/customer_snapshot.sql)\n  column \"updated_at\" does not exist"},
		// Skipped: no timing; it ended when dbt wrote the file.
		{Job: job("pagila.analytics.seed.sample_dbt.country_codes"), State: catalog.RunAbort, StateAt: *at("2021-06-18T21:35:00Z")},
	}
	for i := range want {
		want[i].ID = runID(want[i].Job, "just-some-random-id")
	}
	if diff := cmp.Diff(want, h.Runs, cmpTimes); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ids := map[string]bool{}
	for _, r := range h.Runs {
		if !uuidRE.MatchString(r.ID) {
			t.Errorf("run id %q is no version 5 UUID", r.ID)
		}
		ids[r.ID] = true
	}
	if len(ids) != len(h.Runs) {
		t.Errorf("run ids %v are not distinct", ids)
	}
	// The same file gives the same ids; another source's jobs other ones.
	if again := crawlDir(t, cfg); !slices.EqualFunc(again.Runs, h.Runs, func(a, b catalog.Run) bool { return a.ID == b.ID }) {
		t.Error("a second read of the same run_results.json gave other run ids")
	}
	cfg.JobNamespace = "dbt://other"
	for _, r := range crawlDir(t, cfg).Runs {
		if ids[r.ID] {
			t.Errorf("run %s of %s has the id of a run of another source's job", r.ID, r.Job)
		}
	}
}

// TestCrawlCompileResults: the run_results.json of dbt docs generate (or
// dbt compile) says success for every node it compiled; that is no run and
// no passing test. The same file written by dbt build is.
func TestCrawlCompileResults(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/jaffle_shop_1.12"}})
	if len(h.Runs)+len(h.Results) != 0 {
		t.Errorf("dbt docs generate: %d runs, %d results; want none", len(h.Runs), len(h.Results))
	}
	dir := copyTarget(t, "testdata/jaffle_shop_1.12")
	b, err := os.ReadFile(filepath.Join(dir, RunResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, RunResultsFile, []byte(strings.Replace(string(b), `"which": "generate"`, `"which": "build"`, 1)))
	h = crawlDir(t, Config{TargetDirs: []string{dir}})
	if len(h.Runs) != 19 || len(h.Results) != 27 {
		t.Errorf("dbt build: %d runs, %d results; want 19 (13 models, 6 seeds) and 27", len(h.Runs), len(h.Results))
	}
}

func TestRunState(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   catalog.RunState
	}{
		{"success", catalog.RunComplete}, {"SUCCESS", catalog.RunComplete}, {"no-op", catalog.RunComplete}, {"reused", catalog.RunComplete},
		{"error", catalog.RunFail}, {"partial success", catalog.RunFail}, {"skipped", catalog.RunAbort},
	} {
		if got, ok := runState(tc.status); !ok || got != tc.want {
			t.Errorf("runState(%q) = %q, %v; want %q", tc.status, got, ok, tc.want)
		}
	}
	if got, ok := runState("CREATE VIEW"); ok {
		t.Errorf("runState(%q) = %q, want unknown", "CREATE VIEW", got)
	}
}

func TestCrawlResultStatuses(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/tests_with_failures"}})
	got := map[string]int{}
	for _, r := range h.Results {
		got[r.Status]++
		if r.Status == catalog.QualityFail && (r.Failures == nil || *r.Failures == 0 || r.Message == "") {
			t.Errorf("failed result without failures or message: %+v", r)
		}
	}
	if diff := cmp.Diff(map[string]int{"pass": 10, "fail": 4}, got); diff != "" {
		t.Errorf("result statuses (-want +got):\n%s", diff)
	}
}

// TestCrawlOwners checks the rule that tells people from teams.
func TestCrawlOwners(t *testing.T) {
	c := &crawler{cfg: Config{Teams: []string{"analytics"}}}
	for _, tc := range []struct {
		in   string
		want catalog.Owner
	}{
		{"alice@corp.example", catalog.Owner{Name: "alice@corp.example", Kind: catalog.OwnerUser, Type: "technical"}},
		{"Alice Smith", catalog.Owner{Name: "Alice Smith", Kind: catalog.OwnerUser, Type: "technical"}},
		{"team:finance", catalog.Owner{Name: "finance", Kind: catalog.OwnerTeam, Type: "technical"}},
		{"group: Ops", catalog.Owner{Name: "Ops", Kind: catalog.OwnerTeam, Type: "technical"}},
		{"data-team", catalog.Owner{Name: "data-team", Kind: catalog.OwnerTeam, Type: "technical"}},
		{"Growth Squad", catalog.Owner{Name: "Growth Squad", Kind: catalog.OwnerTeam, Type: "technical"}},
		{"analytics", catalog.Owner{Name: "analytics", Kind: catalog.OwnerTeam, Type: "technical"}},
		{"steam@corp.example", catalog.Owner{Name: "steam@corp.example", Kind: catalog.OwnerUser, Type: "technical"}},
		{"teamster", catalog.Owner{Name: "teamster", Kind: catalog.OwnerUser, Type: "technical"}},
	} {
		got, ok := c.ownerOf(tc.in)
		if !ok {
			t.Errorf("ownerOf(%q) rejected", tc.in)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ownerOf(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// copyTarget copies a testdata target directory to a temporary one, so
// that a test can damage it.
func copyTarget(t *testing.T, dir string) string {
	t.Helper()
	tmp := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// jaffleDatasets is how many datasets jaffle_shop_1.12 has: 19 relations
// of models, seeds and sources, 3 exports of saved queries, 6 semantic
// models and 23 metrics.
const jaffleDatasets = 19 + 3 + 6 + 23

func TestCrawlBadInput(t *testing.T) {
	manifest, err := os.ReadFile("testdata/jaffle_shop_1.12/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		// wantErr are patterns, each matching one crawl error, read as
		// "base name of the object: message".
		wantErr []string
		// datasets harvested despite the damage, and whether the harvest
		// may remove anything (scopes).
		wantDatasets int
		wantScopes   bool
		// wantCrawlErr: nothing could be read, the crawl fails.
		wantCrawlErr bool
	}{
		{
			name: "truncated manifest",
			damage: func(t *testing.T, dir string) {
				// Cut inside the nodes, after a few of them.
				cut := strings.Index(string(manifest), `"model.jaffle_shop.orders"`)
				write(t, dir, ManifestFile, manifest[:cut+200])
			},
			wantErr:      []string{`manifest.json: at byte \d+ in nodes\["model\.jaffle_shop\.\w+"\]: unexpected EOF; the \d+ nodes read before are harvested$`},
			wantDatasets: -1, // some
		},
		{
			name: "manifest of an unknown schema version",
			damage: func(t *testing.T, dir string) {
				write(t, dir, ManifestFile, []byte(strings.Replace(string(manifest), "manifest/v12.json", "manifest/v99.json", 1)))
			},
			wantErr:      []string{`manifest.json: metadata.dbt_schema_version "https://schemas\.getdbt\.com/dbt/manifest/v99\.json" is not a known manifest version \(v1 to v12\); read best effort$`},
			wantDatasets: jaffleDatasets, wantScopes: true,
		},
		{
			name:         "missing catalog.json",
			damage:       func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, CatalogFile)) },
			wantErr:      []string{`catalog.json: not found: column types are unknown`},
			wantDatasets: jaffleDatasets, wantScopes: true,
		},
		{
			name:         "truncated catalog.json",
			damage:       func(t *testing.T, dir string) { truncateFile(t, dir, CatalogFile, 3000) },
			wantErr:      []string{`catalog.json: at byte \d+ in nodes\["model\.jaffle_shop\.\w+"\]: unexpected EOF; column types of the nodes after it are unknown$`},
			wantDatasets: jaffleDatasets, wantScopes: true,
		},
		{
			name:         "truncated run_results.json",
			damage:       func(t *testing.T, dir string) { truncateFile(t, dir, RunResultsFile, 5000) },
			wantErr:      []string{`run_results.json: at byte \d+ in results\[\d+\]: unexpected EOF; the results before it are harvested$`},
			wantDatasets: jaffleDatasets, wantScopes: true,
		},
		{
			name: "a field of the wrong type",
			damage: func(t *testing.T, dir string) {
				write(t, dir, ManifestFile, []byte(strings.Replace(string(manifest), `"description": "Customer overview data mart`, `"description": 42, "x": "Customer overview data mart`, 1)))
			},
			wantErr:      []string{`manifest.json: nodes\["model\.jaffle_shop\.customers"\]: field description: want string, got number$`},
			wantDatasets: jaffleDatasets, wantScopes: true,
		},
		{
			name:         "not JSON",
			damage:       func(t *testing.T, dir string) { write(t, dir, ManifestFile, []byte("<html>502 Bad Gateway</html>")) },
			wantErr:      []string{`manifest.json: at byte 0: invalid character '<' looking for beginning of value$`},
			wantDatasets: 0, wantCrawlErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTarget(t, "testdata/jaffle_shop_1.12")
			tc.damage(t, dir)
			h, err := Crawl(context.Background(), Config{Source: "dbt:test", Namespace: warehouseNS, TargetDirs: []string{dir}})
			if (err != nil) != tc.wantCrawlErr {
				t.Fatalf("Crawl error = %v, want an error: %v", err, tc.wantCrawlErr)
			}
			var msgs []string
			for _, e := range h.Errors {
				msgs = append(msgs, filepath.Base(e.Object)+": "+e.Message)
			}
			for _, w := range tc.wantErr {
				re := regexp.MustCompile(w)
				if !slices.ContainsFunc(msgs, re.MatchString) {
					t.Errorf("no error matches %s; errors:\n%s", w, strings.Join(msgs, "\n"))
				}
			}
			if tc.wantDatasets >= 0 && len(h.Datasets) != tc.wantDatasets {
				t.Errorf("datasets = %d, want %d", len(h.Datasets), tc.wantDatasets)
			}
			if tc.wantDatasets < 0 && len(h.Datasets) == 0 {
				t.Error("nothing harvested before the damage")
			}
			if got := len(h.Scopes) > 0; got != tc.wantScopes || h.JobsComplete != tc.wantScopes {
				t.Errorf("scopes = %v, jobs complete %v; want both: %v (a damaged manifest must not remove anything)", h.Scopes, h.JobsComplete, tc.wantScopes)
			}
		})
	}
}

func write(t *testing.T, dir, file string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateFile(t *testing.T, dir, file string, n int) {
	t.Helper()
	if err := os.Truncate(filepath.Join(dir, file), int64(n)); err != nil {
		t.Fatal(err)
	}
}

func TestCrawlConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Namespace: warehouseNS, TargetDirs: []string{"testdata/pagila"}},
		{Source: "dbt:x", TargetDirs: []string{"testdata/pagila"}},
		{Source: "dbt:x", Namespace: warehouseNS},
		{Source: "dbt:x", Namespace: warehouseNS, TargetDirs: []string{"testdata/nowhere"}},
	} {
		if _, err := Crawl(context.Background(), cfg); err == nil {
			t.Errorf("Crawl(%+v) succeeded", cfg)
		}
	}
}

func TestCrawlDatabaseOverride(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/manifest_v1"}, Database: "dwh"})
	if len(h.Datasets) == 0 {
		t.Fatal("no datasets")
	}
	for _, d := range h.Datasets {
		if !strings.HasPrefix(d.Key.Name, "dwh.PUBLIC.") {
			t.Errorf("dataset %s not in database dwh", d.Key.Name)
		}
	}
}

// TestCrawlSLOs reads the SLOs a model declares in meta.slo (one mapping
// or a list, in meta or config.meta): valid ones become the model's slo
// property, invalid ones a warning naming the node and the key.
func TestCrawlSLOs(t *testing.T) {
	dir := copyTarget(t, "testdata/tests_with_failures")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	nodes := m["nodes"].(map[string]any)
	first := nodes["model.dbt_bigquery_test.test_first_dbt_model"].(map[string]any)
	first["meta"] = map[string]any{"slo": []any{
		map[string]any{"name": "fresh", "kind": "freshness", "max_age": "6h"},
		map[string]any{"name": "by nine", "kind": "on_time", "deadline": "09:00", "time_zone": "Europe/Berlin", "objective": 0.995},
		map[string]any{"name": "too good", "kind": "quality", "objective": "100%"},
		map[string]any{"name": "no age", "kind": "freshness"},
		map[string]any{"name": "daily within 2h", "kind": "on_time", "after_nominal": "2h", "objective": "90%"},
		map[string]any{"name": "daily, soon", "kind": "on_time", "after_nominal": "soon"},
	}}
	second := nodes["model.dbt_bigquery_test.test_second_dbt_model"].(map[string]any)
	second["config"].(map[string]any)["meta"] = map[string]any{"slo": map[string]any{"name": "rows", "kind": "volume", "min": 10}}
	third := nodes["model.dbt_bigquery_test.test_third_dbt_model"].(map[string]any)
	third["meta"] = map[string]any{"slo": "daily"}
	b, _ = json.Marshal(m)
	write(t, dir, "manifest.json", b)

	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	props := map[string]string{}
	for _, d := range h.Datasets {
		if p := d.Properties[PropSLO]; p != "" {
			props[d.Properties[PropUniqueID]] = p
		}
	}
	want := map[string]string{
		"model.dbt_bigquery_test.test_first_dbt_model": `[{"name":"fresh","kind":"freshness","max_age":"6h"},` +
			`{"name":"by nine","kind":"on_time","objective":"0.995","deadline":"09:00","time_zone":"Europe/Berlin"},` +
			`{"name":"daily within 2h","kind":"on_time","objective":"90%","after_nominal":"2h"}]`,
		"model.dbt_bigquery_test.test_second_dbt_model": `[{"name":"rows","kind":"volume","min":"10"}]`,
	}
	if diff := cmp.Diff(want, props); diff != "" {
		t.Errorf("slo properties (-want +got):\n%s", diff)
	}
	var warnings []string
	for _, e := range h.Errors {
		if strings.Contains(e.Message, "slo") {
			warnings = append(warnings, e.Object+": "+e.Message)
		}
	}
	wantWarnings := []string{
		`model.dbt_bigquery_test.test_first_dbt_model: meta.slo[2].objective: objective "100%": want more than 0 % and less than 100 %; skipped`,
		`model.dbt_bigquery_test.test_first_dbt_model: meta.slo[3].max_age: freshness: max age 0s: want a positive duration; skipped`,
		`model.dbt_bigquery_test.test_first_dbt_model: meta.slo[5].after_nominal: duration "soon": want such as 28d, 4w, 1d12h or 90m; skipped`,
		`model.dbt_bigquery_test.test_third_dbt_model: meta.slo: want a mapping or a list of mappings of name, kind, objective, window…: json: cannot unmarshal string into Go value of type slo.Declaration`,
	}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
