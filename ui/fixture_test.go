package ui

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
)

// The fixture's times are fixed, and the server's clock with them, so that
// rendered pages are the same on every run.
var (
	now     = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	day     = 24 * time.Hour
	created = now.Add(-30 * day)
)

const (
	warehouseNS = "postgres://db.example:5432"
	lakeNS      = "file://lake"
	// evilName tries every way a name could break out of the page.
	evilName = `evil <script>alert("x")</script> "zürich" 'ü'/part & co`
)

var (
	fctOrders    = catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.fct_orders"}
	dimCustomers = catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.dim_customers"}
	dailyRevenue = catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.v_daily_revenue"}
	rawEvents    = catalog.Key{Namespace: warehouseNS, Name: "warehouse.raw.events"}
	oldOrders    = catalog.Key{Namespace: warehouseNS, Name: "warehouse.staging.old_orders"}
	evil         = catalog.Key{Namespace: lakeNS, Name: evilName}
)

func ptr[T any](v T) *T { return &v }

// facts is one source's row set for a dataset, as the ingest step would
// write it.
type facts struct {
	Source       string
	Platform     string
	Kind         catalog.Kind
	Description  string
	Definition   string
	RowEstimate  *int64
	SizeBytes    *int64
	PartitionKey string
	Partitions   []catalog.Partition
	Properties   map[string]string
	Columns      []catalog.Column
	ForeignKeys  []catalog.ForeignKey
	Owners       []catalog.Owner
	Tags         []string
	UpdatedAt    time.Time
	RemovedAt    *time.Time
}

