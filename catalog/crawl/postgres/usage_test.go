package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgcluster"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// statsCluster starts a private cluster that preloads pg_stat_statements
// (the shared server at 5432 does not) and returns the URL of a fresh
// database on it.
func statsCluster(t *testing.T) (dbURL string) {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	// The cluster belongs to the postgres OS user, who must reach dir.
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.Start(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	exec(t, c.URL("postgres"), "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c, err = pgcluster.Start(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	exec(t, c.URL("postgres"), "CREATE DATABASE shop")
	return c.URL("shop")
}

// runN runs sql n times with args, as pgx's prepared statements do, on a
// connection of role (the URL's user when empty).
func runN(t *testing.T, connURL, role string, n int, sql string, args ...any) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if role != "" {
		if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		rows, err := conn.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		rows.Close()
		if rows.Err() != nil {
			t.Fatalf("%s: %v", sql, rows.Err())
		}
	}
}

// TestUsageFromStatementStatistics runs known queries on a database with
// pg_stat_statements, crawls it, and checks that each statement is
// attributed to the tables it reads and that the store counts reads in
// the window as deltas between crawls: more queries add to the count, and
// a reset of the statistics does not make the count go down or count
// twice.
func TestUsageFromStatementStatistics(t *testing.T) {
	ctx := t.Context()
	dbURL := statsCluster(t)
	exec(t, dbURL, `
		CREATE EXTENSION pg_stat_statements;
		CREATE TABLE customers (id int PRIMARY KEY, name text);
		CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total numeric);
		CREATE TABLE orders_audit (id int, total numeric);
		CREATE TABLE quiet (id int);
		CREATE SCHEMA sales;
		CREATE TABLE sales.leads (id int);
		CREATE ROLE analyst;
		GRANT SELECT ON ALL TABLES IN SCHEMA public, sales TO analyst;
		GRANT USAGE ON SCHEMA sales TO analyst;
		INSERT INTO customers VALUES (1, 'ada');
		INSERT INTO orders VALUES (1, 1, 10), (2, 1, 20);`)
	exec(t, dbURL, "SELECT pg_stat_statements_reset()")

	runN(t, dbURL, "", 7, "SELECT * FROM orders WHERE id = $1", 1)
	runN(t, dbURL, "", 3, "SELECT c.name, sum(o.total) FROM orders o JOIN public.customers c ON c.id = o.customer_id GROUP BY c.name")
	runN(t, dbURL, "analyst", 4, "SELECT name FROM customers WHERE id = $1", 1)
	runN(t, dbURL, "", 2, "INSERT INTO orders_audit SELECT id, total FROM orders WHERE id = $1", 2)
	runN(t, dbURL, "analyst", 5, "SELECT count(*) FROM sales.leads")

	const ns = "postgres://shop.internal:5432"
	cfg := Config{Source: "postgres:shop", URL: dbURL, Namespace: ns}
	h := mustCrawl(t, cfg)
	if len(h.Errors) > 0 {
		t.Errorf("crawl errors: %+v", h.Errors)
	}
	if len(h.Queries) != 1 {
		t.Fatalf("got %d query statistics, want 1 (the database shop)", len(h.Queries))
	}
	k := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: "shop." + name} }
	// What each statement reads, by its first words, and its calls.
	type attributed struct {
		Role  string
		Calls int64
		Reads []catalog.Key
	}
	got := map[string]attributed{}
	for _, s := range h.Queries[0].Statements {
		first := strings.Join(strings.Fields(s.Query)[:3], " ")
		got[first] = attributed{s.Role, s.Calls, s.Reads}
	}
	want := map[string]attributed{
		"SELECT * FROM":               {"postgres", 7, []catalog.Key{k("public.orders")}},
		"SELECT c.name, sum(o.total)": {"postgres", 3, []catalog.Key{k("public.orders"), k("public.customers")}},
		"SELECT name FROM":            {"analyst", 4, []catalog.Key{k("public.customers")}},
		"INSERT INTO orders_audit":    {"postgres", 2, []catalog.Key{k("public.orders")}},
		"SELECT count(*) FROM":        {"analyst", 5, []catalog.Key{k("sales.leads")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
	if h.Queries[0].StatsReset.IsZero() || time.Since(h.Queries[0].StatsReset) > time.Hour {
		t.Errorf("stats reset %v, want just now", h.Queries[0].StatsReset)
	}

	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl := func() {
		t.Helper()
		run, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return Crawl(ctx, cfg) })
		if err != nil || run.Status != catalog.CrawlSucceeded {
			t.Fatalf("crawl: %+v, %v", run, err)
		}
	}
	usage := func(name string) catalog.Usage {
		t.Helper()
		ids, err := st.DatasetIDs(ctx, []catalog.Key{k(name)})
		if err != nil || len(ids) != 1 {
			t.Fatalf("dataset %s: %v, %v", name, ids, err)
		}
		id := ids[k(name)]
		u, err := st.UsageOf(ctx, []int64{id}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u[id]
	}
	check := func(stage, name string, queries int64, roles []catalog.RoleUsage) {
		t.Helper()
		u := usage(name)
		if u.Queries != queries || !u.QuerySources {
			t.Errorf("%s: %s read by %d queries (sources %v), want %d", stage, name, u.Queries, u.QuerySources, queries)
		}
		if diff := cmp.Diff(roles, u.TopRoles); diff != "" {
			t.Errorf("%s: %s top roles (-want +got):\n%s", stage, name, diff)
		}
		var sum int64
		for _, q := range u.TopQueries {
			sum += q.Calls
		}
		if sum != queries {
			t.Errorf("%s: %s top queries add up to %d, want %d: %+v", stage, name, sum, queries, u.TopQueries)
		}
		if want := catalog.Popularity(0, 0, queries); queries > 0 && u.Score != want {
			t.Errorf("%s: %s popularity %v, want %v", stage, name, u.Score, want)
		}
	}
	crawl()
	check("first crawl", "public.orders", 12, []catalog.RoleUsage{{Role: "postgres", Calls: 12}})
	check("first crawl", "public.customers", 7, []catalog.RoleUsage{{Role: "analyst", Calls: 4}, {Role: "postgres", Calls: 3}})
	check("first crawl", "public.quiet", 0, nil)

	// An unchanged database: nothing more was read.
	crawl()
	check("same again", "public.orders", 12, []catalog.RoleUsage{{Role: "postgres", Calls: 12}})

	runN(t, dbURL, "", 5, "SELECT * FROM orders WHERE id = $1", 2)
	crawl()
	check("more queries", "public.orders", 17, []catalog.RoleUsage{{Role: "postgres", Calls: 17}})
	check("more queries", "public.customers", 7, []catalog.RoleUsage{{Role: "analyst", Calls: 4}, {Role: "postgres", Calls: 3}})

	// After a reset, calls count from zero again: 2 new reads, not -15.
	exec(t, dbURL, "SELECT pg_stat_statements_reset()")
	runN(t, dbURL, "", 2, "SELECT * FROM orders WHERE id = $1", 3)
	runN(t, dbURL, "analyst", 1, "SELECT name FROM customers WHERE id = $1", 1)
	crawl()
	check("after reset", "public.orders", 19, []catalog.RoleUsage{{Role: "postgres", Calls: 19}})
	check("after reset", "public.customers", 8, []catalog.RoleUsage{{Role: "analyst", Calls: 5}, {Role: "postgres", Calls: 3}})

	// The popular order puts the most read first.
	page, err := st.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Limit: 3, Sort: store.SortPopular})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.DatasetsByIDs(ctx, page.IDs)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range ds {
		order = append(order, d.Key.Name)
	}
	if diff := cmp.Diff([]string{"shop.public.orders", "shop.public.customers", "shop.sales.leads"}, order); diff != "" {
		t.Errorf("popular order (-want +got):\n%s", diff)
	}

	// A role that may not read every statement: a warning, and the crawl
	// goes on with the role's own statements.
	crawler := crawlerRole(t, dbURL)
	exec(t, dbURL, "GRANT USAGE ON SCHEMA sales TO PUBLIC")
	hv, err := Crawl(ctx, Config{Source: "postgres:shop", URL: crawler, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if len(hv.Datasets) != 7 { // the extension's two views too
		t.Errorf("restricted crawl: %d datasets, want 7", len(hv.Datasets))
	}
	if len(hv.Errors) != 1 || !strings.Contains(hv.Errors[0].Message, "pg_read_all_stats") {
		t.Errorf("restricted crawl errors %+v, want one warning naming pg_read_all_stats", hv.Errors)
	}
}

// TestUsageWithoutPreload crawls a database where pg_stat_statements is
// installed but not loaded: a warning, and the crawl goes on. Without the
// extension nothing is said.
func TestUsageWithoutPreload(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	exec(t, dbURL, "CREATE TABLE t (id int)")
	h := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	if len(h.Errors) != 0 || len(h.Queries) != 0 {
		t.Errorf("without the extension: errors %+v, queries %+v; want none", h.Errors, h.Queries)
	}
	exec(t, dbURL, "CREATE EXTENSION pg_stat_statements")
	h = mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	find(t, h, dbName(t, dbURL)+".public.t")
	if len(h.Queries) != 0 || len(h.Errors) != 1 || !strings.Contains(h.Errors[0].Message, "shared_preload_libraries") {
		t.Errorf("not preloaded: errors %+v, queries %d; want one warning naming shared_preload_libraries", h.Errors, len(h.Queries))
	}
}
