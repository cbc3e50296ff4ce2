package dbt_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

const warehouseNS = "postgres://warehouse.internal:5432"

func crawlInto(t *testing.T, st *store.Store, cfg dbt.Config) catalog.CrawlRun {
	t.Helper()
	run, err := st.Crawl(context.Background(), cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return dbt.Crawl(ctx, cfg) })
	if err != nil {
		t.Fatalf("crawl %v: %v", cfg.TargetDirs, err)
	}
	return run
}

// TestIngestFixtures ingests every dbt fixture and counts what the catalog
// then holds: datasets, columns, checks, results, freshness observations,
// jobs and lineage edges (job inputs).
func TestIngestFixtures(t *testing.T) {
	type counts struct {
		Datasets, Columns, Jobs, Edges, Checks, Results, Freshness, Runs int
	}
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	for _, tc := range []struct {
		dir  string
		want counts
	}{
		// In the warehouse namespace, 19 relations and 3 exports of saved
		// queries; the semantic models and metrics are in the job namespace.
		{"jaffle_shop_1.12", counts{Datasets: 22, Columns: 112, Jobs: 51, Edges: 61, Checks: 30}},
		{"jaffle_shop_v7", counts{Datasets: 8, Columns: 21, Jobs: 8, Edges: 8, Checks: 20}},
		{"tests_with_failures", counts{Datasets: 6, Columns: 5, Jobs: 4, Edges: 4, Checks: 14, Results: 14}},
		{"manifest_v1", counts{Datasets: 6, Columns: 28, Jobs: 6, Edges: 4, Checks: 6}},
		{"pagila", counts{Datasets: 15, Columns: 3, Jobs: 4, Edges: 10, Checks: 5, Results: 5, Freshness: 12, Runs: 3}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			// Each fixture is a source of its own, in a namespace of its own.
			ns := "postgres://" + strings.ReplaceAll(tc.dir, "_", "-") + ":5432"
			src := "dbt:" + tc.dir
			cfg := dbt.Config{Source: src, Namespace: ns, JobNamespace: "dbt://" + tc.dir, TargetDirs: []string{filepath.Join("testdata", tc.dir)}}
			run := crawlInto(t, st, cfg)
			if run.Status == catalog.CrawlFailed {
				t.Fatalf("run failed: %v", run.Errors)
			}
			var got counts
			err := pool.QueryRow(context.Background(), `
				SELECT (SELECT count(*) FROM datasets WHERE namespace = $1),
				       (SELECT count(*) FROM columns c JOIN datasets d ON d.id = c.dataset_id WHERE d.namespace = $1),
				       (SELECT count(*) FROM job_facts WHERE source = $2),
				       (SELECT count(*) FROM job_io WHERE source = $2 AND direction = 'in'),
				       (SELECT count(*) FROM quality_checks WHERE source = $2),
				       (SELECT count(*) FROM quality_results WHERE source = $2),
				       (SELECT count(*) FROM freshness_observations WHERE source = $2),
				       (SELECT count(*) FROM runs WHERE source = $2)`, ns, src).
				Scan(&got.Datasets, &got.Columns, &got.Jobs, &got.Edges, &got.Checks, &got.Results, &got.Freshness, &got.Runs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("catalog after ingesting %s (-want +got):\n%s", tc.dir, diff)
			}
			// A second crawl of the same artifacts changes nothing.
			var before int64
			if err := pool.QueryRow(context.Background(), `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			run = crawlInto(t, st, cfg)
			if run.Counts.Created+run.Counts.Updated+run.Counts.Results+run.Counts.Freshness+run.Counts.Runs != 0 {
				t.Errorf("second crawl counts = %+v, want nothing new", run.Counts)
			}
			var after int64
			if err := pool.QueryRow(context.Background(), `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("second crawl appended %d change log entries", after-before)
			}
		})
	}
}

