package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/demo"
)

// TestDemoShowsEveryFeature builds the catalog `make run` serves and
// reads every kind of page of the portal on it, as a new user would on
// their first visit: each section of each page must have content, not
// its empty state, so that the demo shows every feature (issue #16).
// The server's workers derive the replayed runs, incidents and SLO
// reports after it is ready, so a page is read again until it settles.
func TestDemoShowsEveryFeature(t *testing.T) {
	_, whURL, base := startDemo(t)
	deadline := time.Now().Add(90 * time.Second)
	whCfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		t.Fatal(err)
	}
	db := whCfg.Database
	key := func(name string) string { return url.PathEscape(demo.Namespace) + "/" + db + "." + name }
	dataset := func(name string) string { return "/datasets/" + key(name) }

	// The demo's pages with the sections each must fill. A dataset's
	// sections are named by its page's contents (the section nav);
	// other pages' by their headings.
	datasetSections := []string{"Columns", "Lineage", "Quality", "SLOs", "History", "Runs", "Usage"}
	pages := []struct {
		name, path string
		// nav lists the dataset page's sections, in order.
		nav []string
		// want are texts the page must show: one per feature it stands
		// for.
		want []string
		// healthy pages show that no incident is open, which is their
		// content, not an empty state.
		healthy bool
	}{
		{name: "home", path: "/", want: []string{"Failing checks", "fct_orders", "postgres:demo", "dbt:" + demo.DBTSource}},
		{name: "search", path: "/search?q=orders", want: []string{"fct_orders", "stg_orders"}},
		// A dbt model materialized as a table, with checks and an SLO,
		// written and read by the Airflow DAG.
		{name: "dbt model with checks and SLOs", path: dataset("marts.fct_orders"), nav: datasetSections,
			want: []string{"fct-orders-by-0300", "fct_orders_order_id_unique", "sales_channel", "load_fct_orders", "commerce-analytics", "dbt:" + demo.DBTSource, "certified"}},
		// A view: its lineage from its SQL.
		{name: "view", path: dataset("staging.stg_orders"), nav: datasetSections,
			want: []string{"stg-orders-fresh", "accepted_values_stg_orders_order_status", "raw.shop_orders"}},
		// The finance table whose SLO is breached, written by the failed
		// revenue task.
		{name: "table with a breached SLO", path: dataset("finance.revenue_recognition"), nav: datasetSections,
			want: []string{"revenue-journal-posted", "breached", "recognize_revenue", "finance-data", "revenue_recognition_amount_usd_not_null"}},
		{name: "lineage explorer", path: "/lineage/" + key("marts.fct_orders"), want: []string{"<svg", "stg_orders", "revenue_recognition"}},
		{name: "impact", path: "/impact/" + key("staging.stg_orders"), want: []string{"fct_orders", "revenue_recognition", "finance-data"}},
		{name: "edit history", path: "/history/" + key("marts.fct_orders"), want: []string{"certified", "sales_channel", "2024 migration notes"}},
		{name: "jobs", path: "/jobs", want: []string{"orders_daily", "recognize_revenue"}},
		// The Airflow DAG, whose runs start its tasks' runs, and a task.
		{name: "DAG", path: "/jobs/" + url.PathEscape(demo.DAG.Namespace) + "/" + demo.DAG.Name, want: []string{"dags/orders_daily.py", "load_fct_orders", "<svg"}},
		{name: "task", path: "/jobs/" + url.PathEscape(demo.DAG.Namespace) + "/" + demo.DAG.Name + ".load_fct_orders", want: []string{"stg_orders", "fct_orders", "INSERT", "<svg"}},
		{name: "runs", path: "/runs", want: []string{"orders_daily", "FAIL"}},
		{name: "teams", path: "/teams", want: []string{"commerce-analytics", "finance-data"}},
		{name: "team", path: "/teams/finance-data", want: []string{"revenue_recognition", "revenue-journal-posted", "<svg"}},
		{name: "team status", path: "/teams/finance-data/status", want: []string{"revenue-journal-posted", "revenue_recognition"}},
		// The other team's status is the healthy one: no open incident.
		{name: "healthy team status", path: "/teams/commerce-analytics/status", healthy: true, want: []string{"fct-orders-by-0300", "fct_order_items"}},
		{name: "team report", path: "/teams/commerce-analytics/report", want: []string{"Check results", "Rows at the end"}},
		{name: "incidents", path: "/incidents", want: []string{"revenue_recognition", "shop_orders", "stg_payments", "fct_order_items"}},
		{name: "sources", path: "/sources", want: []string{"postgres:demo", "dbt:" + demo.DBTSource}},
	}
	// Pages reached by a link from another: a run of the DAG, one of the
	// dbt project, an open
	// incident and a resolved one with its review.
	linked := []struct {
		name, from, link string
		want             []string
	}{
		{name: "run", from: "/jobs/" + url.PathEscape(demo.DAG.Namespace) + "/" + demo.DAG.Name, link: `href="(/runs/[^"]+)"`,
			want: []string{"Runs it started", "orders_daily.recognize_revenue", "NotNullViolation"}},
		// The newest run whose job is a dbt model: where dbt's runs stand
		// among the replayed Airflow runs depends on the time of day.
		{name: "dbt run", from: "/runs", link: `href="(/runs/[^"]+)"[^>]*>[^<]*</a></td><td><a class="mono" href="/jobs/dbt:`, want: []string{"acme_analytics", "Datasets it read"}},
		{name: "incident", from: "/incidents", link: `href="(/incidents/\d+)"`, want: []string{"Timeline"}},
		{name: "resolved incident", from: "/incidents", link: `href="(/incidents/\d+)">[^<]*load_fct_order_items failed`,
			want: []string{"Backfilled the missing products", "placeholders", "product_performance"}},
	}
	for _, l := range linked {
		body := settled(t, base, l.from, deadline, false)
		m := regexp.MustCompile(l.link).FindStringSubmatch(body)
		if m == nil {
			t.Errorf("%s: %s links to no %s", l.name, l.from, l.name)
			continue
		}
		pages = append(pages, struct {
			name, path string
			nav        []string
			want       []string
			healthy    bool
		}{name: l.name, path: m[1], want: l.want})
	}

	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			body := settled(t, base, p.path, deadline, p.healthy)
			if p.healthy && !strings.Contains(body, healthyState) {
				t.Errorf("%s does not say that no incident is open", p.path)
			}
			if empty := emptySections(body, p.healthy); len(empty) > 0 {
				t.Errorf("%s: sections in their empty state:\n%s", p.path, strings.Join(empty, "\n"))
			}
			if p.nav != nil {
				if got := sectionNav(t, body); !slices.Equal(got, p.nav) {
					t.Errorf("%s: sections %v, want %v", p.path, got, p.nav)
				}
			}
			for _, w := range p.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", p.path, w)
				}
			}
			if t.Failed() {
				dumpPage(t, p.name, body)
			}
		})
	}

	// The way to the API: GraphiQL, linked from every page.
	t.Run("graphiql", func(t *testing.T) {
		if home := settled(t, base, "/", deadline, false); !strings.Contains(home, `href="/graphql"`) {
			t.Error("the home page does not link to /graphql")
		}
		req, _ := http.NewRequest("GET", base+"/graphql", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(b)), "graphiql") {
			t.Errorf("/graphql in a browser: %d, want GraphiQL:\n%.300s", resp.StatusCode, b)
		}
	})
}

