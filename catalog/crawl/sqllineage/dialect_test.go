package sqllineage_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/crawl/sqllineage"
)

// TestDialectColumnLineage checks each rewrite of the normaliser by the
// lineage it gives: the columns a value comes from, none invented and
// none lost.
func TestDialectColumnLineage(t *testing.T) {
	tests := []struct {
		name     string
		dialect  sqllineage.Dialect
		sql      string
		want     []string
		columns  []string // output column names in order; nil: not checked
		warnings []string // substrings, one per warning
	}{
		{
			name: "backquoted names and paths", dialect: sqllineage.BigQuery,
			sql:  "select o.`amount`, `sku` from `db.public.orders` o join `db`.`sales`.`items` i on i.order_id = o.id",
			want: []string{"* <- items.order_id INDIRECT/JOIN", "* <- orders.id INDIRECT/JOIN", "amount <- orders.amount DIRECT/IDENTITY", "sku <- items.sku DIRECT/IDENTITY"},
		},
		{
			name: "double quotes delimit strings", dialect: sqllineage.BigQuery,
			sql:  `select id from orders where status = "paid" and status <> 'it\'s' # a comment` + "\n",
			want: []string{"* <- orders.status INDIRECT/FILTER", "id <- orders.id DIRECT/IDENTITY"},
		},
		{
			name: "Spark strings, raw strings and backquotes", dialect: sqllineage.Spark,
			sql:  "select `id`, concat(status, \"-\", r'\\d') as label from orders",
			want: []string{"id <- orders.id DIRECT/IDENTITY", "label <- orders.status DIRECT/TRANSFORMATION"},
		},
		{
			name: "interval forms", dialect: sqllineage.DuckDB,
			sql: `select created_at + interval 1 day as tomorrow, created_at - interval '2' days as before,
				created_at + interval (amount) hour as later, created_at + interval amount minutes as soon from orders`,
			want: []string{
				"before <- orders.created_at DIRECT/TRANSFORMATION",
				"later <- orders.amount DIRECT/TRANSFORMATION", "later <- orders.created_at DIRECT/TRANSFORMATION",
				"soon <- orders.amount DIRECT/TRANSFORMATION", "soon <- orders.created_at DIRECT/TRANSFORMATION",
				"tomorrow <- orders.created_at DIRECT/TRANSFORMATION",
			},
		},
		{
			name: "BigQuery date parts are not columns", dialect: sqllineage.BigQuery,
			sql: `select date_trunc(created_at, month) as m, timestamp_trunc(created_at, week(monday)) as w,
				date_diff(created_at, created_at, day) as d, extract(dayofweek from created_at) as dow,
				date_add(created_at, interval 1 day) as next from orders`,
			want: []string{
				"d <- orders.created_at DIRECT/TRANSFORMATION", "dow <- orders.created_at DIRECT/TRANSFORMATION",
				"m <- orders.created_at DIRECT/TRANSFORMATION", "next <- orders.created_at DIRECT/TRANSFORMATION",
				"w <- orders.created_at DIRECT/TRANSFORMATION",
			},
		},
		{
			name: "Snowflake and Redshift date parts first", dialect: sqllineage.Snowflake,
			sql: `select dateadd(day, qty, created_at) as due, datediff(hour, created_at, current_timestamp()) as age,
				date_trunc(month, created_at) as m, date_part(year, created_at) as y from orders join sales.items on order_id = id`,
			want: []string{
				"* <- items.order_id INDIRECT/JOIN", "* <- orders.id INDIRECT/JOIN",
				"age <- orders.created_at DIRECT/TRANSFORMATION",
				"due <- items.qty DIRECT/TRANSFORMATION", "due <- orders.created_at DIRECT/TRANSFORMATION",
				"m <- orders.created_at DIRECT/TRANSFORMATION", "y <- orders.created_at DIRECT/TRANSFORMATION",
			},
		},
		{
			name: "casts, typed arrays and structs", dialect: sqllineage.BigQuery,
			sql: `select safe_cast(amount as int64) as a, try_cast(status as string) as s, cast([id] as array<int64>) as ids,
				struct(id as key, status) as pair, array<string>['x', status] as tags, timestamp(created_at) as ts from orders`,
			want: []string{
				"a <- orders.amount DIRECT/TRANSFORMATION", "ids <- orders.id DIRECT/TRANSFORMATION",
				"pair <- orders.id DIRECT/TRANSFORMATION", "pair <- orders.status DIRECT/TRANSFORMATION",
				"s <- orders.status DIRECT/TRANSFORMATION", "tags <- orders.status DIRECT/TRANSFORMATION",
				"ts <- orders.created_at DIRECT/TRANSFORMATION",
			},
		},
		{
			name: "IF and IFF decide, their branches are the value", dialect: sqllineage.Snowflake,
			sql:  "select iff(status = 'paid', amount, 0) as paid, if(amount > 10, 'big', 'small') as size from orders",
			want: []string{"paid <- orders.amount DIRECT/TRANSFORMATION", "paid <- orders.status INDIRECT/CONDITIONAL", "size <- orders.amount INDIRECT/CONDITIONAL"},
		},
		{
			name: "IN UNNEST", dialect: sqllineage.BigQuery,
			sql:  "select id from orders where status in unnest(['a', 'b']) and id not in unnest([customer_id])",
			want: []string{"* <- orders.customer_id INDIRECT/FILTER", "* <- orders.id INDIRECT/FILTER", "* <- orders.status INDIRECT/FILTER", "id <- orders.id DIRECT/IDENTITY"},
		},
		{
			name: "semi-structured paths", dialect: sqllineage.Snowflake,
			sql:  `select payload:customer.id::string as cid, e.payload:"Items"[0]:sku as sku, id::int as id from raw.events e`,
			want: []string{"cid <- events.payload DIRECT/TRANSFORMATION", "id <- events.id DIRECT/TRANSFORMATION", "sku <- events.payload DIRECT/TRANSFORMATION"},
		},
		{
			name: "dropped modifiers", dialect: sqllineage.BigQuery,
			sql: `select array_agg(status ignore nulls order by created_at limit 1) as last_status,
				first_value(amount respect nulls) over (order by id) as first, current_date() as today from orders`,
			want: []string{
				"first <- orders.amount DIRECT/TRANSFORMATION", "first <- orders.id INDIRECT/WINDOW",
				"last_status <- orders.created_at INDIRECT/SORT", "last_status <- orders.status DIRECT/AGGREGATION",
			},
		},
		{
			name: "Redshift APPROXIMATE and reserved function names", dialect: sqllineage.Redshift,
			sql:  "select approximate count(distinct status) as n, getdate() as now, int(amount) as whole from orders",
			want: []string{"n <- orders.status DIRECT/AGGREGATION", "whole <- orders.amount DIRECT/TRANSFORMATION"},
		},
		{
			name: "RLIKE and MINUS", dialect: sqllineage.Snowflake,
			sql:  "select id from orders where status rlike '^p' and status not regexp 'x' minus select order_id from sales.items",
			want: []string{"* <- orders.status INDIRECT/FILTER", "id <- items.order_id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY"},
		},
		{
			name: "QUALIFY filters the rows, through a select-list alias", dialect: sqllineage.Snowflake,
			sql: "select id, row_number() over (partition by customer_id order by created_at desc) as rn from orders qualify rn = 1",
			want: []string{
				"* <- orders.created_at INDIRECT/FILTER", "* <- orders.customer_id INDIRECT/FILTER",
				"id <- orders.id DIRECT/IDENTITY", "rn <- orders.created_at INDIRECT/WINDOW", "rn <- orders.customer_id INDIRECT/WINDOW",
			},
		},
		{
			name: "QUALIFY after HAVING, in a subquery", dialect: sqllineage.BigQuery,
			sql: `select * from (select customer_id, sum(amount) as total from orders group by customer_id
				having count(*) > 1 qualify rank() over (order by sum(amount) desc) <= 10) t`,
			want: []string{
				"* <- orders.amount INDIRECT/FILTER", "* <- orders.customer_id INDIRECT/GROUP_BY",
				"customer_id <- orders.customer_id DIRECT/IDENTITY", "total <- orders.amount DIRECT/AGGREGATION",
			},
		},
		{
			name: "GROUP BY ALL groups by the columns that are not aggregates", dialect: sqllineage.Spark,
			sql: "select customer_id, status, sum(amount) as total from orders group by all",
			want: []string{
				"* <- orders.customer_id INDIRECT/GROUP_BY", "* <- orders.status INDIRECT/GROUP_BY",
				"customer_id <- orders.customer_id DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY", "total <- orders.amount DIRECT/AGGREGATION",
			},
		},
		{
			name: "star EXCEPT and EXCLUDE", dialect: sqllineage.BigQuery,
			sql:     "select * except (amount, status), c.* except(region) from orders o join customers c on c.id = o.customer_id",
			columns: []string{"id", "customer_id", "created_at", "id", "first_name", "last_name", "region", "id", "first_name", "last_name"},
		},
		{
			name: "star EXCLUDE and RENAME", dialect: sqllineage.Snowflake,
			sql:     "select * exclude amount rename (status as state, id as order_id) from orders",
			columns: []string{"order_id", "customer_id", "state", "created_at"},
			want: []string{
				"created_at <- orders.created_at DIRECT/IDENTITY", "customer_id <- orders.customer_id DIRECT/IDENTITY",
				"order_id <- orders.id DIRECT/IDENTITY", "state <- orders.status DIRECT/IDENTITY",
			},
		},
		{
			name: "star REPLACE", dialect: sqllineage.DuckDB,
			sql:     "select * replace (amount * 100 as amount) from orders",
			columns: []string{"id", "customer_id", "status", "created_at", "amount"},
			want: []string{
				"amount <- orders.amount DIRECT/TRANSFORMATION", "created_at <- orders.created_at DIRECT/IDENTITY",
				"customer_id <- orders.customer_id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY",
			},
		},
		{
			name: "star EXCEPT is not the set operation", dialect: sqllineage.BigQuery,
			sql:  "select id from orders except distinct select order_id from sales.items",
			want: []string{"id <- items.order_id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY"},
		},
		{
			name: "LATERAL VIEW explode", dialect: sqllineage.Spark,
			sql:  "select o.id, t.item from orders o lateral view outer explode(split(o.status, ',')) t as item",
			want: []string{"id <- orders.id DIRECT/IDENTITY", "item <- orders.status DIRECT/TRANSFORMATION"},
		},
		{
			name: "FLATTEN, LATERAL and TABLE", dialect: sqllineage.Snowflake,
			sql: `select e.id, f.value:sku::string as sku, g.value as v from raw.events e, lateral flatten(input => e.items) f,
				table(flatten(e.tags)) g`,
			want: []string{"id <- events.id DIRECT/IDENTITY", "sku <- events.items DIRECT/TRANSFORMATION", "v <- events.tags DIRECT/TRANSFORMATION"},
		},
		{
			name: "UNNEST WITH OFFSET", dialect: sqllineage.BigQuery,
			sql:  "select e.id, tag, pos from raw.events e cross join unnest(e.tags) as tag with offset as pos",
			want: []string{"id <- events.id DIRECT/IDENTITY", "pos <- events.tags DIRECT/TRANSFORMATION", "tag <- events.tags DIRECT/TRANSFORMATION"},
		},
		{
			name: "lateral column aliases and WHERE on an alias", dialect: sqllineage.Snowflake,
			sql: "select amount * 2 as doubled, doubled + qty as plus from orders join sales.items on order_id = id where doubled > 10",
			want: []string{
				"* <- items.order_id INDIRECT/JOIN", "* <- orders.amount INDIRECT/FILTER", "* <- orders.id INDIRECT/JOIN",
				"doubled <- orders.amount DIRECT/TRANSFORMATION",
				"plus <- items.qty DIRECT/TRANSFORMATION", "plus <- orders.amount DIRECT/TRANSFORMATION",
			},
		},
		{
			name: "a column wins over an alias of the same name", dialect: sqllineage.Snowflake,
			sql:  "select status as amount, amount + 1 as next from orders",
			want: []string{"amount <- orders.status DIRECT/IDENTITY", "next <- orders.amount DIRECT/TRANSFORMATION"},
		},
		{
			name: "struct fields", dialect: sqllineage.BigQuery,
			sql:  "select e.payload.customer.id as cid, payload.total as total from raw.events e",
			want: []string{"cid <- events.payload DIRECT/TRANSFORMATION", "total <- events.payload DIRECT/TRANSFORMATION"},
		},
		{
			name: "UNION ALL BY NAME pairs by name", dialect: sqllineage.Snowflake,
			sql:  "select id, status from orders union all by name select sku as status, order_id as id from sales.items",
			want: []string{"id <- items.order_id DIRECT/IDENTITY", "id <- orders.id DIRECT/IDENTITY", "status <- items.sku DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY"},
		},
		{
			name: "trailing comma and a call's subscript", dialect: sqllineage.Snowflake,
			sql:  "select split(status, '-')[0] as head, (split(status, '-'))[1] as tail, from orders",
			want: []string{"head <- orders.status DIRECT/TRANSFORMATION", "tail <- orders.status DIRECT/TRANSFORMATION"},
		},
		{
			// elementary's dateadd on BigQuery.
			name: "an interval of a call", dialect: sqllineage.BigQuery,
			sql:  "select timestamp_add(cast(created_at as timestamp), interval cast(-7 as int64) day) as week_ago, created_at + interval abs(amount) day as later from orders",
			want: []string{"later <- orders.amount DIRECT/TRANSFORMATION", "later <- orders.created_at DIRECT/TRANSFORMATION", "week_ago <- orders.created_at DIRECT/TRANSFORMATION"},
		},
		{
			// elementary's table_changes model names a CTE current_schema.
			name: "a reserved word names a CTE", dialect: sqllineage.Snowflake,
			sql: `with current_schema as (select id, status from orders), current_date as (select id from orders)
				select current_schema.id, status, d.id as other from current_schema join current_date d on d.id = current_schema.id`,
			want: []string{"* <- orders.id INDIRECT/JOIN", "id <- orders.id DIRECT/IDENTITY", "other <- orders.id DIRECT/IDENTITY", "status <- orders.status DIRECT/IDENTITY"},
		},
		{
			name: "JOIN LATERAL FLATTEN without ON", dialect: sqllineage.Snowflake,
			sql: `select e.id, f.value as v, g.value as w from raw.events e inner join lateral flatten(input => e.items) f
				left join lateral flatten(e.tags) as g natural join lateral flatten(e.refs)`,
			want: []string{"id <- events.id DIRECT/IDENTITY", "v <- events.items DIRECT/TRANSFORMATION", "w <- events.tags DIRECT/TRANSFORMATION"},
		},
		{
			name: "columns of no table", dialect: sqllineage.DuckDB,
			sql:  "select rowid as n, o.ctid, id from orders o where _partitiontime is not null or metadata$filename <> ''",
			want: []string{"id <- orders.id DIRECT/IDENTITY"},
		},
		{
			name: "a trailing comma without FROM", dialect: sqllineage.BigQuery,
			sql:     "select 1 as one, struct(2 as x) as nested_struct, -- the last\n",
			columns: []string{"one", "nested_struct"},
		},
		{
			name: "four-part names and dashed projects", dialect: sqllineage.BigQuery,
			sql:      "select x from my-project.region.ds.t1, `other-project.ds.t2`",
			warnings: []string{`column "x": column "x" could be in any of`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := tt.dialect.ColumnLineage(tt.sql, testResolver)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil {
				if diff := cmp.Diff(slices.Sorted(slices.Values(tt.want)), edges(q)); diff != "" {
					t.Errorf("edges (-want +got):\n%s", diff)
				}
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

// TestDialectRelations checks that names keep what the SQL wrote.
func TestDialectRelations(t *testing.T) {
	tests := []struct {
		dialect sqllineage.Dialect
		sql     string
		want    []sqllineage.Relation
	}{
		{sqllineage.Spark, "select * from default.orders join `Sales`.items using (id)", []sqllineage.Relation{{Schema: "default", Name: "orders"}, {Schema: "Sales", Name: "items"}}},
		{sqllineage.BigQuery, "select * from `my-project.ds.t` join my-project-2.ds.u on true", []sqllineage.Relation{{Catalog: "my-project", Schema: "ds", Name: "t"}, {Catalog: "my-project-2", Schema: "ds", Name: "u"}}},
		{sqllineage.Trino, `select * from "cat"."schema"."table"`, []sqllineage.Relation{{Catalog: "cat", Schema: "schema", Name: "table"}}},
		{sqllineage.Generic, "select * from a.b.c.d", []sqllineage.Relation{{Catalog: "a.b", Schema: "c", Name: "d"}}},
		{sqllineage.Snowflake, "select * from DB.PUBLIC.ORDERS", []sqllineage.Relation{{Catalog: "db", Schema: "public", Name: "orders"}}},
	}
	for _, tt := range tests {
		got, err := tt.dialect.Relations(tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.sql, diff)
		}
	}
}

// TestDialectParseErrors checks that SQL no rewrite makes parse is a
// ParseError naming the construct and where it is.
func TestDialectParseErrors(t *testing.T) {
	tests := []struct {
		dialect   sqllineage.Dialect
		sql       string
		construct string
		line      int
	}{
		{sqllineage.Snowflake, "select *\nfrom orders\npivot (sum(amount) for status in ('a', 'b'))", "PIVOT", 3},
		{sqllineage.BigQuery, "select 'open", "unterminated string literal", 1},
		{sqllineage.Spark, "select a\nfrom t\nwhere a = = 1", `unparsable near "="`, 3},
		{sqllineage.Postgres, "select `a` from t", `unparsable near "FROM"`, 1},
		{sqllineage.DuckDB, "select {'a': 1} as s", "struct or map literal ({…})", 1},
		{sqllineage.Snowflake, "select * from t match_recognize (partition by a)", "MATCH_RECOGNIZE", 1},
	}
	for _, tt := range tests {
		_, err := tt.dialect.ColumnLineage(tt.sql, testResolver)
		var pe *sqllineage.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err = %v, want a ParseError", tt.sql, err)
			continue
		}
		if pe.Construct != tt.construct || pe.Line != tt.line || pe.Dialect != tt.dialect {
			t.Errorf("%q: %s, line %d (%s), want %s, line %d", tt.sql, pe.Construct, pe.Line, pe.Dialect, tt.construct, tt.line)
		}
		if !strings.Contains(err.Error(), tt.construct) {
			t.Errorf("%q: error %q does not name %s", tt.sql, err, tt.construct)
		}
	}
}

func TestDialectOf(t *testing.T) {
	for adapter, want := range map[string]sqllineage.Dialect{
		"postgres": sqllineage.Postgres, "databricks": sqllineage.Spark, "spark": sqllineage.Spark, "bigquery": sqllineage.BigQuery,
		"Snowflake": sqllineage.Snowflake, "duckdb": sqllineage.DuckDB, "redshift": sqllineage.Redshift, "athena": sqllineage.Trino,
		"sqlserver": sqllineage.Generic, "": sqllineage.Generic,
	} {
		if got := sqllineage.DialectOf(adapter); got != want {
			t.Errorf("DialectOf(%q) = %q, want %q", adapter, got, want)
		}
	}
}
