package ui

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestDatasetCrawlWarnings crawls a real database holding a view that
// reads a relation the crawl leaves out: the view's page shows the SQL
// lineage warning of the last crawl with a link to its run, other pages
// show none, and a clean crawl clears it.
func TestDatasetCrawlWarnings(t *testing.T) {
	ctx := context.Background()
	var st *store.Store
	p := newPortal(t, func(o *Options) { st = o.Store })
	whURL := pgtest.EmptyDB(t)
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, whURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`
		CREATE SCHEMA shop;
		CREATE SCHEMA hidden;
		CREATE TABLE hidden.notes (order_id bigint, note text);
		CREATE TABLE shop.orders (id bigint PRIMARY KEY, amount numeric);
		CREATE VIEW shop.order_notes AS
			SELECT o.id, n.note FROM shop.orders AS o JOIN hidden.notes AS n ON n.order_id = o.id;`)
	cfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "postgres://wh.example:5432"
	view := catalog.Key{Namespace: ns, Name: cfg.Database + ".shop.order_notes"}
	orders := catalog.Key{Namespace: ns, Name: cfg.Database + ".shop.orders"}
	crawl := func() catalog.CrawlRun {
		t.Helper()
		run, err := st.Crawl(ctx, "postgres:wh", func(ctx context.Context) (catalog.Harvest, error) {
			return postgres.Crawl(ctx, postgres.Config{Source: "postgres:wh", URL: whURL, Namespace: ns, Include: []string{"shop"}})
		})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}

	run := crawl()
	if run.Status != catalog.CrawlPartial {
		t.Fatalf("crawl %s with errors %v, want partial", run.Status, run.Errors)
	}
	body := p.get(t, datasetPath(view)).body
	for _, want := range []string{
		`id="warnings-heading"`, "Warnings from the last crawl",
		`<span class="source-name">postgres:wh</span>`,
		fmt.Sprintf(`href="/runs/%d">#%d</a>`, run.ID, run.ID),
		"sql lineage: relations not found in the crawl: hidden.notes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page of the view lacks %q", want)
		}
	}
	if body := p.get(t, datasetPath(orders)).body; strings.Contains(body, "warnings-heading") {
		t.Error("page of the table shows warnings that name the view")
	}

	// Once the view reads only what is crawled, the next crawl clears the
	// warning.
	exec(`CREATE OR REPLACE VIEW shop.order_notes AS SELECT o.id, NULL::text AS note FROM shop.orders AS o`)
	if run := crawl(); run.Status != catalog.CrawlSucceeded {
		t.Fatalf("second crawl %s with errors %v, want succeeded", run.Status, run.Errors)
	}
	if body := p.get(t, datasetPath(view)).body; strings.Contains(body, "warnings-heading") {
		t.Error("the view's page still shows the warnings of an earlier crawl")
	}
}

// TestDatasetPageOfAlias checks that the page of a name an OpenLineage
// symlink made an alias of a dataset redirects to that dataset's page, as
// GraphQL's dataset(namespace, name), the edit forms and the explorer
// take the name.
func TestDatasetPageOfAlias(t *testing.T) {
	alias := catalog.Key{Namespace: "hive://metastore", Name: "db.fct_orders"}
	p := newPortal(t, func(o *Options) {
		push := catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{
			Facts:   catalog.DatasetFacts{Key: fctOrders, Aliases: []catalog.Alias{{Key: alias, Type: "TABLE"}}},
			Asserts: catalog.FacetAliases,
		}}}
		if err := o.Store.ApplyPush(t.Context(), push); err != nil {
			t.Fatal(err)
		}
	})
	r := p.get(t, datasetPath(alias))
	if r.status != http.StatusFound || r.header.Get("Location") != datasetPath(fctOrders) {
		t.Errorf("page of the alias: %d to %q, want 302 to %s", r.status, r.header.Get("Location"), datasetPath(fctOrders))
	}
	if r := p.get(t, datasetPath(fctOrders)); r.status != http.StatusOK {
		t.Errorf("page of the dataset itself: %d", r.status)
	}
	if r := p.get(t, datasetPath(catalog.Key{Namespace: "hive://metastore", Name: "db.nothing"})); r.status != http.StatusNotFound {
		t.Errorf("page of an unknown name: %d, want 404", r.status)
	}
}
