package sqllineage_test

import (
	"context"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/crawl/sqllineage"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

func TestRelations(t *testing.T) {
	tests := []struct {
		sql  string
		want []sqllineage.Relation
	}{
		{"SELECT * FROM orders", []sqllineage.Relation{{Name: "orders"}}},
		{"SELECT o.id FROM sales.orders o JOIN public.customers c ON c.id = o.cid", []sqllineage.Relation{{Schema: "sales", Name: "orders"}, {Schema: "public", Name: "customers"}}},
		{"WITH recent AS (SELECT * FROM a.events WHERE at > now()) SELECT * FROM recent", []sqllineage.Relation{{Schema: "a", Name: "events"}}},
		{"SELECT (SELECT max(x) FROM t2) FROM t1 WHERE EXISTS (SELECT 1 FROM t3) UNION SELECT 1 FROM t1", []sqllineage.Relation{{Name: "t2"}, {Name: "t1"}, {Name: "t3"}}},
		{"WITH orders AS (SELECT * FROM raw.orders) SELECT * FROM orders JOIN customers USING (id) WHERE id IN (SELECT id FROM vip)", []sqllineage.Relation{{Schema: "raw", Name: "orders"}, {Name: "customers"}, {Name: "vip"}}},
		{`SELECT c."Name" FROM "MixedCase"."Order Items" c`, []sqllineage.Relation{{Schema: "MixedCase", Name: "Order Items"}}},
		{"SELECT * FROM generate_series(1, 3)", nil},
		{"SELECT * FROM db.s.t", []sqllineage.Relation{{Catalog: "db", Schema: "s", Name: "t"}}},
	}
	for _, tt := range tests {
		got, err := sqllineage.Relations(tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.sql, diff)
		}
	}
	if _, err := sqllineage.Relations("SELEC oops"); err == nil {
		t.Error("bad SQL parsed")
	}
}

func TestViewLineageWarnsOnBadSQL(t *testing.T) {
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: catalog.Key{Namespace: ns, Name: "db.s.t"}, Kind: catalog.KindTable},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.v"}, Kind: catalog.KindView, Definition: "SELECT * FROM t JOIN gone ON true"},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.bad"}, Kind: catalog.KindView, Definition: "SELECT FROM WHERE ("},
	}}
	h = sqllineage.ViewLineage(h)
	if len(h.Jobs) != 1 || len(h.Jobs[0].Inputs) != 1 || h.Jobs[0].Inputs[0].Name != "db.s.t" || h.Jobs[0].Key.Name != "view:db.s.v" {
		t.Errorf("jobs = %+v", h.Jobs)
	}
	var objs []string
	for _, e := range h.Errors {
		objs = append(objs, e.Object)
	}
	// v: its unknown relation, then the columns of `*` it cannot expand.
	if diff := cmp.Diff([]string{ns + "/db.s.v", ns + "/db.s.v", ns + "/db.s.bad"}, objs); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestViewLineageColumns checks the column lineage ViewLineage derives
// from the columns of the harvest, and that a view's unnamed column is a
// warning that spares the others.
func TestViewLineageColumns(t *testing.T) {
	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: key("db.s.t"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "b", Ordinal: 2}, {Name: "a", Ordinal: 1}}},
		{Key: key("db.public.u"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "a", Ordinal: 1}, {Name: "c", Ordinal: 2}}},
		{Key: key("db.s.v"), Kind: catalog.KindMaterializedView, Definition: " SELECT t.a,\n    upper(u.c) AS c,\n    1 + 1\n   FROM (s.t\n     JOIN u USING (a))\n  WHERE (t.b > 0);"},
	}}
	h = sqllineage.ViewLineage(h)
	var got []string
	for _, c := range h.ColumnLineage {
		if c.Output != key("db.s.v") {
			t.Errorf("lineage of %v, want db.s.v", c.Output)
		}
		got = append(got, c.Column+" <- "+c.Input.Name+"."+c.InputColumn+" "+c.Type+"/"+c.Subtype)
	}
	want := []string{
		"a <- db.s.t.a DIRECT/IDENTITY",
		"c <- db.public.u.c DIRECT/TRANSFORMATION",
		" <- db.s.t.a INDIRECT/JOIN", " <- db.public.u.a INDIRECT/JOIN", " <- db.s.t.b INDIRECT/FILTER",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("column lineage (-want +got):\n%s", diff)
	}
	if len(h.Errors) != 1 || !strings.Contains(h.Errors[0].Message, `column 3: PostgreSQL names it "?column?"`) {
		t.Errorf("warnings = %v, want one on the unnamed column", h.Errors)
	}
}

