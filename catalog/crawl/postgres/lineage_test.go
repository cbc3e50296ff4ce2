package postgres

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
	"almanac/catalog/crawl/sqllineage"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// ns is the namespace of the harvests that the lineage tests make up.
const ns = "postgres://wh:5432"

func TestViewLineageWarnsOnBadSQL(t *testing.T) {
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: catalog.Key{Namespace: ns, Name: "db.s.t"}, Kind: catalog.KindTable},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.v"}, Kind: catalog.KindView, Definition: "SELECT * FROM s.t JOIN s.gone ON true"},
		{Key: catalog.Key{Namespace: ns, Name: "db.s.bad"}, Kind: catalog.KindView, Definition: "SELECT FROM WHERE ("},
	}}
	h = viewLineage(h, []string{"db"}, sqllineage.Postgres)
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

// TestViewLineageColumns checks the column lineage viewLineage derives
// from the columns of the harvest, and that a view's unnamed column is a
// warning that spares the others.
func TestViewLineageColumns(t *testing.T) {
	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: key("db.s.t"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "b", Ordinal: 2}, {Name: "a", Ordinal: 1}}},
		{Key: key("db.public.u"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "a", Ordinal: 1}, {Name: "c", Ordinal: 2}}},
		{Key: key("db.s.v"), Kind: catalog.KindMaterializedView, Definition: " SELECT t.a,\n    upper(u.c) AS c,\n    1 + 1\n   FROM (s.t\n     JOIN public.u USING (a))\n  WHERE (t.b > 0);"},
	}}
	h = viewLineage(h, []string{"db"}, sqllineage.Postgres)
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
	b, err := os.ReadFile("testdata/pagila-schema.sql")
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
	cfg := Config{Source: "postgres:pagila", URL: dbURL, Namespace: ns}
	run, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) {
		return Crawl(ctx, cfg)
	})
	if err != nil {
		t.Fatal(err)
	}
	jobs := datasetJobs(t, st, catalog.Key{Namespace: ns, Name: db + ".public.film_list"})
	if len(jobs.Producers) != 1 {
		t.Fatalf("producers of film_list: %+v", jobs)
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
	mv := datasetJobs(t, st, catalog.Key{Namespace: ns, Name: db + ".public.rental_by_category"})
	if len(mv.Upstream()) < 4 {
		t.Errorf("rental_by_category reads %v, want at least 4 tables", mv.Upstream())
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
			return Crawl(ctx, cfg)
		}); err != nil {
			t.Fatal(err)
		}
		job := jobs.Producers[0].Key
		dropped, err := st.JobsByKeys(ctx, []catalog.JobKey{job})
		if err != nil || dropped[job] == nil || dropped[job].RemovedAt == nil {
			t.Errorf("job of the dropped view film_list: %+v %v, want it removed", dropped[job], err)
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

// TestViewOfPartition: a partition is folded into its partitioned table,
// so a view reading a partition directly, at any level and in any schema,
// reads the partitioned table.
func TestViewOfPartition(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	db := dbName(t, dbURL)
	exec(t, dbURL, `
		CREATE SCHEMA sales;
		CREATE SCHEMA archive;
		CREATE TABLE sales.events (id bigint, region text, at date, amount numeric) PARTITION BY RANGE (at);
		CREATE TABLE sales.events_2024 PARTITION OF sales.events
			FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
		CREATE TABLE sales.events_2024_eu PARTITION OF sales.events_2024 FOR VALUES IN ('eu');
		CREATE TABLE archive.events_old PARTITION OF sales.events DEFAULT;
		CREATE TABLE sales.rates (region text, rate numeric);
		CREATE VIEW sales.eu_2024 AS SELECT id, amount FROM sales.events_2024_eu;
		CREATE VIEW sales.moved AS
			SELECT n.id, o.amount * r.rate AS amount
			FROM sales.events_2024 n
			JOIN archive.events_old o USING (id)
			JOIN sales.rates r ON r.region = n.region;`)
	h := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL, Namespace: ns})
	if len(h.Errors) != 0 {
		t.Errorf("errors: %v", h.Errors)
	}
	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: db + "." + name} }
	inputs := map[string][]catalog.Key{}
	for _, j := range h.Jobs {
		inputs[strings.TrimPrefix(j.Key.Name, "view:"+db+".")] = j.Inputs
	}
	if diff := cmp.Diff(map[string][]catalog.Key{
		"sales.eu_2024": {key("sales.events")},
		"sales.moved":   {key("sales.events"), key("sales.rates")},
	}, inputs); diff != "" {
		t.Errorf("inputs of the views' jobs (-want +got):\n%s", diff)
	}
	var got []string
	for _, c := range h.ColumnLineage {
		got = append(got, strings.TrimPrefix(c.Output.Name, db+".")+"."+c.Column+" <- "+
			strings.TrimPrefix(c.Input.Name, db+".")+"."+c.InputColumn+" "+c.Type+"/"+c.Subtype)
	}
	for _, want := range []string{
		"sales.eu_2024.id <- sales.events.id DIRECT/IDENTITY",
		"sales.eu_2024.amount <- sales.events.amount DIRECT/IDENTITY",
		"sales.moved.id <- sales.events.id DIRECT/IDENTITY",
		"sales.moved.amount <- sales.events.amount DIRECT/TRANSFORMATION",
		"sales.moved. <- sales.events.region INDIRECT/JOIN",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no column lineage %s", want)
		}
	}
	if t.Failed() {
		t.Logf("column lineage: %q", got)
	}
}