// fill writes a small catalog with plain INSERTs: the ingest code is not
// what these tests are about.
func fill(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := t.Context()
	pg, dbt := "postgres:warehouse", "dbt:analytics"

	fct := insertDataset(t, pool, fctOrders, nil,
		facts{
			Source: pg, Platform: "postgres", Kind: catalog.KindTable,
			Description: "Orders fact table.",
			RowEstimate: ptr[int64](1_234_567), SizeBytes: ptr[int64](52_428_800),
			Properties: map[string]string{"tablespace": "pg_default", "fillfactor": "90"},
			Columns: []catalog.Column{
				{Name: "order_id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
				{Name: "customer_id", Ordinal: 2, Type: "bigint"},
				{Name: "amount", Ordinal: 3, Type: "numeric(12,2)", Nullable: true, Default: "0", Description: "total amount"},
				{Name: "ordered_at", Ordinal: 4, Type: "timestamp with time zone", Default: "now()"},
			},
			ForeignKeys: []catalog.ForeignKey{{
				Name: "fct_orders_customer_fk", Columns: []string{"customer_id"},
				Target: dimCustomers, TargetCol: []string{"customer_id"},
			}},
			Owners:    []catalog.Owner{{Name: "analytics_owner", Kind: catalog.OwnerRole, Type: "technical"}},
			UpdatedAt: now.Add(-2 * time.Hour),
		},
		facts{
			Source: dbt, Platform: "dbt", Kind: catalog.KindModel,
			Description: "One row per order placed on the web shop. Grain: order_id; amounts in EUR.",
			Columns: []catalog.Column{
				{Name: "order_id", Description: "Surrogate key of the order."},
				{Name: "customer_id", Description: "The customer who placed the order."},
				{Name: "amount", Description: "Order total in EUR, after discounts."},
			},
			Owners:    []catalog.Owner{{Name: "data-platform", Kind: catalog.OwnerTeam, Type: "business"}},
			Tags:      []string{"finance", "pii"},
			UpdatedAt: now.Add(-26 * time.Hour),
		},
	)
	v1 := []catalog.Column{
		{Name: "order_id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
		{Name: "cust_id", Ordinal: 2, Type: "bigint", Nullable: true},
		{Name: "amount", Ordinal: 3, Type: "integer", Nullable: true},
	}
	v2 := []catalog.Column{
		{Name: "order_id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
		{Name: "customer_id", Ordinal: 2, Type: "bigint", Nullable: true},
		{Name: "amount", Ordinal: 3, Type: "numeric(12,2)", Nullable: true, Default: "0"},
		{Name: "ordered_at", Ordinal: 4, Type: "timestamp with time zone", Default: "now()"},
	}
	v3 := []catalog.Column{v2[0], {Name: "customer_id", Ordinal: 2, Type: "bigint"}, v2[2], v2[3]}
	insertSchemaVersion(t, pool, fct, 1, pg, now.Add(-20*day), v1, catalog.DiffColumns(nil, v1))
	insertSchemaVersion(t, pool, fct, 2, pg, now.Add(-9*day), v2, catalog.DiffColumns(v1, v2))
	insertSchemaVersion(t, pool, fct, 3, pg, now.Add(-2*time.Hour), v3, catalog.DiffColumns(v2, v3))

	dimCols := []catalog.Column{
		{Name: "customer_id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
		{Name: "name", Ordinal: 2, Type: "text", Nullable: true},
	}
	dim := insertDataset(t, pool, dimCustomers, nil, facts{
		Source: pg, Platform: "postgres", Kind: catalog.KindTable,
		Description: "One row per customer.",
		RowEstimate: ptr[int64](812), SizeBytes: ptr[int64](98_304),
		Columns:   dimCols,
		Owners:    []catalog.Owner{{Name: "analytics_owner", Kind: catalog.OwnerRole, Type: "technical"}},
		UpdatedAt: now.Add(-2 * time.Hour),
	})
	insertSchemaVersion(t, pool, dim, 1, pg, now.Add(-20*day), dimCols, catalog.DiffColumns(nil, dimCols))

	insertDataset(t, pool, dailyRevenue, nil, facts{
		Source: pg, Platform: "postgres", Kind: catalog.KindView,
		Definition: "SELECT date_trunc('day', ordered_at) AS day, sum(amount) AS revenue\nFROM warehouse.marts.fct_orders\nWHERE amount > 0\nGROUP BY 1",
		Columns: []catalog.Column{
			{Name: "day", Ordinal: 1, Type: "timestamp with time zone", Nullable: true},
			{Name: "revenue", Ordinal: 2, Type: "numeric", Nullable: true},
		},
		UpdatedAt: now.Add(-2 * time.Hour),
	})

	var parts []catalog.Partition
	for m := 1; m <= 12; m++ {
		parts = append(parts, catalog.Partition{
			Name:  fmt.Sprintf("warehouse.raw.events_2025_%02d", m),
			Bound: fmt.Sprintf("FOR VALUES FROM ('2025-%02d-01') TO ('%s')", m, time.Date(2025, time.Month(m+1), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)),
		})
	}
	insertDataset(t, pool, rawEvents, nil, facts{
		Source: pg, Platform: "postgres", Kind: catalog.KindPartitioned,
		RowEstimate: ptr[int64](3_400_000_000), SizeBytes: ptr[int64](1_932_735_283_200),
		PartitionKey: "RANGE (occurred_at)", Partitions: parts,
		Columns: []catalog.Column{
			{Name: "occurred_at", Ordinal: 1, Type: "timestamp with time zone"},
			{Name: "payload", Ordinal: 2, Type: "jsonb", Nullable: true},
		},
		UpdatedAt: now.Add(-2 * time.Hour),
	})

	removed := now.Add(-3 * day)
	insertDataset(t, pool, oldOrders, &removed, facts{
		Source: pg, Platform: "postgres", Kind: catalog.KindTable,
		Description: "Staging copy of orders, replaced by fct_orders.",
		Columns:     []catalog.Column{{Name: "id", Ordinal: 1, Type: "integer"}},
		UpdatedAt:   now.Add(-10 * day), RemovedAt: &removed,
	})

	insertDataset(t, pool, evil, nil, facts{
		Source: "delta:lake", Platform: "delta", Kind: catalog.KindFile,
		Description: `<b>Bold</b> claims & "quotes" </p><script>alert(1)</script>`,
		Columns: []catalog.Column{
			{Name: `<img src=x onerror=alert(1)>`, Ordinal: 1, Type: "string", Nullable: true, Description: `"><script>alert(2)</script>`},
		},
		Tags:      []string{`<i>tag</i>`},
		UpdatedAt: now.Add(-5 * time.Minute),
	})

	for _, src := range []struct{ name, typ, ns, schedule string }{
		{pg, "postgres", warehouseNS, "@hourly"},
		{dbt, "dbt", warehouseNS, "0 6 * * *"},
		{"delta:lake", "delta", lakeNS, ""},
		{"postgres:billing", "postgres", "postgres://billing.example:5432", ""}, // never crawled
	} {
		if _, err := pool.Exec(ctx, `INSERT INTO sources (name, type, namespace, schedule, updated_at) VALUES ($1, $2, $3, $4, $5)`,
			src.name, src.typ, src.ns, src.schedule, created); err != nil {
			t.Fatalf("insert source %s: %v", src.name, err)
		}
	}
	insertRun(t, pool, catalog.CrawlRun{
		Source: pg, StartedAt: now.Add(-2*time.Hour - 42*time.Second), FinishedAt: ptr(now.Add(-2 * time.Hour)),
		Status: catalog.CrawlSucceeded,
		Counts: catalog.CrawlCounts{Seen: 4, Created: 1, Updated: 2, Unchanged: 1, Removed: 1, Columns: 12},
	})
	insertRun(t, pool, catalog.CrawlRun{
		Source: dbt, StartedAt: now.Add(-26*time.Hour - 3*time.Minute - 20*time.Second), FinishedAt: ptr(now.Add(-26 * time.Hour)),
		Status: catalog.CrawlPartial,
		Counts: catalog.CrawlCounts{Seen: 1, Updated: 1, Columns: 3},
		Errors: []catalog.CrawlError{{Object: "model.analytics.broken", Message: `compile error: unexpected "<end>" at line 3`}},
	})
	insertRun(t, pool, catalog.CrawlRun{
		Source: "delta:lake", StartedAt: now.Add(-5*time.Minute - 900*time.Millisecond), FinishedAt: ptr(now.Add(-5 * time.Minute)),
		Status: catalog.CrawlFailed,
		Errors: []catalog.CrawlError{{Object: "file://lake/_delta_log", Message: "permission denied"}},
	})
	// pg_stat_statements, crawled twice: fct_orders read 2,300 times
	// since the first crawl, by two roles; a statement long enough to be
	// cut short.
	long := "SELECT o.order_id, o.amount, c.name FROM marts.fct_orders o JOIN marts.dim_customers c USING (customer_id) WHERE o.ordered_at >= $1 AND o.amount > $2 ORDER BY o.amount DESC LIMIT $3"
	if _, err := pool.Exec(ctx, `
		INSERT INTO query_stats (source, namespace, database, queryid, role, query, calls, reads, observed_at) VALUES
			($1, $2, 'warehouse', 11, 'analyst', 'SELECT * FROM marts.fct_orders WHERE order_id = $1', 500, 0, $3),
			($1, $2, 'warehouse', 11, 'analyst', 'SELECT * FROM marts.fct_orders WHERE order_id = $1', 2500, 2000, $4),
			($1, $2, 'warehouse', 12, 'looker', $5, 300, 300, $4)`,
		pg, warehouseNS, now.Add(-10*day), now.Add(-time.Hour), long); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO query_reads (source, namespace, database, queryid, dataset_id) VALUES ($1, $2, 'warehouse', 11, $3), ($1, $2, 'warehouse', 12, $3)`,
		pg, warehouseNS, fct); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO dataset_popularity (dataset_id, jobs, runs, queries, score, computed_at) VALUES ($1, 0, 0, 2300, $2, $3)`,
		fct, catalog.Popularity(0, 0, 2300), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// insertDataset writes a dataset and each source's facts, and returns its
// id. Its updated_at is the newest of its facts'.
func insertDataset(t *testing.T, pool *pgxpool.Pool, key catalog.Key, removedAt *time.Time, fs ...facts) int64 {
	t.Helper()
	ctx := t.Context()
	updated := created
	for _, f := range fs {
		if f.UpdatedAt.After(updated) {
			updated = f.UpdatedAt
		}
	}
	var id int64
	err := pool.QueryRow(ctx, `
		INSERT INTO datasets (namespace, name, created_at, updated_at, removed_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		key.Namespace, key.Name, created, updated, removedAt).Scan(&id)
	if err != nil {
		t.Fatalf("insert dataset %s: %v", key, err)
	}
	for _, f := range fs {
		insertFacts(t, ctx, pool, id, f)
	}
	return id
}

func insertFacts(t *testing.T, ctx context.Context, pool *pgxpool.Pool, id int64, f facts) {
	t.Helper()
	if f.Partitions == nil {
		f.Partitions = []catalog.Partition{}
	}
	if f.Properties == nil {
		f.Properties = map[string]string{}
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("insert facts of %s for dataset %d: %v", f.Source, id, err)
		}
	}
	exec(`
		INSERT INTO dataset_facts (dataset_id, source, platform, kind, description, definition, row_estimate, size_bytes,
		                           partition_key, partitions, properties, content_hash, updated_at, removed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '\x00', $12, $13)`,
		id, f.Source, f.Platform, string(f.Kind), f.Description, f.Definition, f.RowEstimate, f.SizeBytes,
		f.PartitionKey, f.Partitions, f.Properties, f.UpdatedAt, f.RemovedAt)
	for _, c := range f.Columns {
		exec(`
			INSERT INTO columns (dataset_id, source, name, ordinal, data_type, nullable, default_expr, description, primary_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			id, f.Source, c.Name, c.Ordinal, c.Type, c.Nullable, c.Default, c.Description, c.PrimaryKey)
	}
	for _, fk := range f.ForeignKeys {
		exec(`
			INSERT INTO foreign_keys (dataset_id, source, name, columns, target_namespace, target_name, target_columns)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			id, f.Source, fk.Name, fk.Columns, fk.Target.Namespace, fk.Target.Name, fk.TargetCol)
	}
	for _, o := range f.Owners {
		exec(`INSERT INTO owners (dataset_id, source, owner, owner_kind, ownership_type) VALUES ($1, $2, $3, $4, $5)`,
			id, f.Source, o.Name, string(o.Kind), o.Type)
	}
	for _, tag := range f.Tags {
		exec(`INSERT INTO tags (dataset_id, source, tag) VALUES ($1, $2, $3)`, id, f.Source, tag)
	}
}

func insertSchemaVersion(t *testing.T, pool *pgxpool.Pool, id int64, version int, source string, at time.Time, cols []catalog.Column, diff catalog.SchemaDiff) {
	t.Helper()
	if cols == nil {
		cols = []catalog.Column{}
	}
	_, err := pool.Exec(t.Context(), `
		INSERT INTO schema_versions (dataset_id, version, source, recorded_at, columns, diff)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, version, source, at, cols, diff)
	if err != nil {
		t.Fatalf("insert schema version %d of dataset %d: %v", version, id, err)
	}
}

func insertRun(t *testing.T, pool *pgxpool.Pool, r catalog.CrawlRun) int64 {
	t.Helper()
	if r.Errors == nil {
		r.Errors = []catalog.CrawlError{}
	}
	var id int64
	err := pool.QueryRow(t.Context(), `
		INSERT INTO crawl_runs (source, started_at, finished_at, status, counts, errors)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		r.Source, r.StartedAt, r.FinishedAt, string(r.Status), r.Counts, r.Errors).Scan(&id)
	if err != nil {
		t.Fatalf("insert crawl run of %s: %v", r.Source, err)
	}
	return id
}