// TestViewLineagePagila crawls the Pagila schema, derives the lineage of
// its views and ingests it.
func TestViewLineagePagila(t *testing.T) {
	ctx := context.Background()
	b, err := os.ReadFile("../postgres/testdata/pagila-schema.sql")
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
		return sqllineage.ViewLineage(h), err
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
			return sqllineage.ViewLineage(h), err
		}); err != nil {
			t.Fatal(err)
		}
		jobs, err := st.DatasetJobs(ctx, catalog.Key{Namespace: ns, Name: db + ".public.film_list"})
		if err != nil || len(jobs.Producers) != 1 || jobs.Producers[0].RemovedAt == nil {
			t.Errorf("job of the dropped view film_list: %+v %v, want it removed", jobs.Producers, err)
		}
	}()
	// Column lineage, as the store reads it back.
	key := func(rel string) catalog.Key { return catalog.Key{Namespace: ns, Name: db + ".public." + rel} }
	views := []string{"customer_list", "film_list", "sales_by_store", "actor_info"}
	var keys []catalog.Key
	for _, v := range views {
		keys = append(keys, key(v))
	}
	rows, err := st.ColumnLineage(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	edges := map[string]bool{}
	for _, r := range rows {
		c := r.Value
		edges[strings.TrimPrefix(c.Output.Name, db+".public.")+"."+c.Column+" <- "+
			strings.TrimPrefix(c.Input.Name, db+".public.")+"."+c.InputColumn+" "+c.Type+"/"+c.Subtype] = true
	}
	for _, e := range []string{
		"customer_list.id <- customer.customer_id DIRECT/IDENTITY",
		"customer_list.name <- customer.first_name DIRECT/TRANSFORMATION",
		"customer_list.name <- customer.last_name DIRECT/TRANSFORMATION",
		"customer_list.zip code <- address.postal_code DIRECT/IDENTITY",
		"customer_list.notes <- customer.activebool INDIRECT/CONDITIONAL",
		"customer_list. <- address.city_id INDIRECT/JOIN",
		"customer_list. <- city.city_id INDIRECT/JOIN",
		"film_list.title <- film.title DIRECT/IDENTITY",
		"film_list.category <- category.name DIRECT/IDENTITY",
		"film_list. <- film.film_id INDIRECT/GROUP_BY",
		// group_concat is Pagila's own aggregate: taken for a function.
		"film_list.actors <- actor.last_name DIRECT/TRANSFORMATION",
		"sales_by_store.total_sales <- payment.amount DIRECT/AGGREGATION",
		"sales_by_store.manager <- staff.first_name DIRECT/TRANSFORMATION",
		"sales_by_store. <- payment.rental_id INDIRECT/JOIN",
	} {
		if !edges[e] {
			t.Errorf("no column lineage %s", e)
		}
	}
	if t.Failed() {
		t.Logf("column lineage of %v: %v", views, slices.Sorted(maps.Keys(edges)))
	}
	if run.Counts.Jobs < 8 {
		t.Errorf("%d view jobs, want 8 (7 views and a materialized view)", run.Counts.Jobs)
	}
	for _, e := range run.Errors {
		if !strings.Contains(e.Message, "sql lineage") || strings.Contains(e.Message, "sql lineage: columns") {
			t.Errorf("crawl error: %v", e) // every column of Pagila's views resolves
		}
	}
	t.Logf("warnings: %v", run.Errors)
}
