package sqllineage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
)

// testTables are the relations the extractor tests read, in database db.
var testTables = map[string][]string{
	"public.orders":    {"id", "customer_id", "amount", "status", "created_at"},
	"public.customers": {"id", "first_name", "last_name", "region"},
	"sales.items":      {"order_id", "sku", "qty"},
	"public.Mixed":     {"Id", "Full Name"},
}

const ns = "postgres://wh:5432"

// testResolver resolves relations like the PostgreSQL crawler: a name without a
// schema is looked up in public. raw.events has no known columns (Open).
func testResolver(r sqllineage.Relation) (sqllineage.Table, bool) {
	schema := r.Schema
	if schema == "" {
		schema = "public"
	}
	if r.Catalog != "" && r.Catalog != "db" {
		return sqllineage.Table{}, false
	}
	name := schema + "." + r.Name
	if name == "raw.events" {
		return sqllineage.Table{Key: catalog.Key{Namespace: ns, Name: "db." + name}, Columns: []string{"id"}, Open: true}, true
	}
	cols, ok := testTables[name]
	return sqllineage.Table{Key: catalog.Key{Namespace: ns, Name: "db." + name}, Columns: cols}, ok
}

// edges renders lineage as "out <- table.col TYPE/SUBTYPE" lines, "*" for
// the whole dataset, sorted.
func edges(q sqllineage.QueryLineage) []string {
	var out []string
	for _, f := range q.Facts(catalog.Key{Namespace: ns, Name: "out"}) {
		in := f.Input.Name[strings.LastIndex(f.Input.Name, ".")+1:]
		col := f.Column
		if col == "" {
			col = "*"
		}
		out = append(out, fmt.Sprintf("%s <- %s.%s %s/%s", col, in, f.InputColumn, f.Type, f.Subtype))
	}
	slices.Sort(out)
	return out
}

