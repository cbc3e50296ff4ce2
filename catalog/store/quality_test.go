package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/store"
)

const jobNS = "dbt"

// lineageHarvest is the warehouse with a job writing big_orders from
// orders, an exposure reading it, a check with results and a freshness
// observation.
func lineageHarvest(runID string, observed time.Time) catalog.Harvest {
	ten := int64(10)
	return catalog.Harvest{
		Datasets: warehouse(),
		Scopes:   []catalog.Scope{{Namespace: ns, Prefix: "shop."}, {Namespace: jobNS}},
		Jobs: []catalog.JobFacts{
			{
				Key: catalog.JobKey{Namespace: jobNS, Name: "model.shop.big_orders"}, Type: catalog.JobDBTModel,
				SQL: "select * from {{ ref('orders') }}", CompiledSQL: "select * from shop.public.orders",
				Inputs:  []catalog.Key{key("shop.public.orders"), key("shop.public.customers"), key("shop.public.orders")},
				Outputs: []catalog.Key{key("shop.public.big_orders")},
			},
			{
				Key: catalog.JobKey{Namespace: jobNS, Name: "exposure.shop.revenue"}, Type: catalog.JobDBTExposure,
				Properties: map[string]string{"url": "https://bi/revenue"},
				Inputs:     []catalog.Key{key("shop.public.big_orders")},
			},
		},
		Checks: []catalog.QualityCheck{
			{Dataset: key("shop.public.orders"), Column: "id", Name: "test.shop.unique_orders_id", Type: "unique", Severity: "error", Definition: "select 1"},
			{Dataset: key("shop.public.orders"), Name: "test.shop.orders_rowcount", Type: "custom", Severity: "warn"},
		},
		Results: []catalog.QualityResult{
			{Check: "test.shop.unique_orders_id", Dataset: key("shop.public.orders"), Status: catalog.QualityFail, Failures: &ten,
				Message: "Got 10 results", StartedAt: observed, Duration: 1500 * time.Millisecond, RunID: runID},
		},
		Freshness: []catalog.FreshnessObservation{
			{Dataset: key("shop.public.orders"), ObservedAt: observed, MaxLoadedAt: &observed, Status: catalog.FreshnessWarn,
				WarnAfter: "12 hour", ErrorAfter: "1 day", RunID: runID},
		},
	}
}

func crawlHarvest(t *testing.T, st interface {
	Crawl(context.Context, string, func(context.Context) (catalog.Harvest, error)) (catalog.CrawlRun, error)
}, h catalog.Harvest) catalog.CrawlRun {
	t.Helper()
	run, err := st.Crawl(context.Background(), "dbt:shop", func(context.Context) (catalog.Harvest, error) { return h, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Errors) > 0 {
		t.Fatalf("crawl errors: %v", run.Errors)
	}
	return run
}

// qualitySnapshot extends snapshot with the lineage and quality tables.
func qualitySnapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	s := snapshot(t, pool)
	for _, table := range []string{"jobs", "job_facts", "job_io", "quality_checks", "quality_results", "freshness_observations"} {
		var rows string
		err := pool.QueryRow(context.Background(),
			`SELECT coalesce(string_agg(x::text || '|' || x.xmin::text, E'\n' ORDER BY x::text), '') FROM `+table+` x`).Scan(&rows)
		if err != nil {
			t.Fatal(err)
		}
		s += table + ":\n" + rows + "\n"
	}
	return s
}

