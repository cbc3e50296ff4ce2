package graph_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// fixtureNS is the namespace of the fixture catalog; the examples in
// docs/graphql and the README name its datasets.
const fixtureNS = "postgres://warehouse.demo:5432"

func fkey(name string) catalog.Key { return catalog.Key{Namespace: fixtureNS, Name: name} }

func ptr[T any](v T) *T { return &v }

// warehouse is what the postgres source reports: tables with keys, a view
// and a partitioned table.
func warehouse() []catalog.DatasetFacts {
	return []catalog.DatasetFacts{
		{
			Key: fkey("warehouse.marts.customers"), Platform: "postgres", Kind: catalog.KindTable,
			Description: "One row per customer.", RowEstimate: ptr[int64](1200), SizeBytes: ptr[int64](262144),
			Properties: map[string]string{"tablespace": "pg_default"},
			Columns: []catalog.Column{
				{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
				{Name: "email", Ordinal: 2, Type: "text", Nullable: true, Description: "Email address."},
				{Name: "country", Ordinal: 3, Type: "text", Nullable: true},
			},
			Owners: []catalog.Owner{{Name: "analytics_owner", Kind: catalog.OwnerRole, Type: "technical"}},
		},
		{
			Key: fkey("warehouse.marts.orders"), Platform: "postgres", Kind: catalog.KindTable,
			Description: "Orders placed in the shop.", RowEstimate: ptr[int64](50000), SizeBytes: ptr[int64](8388608),
			Columns: []catalog.Column{
				{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
				{Name: "customer_id", Ordinal: 2, Type: "bigint"},
				{Name: "amount", Ordinal: 3, Type: "numeric(12,2)", Default: "0"},
				{Name: "placed_at", Ordinal: 4, Type: "timestamptz"},
			},
			ForeignKeys: []catalog.ForeignKey{{Name: "orders_customer_fk", Columns: []string{"customer_id"}, Target: fkey("warehouse.marts.customers"), TargetCol: []string{"id"}}},
			Owners:      []catalog.Owner{{Name: "analytics_owner", Kind: catalog.OwnerRole, Type: "technical"}},
		},
		{
			Key: fkey("warehouse.marts.big_orders"), Platform: "postgres", Kind: catalog.KindView,
			Definition: "SELECT * FROM marts.orders WHERE amount > 100",
			Columns:    []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint", Nullable: true}, {Name: "amount", Ordinal: 2, Type: "numeric(12,2)", Nullable: true}},
		},
		{
			Key: fkey("warehouse.finance.revenue"), Platform: "postgres", Kind: catalog.KindPartitioned,
			Description: "Revenue by day.", PartitionKey: "RANGE (day)",
			Partitions: []catalog.Partition{{Name: "finance.revenue_2025", Bound: "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"}},
			Columns:    []catalog.Column{{Name: "day", Ordinal: 1, Type: "date"}, {Name: "amount", Ordinal: 2, Type: "numeric"}},
			Owners:     []catalog.Owner{{Name: "finance_owner", Kind: catalog.OwnerRole, Type: "technical"}},
		},
		{
			Key: fkey("warehouse.staging.stg_orders"), Platform: "postgres", Kind: catalog.KindView,
			Definition: "SELECT * FROM raw.orders",
			Columns:    []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint", Nullable: true}},
		},
	}
}

// dbt documents and tags two of the tables.
func dbt() []catalog.DatasetFacts {
	return []catalog.DatasetFacts{
		{
			Key: fkey("warehouse.marts.customers"), Platform: "dbt", Kind: catalog.KindModel,
			Description: "Customers who ordered at least once (dbt).",
			Columns:     []catalog.Column{{Name: "email", Description: "Lower-cased contact address."}},
			Owners:      []catalog.Owner{{Name: "bob@corp", Kind: catalog.OwnerUser, Type: "business"}},
			Tags:        []string{"core", "pii"},
		},
		{
			Key: fkey("warehouse.marts.orders"), Platform: "dbt", Kind: catalog.KindModel,
			Owners: []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam, Type: "business"}},
			Tags:   []string{"core"},
		},
	}
}