// TestMergeWithPostgres crawls a PostgreSQL warehouse holding two of
// jaffle_shop's relations, then the dbt project that builds them, into one
// catalog: each relation is one dataset, with types from PostgreSQL and
// descriptions from dbt, and dbt's lineage points at PostgreSQL's datasets.
func TestMergeWithPostgres(t *testing.T) {
	ctx := context.Background()
	whURL := pgtest.EmptyDB(t)
	conn, err := pgx.Connect(ctx, whURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `
		CREATE SCHEMA main;
		CREATE TABLE main.customers (
			customer_id text PRIMARY KEY,
			customer_name text,
			count_lifetime_orders bigint NOT NULL
		);
		COMMENT ON TABLE main.customers IS 'table comment in postgres';
		COMMENT ON COLUMN main.customers.customer_name IS 'column comment in postgres';
		CREATE SCHEMA raw;
		CREATE TABLE raw.raw_customers (id text, name text);`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(whURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")

	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	pgCfg := postgres.Config{Source: "postgres:warehouse", URL: whURL, Namespace: warehouseNS}
	if _, err := st.Crawl(ctx, pgCfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return postgres.Crawl(ctx, pgCfg) }); err != nil {
		t.Fatal(err)
	}
	crawlInto(t, st, dbt.Config{Source: "dbt:jaffle", Namespace: warehouseNS, Database: db, TargetDirs: []string{"testdata/jaffle_shop_1.12"}})

	key := catalog.Key{Namespace: warehouseNS, Name: db + ".main.customers"}
	d, err := readDataset(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, f := range d.Sources {
		sources = append(sources, f.Source)
	}
	if diff := cmp.Diff([]string{"dbt:jaffle", "postgres:warehouse"}, sources); diff != "" {
		t.Errorf("sources of %s (-want +got):\n%s", key, diff)
	}
	if d.Platform != "postgres" || d.Kind != catalog.KindTable {
		t.Errorf("platform, kind = %s, %s; want postgres, table (structure from the warehouse)", d.Platform, d.Kind)
	}
	if d.DescriptionSource != "dbt:jaffle" || !strings.HasPrefix(d.Description, "Customer overview data mart") {
		t.Errorf("description %q from %s; want dbt's", d.Description, d.DescriptionSource)
	}
	type col struct{ Name, Type, TypeSource, Description, DescriptionSource string }
	var got []col
	for _, c := range d.Columns[:3] {
		got = append(got, col{c.Name, c.Type, c.TypeSource, c.Description, c.DescriptionSource})
	}
	want := []col{
		{"customer_id", "text", "postgres:warehouse", "The unique key of the orders mart.", "dbt:jaffle"},
		{"customer_name", "text", "postgres:warehouse", "Customers' full name.", "dbt:jaffle"},
		{"count_lifetime_orders", "bigint", "postgres:warehouse", "Total number of orders a customer has ever placed.", "dbt:jaffle"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged columns (-want +got):\n%s", diff)
	}

	// One dataset per relation: dbt added only the relations PostgreSQL
	// does not have, under the same namespace and database.
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM datasets WHERE namespace = $1 AND name LIKE $2`, warehouseNS, db+".%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 22 {
		t.Errorf("datasets in %s = %d, want 22 (the 2 of PostgreSQL merged with dbt's 19, and 3 exports of saved queries)", db, n)
	}

	// Lineage: raw_customers (seed and source) → stg_customers → customers.
	jobs := datasetJobs(t, st, catalog.Key{Namespace: warehouseNS, Name: db + ".main.stg_customers"})
	if diff := cmp.Diff([]catalog.Key{{Namespace: warehouseNS, Name: db + ".raw.raw_customers"}}, jobs.Upstream()); diff != "" {
		t.Errorf("upstream of stg_customers (-want +got):\n%s", diff)
	}
	checksOf, err := st.ChecksOf(ctx, []catalog.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	checks := checksOf[key]
	// Its run_results.json is dbt docs generate's: no results.
	if len(checks) == 0 || checks[0].Latest != nil {
		t.Errorf("checks of customers = %s", fmt.Sprint(checks))
	}
}

// TestIngestRuns: the job of a snapshot that failed has a latest run, FAIL
// with dbt's message, and the job of the seed skipped after it one that
// was aborted.
func TestIngestRuns(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := dbt.Config{Source: "dbt:pagila", Namespace: warehouseNS, TargetDirs: []string{"testdata/pagila"}}
	if run := crawlInto(t, st, cfg); run.Counts.Runs != 3 {
		t.Errorf("runs recorded = %d, want 3", run.Counts.Runs)
	}
	ns := dbt.DefaultJobNamespace(cfg.Source)
	snapshot := catalog.JobKey{Namespace: ns, Name: "pagila.analytics.sample_dbt.customer_snapshot.snapshot"}
	seed := catalog.JobKey{Namespace: ns, Name: "pagila.analytics.seed.sample_dbt.country_codes"}
	model := catalog.JobKey{Namespace: ns, Name: "pagila.analytics.sample_dbt.customer_payments"}
	latest, err := st.LatestRuns(ctx, []catalog.JobKey{snapshot, seed, model})
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		State   catalog.RunState
		Message string
		Seconds float64
	}
	got := map[string]state{}
	for k, r := range latest {
		got[k.Name] = state{r.State, r.ErrorMessage, r.Duration().Seconds()}
	}
	want := map[string]state{
		snapshot.Name: {catalog.RunFail, "Database Error in snapshot customer_snapshot (snapshots/customer_snapshot.sql)\n  column \"updated_at\" does not exist", 0.6},
		seed.Name:     {catalog.RunAbort, "", 0},
		model.Name:    {catalog.RunComplete, "", 1},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("latest runs (-want +got):\n%s", diff)
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

// TestTestsWithFailuresHealth ingests dbt tests that fail and checks what
// listings and SLOs read of them: the failing checks per dataset, and a
// quality SLO over them that is breached.
func TestTestsWithFailuresHealth(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := dbt.Config{Source: "dbt:failures", Namespace: warehouseNS, TargetDirs: []string{"testdata/tests_with_failures"}}
	crawlInto(t, st, cfg)
	var keys []catalog.Key
	rows, err := pool.Query(ctx, `SELECT namespace, name FROM datasets ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var k catalog.Key
	if _, err := pgx.ForEachRow(rows, []any{&k.Namespace, &k.Name}, func() error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	health, err := st.QualityHealths(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	var failing, checks int
	var worst catalog.Key
	for k, h := range health {
		checks += h.Checks
		failing += h.Failing + h.Warning
		if h.Failing > health[worst].Failing {
			worst = k
		}
	}
	// The fixture's 14 tests all ran; some fail or warn.
	if checks != 14 || failing == 0 {
		t.Fatalf("health = %+v: %d checks, %d not passing; want 14 checks, some failing", health, checks, failing)
	}
	// A quality SLO on the dataset with most failures, evaluated at the
	// time of the run, is breached.
	var at time.Time
	if err := pool.QueryRow(ctx, `SELECT max(started_at) FROM quality_results`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	declared := []slo.SLO{{Name: "tests pass", Dataset: worst, Source: "config",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.99, Window: 7 * 24 * time.Hour}}}
	got, err := st.DatasetSLOs(ctx, []catalog.Key{worst}, declared, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r := got[worst]; len(r) != 1 || r[0].Report.Status != slo.StatusBreached {
		t.Errorf("slo on %s = %+v, want breached", worst, r)
	}
}