func TestIngestJobsChecksResultsFreshness(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	at := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

	run := crawlHarvest(t, st, lineageHarvest("run-1", at))
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 3, Created: 3, Columns: 6, Jobs: 2, Checks: 2, Results: 1, Freshness: 1}, run.Counts); diff != "" {
		t.Errorf("first crawl counts (-want +got):\n%s", diff)
	}

	// Unchanged: nothing written at all.
	before := qualitySnapshot(t, pool)
	run = crawlHarvest(t, st, lineageHarvest("run-1", at))
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 3, Unchanged: 3, Columns: 6, Jobs: 2, Checks: 2}, run.Counts); diff != "" {
		t.Errorf("unchanged crawl counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, qualitySnapshot(t, pool)); diff != "" {
		t.Errorf("an unchanged crawl wrote rows (-before +after):\n%s", diff)
	}

	// Lineage around big_orders.
	jobs := datasetJobs(t, st, key("shop.public.big_orders"))
	if diff := cmp.Diff([]catalog.Key{key("shop.public.customers"), key("shop.public.orders")}, jobs.Upstream()); diff != "" {
		t.Errorf("upstream (-want +got):\n%s", diff)
	}
	if len(jobs.Producers) != 1 || jobs.Producers[0].CompiledSQL != "select * from shop.public.orders" || jobs.Producers[0].Sources[0].Source != "dbt:shop" {
		t.Errorf("producers = %+v", jobs.Producers)
	}
	if len(jobs.Consumers) != 1 || jobs.Consumers[0].Type != catalog.JobDBTExposure || jobs.Consumers[0].Properties["url"] != "https://bi/revenue" {
		t.Errorf("consumers = %+v", jobs.Consumers)
	}
	if len(jobs.Downstream()) != 0 {
		t.Errorf("an exposure has no outputs, downstream = %v", jobs.Downstream())
	}
	up := datasetJobs(t, st, key("shop.public.orders"))
	if diff := cmp.Diff([]catalog.Key{key("shop.public.big_orders")}, up.Downstream()); diff != "" {
		t.Errorf("downstream of orders (-want +got):\n%s", diff)
	}

	// Checks with their latest result.
	checksOf, err := st.ChecksOf(ctx, []catalog.Key{key("shop.public.orders")})
	checks := checksOf[key("shop.public.orders")]
	if err != nil {
		t.Fatal(err)
	}
	ten := int64(10)
	want := []catalog.SourceCheck{
		{QualityCheck: catalog.QualityCheck{Dataset: key("shop.public.orders"), Name: "test.shop.orders_rowcount", Type: "custom", Severity: "warn", Properties: map[string]string{}}, Source: "dbt:shop"},
		{QualityCheck: catalog.QualityCheck{Dataset: key("shop.public.orders"), Column: "id", Name: "test.shop.unique_orders_id", Type: "unique", Severity: "error", Definition: "select 1", Properties: map[string]string{}}, Source: "dbt:shop",
			Latest: &catalog.QualityResult{Check: "test.shop.unique_orders_id", Dataset: key("shop.public.orders"), Status: "fail", Failures: &ten, Message: "Got 10 results",
				StartedAt: at.Truncate(time.Microsecond), Duration: 1500 * time.Millisecond, RunID: "run-1"}},
	}
	opts := cmp.Options{cmpopts.IgnoreFields(catalog.SourceCheck{}, "UpdatedAt"), cmpopts.EquateApproxTime(0)}
	if diff := cmp.Diff(want, checks, opts); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}

	// A second run appends history; the check that went is marked removed.
	h := lineageHarvest("run-2", at.Add(time.Hour))
	h.Checks = h.Checks[:1]
	h.Results[0].Status, h.Results[0].Failures, h.Results[0].Message = catalog.QualityPass, nil, ""
	h.Jobs = h.Jobs[:1]
	run = crawlHarvest(t, st, h)
	if run.Counts.Results != 1 || run.Counts.Freshness != 1 {
		t.Errorf("second run counts = %+v, want 1 result and 1 observation", run.Counts)
	}
	var statuses []string
	if err := pool.QueryRow(ctx, `
		SELECT array_agg(run_id || ':' || status ORDER BY started_at DESC) FROM quality_results
		WHERE source = 'dbt:shop' AND check_name = 'test.shop.unique_orders_id'`).Scan(&statuses); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"run-2:pass", "run-1:fail"}, statuses); diff != "" {
		t.Errorf("result history (-want +got):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM quality_results WHERE dataset_namespace = $1 AND dataset_name = $2`, ns, "shop.public.orders"); n != 2 {
		t.Errorf("results of orders = %d, want 2", n)
	}
	checksOf, err = st.ChecksOf(ctx, []catalog.Key{key("shop.public.orders")})
	checks = checksOf[key("shop.public.orders")]
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 2 || checks[0].RemovedAt == nil || checks[1].RemovedAt != nil || checks[1].Latest.RunID != "run-2" {
		t.Errorf("after the second run, checks = %+v", checks)
	}
	fp := store.FreshnessPage{Dataset: key("shop.public.orders"), Limit: 10}
	pages, err := st.FreshnessPages(ctx, []store.FreshnessPage{fp})
	fresh := pages[fp]
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 2 || !fresh[0].Value.ObservedAt.Equal(at.Add(time.Hour).Truncate(time.Microsecond)) || fresh[1].Value.WarnAfter != "12 hour" {
		t.Errorf("freshness history = %+v", fresh)
	}
	exposure := jobs.Consumers[0].Key
	kept, err := st.JobsByKeys(ctx, []catalog.JobKey{exposure})
	if err != nil {
		t.Fatal(err)
	}
	if kept[exposure] == nil || kept[exposure].RemovedAt == nil {
		t.Errorf("the exposure no longer reported must be kept as removed, got %+v", kept[exposure])
	}
	if around := datasetJobs(t, st, key("shop.public.big_orders")); len(around.Consumers) != 0 {
		t.Errorf("a removed job still reads big_orders: consumers = %+v", around.Consumers)
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE entity = 'job' AND kind = 'removed'`); n != 1 {
		t.Errorf("job removed entries = %d, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE entity = 'dataset' AND kind = 'quality' AND name = 'shop.public.orders'`); n != 2 {
		t.Errorf("quality entries on orders = %d, want 2 (one per run that changed something)", n)
	}
}

