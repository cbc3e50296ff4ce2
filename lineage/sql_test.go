package lineage_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

func TestRelations(t *testing.T) {
	tests := []struct {
		sql  string
		want []lineage.Relation
	}{
		{"SELECT * FROM orders", []lineage.Relation{{Name: "orders"}}},
		{"SELECT o.id FROM sales.orders o JOIN public.customers c ON c.id = o.cid", []lineage.Relation{{Schema: "sales", Name: "orders"}, {Schema: "public", Name: "customers"}}},
		{"WITH recent AS (SELECT * FROM a.events WHERE at > now()) SELECT * FROM recent", []lineage.Relation{{Schema: "a", Name: "events"}}},
		{"SELECT (SELECT max(x) FROM t2) FROM t1 WHERE EXISTS (SELECT 1 FROM t3) UNION SELECT 1 FROM t1", []lineage.Relation{{Name: "t1"}, {Name: "t2"}, {Name: "t3"}}},
		{`SELECT c."Name" FROM "MixedCase"."Order Items" c`, []lineage.Relation{{Schema: "MixedCase", Name: "Order Items"}}},
		{"SELECT * FROM generate_series(1, 3)", nil},
		{"SELECT * FROM db.s.t", []lineage.Relation{{Catalog: "db", Schema: "s", Name: "t"}}},
	}
	for _, tt := range tests {
		got, err := lineage.Relations(tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		// The walk visits JSON objects in map order: compare as sets.
		sortRels(got)
		sortRels(tt.want)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.sql, diff)
		}
	}
	if _, err := lineage.Relations("SELEC oops"); err == nil {
		t.Error("bad SQL parsed")
	}
}

func sortRels(r []lineage.Relation) {
	slices.SortFunc(r, func(a, b lineage.Relation) int {
		return strings.Compare(a.Catalog+"."+a.Schema+"."+a.Name, b.Catalog+"."+b.Schema+"."+b.Name)
	})
}

func TestViewLineageWarnsOnBadSQL(t *testing.T) {
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: catalog.Key{Namespace: ns, Name: "db.s.t"}, Kind: catalog.KindTable},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.v"}, Kind: catalog.KindView, Definition: "SELECT * FROM t JOIN gone ON true"},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.bad"}, Kind: catalog.KindView, Definition: "SELECT FROM WHERE ("},
	}}
	h = lineage.ViewLineage(h)
	if len(h.Jobs) != 1 || len(h.Jobs[0].Inputs) != 1 || h.Jobs[0].Inputs[0].Name != "db.s.t" || h.Jobs[0].Key.Name != "view:db.s.v" {
		t.Errorf("jobs = %+v", h.Jobs)
	}
	var objs []string
	for _, e := range h.Errors {
		objs = append(objs, e.Object)
	}
	if diff := cmp.Diff([]string{ns + "/db.s.v", ns + "/db.s.bad"}, objs); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestViewLineagePagila crawls the Pagila schema, derives the lineage of
// its views and ingests it.
func TestViewLineagePagila(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("../catalog/crawl/postgres/testdata/pagila-schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.EmptyDB(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(b)); err != nil {
		t.Fatal(err)
	}
	var db string
	conn.QueryRow(ctx, "SELECT current_database()").Scan(&db)
	conn.Close(ctx)

	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := postgres.Config{Source: "postgres:pagila", URL: dbURL, Namespace: ns}
	run, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) {
		h, err := postgres.Crawl(ctx, cfg)
		return lineage.ViewLineage(h), err
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := st.DatasetJobs(ctx, catalog.Key{Namespace: ns, Name: db + ".public.film_list"})
	if err != nil || len(jobs.Producers) != 1 {
		t.Fatalf("producers of film_list: %+v %v", jobs, err)
	}
	var got []string
	for _, k := range jobs.Upstream() {
		got = append(got, strings.TrimPrefix(k.Name, db+"."))
	}
	want := []string{"public.actor", "public.category", "public.film", "public.film_actor", "public.film_category"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("film_list reads (-want +got):\n%s", diff)
	}
	// The materialized view rental_by_category reads through several joins.
	mv, err := st.DatasetJobs(ctx, catalog.Key{Namespace: ns, Name: db + ".public.rental_by_category"})
	if err != nil || len(mv.Upstream()) < 4 {
		t.Errorf("rental_by_category reads %v (%v), want at least 4 tables", mv.Upstream(), err)
	}
	// Dropping a view removes its job: the crawl's scope covers it.
	exec := func(sql string) {
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		exec("DROP VIEW public.film_list")
		if _, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) {
			h, err := postgres.Crawl(ctx, cfg)
			return lineage.ViewLineage(h), err
		}); err != nil {
			t.Fatal(err)
		}
		jobs, err := st.DatasetJobs(ctx, catalog.Key{Namespace: ns, Name: db + ".public.film_list"})
		if err != nil || len(jobs.Producers) != 1 || jobs.Producers[0].RemovedAt == nil {
			t.Errorf("job of the dropped view film_list: %+v %v, want it removed", jobs.Producers, err)
		}
	}()
	if run.Counts.Jobs < 8 {
		t.Errorf("%d view jobs, want 8 (7 views and a materialized view)", run.Counts.Jobs)
	}
	for _, e := range run.Errors {
		if !strings.Contains(e.Message, "sql lineage") {
			t.Errorf("crawl error: %v", e)
		}
	}
	t.Logf("warnings: %v", run.Errors)
}
