package dbt

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// TestCrawlSemanticLayer reads jaffle_shop's semantic models, metrics and
// saved queries as what they are, linked in the lineage: model →
// semantic model → metric → saved query → its export.
func TestCrawlSemanticLayer(t *testing.T) {
	h := crawlDir(t, Config{TargetDirs: []string{"testdata/jaffle_shop_1.12"}, JobNamespace: "dbt://jaffle"})
	sem := func(id string) catalog.Key { return catalog.Key{Namespace: "dbt://jaffle", Name: id} }
	common := map[string]string{
		PropPackage: "jaffle_shop", PropDBTVersion: "1.12.0", PropSchemaVersion: "https://schemas.getdbt.com/dbt/manifest/v12.json",
	}
	with := func(props map[string]string) map[string]string {
		for k, v := range common {
			props[k] = v
		}
		return props
	}

	orders := find(t, h.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == sem("semantic_model.jaffle_shop.orders") })
	wantOrders := catalog.DatasetFacts{
		Key: sem("semantic_model.jaffle_shop.orders"), Platform: Platform, Kind: catalog.KindSemanticModel,
		Description: "Order overview data mart, offering key details for each order inlcluding if it's a customer's first order and a food vs. drink item breakdown. One row per order.",
		Properties: with(map[string]string{
			PropUniqueID: "semantic_model.jaffle_shop.orders", PropResourceType: "semantic_model", PropPath: "models/marts/orders.yml",
			PropModel: `"jaffle_shop"."main"."orders"`, PropAggTimeDimension: "ordered_at",
		}),
		Columns: []catalog.Column{
			{Name: "order_id", Ordinal: 1, Type: "entity: primary", Nullable: true, Description: "The unique key of the orders mart."},
			{Name: "customer", Ordinal: 2, Type: "entity: foreign", Nullable: true, Description: "The foreign key relating to the customer who placed the order."},
			{Name: "location", Ordinal: 3, Type: "entity: foreign", Nullable: true},
			{Name: "order_total_dim", Ordinal: 4, Type: "dimension: categorical", Nullable: true, Description: "The total amount of the order in USD including tax."},
			{Name: "ordered_at", Ordinal: 5, Type: "dimension: time, day", Nullable: true, Description: "The timestamp the order was placed at."},
			{Name: "is_food_order", Ordinal: 6, Type: "dimension: categorical", Nullable: true, Description: "A boolean indicating if this order included any food items."},
			{Name: "is_drink_order", Ordinal: 7, Type: "dimension: categorical", Nullable: true, Description: "A boolean indicating if this order included any drink items."},
			{Name: "customer_order_number", Ordinal: 8, Type: "dimension: categorical", Nullable: true},
		},
	}
	if diff := cmp.Diff(wantOrders, orders); diff != "" {
		t.Errorf("semantic model orders (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		id    string
		props map[string]string
	}{
		{"metric.jaffle_shop.new_customer_orders", map[string]string{
			PropLabel: "New Customers", PropMetricType: "simple", PropAggregation: "sum", PropExpression: "1",
			PropFilter: "{{ Dimension('order_id__customer_order_number') }} = 1", PropPath: "models/marts/orders.yml",
		}},
		{"metric.jaffle_shop.food_revenue_pct", map[string]string{
			PropLabel: "Food Revenue %", PropMetricType: "ratio", PropNumerator: "food_revenue", PropDenominator: "revenue",
			PropPath: "models/marts/order_items.yml",
		}},
		{"metric.jaffle_shop.order_gross_profit", map[string]string{
			PropLabel: "Order Gross Profit", PropMetricType: "derived", PropExpression: "revenue - cost",
			PropInputMetrics: "revenue, order_cost as cost", PropPath: "models/marts/order_items.yml",
		}},
	} {
		d := find(t, h.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == sem(tc.id) })
		tc.props[PropUniqueID], tc.props[PropResourceType] = tc.id, "metric"
		if diff := cmp.Diff(with(tc.props), d.Properties); d.Kind != catalog.KindMetric || diff != "" {
			t.Errorf("metric %s of kind %s, properties (-want +got):\n%s", tc.id, d.Kind, diff)
		}
	}

	// The lineage, job by job.
	jobs := map[string]catalog.JobFacts{}
	for _, j := range h.Jobs {
		jobs[j.Key.Name] = j
	}
	wh := func(name string) catalog.Key {
		return catalog.Key{Namespace: warehouseNS, Name: "jaffle_shop.main." + name}
	}
	for _, tc := range []struct {
		job, typ        string
		inputs, outputs []catalog.Key
	}{
		{"semantic_model.jaffle_shop.orders", catalog.JobDBTSemanticModel, []catalog.Key{wh("orders")}, []catalog.Key{sem("semantic_model.jaffle_shop.orders")}},
		{"metric.jaffle_shop.new_customer_orders", catalog.JobDBTMetric,
			[]catalog.Key{sem("semantic_model.jaffle_shop.orders")}, []catalog.Key{sem("metric.jaffle_shop.new_customer_orders")}},
		{"metric.jaffle_shop.food_revenue_pct", catalog.JobDBTMetric,
			[]catalog.Key{sem("metric.jaffle_shop.food_revenue"), sem("metric.jaffle_shop.revenue")}, []catalog.Key{sem("metric.jaffle_shop.food_revenue_pct")}},
		{"saved_query.jaffle_shop.revenue_metrics", catalog.JobDBTSavedQuery,
			[]catalog.Key{sem("metric.jaffle_shop.revenue"), sem("metric.jaffle_shop.food_revenue"), sem("metric.jaffle_shop.drink_revenue")},
			[]catalog.Key{wh("revenue_metrics")}},
	} {
		j, ok := jobs[tc.job]
		if !ok {
			t.Errorf("no job %s", tc.job)
			continue
		}
		if diff := cmp.Diff([]any{tc.typ, tc.inputs, tc.outputs}, []any{j.Type, j.Inputs, j.Outputs}); diff != "" {
			t.Errorf("job %s: type, inputs, outputs (-want +got):\n%s", tc.job, diff)
		}
	}
	sq := jobs["saved_query.jaffle_shop.revenue_metrics"]
	if sq.Properties[PropMetrics] != "revenue, food_revenue, drink_revenue" || sq.Properties[PropGroupBy] != "TimeDimension('metric_time', 'day')" {
		t.Errorf("saved query properties %v", sq.Properties)
	}
	export := find(t, h.Datasets, func(d catalog.DatasetFacts) bool { return d.Key == wh("revenue_metrics") })
	if export.Kind != catalog.KindTable || export.Properties[PropResourceType] != "saved_query" || export.Properties[PropExport] != "revenue_metrics" {
		t.Errorf("export of revenue_metrics: %+v", export)
	}
	// Nothing of the manifest goes unnamed: jaffle_shop has nothing the
	// crawler does not read.
	for _, e := range h.Errors {
		if strings.Contains(e.Message, "not harvested") {
			t.Errorf("unexpected warning %v", e)
		}
	}
}