// settled reads the page at path until it has no section in its empty
// state, or until deadline, and returns the last body read; healthy is
// as for emptySections. A page that does not answer 200 (404 until
// deadline) fails the test.
func settled(t *testing.T, base, path string, deadline time.Time, healthy bool) string {
	t.Helper()
	var body string
	for {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// What the OpenLineage worker derives (the DAG's job, its runs)
		// is found only once it has run: until deadline, a 404 is that.
		if resp.StatusCode == http.StatusNotFound && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d\n%.500s", path, resp.StatusCode, b)
		}
		body = string(b)
		if len(emptySections(body, healthy)) == 0 || time.Now().After(deadline) {
			return body
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// healthyState is how a page says that no incident is open.
const healthyState = `<p class="empty status-ok">`

var (
	emptyState = regexp.MustCompile(`<p class="empty[^"]*">([^<]*)`)
	heading    = regexp.MustCompile(`<h[23][^>]*>([^<]*)`)
)

// emptySections lists the empty states body shows (the portal's
// <p class="empty">), each with the heading above it; with healthy, but
// for the one saying that no incident is open.
func emptySections(body string, healthy bool) []string {
	var out []string
	for _, m := range emptyState.FindAllStringSubmatchIndex(body, -1) {
		if healthy && strings.HasPrefix(body[m[0]:], healthyState) {
			continue
		}
		under := "(no heading)"
		if hs := heading.FindAllStringSubmatch(body[:m[0]], -1); len(hs) > 0 {
			under = strings.TrimSpace(hs[len(hs)-1][1])
		}
		out = append(out, fmt.Sprintf("  %s: %s", under, strings.TrimSpace(body[m[2]:m[3]])))
	}
	return out
}

// sectionNav returns the names a dataset page's contents list.
func sectionNav(t *testing.T, body string) []string {
	t.Helper()
	i := strings.Index(body, `<nav class="section-nav"`)
	if i < 0 {
		t.Error("the page has no section nav")
		return nil
	}
	nav := body[i:]
	nav = nav[:strings.Index(nav, "</nav>")]
	var got []string
	for _, m := range regexp.MustCompile(`href="#([a-z]+)">([A-Za-z]+) `).FindAllStringSubmatch(nav, -1) {
		got = append(got, m[2])
		if !strings.Contains(body, `<section id="`+m[1]+`"`) {
			t.Errorf("the contents link to #%s, which no section is", m[1])
		}
	}
	return got
}

// dumpPage keeps a failing page's HTML in the directory
// ALMANAC_DEMO_PAGES, when set, to look at.
func dumpPage(t *testing.T, name, body string) {
	dir := os.Getenv("ALMANAC_DEMO_PAGES")
	if dir == "" {
		return
	}
	f := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".html")
	if err := os.WriteFile(f, []byte(body), 0o644); err == nil {
		t.Logf("page kept in %s", f)
	}
}