func TestColumnLineage(t *testing.T) {
	tests := []struct {
		name     string
		sql      string
		want     []string
		columns  []string // output column names in order; nil: not checked
		warnings []string // substrings, one per warning
	}{
		{
			name:    "plain columns and aliases",
			sql:     "SELECT o.id, o.amount AS total FROM orders o",
			want:    []string{"id <- orders.id DIRECT/IDENTITY", "total <- orders.amount DIRECT/IDENTITY"},
			columns: []string{"id", "total"},
		},
		{
			name:    "TABLESAMPLE reads its table's columns",
			sql:     "SELECT id, amount FROM orders TABLESAMPLE SYSTEM (10) REPEATABLE (1)",
			want:    []string{"amount <- orders.amount DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY"},
			columns: []string{"id", "amount"},
		},
		{
			name: "SEARCH and CYCLE columns of a recursive CTE",
			sql: `WITH RECURSIVE t(id, cust) AS (SELECT id, customer_id FROM orders UNION ALL SELECT t.id, o.customer_id FROM t JOIN orders o ON o.id = t.cust)
				SEARCH DEPTH FIRST BY id SET ord CYCLE cust SET is_cycle USING path
				SELECT id, ord::text AS o, is_cycle FROM t ORDER BY ord`,
			want: []string{
				"* <- orders.customer_id INDIRECT/JOIN", "* <- orders.id INDIRECT/JOIN",
				"* <- orders.id INDIRECT/SORT",
				"id <- orders.id DIRECT/IDENTITY",
				"is_cycle <- orders.customer_id DIRECT/TRANSFORMATION",
				"o <- orders.id DIRECT/TRANSFORMATION",
			},
			columns: []string{"id", "o", "is_cycle"},
		},
		{
			name: "unqualified, schema-qualified and database-qualified names",
			sql:  "SELECT amount, public.orders.status, db.sales.items.sku FROM public.orders JOIN db.sales.items ON order_id = id",
			want: []string{
				"* <- items.order_id INDIRECT/JOIN", "* <- orders.id INDIRECT/JOIN",
				"amount <- orders.amount DIRECT/IDENTITY", "sku <- items.sku DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY",
			},
		},
		{
			name: "expressions and function calls transform",
			sql:  "SELECT c.first_name || ' ' || c.last_name AS name, upper(region) AS region, id::text FROM customers c",
			want: []string{
				"id <- customers.id DIRECT/TRANSFORMATION",
				"name <- customers.first_name DIRECT/TRANSFORMATION", "name <- customers.last_name DIRECT/TRANSFORMATION",
				"region <- customers.region DIRECT/TRANSFORMATION",
			},
			columns: []string{"name", "region", "id"},
		},
		{
			name: "aggregates, GROUP BY and HAVING",
			sql:  "SELECT customer_id, count(*) AS n, sum(amount * 2) AS total, count(DISTINCT status) FROM orders GROUP BY customer_id HAVING max(amount) > 10",
			want: []string{
				"* <- orders.amount INDIRECT/FILTER", "* <- orders.customer_id INDIRECT/GROUP_BY",
				"count <- orders.status DIRECT/AGGREGATION",
				"customer_id <- orders.customer_id DIRECT/IDENTITY",
				"total <- orders.amount DIRECT/AGGREGATION",
			},
			columns: []string{"customer_id", "n", "total", "count"},
		},
		{
			name: "GROUP BY and ORDER BY by position and output name",
			sql:  "SELECT region AS r, count(id) AS n FROM customers GROUP BY 1 ORDER BY n DESC",
			want: []string{
				"* <- customers.id INDIRECT/SORT", "* <- customers.region INDIRECT/GROUP_BY",
				"n <- customers.id DIRECT/AGGREGATION", "r <- customers.region DIRECT/IDENTITY",
			},
		},
		{
			name: "CASE: branches transform, conditions are conditional",
			sql:  "SELECT CASE WHEN status = 'paid' THEN amount ELSE 0 END AS paid, CASE region WHEN 'eu' THEN 'EU' END AS zone FROM orders JOIN customers c ON c.id = customer_id",
			want: []string{
				"* <- customers.id INDIRECT/JOIN", "* <- orders.customer_id INDIRECT/JOIN",
				"paid <- orders.amount DIRECT/TRANSFORMATION", "paid <- orders.status INDIRECT/CONDITIONAL",
				"zone <- customers.region INDIRECT/CONDITIONAL",
			},
		},
		{
			name: "aggregate of CASE, as dbt pivots write it",
			sql:  "SELECT sum(CASE WHEN status = 'paid' THEN amount ELSE 0 END) AS paid FROM orders",
			want: []string{"paid <- orders.amount DIRECT/AGGREGATION", "paid <- orders.status INDIRECT/CONDITIONAL"},
		},
		{
			name: "window functions",
			sql: `SELECT row_number() OVER (PARTITION BY customer_id ORDER BY created_at) AS rn,
				sum(amount) OVER w AS running, lag(status) OVER (w) AS prev
				FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY id)`,
			want: []string{
				"prev <- orders.customer_id INDIRECT/WINDOW", "prev <- orders.id INDIRECT/WINDOW", "prev <- orders.status DIRECT/TRANSFORMATION",
				"rn <- orders.created_at INDIRECT/WINDOW", "rn <- orders.customer_id INDIRECT/WINDOW",
				"running <- orders.amount DIRECT/AGGREGATION", "running <- orders.customer_id INDIRECT/WINDOW", "running <- orders.id INDIRECT/WINDOW",
			},
		},
		{
			name: "WHERE and ORDER BY on input columns",
			sql:  "SELECT id FROM orders WHERE status <> 'void' AND amount > 0 ORDER BY created_at",
			want: []string{
				"* <- orders.amount INDIRECT/FILTER", "* <- orders.created_at INDIRECT/SORT", "* <- orders.status INDIRECT/FILTER",
				"id <- orders.id DIRECT/IDENTITY",
			},
		},
		{
			name:    "star and t.star expand from the resolver's columns",
			sql:     "SELECT *, c.* FROM sales.items, customers c",
			columns: []string{"order_id", "sku", "qty", "id", "first_name", "last_name", "region", "id", "first_name", "last_name", "region"},
			want: []string{
				"first_name <- customers.first_name DIRECT/IDENTITY", "id <- customers.id DIRECT/IDENTITY",
				"last_name <- customers.last_name DIRECT/IDENTITY", "order_id <- items.order_id DIRECT/IDENTITY",
				"qty <- items.qty DIRECT/IDENTITY", "region <- customers.region DIRECT/IDENTITY", "sku <- items.sku DIRECT/IDENTITY",
			},
		},
		{
			name:    "JOIN USING merges the column",
			sql:     "SELECT * FROM orders o JOIN (SELECT id, region FROM customers) c USING (id)",
			columns: []string{"id", "customer_id", "amount", "status", "created_at", "region"},
			want: []string{
				"* <- customers.id INDIRECT/JOIN", "* <- orders.id INDIRECT/JOIN",
				"amount <- orders.amount DIRECT/IDENTITY", "created_at <- orders.created_at DIRECT/IDENTITY",
				"customer_id <- orders.customer_id DIRECT/IDENTITY",
				"id <- customers.id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY",
				"region <- customers.region DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY",
			},
		},
		{
			name: "CTE chain in dbt style, filters carried through",
			sql: `with source as (select * from orders where status <> 'void'),
				renamed as (select id as order_id, amount / 100 as amount from source),
				final as (select * from renamed)
				select * from final`,
			columns: []string{"order_id", "amount"},
			want: []string{
				"* <- orders.status INDIRECT/FILTER",
				"amount <- orders.amount DIRECT/TRANSFORMATION", "order_id <- orders.id DIRECT/IDENTITY",
			},
		},
		{
			name: "CTE aggregated then joined",
			sql: `WITH per_customer AS (SELECT customer_id, count(id) AS n FROM orders GROUP BY customer_id)
				SELECT c.id, p.n AS number_of_orders FROM customers c LEFT JOIN per_customer p ON c.id = p.customer_id`,
			want: []string{
				"* <- customers.id INDIRECT/JOIN", "* <- orders.customer_id INDIRECT/GROUP_BY", "* <- orders.customer_id INDIRECT/JOIN",
				"id <- customers.id DIRECT/IDENTITY", "number_of_orders <- orders.id DIRECT/AGGREGATION",
			},
		},
		{
			name: "subquery in FROM and correlated scalar subquery",
			sql: `SELECT s.total, (SELECT max(o2.amount) FROM orders o2 WHERE o2.customer_id = s.customer_id) AS best
				FROM (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY 1) AS s`,
			want: []string{
				"* <- orders.customer_id INDIRECT/GROUP_BY",
				"best <- orders.amount DIRECT/AGGREGATION", "best <- orders.customer_id INDIRECT/FILTER",
				"total <- orders.amount DIRECT/AGGREGATION",
			},
		},
		{
			name: "EXISTS and IN filter",
			sql:  "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) AND region IN (SELECT sku FROM sales.items)",
			want: []string{
				"* <- customers.id INDIRECT/FILTER", "* <- customers.region INDIRECT/FILTER",
				"* <- items.sku INDIRECT/FILTER", "* <- orders.customer_id INDIRECT/FILTER",
				"id <- customers.id DIRECT/IDENTITY",
			},
		},
		{
			name:    "UNION pairs columns by position",
			sql:     "SELECT id, first_name AS label FROM customers UNION ALL SELECT order_id, sku FROM sales.items WHERE qty > 0",
			columns: []string{"id", "label"},
			want: []string{
				"* <- items.qty INDIRECT/FILTER",
				"id <- customers.id DIRECT/IDENTITY", "id <- items.order_id DIRECT/IDENTITY",
				"label <- customers.first_name DIRECT/IDENTITY", "label <- items.sku DIRECT/IDENTITY",
			},
		},
		{
			name:    "quoted identifiers",
			sql:     `SELECT m."Id", m."Full Name" AS "Name" FROM "Mixed" m`,
			columns: []string{"Id", "Name"},
			want:    []string{`Id <- Mixed.Id DIRECT/IDENTITY`, `Name <- Mixed.Full Name DIRECT/IDENTITY`},
		},
		{
			name: "recursive CTE",
			sql: `WITH RECURSIVE n(i) AS (SELECT id FROM orders UNION ALL SELECT i + 1 FROM n WHERE i < 10)
				SELECT i FROM n`,
			want: []string{"* <- orders.id INDIRECT/FILTER", "i <- orders.id DIRECT/IDENTITY", "i <- orders.id DIRECT/TRANSFORMATION"},
		},
		{
			name: "relation with columns not all known",
			sql:  "select id, kind, e.payload from raw.events e",
			want: []string{"id <- events.id DIRECT/IDENTITY", "kind <- events.kind DIRECT/IDENTITY", "payload <- events.payload DIRECT/IDENTITY"},
		},
		{
			name:    "a CTE over a relation with columns not all known passes other names through",
			sql:     "with src as (select * from raw.events where id > 0) select id, kind as type from src",
			columns: []string{"id", "type"},
			want:    []string{"* <- events.id INDIRECT/FILTER", "id <- events.id DIRECT/IDENTITY", "type <- events.kind DIRECT/IDENTITY"},
		},
		{
			name:     "unknown relation, ambiguous and missing columns are warnings",
			sql:      "SELECT g.x, id, nope, o.amount, 1 + 1, * FROM gone g, orders o JOIN customers c ON c.id = o.customer_id",
			columns:  []string{"x", "id", "nope", "amount", "id", "customer_id", "amount", "status", "created_at", "id", "first_name", "last_name", "region"},
			want:     []string{"* <- customers.id INDIRECT/JOIN", "* <- orders.customer_id INDIRECT/JOIN", "amount <- orders.amount DIRECT/IDENTITY", "customer_id <- orders.customer_id DIRECT/IDENTITY", "first_name <- customers.first_name DIRECT/IDENTITY", "id <- customers.id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY", "last_name <- customers.last_name DIRECT/IDENTITY", "region <- customers.region DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY", "created_at <- orders.created_at DIRECT/IDENTITY"},
			warnings: []string{`column "x": relation gone is not known`, `column "nope": relation gone is not known`, `column "id": column "id" is ambiguous`, `column 5: PostgreSQL names it "?column?"`, "*: the columns of relation gone are not known"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := sqllineage.ColumnLineage(tt.sql, testResolver)
			if err != nil {
				t.Fatal(err)
			}
			got := edges(q)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
			if tt.columns != nil {
				var names []string
				for _, c := range q.Columns {
					names = append(names, c.Name)
				}
				if diff := cmp.Diff(tt.columns, names); diff != "" {
					t.Errorf("columns (-want +got):\n%s", diff)
				}
			}
			if len(q.Warnings) != len(tt.warnings) {
				t.Errorf("warnings = %q, want %d", q.Warnings, len(tt.warnings))
			}
			for _, w := range tt.warnings {
				if !slices.ContainsFunc(q.Warnings, func(g string) bool { return strings.Contains(g, w) }) {
					t.Errorf("no warning %q in %q", w, q.Warnings)
				}
			}
		})
	}
}

