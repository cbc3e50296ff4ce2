package dbt

import (
	"path/filepath"
	"strings"
	"testing"

	"almanac/catalog"
)

// columnEdges renders column lineage as "out.col <- in.col TYPE/SUBTYPE",
// with dataset names relative to prefix.
func columnEdges(h catalog.Harvest, prefix string) map[string]bool {
	out := map[string]bool{}
	for _, c := range h.ColumnLineage {
		out[strings.TrimPrefix(c.Output.Name, prefix)+"."+c.Column+" <- "+
			strings.TrimPrefix(c.Input.Name, prefix)+"."+c.InputColumn+" "+c.Type+"/"+c.Subtype] = true
	}
	return out
}

// TestCrawlColumnLineage checks column lineage derived from the compiled
// SQL of the jaffle_shop fixtures: v7 has no catalog.json, so the columns
// of the models read come from their own compiled SQL; 1.12 has one.
func TestCrawlColumnLineage(t *testing.T) {
	for _, tc := range []struct {
		dir, prefix string
		want        []string
		warnings    []string
	}{
		{
			dir: "jaffle_shop_v7", prefix: "database.schema.",
			want: []string{
				"customers.customer_id <- stg_customers.customer_id DIRECT/IDENTITY",
				"customers.first_name <- stg_customers.first_name DIRECT/IDENTITY",
				"customers.number_of_orders <- stg_orders.order_id DIRECT/AGGREGATION",
				"customers.customer_lifetime_value <- stg_payments.amount DIRECT/AGGREGATION",
				"customers. <- stg_orders.customer_id INDIRECT/GROUP_BY",
				"customers. <- stg_customers.customer_id INDIRECT/JOIN",
				"orders.credit_card_amount <- stg_payments.amount DIRECT/AGGREGATION",
				"orders.credit_card_amount <- stg_payments.payment_method INDIRECT/CONDITIONAL",
				"stg_customers.customer_id <- raw_customers.id DIRECT/IDENTITY",
				"stg_payments.amount <- raw_payments.amount DIRECT/TRANSFORMATION",
			},
		},
		{
			dir: "jaffle_shop_1.12", prefix: "jaffle_shop.",
			want: []string{
				"main.customers.customer_id <- main.stg_customers.customer_id DIRECT/IDENTITY",
				"main.customers.customer_name <- main.stg_customers.customer_name DIRECT/IDENTITY",
				"main.customers.count_lifetime_orders <- main.orders.order_id DIRECT/AGGREGATION",
				"main.customers.customer_type <- main.orders.order_id INDIRECT/CONDITIONAL",
				"main.orders.customer_order_number <- main.stg_orders.customer_id INDIRECT/WINDOW",
				"main.stg_orders.order_total <- raw.raw_orders.order_total DIRECT/TRANSFORMATION",
				"main.stg_orders.order_total_cents <- raw.raw_orders.order_total DIRECT/IDENTITY",
				"main.order_items.supply_cost <- main.stg_supplies.supply_cost DIRECT/AGGREGATION",
			},
			// DuckDB's "interval 1 day" in metricflow_time_spine parses
			// (the model reads no column: no lineage, no warning).
		},
		{
			// Snowflake: output columns take the case of catalog.json;
			// tables read without a source declared are the warehouse's.
			dir: "manifest_v1", prefix: "DBT_DEMO.PUBLIC.",
			want: []string{
				"cost_summary.DT <- fact_warehouse_inventory.DT DIRECT/IDENTITY",
				"fact_catalog_returns.CR_ITEM_SK <- SNOWFLAKE_SAMPLE_DATA.TPCDS_SF100TCL.CATALOG_RETURNS.cr_item_sk DIRECT/IDENTITY",
				"raw_inventory_value.ITEM_PRICE <- ITEM.i_current_price DIRECT/IDENTITY",
			},
			warnings: []string{
				`postgres://warehouse.internal:5432/DBT_DEMO.PUBLIC.raw_inventory_value: column lineage of model.dbt_demo.raw_inventory_value: column "dt": column "inv_date_sk" could be in any of`,
				`postgres://warehouse.internal:5432/DBT_DEMO.PUBLIC.raw_inventory_item_warehouse: column lineage of model.dbt_demo.raw_inventory_item_warehouse: column "dt": column "inv_date_sk" could be in any of`,
			},
		},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			h := crawlDir(t, Config{TargetDirs: []string{filepath.Join("testdata", tc.dir)}})
			got := columnEdges(h, tc.prefix)
			for _, e := range tc.want {
				if !got[e] {
					t.Errorf("no column lineage %s", e)
				}
			}
			var warnings []string
			for _, e := range h.Errors {
				if strings.Contains(e.Message, "column lineage") {
					warnings = append(warnings, e.Object+": "+e.Message)
				}
			}
			if len(warnings) != len(tc.warnings) {
				t.Errorf("warnings = %q, want %d", warnings, len(tc.warnings))
			}
			for i := range min(len(warnings), len(tc.warnings)) {
				if !strings.HasPrefix(warnings[i], tc.warnings[i]) {
					t.Errorf("warning %d = %q, want it to start %q", i, warnings[i], tc.warnings[i])
				}
			}
		})
	}
}

// TestCrawlColumnLineageDatabase checks that Config.Database renames the
// project's database in column lineage too, and no other database.
func TestCrawlColumnLineageDatabase(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/manifest_v1"}, Database: "dwh"})
	got := columnEdges(h, "")
	for _, e := range []string{
		"dwh.PUBLIC.raw_inventory_value.ITEM_PRICE <- dwh.PUBLIC.ITEM.i_current_price DIRECT/IDENTITY",
		"dwh.PUBLIC.cost_summary.DT <- dwh.PUBLIC.fact_warehouse_inventory.DT DIRECT/IDENTITY",
		"dwh.PUBLIC.fact_catalog_returns.CR_ITEM_SK <- SNOWFLAKE_SAMPLE_DATA.TPCDS_SF100TCL.CATALOG_RETURNS.cr_item_sk DIRECT/IDENTITY",
	} {
		if !got[e] {
			t.Errorf("no column lineage %s", e)
		}
	}
}