// datasetJobs reads the jobs around the dataset key as the portal does:
// the keys of the jobs its live sources say write or read it, then the
// jobs, merged.
func datasetJobs(t *testing.T, st *store.Store, key catalog.Key) catalog.DatasetJobs {
	t.Helper()
	ctx := context.Background()
	around, err := st.JobsOfDatasets(ctx, []catalog.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	a := around[key]
	jobs, err := st.JobsByKeys(ctx, append(slices.Clone(a.Producers), a.Consumers...))
	if err != nil {
		t.Fatal(err)
	}
	var d catalog.DatasetJobs
	for _, k := range a.Producers {
		d.Producers = append(d.Producers, *jobs[k])
	}
	for _, k := range a.Consumers {
		d.Consumers = append(d.Consumers, *jobs[k])
	}
	return d
}

// TestViewLineageSystemCatalogs keeps quiet about the system catalogs a
// view reads, which no crawl holds: a view of them alone gets its job and
// no warning, and a view joining one to a crawled table warns only about
// what else it could not place.
func TestViewLineageSystemCatalogs(t *testing.T) {
	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: key("db.s.t"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "relname", Ordinal: 1}}},
		{Key: key("db.s.sizes"), Kind: catalog.KindView, Definition: " SELECT c.relname, n.nspname\n   FROM (pg_class c\n     JOIN pg_namespace n ON ((n.oid = c.relnamespace)));"},
		{Key: key("db.s.cols"), Kind: catalog.KindView, Definition: " SELECT columns.table_name\n   FROM information_schema.columns;"},
		{Key: key("db.s.mixed"), Kind: catalog.KindView, Definition: " SELECT t.relname\n   FROM (s.t\n     JOIN pg_class c USING (relname))\n     JOIN s.gone g ON true;"},
	}}
	h = viewLineage(h, []string{"db"}, sqllineage.Postgres)
	if len(h.Jobs) != 3 {
		t.Errorf("%d jobs, want one a view", len(h.Jobs))
	}
	var got []string
	for _, e := range h.Errors {
		got = append(got, e.Object+": "+e.Message)
	}
	if len(got) == 0 || !slices.ContainsFunc(got, func(s string) bool {
		return strings.HasPrefix(s, ns+"/db.s.mixed: sql lineage: relations not found in the crawl: s.gone")
	}) {
		t.Errorf("warnings = %q, want s.gone's on db.s.mixed", got)
	}
	for _, w := range got {
		if !strings.HasPrefix(w, ns+"/db.s.mixed:") || strings.Contains(w, "relations not found in the crawl: s.gone, ") || strings.Contains(w, "pg_class,") {
			t.Errorf("warning %q: the system catalogs are not missing from the crawl", w)
		}
	}
}