// fixtureColumnLineage is what dbt says of the columns of its two models:
// orders joins stg_orders to customers, revenue sums orders by day
// without the orders of test customers.
func fixtureColumnLineage() []catalog.ColumnLineage {
	orders, revenue := fkey("warehouse.marts.orders"), fkey("warehouse.finance.revenue")
	cl := func(out catalog.Key, col string, in catalog.Key, inCol, typ, sub string) catalog.ColumnLineage {
		return catalog.ColumnLineage{Output: out, Column: col, Input: in, InputColumn: inCol, Type: typ, Subtype: sub}
	}
	return []catalog.ColumnLineage{
		cl(orders, "id", fkey("warehouse.staging.stg_orders"), "id", "DIRECT", "IDENTITY"),
		cl(orders, "id", fkey("warehouse.marts.customers"), "id", "INDIRECT", "JOIN"),
		cl(orders, "customer_id", fkey("warehouse.marts.customers"), "id", "DIRECT", "IDENTITY"),
		cl(revenue, "amount", orders, "amount", "DIRECT", "AGGREGATION"),
		cl(revenue, "amount", orders, "customer_id", "INDIRECT", "FILTER"),
		cl(revenue, "day", orders, "ordered_at", "DIRECT", "TRANSFORMATION"),
	}
}

