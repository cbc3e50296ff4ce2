package search

import (
	"strings"
	"testing"
	"time"

	"almanac/catalog"
)

// The fixed corpus of the relevance suite: the demo warehouse of Acme
// Outfitters (catalog/demo/data/warehouse.sql) as its crawl and a dbt
// project would describe it, plus a lake with camelCase names and a few
// datasets made to tempt the ranking.

var corpusNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const (
	whNS   = "postgres://warehouse.internal:5432"
	lakeNS = "s3://acme-lake"
)

// col is a column written "name: description".
func cols(specs ...string) []catalog.Column {
	out := make([]catalog.Column, 0, len(specs))
	for i, s := range specs {
		name, desc, _ := strings.Cut(s, ":")
		out = append(out, catalog.Column{Name: strings.TrimSpace(name), Ordinal: i + 1, Description: strings.TrimSpace(desc)})
	}
	return out
}

type cd struct {
	name, kind, desc string
	cols             []catalog.Column
	owners, tags     []string
	age              time.Duration // since last update
	consumers        int
	removed          bool
	ns, platform     string
	other            []string
}

func corpus() []Dataset {
	day := 24 * time.Hour
	specs := []cd{
		// raw
		{name: "warehouse.raw.shop_customers", kind: "table", desc: "Customers of the web shop, landed unchanged from the shop database.",
			cols:   cols("id", "external_id", "email: Customer email address (PII).", "first_name", "last_name", "phone", "country_code", "accepts_marketing: Opted in to marketing email.", "created_at"),
			owners: []string{"data_platform"}, tags: []string{"pii", "raw"}, age: 2 * day},
		{name: "warehouse.raw.shop_products", kind: "table", desc: "Product catalog of the shop.", cols: cols("id", "sku", "title", "category", "price_cents", "created_at"), owners: []string{"data_platform"}, age: 2 * day},
		{name: "warehouse.raw.shop_orders", kind: "table", desc: "Orders as placed in the shop, one row per order.",
			cols: cols("id", "customer_id", "status", "total_cents: Order total in cents, tax included.", "currency", "placed_at"), owners: []string{"data_platform"}, tags: []string{"raw"}, age: 2 * day, consumers: 2},
		{name: "warehouse.raw.shop_order_items", kind: "table", desc: "Line items of shop orders.", cols: cols("id", "order_id", "product_id", "quantity", "unit_price_cents"), owners: []string{"data_platform"}, age: 2 * day},
		{name: "warehouse.raw.shop_refunds", kind: "table", desc: "Refunds issued in the shop.", cols: cols("id", "order_id", "amount_cents", "reason", "refunded_at"), owners: []string{"data_platform"}, age: 2 * day},
		{name: "warehouse.raw.payments_stripe_charges", kind: "table", desc: "Stripe charges, loaded by the EL pipeline.", cols: cols("id", "order_id", "amount", "currency", "status", "card_brand", "created"), owners: []string{"data_platform"}, tags: []string{"pii"}, age: 2 * day},
		{name: "warehouse.raw.marketing_campaigns", kind: "table", desc: "Campaigns from HubSpot.", cols: cols("id", "name", "channel", "budget", "started_on"), age: 2 * day},
		{name: "warehouse.raw.web_events", kind: "partitioned", desc: "Snowplow web tracking events, partitioned by month.", cols: cols("event_id", "session_id", "user_id", "event_type", "page_url", "occurred_at"), owners: []string{"data_platform"}, age: 2 * day},
		{name: "warehouse.raw.inventory_snapshots", kind: "table", desc: "Daily stock levels from the WMS.", cols: cols("warehouse_id", "product_id", "on_hand", "snapshot_date"), age: 2 * day},
		{name: "warehouse.raw.support_tickets", kind: "table", desc: "Zendesk tickets.", cols: cols("id", "customer_email: Email of the customer who opened the ticket.", "subject", "status", "opened_at"), tags: []string{"pii"}, age: 2 * day},
		{name: "warehouse.raw.shipments", kind: "table", desc: "Carrier shipments.", cols: cols("id", "order_id", "carrier", "tracking_number", "shipped_at"), age: 2 * day},
		// staging
		{name: "warehouse.staging.stg_customers", kind: "view", desc: "Cleaned customers: emails lower-cased, test accounts removed.", cols: cols("customer_id", "email", "full_name", "country_code", "created_at"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_orders", kind: "view", desc: "Cleaned orders with amounts in dollars; test orders removed.", cols: cols("order_id", "customer_id", "status", "order_total", "ordered_at"), owners: []string{"analytics_engineers"}, age: day, consumers: 3},
		{name: "warehouse.staging.stg_order_items", kind: "view", desc: "Order lines, typed.", cols: cols("order_item_id", "order_id", "product_id", "quantity", "line_total"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_payments", kind: "view", desc: "Successful Stripe payments.", cols: cols("payment_id", "order_id", "amount", "paid_at"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_products", kind: "view", desc: "Products with prices in dollars.", cols: cols("product_id", "sku", "product_name", "category", "price"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_shipments", kind: "view", desc: "Shipments with normalised carrier status.", cols: cols("shipment_id", "order_id", "carrier", "status", "shipped_at", "delivered_at"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_web_sessions", kind: "view", desc: "Web sessions sessionised from events.", cols: cols("session_id", "user_id", "started_at", "page_views"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.staging.stg_support_tickets", kind: "view", desc: "Support tickets joined to customers.", cols: cols("ticket_id", "customer_id", "status", "opened_at", "resolved_at"), owners: []string{"analytics_engineers"}, age: day},
		// marts
		{name: "warehouse.marts.dim_date", kind: "table", desc: "Calendar dimension, one row per day.", cols: cols("date_day", "year", "quarter", "month", "is_weekend"), owners: []string{"analytics_engineers"}, tags: []string{"certified"}, age: day, consumers: 5},
		{name: "warehouse.marts.dim_customers", kind: "table", desc: "One row per customer with their first and last order, lifetime orders and country.",
			cols: cols("customer_id: Surrogate key of the customer.", "email: Customer email address.", "country_code", "first_order_at", "lifetime_orders"), owners: []string{"analytics_engineers"}, tags: []string{"certified", "pii"}, age: day, consumers: 4},
		{name: "warehouse.marts.dim_products", kind: "table", desc: "Products with category and current price.", cols: cols("product_id", "product_name", "category", "price"), owners: []string{"analytics_engineers"}, tags: []string{"certified"}, age: day, consumers: 2},
		{name: "warehouse.marts.dim_campaigns", kind: "table", desc: "Marketing campaigns with channel and budget.", cols: cols("campaign_id", "campaign_name", "channel", "budget"), owners: []string{"analytics_engineers"}, age: day},
		{name: "warehouse.marts.fct_orders", kind: "table", desc: "One row per order placed on the web shop. Grain: order_id; amounts in USD after discounts.",
			cols:   cols("order_id: Surrogate key of the order.", "customer_id: The customer who placed the order.", "order_total: Order total in USD, after discounts.", "ordered_at", "status"),
			owners: []string{"analytics_engineers"}, tags: []string{"certified", "finance"}, age: day, consumers: 6,
			other: []string{"Orders fact table."}},
		{name: "warehouse.marts.fct_order_items", kind: "table", desc: "One row per order line.", cols: cols("order_item_id", "order_id", "product_id", "quantity", "revenue: Line revenue in USD."), owners: []string{"analytics_engineers"}, tags: []string{"certified"}, age: day, consumers: 1},
		{name: "warehouse.marts.fct_daily_revenue", kind: "materialized_view", desc: "Revenue per day and channel, refunds netted out.", cols: cols("date_day", "channel", "gross_revenue", "refunds", "net_revenue"), owners: []string{"finance_team"}, tags: []string{"finance"}, age: day, consumers: 2},
		{name: "warehouse.marts.customer_lifetime_value", kind: "view", desc: "Customer lifetime value (CLV): revenue per customer since the first order.", cols: cols("customer_id", "lifetime_revenue", "orders", "first_order_at"), owners: []string{"analytics_engineers"}, age: 20 * day},
		{name: "warehouse.marts.product_performance", kind: "view", desc: "Units sold and revenue per product and month.", cols: cols("product_id", "month", "units_sold", "revenue"), owners: []string{"analytics_engineers"}, age: 20 * day},
		// finance
		{name: "warehouse.finance.gl_accounts", kind: "table", desc: "Chart of accounts of the general ledger.", cols: cols("account_id", "account_name", "account_type"), owners: []string{"finance_team"}, tags: []string{"finance"}, age: 40 * day},
		{name: "warehouse.finance.fx_rates", kind: "table", desc: "Daily foreign exchange rates to USD.", cols: cols("rate_date", "currency", "usd_rate"), owners: []string{"finance_team"}, tags: []string{"finance"}, age: day},
		{name: "warehouse.finance.refunds", kind: "table", desc: "Refunds reconciled with Stripe and the ledger.", cols: cols("refund_id", "order_id", "amount_usd", "refunded_at", "reason"), owners: []string{"finance_team"}, tags: []string{"finance"}, age: day},
		{name: "warehouse.finance.revenue_recognition", kind: "table", desc: "Recognised revenue per order and month under ASC 606.", cols: cols("order_id", "recognized_month", "recognized_revenue"), owners: []string{"finance_team"}, tags: []string{"finance"}, age: day},
		{name: "warehouse.finance.monthly_revenue", kind: "view", desc: "Monthly revenue reconciled with the general ledger.", cols: cols("month", "gross_revenue", "refunds", "net_revenue"), owners: []string{"finance_team"}, tags: []string{"finance", "certified"}, age: day, consumers: 3},
		// ops
		{name: "warehouse.ops.warehouses", kind: "table", desc: "Fulfilment centres.", cols: cols("warehouse_id", "warehouse_name", "city", "country_code"), age: 90 * day},
		{name: "warehouse.ops.shipping_sla_policies", kind: "table", desc: "Carrier SLA: promised delivery days per service level.", cols: cols("carrier", "service_level", "promised_days"), age: 90 * day},
		{name: "warehouse.ops.shipment_tracking", kind: "view", desc: "Latest tracking status per shipment.", cols: cols("shipment_id", "carrier", "tracking_status", "last_event_at"), age: 3 * day},
		{name: "warehouse.ops.inventory_levels", kind: "view", desc: "Stock on hand per warehouse and product.", cols: cols("warehouse_id", "product_id", "on_hand", "as_of"), age: 3 * day},
		{name: "warehouse.ops.late_shipments", kind: "view", desc: "Shipments delivered after their SLA.", cols: cols("shipment_id", "order_id", "carrier", "days_late"), age: 3 * day},
		// lake, camelCase
		{name: "events/customerSignups", ns: lakeNS, platform: "delta", kind: "file", desc: "Sign-up events from the mobile app.", cols: cols("customerId: The new customer.", "signupTs", "referralCode"), owners: []string{"growth"}, age: 5 * day},
		{name: "events/orderItemsStream", ns: lakeNS, platform: "delta", kind: "file", desc: "Order item events streamed from the shop.", cols: cols("orderId", "itemSku", "qty"), owners: []string{"growth"}, age: 5 * day},
		// tempters: a removed table that once matched well, an exact name
		// without documentation, a word only in a description.
		{name: "warehouse.legacy.orders", kind: "table", desc: "Old orders table, replaced by marts.fct_orders.", cols: cols("id", "customer_id", "amount"), removed: true, age: 200 * day},
		{name: "warehouse.sandbox.orders", kind: "table", cols: cols("id", "note"), age: 300 * day},
		{name: "warehouse.sandbox.customer_emails_tmp", kind: "table", cols: cols("email"), age: 300 * day},
		{name: "warehouse.marts.churn_scores", kind: "table", desc: "Predicted churn probability per customer, refreshed weekly by the data science team.", cols: cols("customer_id", "churn_probability", "scored_at"), owners: []string{"data_science"}, tags: []string{"ml"}, age: 6 * day},
	}
	out := make([]Dataset, 0, len(specs))
	for i, s := range specs {
		ns, platform := s.ns, s.platform
		if ns == "" {
			ns, platform = whNS, "postgres"
		}
		out = append(out, Dataset{
			ID: int64(i + 1), Key: catalog.Key{Namespace: ns, Name: s.name}, Platform: platform, Kind: catalog.Kind(s.kind),
			Description: s.desc, OtherDescriptions: s.other, Columns: s.cols, Owners: s.owners, Tags: s.tags,
			UpdatedAt: corpusNow.Add(-s.age), Removed: s.removed, Consumers: s.consumers,
		})
	}
	return out
}

// buildCorpus builds an index of the corpus in a temporary directory.
func buildCorpus(t testing.TB) *Index {
	t.Helper()
	x, err := Build(t.TempDir(), func(yield func(Dataset) error) error {
		for _, d := range corpus() {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, Options{Now: func() time.Time { return corpusNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}
