package ui

import (
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestUsageSection crawls statement statistics saying that dim_customers
// was read 2,345 times, by two roles, and checks its page's Usage
// section (the figures, the top queries, one cut short, and roles), and
// that the home page's popular order puts it first.
func TestUsageSection(t *testing.T) {
	t.Parallel()
	var st *store.Store
	p := newPortal(t, func(o *Options) { st = o.Store })
	long := "SELECT o.order_id, o.amount, o.ordered_at FROM marts.dim_customers o WHERE o.customer_id = $1 AND o.ordered_at >= $2 AND o.status NOT IN ($3, $4) ORDER BY o.ordered_at DESC LIMIT $5 OFFSET $6"
	h := catalog.Harvest{Source: "postgres:usage", Queries: []catalog.QueryStats{{
		Namespace: dimCustomers.Namespace, Database: "warehouse", StatsReset: time.Now().Add(-time.Hour),
		Statements: []catalog.QueryStat{
			{QueryID: 1, Role: "analyst", Query: "SELECT * FROM marts.dim_customers WHERE order_id = $1", Calls: 2300, Reads: []catalog.Key{dimCustomers}},
			{QueryID: 2, Role: "bi", Query: long, Calls: 45, Reads: []catalog.Key{dimCustomers}},
		},
	}}}
	if _, err := st.Crawl(context.Background(), h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
	body := p.get(t, datasetPath(dimCustomers)).body
	usage := body[strings.Index(body, `<section id="usage"`):]
	usage = usage[:strings.Index(usage, "</section>")]
	for _, want := range []string{
		`<p class="usage-summary">Read by 2,345 queries in 30 days.</p>`,
		`<code class="usage-sql">SELECT * FROM marts.dim_customers WHERE order_id = $1</code>`,
		`<td>2,300</td>`,
		html.EscapeString(string([]rune(long)[:queryChars])) + "…</code>",
		`<summary>Whole query</summary>`,
		`<td class="mono">analyst</td><td>2,300</td>`,
		`<td class="mono">bi</td><td>45</td>`,
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("the usage section lacks %s:\n%s", want, usage)
		}
	}
	if strings.Contains(usage, "No source counts the queries") {
		t.Error("the usage section says no source counts queries")
	}

	side := p.get(t, "/").body
	side = side[strings.Index(side, `id="popular-heading"`):]
	side = side[:strings.Index(side, "</section>")]
	if !strings.Contains(side, datasetPath(dimCustomers)) {
		t.Errorf("the home page's Most read list lacks dim_customers:\n%s", side)
	}
	if strings.Contains(side, datasetPath(dailyRevenue)) {
		t.Errorf("the home page's Most read list shows v_daily_revenue, which nobody reads:\n%s", side)
	}

	home := p.get(t, "/?sort=popular").body
	first := strings.Index(home, `href="`+datasetPath(dimCustomers)+`"`)
	for _, other := range []catalog.Key{fctOrders, dailyRevenue} {
		if i := strings.Index(home, `href="`+datasetPath(other)+`"`); first < 0 || (i >= 0 && i < first) {
			t.Errorf("popular order: %s (at %d) before dim_customers (at %d)", other.Name, i, first)
		}
	}
}