func crawl(ctx context.Context, t testing.TB, st *store.Store, source string, ds []catalog.DatasetFacts, crawlErrs ...catalog.CrawlError) {
	t.Helper()
	_, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: ds, Errors: crawlErrs, Scopes: []catalog.Scope{{Namespace: fixtureNS}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fixtureTime is when the fixture's quality checks ran.
var fixtureTime = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)

// Jobs of the fixture: the dbt models, and the Airflow DAG that runs them.
var (
	ordersJob  = catalog.JobKey{Namespace: "dbt", Name: "model.analytics.orders"}
	revenueJob = catalog.JobKey{Namespace: "dbt", Name: "model.analytics.revenue"}
	dagJob     = catalog.JobKey{Namespace: "airflow://prod", Name: "analytics_daily"}
)

// fixturePush is what Airflow reported over OpenLineage: two daily DAG
// runs, each running the orders model then the revenue model; the revenue
// model failed today.
func fixturePush() catalog.Push {
	// Day 0 is yesterday (October 31), day 1 today, as fixtureTime.
	at := func(day, h, m int) *time.Time {
		t := time.Date(2026, 10, 31, h, m, 0, 0, time.UTC).AddDate(0, 0, day)
		return &t
	}
	run := func(id string, job catalog.JobKey, state catalog.RunState, day, startMin, endMin int, parent string) catalog.Run {
		r := catalog.Run{ID: id, Job: job, State: state, StartedAt: at(day, 5, startMin), EndedAt: at(day, 5, endMin), StateAt: *at(day, 5, endMin),
			ParentID: parent, NominalStart: at(day, 5, 0), NominalEnd: at(day+1, 5, 0)}
		if parent != "" {
			r.ParentJob = dagJob
		}
		return r
	}
	fail := run("8c6d0b1e-0002-4000-8000-000000000003", revenueJob, catalog.RunFail, 1, 12, 13, "8c6d0b1e-0002-4000-8000-000000000001")
	fail.ErrorMessage = `division by zero in model revenue (models/revenue.sql)`
	return catalog.Push{
		Source: catalog.SourceOpenLineage,
		Jobs: []catalog.JobUpdate{{Job: catalog.JobFacts{Key: dagJob, Type: "airflow_dag", Description: "Builds the analytics marts every morning.",
			Properties: map[string]string{"sourceCodeLocation": "https://git.corp/analytics/dags/daily.py"}}, Asserts: catalog.FacetJobType | catalog.FacetDescription}},
		Runs: []catalog.Run{
			run("8c6d0b1e-0001-4000-8000-000000000001", dagJob, catalog.RunComplete, 0, 0, 20, ""),
			run("8c6d0b1e-0001-4000-8000-000000000002", ordersJob, catalog.RunComplete, 0, 1, 9, "8c6d0b1e-0001-4000-8000-000000000001"),
			run("8c6d0b1e-0001-4000-8000-000000000003", revenueJob, catalog.RunComplete, 0, 10, 18, "8c6d0b1e-0001-4000-8000-000000000001"),
			run("8c6d0b1e-0002-4000-8000-000000000001", dagJob, catalog.RunFail, 1, 0, 14, ""),
			run("8c6d0b1e-0002-4000-8000-000000000002", ordersJob, catalog.RunComplete, 1, 1, 11, "8c6d0b1e-0002-4000-8000-000000000001"),
			fail,
		},
	}
}

// buildFixture fills a fresh catalog: two crawls of the warehouse (the
// second changes the orders table's columns, so it has schema history, and
// drops stg_orders, so it is removed), one of dbt, one that failed, the
// runs Airflow reported, and edits by alice.
func buildFixture(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.RegisterSource(ctx, store.Source{Name: "postgres:demo", Type: "postgres", Namespace: fixtureNS, Schedule: "@hourly"}); err != nil {
		t.Fatal(err)
	}
	crawl(ctx, t, st, "postgres:demo", warehouse())
	ds := warehouse()
	orders := &ds[1]
	orders.Columns = append(orders.Columns[:2:2], // amount retyped, placed_at renamed, status added
		catalog.Column{Name: "amount", Ordinal: 3, Type: "numeric(14,2)", Default: "0"},
		catalog.Column{Name: "ordered_at", Ordinal: 4, Type: "timestamptz"},
		catalog.Column{Name: "status", Ordinal: 5, Type: "text", Nullable: true},
	)
	crawl(ctx, t, st, "postgres:demo", ds[:4], catalog.CrawlError{Object: "warehouse.raw.events", Message: "permission denied for table events"})
	_, err := st.Crawl(ctx, "dbt:analytics", func(context.Context) (catalog.Harvest, error) {
		orders := fkey("warehouse.marts.orders")
		return catalog.Harvest{
			Datasets: dbt(), Scopes: []catalog.Scope{{Namespace: fixtureNS}},
			Jobs: []catalog.JobFacts{
				{Key: catalog.JobKey{Namespace: "dbt", Name: "model.analytics.orders"}, Type: "dbt_model",
					Inputs: []catalog.Key{fkey("warehouse.staging.stg_orders"), fkey("warehouse.marts.customers")}, Outputs: []catalog.Key{orders}},
				{Key: catalog.JobKey{Namespace: "dbt", Name: "model.analytics.revenue"}, Type: "dbt_model",
					Inputs: []catalog.Key{orders}, Outputs: []catalog.Key{fkey("warehouse.finance.revenue")}},
			},
			ColumnLineage: fixtureColumnLineage(),
			Checks: []catalog.QualityCheck{
				{Dataset: orders, Column: "id", Name: "test.unique_orders_id", Type: "unique", Severity: "error"},
				{Dataset: orders, Column: "amount", Name: "test.not_null_orders_amount", Type: "not_null", Severity: "warn"},
			},
			Results: []catalog.QualityResult{
				{Check: "test.unique_orders_id", Dataset: orders, Status: catalog.QualityPass, StartedAt: fixtureTime, Duration: 1500 * time.Millisecond, RunID: "run-1"},
				{Check: "test.not_null_orders_amount", Dataset: orders, Status: catalog.QualityFail, Failures: ptr(int64(3)), Message: "Got 3 results, configured to warn if != 0", StartedAt: fixtureTime, Duration: 200 * time.Millisecond, RunID: "run-1"},
			},
			// dbt source freshness, yesterday and today: today's load is late.
			Freshness: []catalog.FreshnessObservation{
				{Dataset: orders, ObservedAt: fixtureTime.AddDate(0, 0, -1), MaxLoadedAt: ptr(fixtureTime.AddDate(0, 0, -1).Add(-2 * time.Hour)),
					Status: catalog.FreshnessPass, WarnAfter: "12 hour", ErrorAfter: "1 day", RunID: "run-0"},
				{Dataset: orders, ObservedAt: fixtureTime, MaxLoadedAt: ptr(fixtureTime.Add(-14 * time.Hour)),
					Status: catalog.FreshnessWarn, WarnAfter: "12 hour", ErrorAfter: "1 day", Criteria: "filter: status <> 'test'", RunID: "run-1"},
			},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:analytics", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{}, errors.New("manifest.json: unexpected end of JSON input")
	}); err == nil {
		t.Fatal("failing crawl succeeded")
	}

	if err := st.ApplyPush(ctx, fixturePush()); err != nil {
		t.Fatal(err)
	}

	alice := catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	id := datasetID(t, st, "warehouse.marts.orders")
	for _, edit := range []func() (*catalog.AuditEntry, error){
		func() (*catalog.AuditEntry, error) {
			return st.SetDatasetDescription(ctx, alice, id, "Every order placed in the web shop, one row each.")
		},
		func() (*catalog.AuditEntry, error) {
			return st.SetColumnDescription(ctx, alice, id, "amount", "Order total in EUR, tax included.")
		},
		func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, alice, id, "finance") },
		func() (*catalog.AuditEntry, error) {
			return st.AddOwner(ctx, alice, id, catalog.Owner{Name: "alice@corp", Kind: catalog.OwnerUser, Type: "steward"})
		},
	} {
		if _, err := edit(); err != nil {
			t.Fatal(err)
		}
	}
}

func datasetID(t testing.TB, st *store.Store, name string) int64 {
	t.Helper()
	ids, err := st.DatasetIDs(context.Background(), []catalog.Key{fkey(name)})
	if err != nil {
		t.Fatal(err)
	}
	id, ok := ids[fkey(name)]
	if !ok {
		t.Fatalf("no dataset %s in the fixture", name)
	}
	return id
}