// cyclicManifest has an incremental model that reads itself and two
// models that read each other, which dbt forbids but a manifest may say.
const cyclicManifest = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": {
	"model.p.inc": {"resource_type": "model", "name": "inc", "database": "db", "schema": "s", "config": {"materialized": "incremental"},
		"columns": {"id": {"name": "id"}},
		"compiled_code": "select id, ts from \"db\".\"s\".\"src\" where ts > (select max(ts) from \"db\".\"s\".\"inc\")"},
	"model.p.a": {"resource_type": "model", "name": "a", "database": "db", "schema": "s", "config": {"materialized": "view"},
		"compiled_code": "select x from s.b"},
	"model.p.b": {"resource_type": "model", "name": "b", "database": "db", "schema": "s", "config": {"materialized": "view"},
		"compiled_code": "select * from a"},
	"seed.p.src": {"resource_type": "seed", "name": "src", "database": "db", "schema": "s", "columns": {"id": {"name": "id"}}}
}}`

// TestCrawlColumnLineageCycles checks that models reading themselves or
// each other get lineage from their documented columns, without looping.
func TestCrawlColumnLineageCycles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ManifestFile, []byte(cyclicManifest))
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	got := columnEdges(h, "db.s.")
	for _, e := range []string{
		"inc.id <- src.id DIRECT/IDENTITY",
		"inc.ts <- src.ts DIRECT/IDENTITY", // the seed's columns are open: ts is taken to be one
		"inc. <- inc.ts INDIRECT/FILTER",
		"inc. <- src.ts INDIRECT/FILTER",
		"a.x <- b.x DIRECT/IDENTITY",
	} {
		if !got[e] {
			t.Errorf("no column lineage %s in %v", e, got)
		}
	}
}

// dialectManifest is a Snowflake project: a model in Snowflake's syntax,
// and one with a PIVOT, which no rewrite translates.
const dialectManifest = `{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "adapter_type": "snowflake"}, "nodes": {
	"model.p.latest": {"resource_type": "model", "name": "latest", "database": "DB", "schema": "S", "config": {"materialized": "table"},
		"compiled_code": "select id, payload:customer.id::varchar as customer_id, iff(amount > 0, amount, 0) as amount\nfrom DB.S.SRC\nqualify row_number() over (partition by customer_id order by ts desc) = 1"},
	"model.p.pivoted": {"resource_type": "model", "name": "pivoted", "database": "DB", "schema": "S", "config": {"materialized": "table"},
		"compiled_code": "select *\nfrom DB.S.SRC\npivot (sum(amount) for kind in ('a', 'b'))"},
	"model.p.python": {"resource_type": "model", "name": "python", "database": "DB", "schema": "S", "language": "python", "config": {"materialized": "table"},
		"compiled_code": "def model(dbt, session):\n    return dbt.ref('latest')"},
	"seed.p.src": {"resource_type": "seed", "name": "src", "database": "DB", "schema": "S", "columns": {"id": {"name": "id"}}}
}}`

// TestCrawlColumnLineageDialect checks that the dbt crawler reads
// compiled SQL in the dialect of the manifest's adapter, and that a
// model whose SQL no dialect path parses is a warning naming the model
// and the construct, not a failed crawl.
func TestCrawlColumnLineageDialect(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ManifestFile, []byte(dialectManifest))
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	got := columnEdges(h, "DB.S.")
	for _, e := range []string{
		"latest.id <- src.id DIRECT/IDENTITY",
		"latest.customer_id <- src.payload DIRECT/TRANSFORMATION",
		"latest.amount <- src.amount DIRECT/TRANSFORMATION",
		"latest. <- src.ts INDIRECT/FILTER",
	} {
		if !got[e] {
			t.Errorf("no column lineage %s in %v", e, got)
		}
	}
	var warnings []string
	for _, e := range h.Errors {
		if strings.Contains(e.Message, "column lineage") {
			warnings = append(warnings, e.Object+": "+e.Message)
		}
	}
	want := []string{warehouseNS + "/DB.S.pivoted: column lineage of model.p.pivoted: cannot parse snowflake SQL: PIVOT at line 3"}
	if len(warnings) != len(want) || !strings.HasPrefix(warnings[0], want[0]) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
}

// TestCrawlColumnLineageSnapshot derives the column lineage of a
// snapshot from the select it records.
func TestCrawlColumnLineageSnapshot(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ManifestFile, []byte(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "adapter_type": "redshift"}, "nodes": {
	"snapshot.p.snap": {"resource_type": "snapshot", "name": "snap", "database": "db", "schema": "s", "config": {"materialized": "snapshot"},
		"compiled_code": "select id, upper(name) as name, updated_at from db.s.src where id > 0"},
	"seed.p.src": {"resource_type": "seed", "name": "src", "database": "db", "schema": "s", "columns": {"id": {"name": "id"}, "name": {"name": "name"}, "updated_at": {"name": "updated_at"}}}
}}`))
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	got := columnEdges(h, "db.s.")
	for _, e := range []string{
		"snap.id <- src.id DIRECT/IDENTITY",
		"snap.name <- src.name DIRECT/TRANSFORMATION",
		"snap.updated_at <- src.updated_at DIRECT/IDENTITY",
		"snap. <- src.id INDIRECT/FILTER",
	} {
		if !got[e] {
			t.Errorf("no column lineage %s in %v", e, got)
		}
	}
}