func TestIngestQualityInvalidItemsAreErrors(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	h := catalog.Harvest{
		Jobs:      []catalog.JobFacts{{Key: catalog.JobKey{Namespace: jobNS, Name: "j"}}},                   // no type
		Checks:    []catalog.QualityCheck{{Name: "c"}},                                                      // no dataset
		Results:   []catalog.QualityResult{{Check: "c", Dataset: key("x"), Status: "exploded", RunID: "r"}}, // bad status
		Freshness: []catalog.FreshnessObservation{{Dataset: key("x"), Status: catalog.FreshnessPass}},       // no time
	}
	run, err := st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) { return h, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Errors) != 4 || run.Status != catalog.CrawlPartial {
		t.Errorf("status %s, errors %v: want 4 errors, partial", run.Status, run.Errors)
	}
	if n := count(t, pool, `SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM quality_checks) + (SELECT count(*) FROM quality_results) + (SELECT count(*) FROM freshness_observations)`); n != 0 {
		t.Errorf("invalid items wrote %d rows", n)
	}
}

// datasetJobs reads the jobs around the dataset key as the portal does:
// the keys of the jobs its live sources say write or read it, then the
// jobs, merged.
func datasetJobs(t *testing.T, st *store.Store, key catalog.Key) catalog.DatasetJobs {
	t.Helper()
	ctx := context.Background()
	around, err := st.JobsOfDatasets(ctx, []catalog.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	a := around[key]
	jobs, err := st.JobsByKeys(ctx, append(slices.Clone(a.Producers), a.Consumers...))
	if err != nil {
		t.Fatal(err)
	}
	var d catalog.DatasetJobs
	for _, k := range a.Producers {
		d.Producers = append(d.Producers, *jobs[k])
	}
	for _, k := range a.Consumers {
		d.Consumers = append(d.Consumers, *jobs[k])
	}
	return d
}