func TestColumnLineageErrors(t *testing.T) {
	for _, sql := range []string{"SELEC oops", "SELECT 1; SELECT 2", "INSERT INTO t VALUES (1)", ""} {
		if _, err := sqllineage.ColumnLineage(sql, testResolver); err == nil {
			t.Errorf("%q: no error", sql)
		}
	}
}

// TestColumnLineageOpen checks that a query returning * over a relation
// whose columns are not all known says so, through CTEs.
func TestColumnLineageOpen(t *testing.T) {
	for sql, want := range map[string]bool{
		"select * from raw.events":                                  true,
		"with a as (select * from raw.events) select * from a":      true,
		"with a as (select * from raw.events) select id from a":     false,
		"select * from orders":                                      false,
		"select o.* from orders o join raw.events e on e.id = o.id": false,
	} {
		q, err := sqllineage.ColumnLineage(sql, testResolver)
		if err != nil || q.Open != want {
			t.Errorf("%s: Open = %v (%v), want %v", sql, q.Open, err, want)
		}
	}
}

// BenchmarkColumnLineage derives the column lineage of realistic dbt
// models (testdata/models, one per dialect: CTE chains, joins, window
// functions and each dialect's constructs) and reports models per
// second, normalisation included. Target: ≥ 1,000 models/s.
func BenchmarkColumnLineage(b *testing.B) {
	files, err := filepath.Glob("testdata/models/*.sql")
	if err != nil || len(files) == 0 {
		b.Fatalf("no models: %v", err)
	}
	type model struct {
		d   sqllineage.Dialect
		sql string
	}
	var models []model
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		d := sqllineage.DialectOf(strings.TrimSuffix(filepath.Base(f), ".sql"))
		models = append(models, model{d, string(raw)})
	}
	n := 0
	cpu := cpuTime()
	for b.Loop() {
		for _, m := range models {
			q, err := m.d.ColumnLineage(m.sql, testResolver)
			if err != nil || len(q.Columns) == 0 {
				b.Fatalf("%s: %v (%d columns)", m.d, err, len(q.Columns))
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "models/s")
	// On a shared machine the wall clock counts the waits for a CPU too;
	// models per CPU-second is what one core does.
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(n)/used.Seconds(), "models/cpu-s")
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