// TestCrawlOldMetrics reads the metrics of manifests v4 to v9, before
// MetricFlow: an aggregation over a model's column.
func TestCrawlOldMetrics(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ManifestFile, []byte(`{
	"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v7.json", "dbt_version": "1.3.0"},
	"nodes": {"model.shop.orders": {"unique_id": "model.shop.orders", "resource_type": "model", "name": "orders",
		"database": "db", "schema": "marts", "alias": "orders", "config": {"materialized": "table"}}},
	"metrics": {
		"metric.shop.revenue": {"unique_id": "metric.shop.revenue", "resource_type": "metric", "name": "revenue",
			"label": "Revenue", "description": "Sum of order amounts.", "calculation_method": "sum", "expression": "amount",
			"timestamp": "ordered_at", "time_grains": ["day", "week"], "dimensions": ["country"],
			"filters": [{"field": "status", "operator": "=", "value": "'paid'"}], "model": "ref('orders')",
			"meta": {"owner": "finance-team"}, "tags": ["kpi"],
			"depends_on": {"macros": [], "nodes": ["model.shop.orders"]}},
		"metric.shop.order_count": {"unique_id": "metric.shop.order_count", "resource_type": "metric", "name": "order_count",
			"label": "Orders", "type": "count", "sql": "order_id", "timestamp": "ordered_at", "time_grains": ["day"],
			"filters": [], "model": "ref('orders')", "depends_on": {"nodes": ["model.shop.orders"]}}
	}}`))
	h := crawlDir(t, Config{TargetDirs: []string{dir}, JobNamespace: "dbt://shop"})
	got := map[string]map[string]string{}
	for _, d := range h.Datasets {
		if d.Kind == catalog.KindMetric {
			got[d.Key.Name] = d.Properties
			if d.Key.Name == "metric.shop.revenue" && (!slices.Equal(d.Tags, []string{"kpi"}) || len(d.Owners) != 1 || d.Owners[0].Kind != catalog.OwnerTeam) {
				t.Errorf("revenue: tags %v, owners %v", d.Tags, d.Owners)
			}
		}
	}
	common := map[string]string{PropResourceType: "metric", PropPackage: "", PropDBTVersion: "1.3.0", PropSchemaVersion: "https://schemas.getdbt.com/dbt/manifest/v7.json"}
	want := map[string]map[string]string{
		"metric.shop.revenue": {PropUniqueID: "metric.shop.revenue", PropLabel: "Revenue", PropMetricType: "sum", PropExpression: "amount",
			PropTimestamp: "ordered_at", PropTimeGrains: "day, week", PropFilter: "status = 'paid'"},
		"metric.shop.order_count": {PropUniqueID: "metric.shop.order_count", PropLabel: "Orders", PropAggregation: "count", PropExpression: "order_id",
			PropTimestamp: "ordered_at", PropTimeGrains: "day"},
	}
	for _, props := range want {
		for k, v := range common {
			if v != "" {
				props[k] = v
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	for _, j := range h.Jobs {
		if j.Type == catalog.JobDBTMetric && !slices.Equal(j.Inputs, []catalog.Key{pkey("db.marts.orders")}) {
			t.Errorf("job %s reads %v, want the model", j.Key, j.Inputs)
		}
	}
}

// TestCrawlNamesWhatItDoesNotRead: nodes of a resource type and sections
// the crawler does not know are counted and named in warnings; those it
// knows to leave out (hooks, analyses, macros, disabled nodes,
// user-defined functions) are not.
func TestCrawlNamesWhatItDoesNotRead(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, ManifestFile, []byte(`{
	"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
	"nodes": {
		"model.p.a": {"unique_id": "model.p.a", "resource_type": "model", "name": "a", "database": "db", "schema": "s", "config": {"materialized": "view"}},
		"operation.p.p-on-run-end-0": {"unique_id": "operation.p.p-on-run-end-0", "resource_type": "operation"},
		"analysis.p.x": {"unique_id": "analysis.p.x", "resource_type": "analysis"},
		"notebook.p.n1": {"unique_id": "notebook.p.n1", "resource_type": "notebook"},
		"notebook.p.n2": {"unique_id": "notebook.p.n2", "resource_type": "notebook"}
	},
	"macros": {"macro.p.m": {"unique_id": "macro.p.m"}},
	"disabled": {"model.p.off": [{"unique_id": "model.p.off", "resource_type": "model"}]},
	"functions": {"function.p.double_it": {"unique_id": "function.p.double_it", "resource_type": "function"}},
	"widgets": {"widget.p.w": {"unique_id": "widget.p.w", "resource_type": "widget"}},
	"empty_section": {},
	"some_flag": true
	}`))
	h := crawlDir(t, Config{TargetDirs: []string{dir}})
	var got []string
	for _, e := range h.Errors {
		if e.Message != strings.TrimPrefix(noCatalog, "catalog.json: ") {
			got = append(got, filepath.Base(e.Object)+": "+e.Message)
		}
	}
	want := []string{
		`manifest.json: resource type "notebook": 2 not harvested (first notebook.p.n1): this version of Almanac does not know what they are`,
		`manifest.json: section "widgets": 1 not harvested (first widget.p.w): this version of Almanac does not know what they are`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if len(h.Datasets) != 1 || len(h.Scopes) == 0 {
		t.Errorf("datasets %d, scopes %v: what is known is harvested as ever", len(h.Datasets), h.Scopes)
	}
}
