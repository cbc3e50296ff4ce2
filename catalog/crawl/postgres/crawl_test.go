package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
	"almanac/catalog/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// loadDB returns the URL and name of a fresh database holding the schema
// in testdata/file.
func loadDB(t *testing.T, file string) (dbURL, db string) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	dbURL = pgtest.EmptyDB(t)
	exec(t, dbURL, string(b))
	return dbURL, dbName(t, dbURL)
}

// exec runs sql, which may hold several statements, on a connection of its
// own.
func exec(t *testing.T, connURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("exec %.60q…: %v", sql, err)
	}
}

func queryRow(t *testing.T, connURL, sql string, args []any, dest ...any) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		t.Fatalf("query %.60q…: %v", sql, err)
	}
}

func dbName(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// crawlerRole creates a LOGIN role that is no superuser, allowed to connect
// to the database at dbURL, and returns the URL connecting as it. The
// servers the tests use trust local connections, so it needs no password.
func crawlerRole(t *testing.T, dbURL string) string {
	t.Helper()
	role := "almanac_crawler_" + randomSuffix()
	ident := pgx.Identifier{role}.Sanitize()
	exec(t, dbURL, "CREATE ROLE "+ident+" LOGIN NOSUPERUSER")
	exec(t, dbURL, "GRANT CONNECT ON DATABASE "+pgx.Identifier{dbName(t, dbURL)}.Sanitize()+" TO "+ident)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP OWNED BY "+ident+"; DROP ROLE "+ident); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

func mustCrawl(t *testing.T, cfg Config) catalog.Harvest {
	t.Helper()
	h, err := Crawl(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Crawl: %v", err)
	}
	return h
}

func find(t *testing.T, h catalog.Harvest, name string) catalog.DatasetFacts {
	t.Helper()
	for _, d := range h.Datasets {
		if d.Key.Name == name {
			return d
		}
	}
	t.Fatalf("no dataset %q in the harvest", name)
	return catalog.DatasetFacts{}
}

// relSize is pg_total_relation_size of schema.name, asked independently of
// the crawler.
func relSize(t *testing.T, dbURL, schema, name string) int64 {
	t.Helper()
	var n int64
	queryRow(t, dbURL, `SELECT pg_total_relation_size(format('%I.%I', $1::text, $2::text)::regclass)`,
		[]any{schema, name}, &n)
	return n
}

// viewDef is pg_get_viewdef as the crawler should print it: with an empty
// search_path, so that every table name is schema-qualified.
func viewDef(t *testing.T, dbURL, schema, name string) string {
	t.Helper()
	var def string
	queryRow(t, dbURL, `SELECT set_config('search_path', '', false) || pg_get_viewdef(format('%I.%I', $1::text, $2::text)::regclass)`,
		[]any{schema, name}, &def)
	return strings.TrimSpace(def)
}

func ptr(n int64) *int64 { return &n }

// datasetScopes returns the scopes of h that cover datasets, after
// checking that each has its twin covering the jobs of views (see
// viewLineage), and that there are no other scopes.
func datasetScopes(t testing.TB, h catalog.Harvest) []catalog.Scope {
	t.Helper()
	var datasets, views []catalog.Scope
	for _, s := range h.Scopes {
		if p, ok := strings.CutPrefix(s.Prefix, "view:"); ok {
			views = append(views, catalog.Scope{Namespace: s.Namespace, Prefix: p})
		} else {
			datasets = append(datasets, s)
		}
	}
	if diff := cmp.Diff(datasets, views); diff != "" {
		t.Errorf("scopes of view jobs differ from those of datasets (-datasets +views):\n%s", diff)
	}
	return datasets
}

// goldenLines renders a harvest for the golden file: one line per dataset
// with its kind, column count, primary key, foreign keys and partitions,
// names relative to the database.
func goldenLines(h catalog.Harvest, db string) string {
	rel := func(s string) string { return strings.TrimPrefix(s, db+".") }
	var b strings.Builder
	for _, d := range h.Datasets {
		var fks, parts []string
		for _, fk := range d.ForeignKeys {
			fks = append(fks, fmt.Sprintf("%s(%s)->%s(%s)", fk.Name, strings.Join(fk.Columns, ","), rel(fk.Target.Name), strings.Join(fk.TargetCol, ",")))
		}
		for _, p := range d.Partitions {
			parts = append(parts, rel(p.Name)+" "+p.Bound)
		}
		orNone := func(ss []string) string {
			if len(ss) == 0 {
				return "-"
			}
			return strings.Join(ss, "; ")
		}
		pk := d.Properties[PropPrimaryKey]
		if pk == "" {
			pk = "-"
		}
		fmt.Fprintf(&b, "%s %s cols=%d pk=%s fks=%s partitions=%s\n",
			rel(d.Key.Name), d.Kind, len(d.Columns), pk, orNone(fks), orNone(parts))
	}
	return b.String()
}

func TestPagila(t *testing.T) {
	dbURL, db := loadDB(t, "pagila-schema.sql")
	h := mustCrawl(t, Config{Source: "postgres:pagila", URL: dbURL})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// Derived from the URL, as no Namespace was given.
	ns := "postgres://" + u.Host

	if h.Source != "postgres:pagila" || len(h.Errors) != 0 {
		t.Fatalf("source %q, errors %v", h.Source, h.Errors)
	}
	if diff := cmp.Diff([]catalog.Scope{{Namespace: ns, Prefix: db + "."}}, datasetScopes(t, h)); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}

	got := goldenLines(h, db)
	golden := "testdata/pagila.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("datasets differ from %s (-want +got):\n%s", golden, diff)
	}

	// Every key follows the naming convention, and every kind is valid.
	kinds := map[catalog.Kind]int{}
	for _, d := range h.Datasets {
		if d.Key.Namespace != ns || !strings.HasPrefix(d.Key.Name, db+".public.") || d.Platform != "postgres" || !d.Kind.Valid() {
			t.Errorf("dataset %v: platform %q kind %q", d.Key, d.Platform, d.Kind)
		}
		if strings.Contains(d.Key.Name, "payment_p2022") {
			t.Errorf("partition %s reported as a dataset", d.Key.Name)
		}
		kinds[d.Kind]++
	}
	// 22 CREATE TABLEs of which 7 are payment's partitions, 7 views, 1
	// materialized view.
	if diff := cmp.Diff(map[catalog.Kind]int{
		catalog.KindTable: 14, catalog.KindPartitioned: 1, catalog.KindView: 7, catalog.KindMaterializedView: 1,
	}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}

	payment := find(t, h, db+".public.payment")
	if payment.Kind != catalog.KindPartitioned || payment.PartitionKey != "RANGE (payment_date)" || len(payment.Partitions) != 7 {
		t.Errorf("payment: kind %s, key %q, %d partitions", payment.Kind, payment.PartitionKey, len(payment.Partitions))
	}
	// The dump writes some bounds with a +01 offset; the crawl prints them
	// in UTC whatever the server's TimeZone.
	if p := payment.Partitions[3]; p != (catalog.Partition{
		Name:  db + ".public.payment_p2022_04",
		Bound: "FOR VALUES FROM ('2022-04-01 00:00:00+00') TO ('2022-05-01 00:00:00+00')",
	}) {
		t.Errorf("payment partition 4 = %+v", p)
	}
	var leaves int64
	for i := 1; i <= 7; i++ {
		leaves += relSize(t, dbURL, "public", fmt.Sprintf("payment_p2022_%02d", i))
	}
	if payment.SizeBytes == nil || *payment.SizeBytes != leaves || leaves == 0 {
		t.Errorf("payment size = %v, want the partitions' %d", payment.SizeBytes, leaves)
	}
	// Never analyzed: the estimate is unknown, not zero.
	if payment.RowEstimate != nil {
		t.Errorf("payment row estimate = %d, want unknown", *payment.RowEstimate)
	}

	// Checked by hand against psql's \d+ public.film and \d+ public.customer
	// (TestLikePsql checks every column).
	wantFilm := []catalog.Column{
		{Name: "film_id", Ordinal: 1, Type: "integer", Default: "nextval('film_film_id_seq'::regclass)", PrimaryKey: true},
		{Name: "title", Ordinal: 2, Type: "text"},
		{Name: "description", Ordinal: 3, Type: "text", Nullable: true},
		{Name: "release_year", Ordinal: 4, Type: "year", Nullable: true},
		{Name: "language_id", Ordinal: 5, Type: "integer"},
		{Name: "original_language_id", Ordinal: 6, Type: "integer", Nullable: true},
		{Name: "rental_duration", Ordinal: 7, Type: "smallint", Default: "3"},
		{Name: "rental_rate", Ordinal: 8, Type: "numeric(4,2)", Default: "4.99"},
		{Name: "length", Ordinal: 9, Type: "smallint", Nullable: true},
		{Name: "replacement_cost", Ordinal: 10, Type: "numeric(5,2)", Default: "19.99"},
		{Name: "rating", Ordinal: 11, Type: "mpaa_rating", Nullable: true, Default: "'G'::mpaa_rating"},
		{Name: "last_update", Ordinal: 12, Type: "timestamp with time zone", Default: "now()"},
		{Name: "special_features", Ordinal: 13, Type: "text[]", Nullable: true},
		{Name: "fulltext", Ordinal: 14, Type: "tsvector"},
	}
	film := find(t, h, db+".public.film")
	if diff := cmp.Diff(wantFilm, film.Columns); diff != "" {
		t.Errorf("film columns (-want +got):\n%s", diff)
	}
	wantFilmFKs := []catalog.ForeignKey{
		{Name: "film_language_id_fkey", Columns: []string{"language_id"}, Target: catalog.Key{Namespace: ns, Name: db + ".public.language"}, TargetCol: []string{"language_id"}},
		{Name: "film_original_language_id_fkey", Columns: []string{"original_language_id"}, Target: catalog.Key{Namespace: ns, Name: db + ".public.language"}, TargetCol: []string{"language_id"}},
	}
	if diff := cmp.Diff(wantFilmFKs, film.ForeignKeys); diff != "" {
		t.Errorf("film foreign keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]catalog.Owner{{Name: "postgres", Kind: catalog.OwnerRole, Type: "technical"}}, film.Owners); diff != "" {
		t.Errorf("film owners (-want +got):\n%s", diff)
	}

	wantCustomer := []catalog.Column{
		{Name: "customer_id", Ordinal: 1, Type: "integer", Default: "nextval('customer_customer_id_seq'::regclass)", PrimaryKey: true},
		{Name: "store_id", Ordinal: 2, Type: "integer"},
		{Name: "first_name", Ordinal: 3, Type: "text"},
		{Name: "last_name", Ordinal: 4, Type: "text"},
		{Name: "email", Ordinal: 5, Type: "text", Nullable: true},
		{Name: "address_id", Ordinal: 6, Type: "integer"},
		{Name: "activebool", Ordinal: 7, Type: "boolean", Default: "true"},
		{Name: "create_date", Ordinal: 8, Type: "date", Default: "CURRENT_DATE"},
		{Name: "last_update", Ordinal: 9, Type: "timestamp with time zone", Nullable: true, Default: "now()"},
		{Name: "active", Ordinal: 10, Type: "integer", Nullable: true},
	}
	if diff := cmp.Diff(wantCustomer, find(t, h, db+".public.customer").Columns); diff != "" {
		t.Errorf("customer columns (-want +got):\n%s", diff)
	}

	mv := find(t, h, db+".public.rental_by_category")
	if mv.Kind != catalog.KindMaterializedView || mv.Properties[PropPopulated] != "false" || mv.RowEstimate != nil {
		t.Errorf("rental_by_category: kind %s, properties %v, rows %v", mv.Kind, mv.Properties, mv.RowEstimate)
	}
	if want := viewDef(t, dbURL, "public", "rental_by_category"); mv.Definition != want || !strings.Contains(want, "FROM (((((public.payment p") {
		t.Errorf("rental_by_category definition:\n%s\nwant:\n%s", mv.Definition, want)
	}
	v := find(t, h, db+".public.actor_info")
	if want := viewDef(t, dbURL, "public", "actor_info"); v.Definition != want || v.Definition == "" {
		t.Errorf("actor_info definition:\n%s\nwant:\n%s", v.Definition, want)
	}
}

// awkwardSetup loads testdata/awkward.sql, takes USAGE on schema secret
// away from everyone but superusers, and returns the database's URL and
// name and a URL connecting as a crawler role that is no superuser.
// waitNoSessions waits until role has no session on the server.
func waitNoSessions(t *testing.T, connURL, role string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE usename = $1`, role).Scan(&n); err != nil {
			t.Fatalf("sessions of %s: %v", role, err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still has %d sessions", role, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func awkwardSetup(t *testing.T) (dbURL, db, crawlerURL string) {
	dbURL, db = loadDB(t, "awkward.sql")
	exec(t, dbURL, "REVOKE USAGE ON SCHEMA secret FROM PUBLIC")
	return dbURL, db, crawlerRole(t, dbURL)
}

func TestAwkward(t *testing.T) {
	dbURL, db, crawlerURL := awkwardSetup(t)
	const ns = "postgres://warehouse.test:5432"
	h := mustCrawl(t, Config{Source: "postgres:awkward", URL: crawlerURL, Namespace: ns})

	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: db + "." + name} }
	owner := []catalog.Owner{{Name: "postgres", Kind: catalog.OwnerRole, Type: "technical"}}
	size := func(schema, name string) *int64 { return ptr(relSize(t, dbURL, schema, name)) }
	long := "a_table_name_that_is_exactly_sixty_three_bytes_long_xyzxyzxyzxy"
	longCol := "colonne_très_longue_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	if len(long) != 63 || len(longCol) != 63 {
		t.Fatalf("the NAMEDATALEN test names are %d and %d bytes, want 63", len(long), len(longCol))
	}

	want := catalog.Harvest{
		Source: "postgres:awkward",
		Datasets: []catalog.DatasetFacts{
			{
				Key: key("MixedCase.Customers"), Platform: "postgres", Kind: catalog.KindTable,
				Description: "People who order.",
				RowEstimate: ptr(2), SizeBytes: size("MixedCase", "Customers"),
				Properties: map[string]string{PropPrimaryKey: `"Id"`},
				Columns: []catalog.Column{
					{Name: "Id", Ordinal: 1, Type: "integer", PrimaryKey: true},
					{Name: "Name", Ordinal: 2, Type: "text"},
				},
				Owners: owner,
			},
			{
				Key: key("MixedCase.Order Items"), Platform: "postgres", Kind: catalog.KindTable,
				Description: "One line of an order.\nKeyed by \"Order Id\" and 'Line'.",
				RowEstimate: ptr(0), SizeBytes: size("MixedCase", "Order Items"),
				Properties: map[string]string{PropPrimaryKey: `"Order Id", "Line"`},
				Columns: []catalog.Column{
					{Name: "Order Id", Ordinal: 1, Type: "integer", Description: "The order's number", PrimaryKey: true},
					{Name: "Line", Ordinal: 2, Type: "smallint", PrimaryKey: true},
					{Name: "Customer", Ordinal: 3, Type: "integer", Nullable: true},
					{Name: "Placed At", Ordinal: 4, Type: "timestamp with time zone", Nullable: true, Default: "'2024-03-01 12:00:00+00'::timestamp with time zone"},
				},
				ForeignKeys: []catalog.ForeignKey{
					{Name: "Order Items_Customer_fkey", Columns: []string{"Customer"}, Target: key("MixedCase.Customers"), TargetCol: []string{"Id"}},
				},
				Owners: owner,
			},
			{
				Key: key("MixedCase.Order Summary"), Platform: "postgres", Kind: catalog.KindView,
				Description: "Lines per customer.",
				Definition:  viewDef(t, dbURL, "MixedCase", "Order Summary"),
				Columns: []catalog.Column{
					{Name: "Name", Ordinal: 1, Type: "text", Nullable: true},
					{Name: "lines", Ordinal: 2, Type: "bigint", Nullable: true, Description: "How many lines"},
				},
				Owners: owner,
			},
			{
				Key: key("MixedCase.shipments"), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: ptr(0), SizeBytes: size("MixedCase", "shipments"),
				Columns: []catalog.Column{
					{Name: "line_no", Ordinal: 1, Type: "smallint"},
					{Name: "order_no", Ordinal: 2, Type: "integer"},
					{Name: "shipped_on", Ordinal: 3, Type: "date", Nullable: true},
				},
				ForeignKeys: []catalog.ForeignKey{
					// In key order, not column order.
					{Name: "shipments_item_fkey", Columns: []string{"order_no", "line_no"}, Target: key("MixedCase.Order Items"), TargetCol: []string{"Order Id", "Line"}},
				},
				Owners: owner,
			},
			{
				Key: key("données.café"), Platform: "postgres", Kind: catalog.KindTable,
				Description: "Ünïcödé ☕",
				RowEstimate: ptr(0), SizeBytes: size("données", "café"),
				Properties: map[string]string{
					PropPrimaryKey:       `"numéro"`,
					PropIdentityColumns:  `"numéro" (always)`,
					PropGeneratedColumns: `"prix TTC"`,
				},
				Columns: []catalog.Column{
					{Name: "numéro", Ordinal: 1, Type: "integer", Default: "generated always as identity", PrimaryKey: true},
					{Name: "prix €", Ordinal: 2, Type: "numeric(8,2)", Default: "0"},
					{Name: "prix TTC", Ordinal: 3, Type: "numeric(8,2)", Nullable: true, Default: `generated always as (("prix €" * 1.2)) stored`, Description: "TTC = toutes taxes comprises\n(20 %)"},
					{Name: longCol, Ordinal: 4, Type: "text", Nullable: true},
				},
				Owners: owner,
			},
			{
				Key: key("ext.feed"), Platform: "postgres", Kind: catalog.KindForeign,
				Description: "Nightly feed",
				Properties: map[string]string{
					PropForeignServer:      "files",
					PropForeignDataWrapper: "file_fdw",
					PropForeignOptions:     "filename=/dev/null, format=csv, header=false",
				},
				Columns: []catalog.Column{
					{Name: "id", Ordinal: 1, Type: "integer", Nullable: true},
					{Name: "payload", Ordinal: 2, Type: "text", Nullable: true},
				},
				Owners: owner,
			},
			{
				Key: key("public." + long), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: ptr(0), SizeBytes: size("public", long),
				Properties: map[string]string{PropPrimaryKey: "id"},
				Columns:    []catalog.Column{{Name: "id", Ordinal: 1, Type: "integer", PrimaryKey: true}},
				Owners:     owner,
			},
			{
				Key: key("public.audit"), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: ptr(0), SizeBytes: size("public", "audit"),
				Properties: map[string]string{PropPrimaryKey: "id"},
				Columns: []catalog.Column{
					{Name: "id", Ordinal: 1, Type: "integer", PrimaryKey: true},
					{Name: "vault_id", Ordinal: 2, Type: "integer", Nullable: true},
				},
				// The target's schema is unreadable: the key is still
				// reported.
				ForeignKeys: []catalog.ForeignKey{
					{Name: "audit_vault_id_fkey", Columns: []string{"vault_id"}, Target: key("secret.vault"), TargetCol: []string{"id"}},
				},
				Owners: owner,
			},
			{
				Key: key("public.scratch"), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: ptr(0), SizeBytes: size("public", "scratch"),
				Properties: map[string]string{
					PropPersistence: "unlogged",
					PropRelOptions:  "autovacuum_enabled=false, fillfactor=70",
				},
				Columns: []catalog.Column{{Name: "x", Ordinal: 1, Type: "integer", Nullable: true}},
				Owners:  owner,
			},
			{
				Key: key("sales.events"), Platform: "postgres", Kind: catalog.KindPartitioned,
				Description: "Sales events",
				// 1000 rows in 2024 and 2025, one in the default partition.
				RowEstimate: ptr(1001),
				SizeBytes: ptr(*size("sales", "events_2024_eu") + *size("sales", "events_2024_us") +
					*size("sales", "events_2025") + *size("archive", "events_old")),
				PartitionKey: "RANGE (at)",
				Partitions: []catalog.Partition{
					{Name: db + ".archive.events_old", Bound: "DEFAULT"},
					{Name: db + ".sales.events_2024", Bound: "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"},
					{Name: db + ".sales.events_2024_eu", Bound: "FOR VALUES IN ('eu')"},
					{Name: db + ".sales.events_2024_us", Bound: "FOR VALUES IN ('us')"},
					{Name: db + ".sales.events_2025", Bound: "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"},
				},
				Properties: map[string]string{
					PropPrimaryKey:    "id, region, at",
					PropSubpartitions: db + ".sales.events_2024 PARTITION BY LIST (region): " + db + ".sales.events_2024_eu, " + db + ".sales.events_2024_us",
				},
				Columns: []catalog.Column{
					{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
					{Name: "region", Ordinal: 2, Type: "text", PrimaryKey: true},
					{Name: "at", Ordinal: 3, Type: "date", PrimaryKey: true},
					{Name: "amount", Ordinal: 4, Type: "numeric(10,2)", Nullable: true},
					{Name: "customer", Ordinal: 5, Type: "integer", Nullable: true},
				},
				ForeignKeys: []catalog.ForeignKey{
					{Name: "events_customer_fkey", Columns: []string{"customer"}, Target: key("MixedCase.Customers"), TargetCol: []string{"Id"}},
				},
				Owners: owner,
			},
			{
				Key: key("sales.region_totals"), Platform: "postgres", Kind: catalog.KindMaterializedView,
				Description: "Totals by region",
				Definition:  viewDef(t, dbURL, "sales", "region_totals"),
				RowEstimate: ptr(2), SizeBytes: size("sales", "region_totals"),
				Properties: map[string]string{PropPopulated: "true"},
				Columns: []catalog.Column{
					{Name: "region", Ordinal: 1, Type: "text", Nullable: true},
					{Name: "total", Ordinal: 2, Type: "numeric", Nullable: true},
				},
				Owners: owner,
			},
			{
				Key: key("select.from"), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: ptr(0), SizeBytes: size("select", "from"),
				Properties: map[string]string{PropIdentityColumns: "table (by default)"},
				Columns: []catalog.Column{
					{Name: "user", Ordinal: 1, Type: "text", Description: "Who did it.\nSee \"docs\" and 'quotes'; a \\ backslash."},
					{Name: "order", Ordinal: 2, Type: "integer", Nullable: true},
					{Name: "table", Ordinal: 3, Type: "bigint", Default: "generated by default as identity"},
				},
				Owners: owner,
			},
		},
		// Not secret, which the crawler may not use; archive holds only a
		// partition, so nothing can be missing from it.
		Scopes: []catalog.Scope{
			{Namespace: ns, Prefix: db + ".MixedCase."},
			{Namespace: ns, Prefix: db + ".archive."},
			{Namespace: ns, Prefix: db + ".données."},
			{Namespace: ns, Prefix: db + ".ext."},
			{Namespace: ns, Prefix: db + ".public."},
			{Namespace: ns, Prefix: db + ".sales."},
			{Namespace: ns, Prefix: db + ".select."},
		},
		Errors: []catalog.CrawlError{
			{Object: db + ".secret", Message: "permission denied for schema secret (no USAGE)"},
		},
		// Views and materialized views read what their definitions name.
		Jobs: []catalog.JobFacts{
			{
				Key:     catalog.JobKey{Namespace: ns, Name: "view:" + db + ".MixedCase.Order Summary"},
				Type:    JobSQLView,
				SQL:     viewDef(t, dbURL, "MixedCase", "Order Summary"),
				Inputs:  []catalog.Key{key("MixedCase.Customers"), key("MixedCase.Order Items")},
				Outputs: []catalog.Key{key("MixedCase.Order Summary")},
			},
			{
				Key:     catalog.JobKey{Namespace: ns, Name: "view:" + db + ".sales.region_totals"},
				Type:    JobSQLView,
				SQL:     viewDef(t, dbURL, "sales", "region_totals"),
				Inputs:  []catalog.Key{key("sales.events")},
				Outputs: []catalog.Key{key("sales.region_totals")},
			},
		},
		ColumnLineage: []catalog.ColumnLineage{
			{Output: key("MixedCase.Order Summary"), Column: "Name", Input: key("MixedCase.Customers"), InputColumn: "Name", Type: "DIRECT", Subtype: "IDENTITY"},
			{Output: key("MixedCase.Order Summary"), Input: key("MixedCase.Order Items"), InputColumn: "Customer", Type: "INDIRECT", Subtype: "JOIN"},
			{Output: key("MixedCase.Order Summary"), Input: key("MixedCase.Customers"), InputColumn: "Id", Type: "INDIRECT", Subtype: "JOIN"},
			{Output: key("MixedCase.Order Summary"), Input: key("MixedCase.Customers"), InputColumn: "Name", Type: "INDIRECT", Subtype: "GROUP_BY"},
			{Output: key("sales.region_totals"), Column: "region", Input: key("sales.events"), InputColumn: "region", Type: "DIRECT", Subtype: "IDENTITY"},
			{Output: key("sales.region_totals"), Column: "total", Input: key("sales.events"), InputColumn: "amount", Type: "DIRECT", Subtype: "AGGREGATION"},
			{Output: key("sales.region_totals"), Input: key("sales.events"), InputColumn: "region", Type: "INDIRECT", Subtype: "GROUP_BY"},
		},
	}
	// Each scope has its twin covering the jobs of the views in it.
	for _, sc := range slices.Clone(want.Scopes) {
		want.Scopes = append(want.Scopes, catalog.Scope{Namespace: ns, Prefix: "view:" + sc.Prefix})
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("harvest (-want +got):\n%s", diff)
	}
	for _, name := range []string{"MixedCase.Order Summary", "sales.region_totals"} {
		if d := find(t, h, db+"."+name); d.Definition == "" || !strings.Contains(d.Definition, `FROM `) {
			t.Errorf("%s: definition %q", name, d.Definition)
		}
	}
	if d := find(t, h, db+".MixedCase.Order Summary"); !strings.Contains(d.Definition, `JOIN "MixedCase"."Order Items" o`) {
		t.Errorf("view definition does not name its tables qualified:\n%s", d.Definition)
	}

	// As a superuser the secret schema is read, and the database is
	// covered whole.
	h = mustCrawl(t, Config{Source: "postgres:awkward", URL: dbURL, Namespace: ns})
	if len(h.Errors) != 0 {
		t.Errorf("errors as superuser: %v", h.Errors)
	}
	if diff := cmp.Diff([]catalog.Scope{{Namespace: ns, Prefix: db + "."}}, datasetScopes(t, h)); diff != "" {
		t.Errorf("scopes as superuser (-want +got):\n%s", diff)
	}
	find(t, h, db+".secret.vault")
}

func TestIncludeExclude(t *testing.T) {
	dbURL, db, _ := awkwardSetup(t)
	const ns = "postgres://w:5432"
	names := func(h catalog.Harvest) []string {
		var out []string
		for _, d := range h.Datasets {
			out = append(out, strings.TrimPrefix(d.Key.Name, db+"."))
		}
		return out
	}
	prefixes := func(h catalog.Harvest) []string {
		var out []string
		for _, s := range datasetScopes(t, h) {
			out = append(out, strings.TrimPrefix(s.Prefix, db+"."))
		}
		return out
	}
	for _, tc := range []struct {
		name             string
		include, exclude []string
		datasets, scopes []string
		// lineage lists the views whose lineage reads a relation left
		// out, which the crawl warns of.
		lineage []string
	}{
		{
			name:     "schema and table patterns",
			include:  []string{"sales", "MixedCase.Order*", "nosuch"},
			exclude:  []string{"sales.region_*"},
			datasets: []string{"MixedCase.Order Items", "MixedCase.Order Summary", "sales.events"},
			// nosuch does not exist: nothing can be left under it.
			scopes: []string{"MixedCase.", "nosuch.", "sales."},
			// It reads MixedCase.Customers.
			lineage: []string{"MixedCase.Order Summary"},
		},
		{
			name:    "exclude only",
			exclude: []string{"secret", "public.*", "s?les", "*.shipments"},
			datasets: []string{
				"MixedCase.Customers", "MixedCase.Order Items", "MixedCase.Order Summary",
				"données.café", "ext.feed", "select.from",
			},
			// Not public, whose relations are all excluded, nor sales or
			// secret, excluded whole.
			scopes: []string{"MixedCase.", "archive.", "données.", "ext.", "select."},
		},
		{
			name:     "case-sensitive, unicode, question mark",
			include:  []string{"mixedcase", "donn?es.caf?"},
			datasets: []string{"données.café"},
			// There is no schema mixedcase, so nothing is left under it.
			scopes: []string{"données.", "mixedcase."},
		},
		{
			name:    "excluded secret is no error",
			include: []string{"public.audit", "secret"},
			exclude: []string{"secret"},
			// audit's foreign key into secret is still reported (below).
			datasets: []string{"public.audit"},
			scopes:   []string{"public."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// As the role without USAGE on secret, so that an error would
			// show if the patterns did not keep secret out.
			h := mustCrawl(t, Config{Source: "postgres:x", URL: crawlerRole(t, dbURL), Namespace: ns, Include: tc.include, Exclude: tc.exclude})
			var warned []string
			for _, e := range h.Errors {
				name := strings.TrimPrefix(e.Object, ns+"/"+db+".")
				if !strings.HasPrefix(e.Message, "sql lineage: ") || !strings.Contains(e.Message, "MixedCase.Customers") {
					t.Errorf("error: %v", e)
				} else if !slices.Contains(warned, name) {
					warned = append(warned, name)
				}
			}
			if diff := cmp.Diff(tc.lineage, warned); diff != "" {
				t.Errorf("views warned of (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.datasets, names(h)); diff != "" {
				t.Errorf("datasets (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.scopes, prefixes(h)); diff != "" {
				t.Errorf("scopes (-want +got):\n%s", diff)
			}
			if slices.Contains(tc.datasets, "public.audit") {
				fks := find(t, h, db+".public.audit").ForeignKeys
				if len(fks) != 1 || fks[0].Target != (catalog.Key{Namespace: ns, Name: db + ".secret.vault"}) {
					t.Errorf("audit foreign keys = %+v", fks)
				}
			}
		})
	}

	_, err := Crawl(t.Context(), Config{Source: "postgres:x", URL: dbURL, Include: []string{"sales["}})
	if !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), `"sales["`) {
		t.Errorf("bad pattern: err = %v, want ErrInvalid naming the pattern", err)
	}
}

func TestSeveralDatabases(t *testing.T) {
	url1, url2 := pgtest.EmptyDB(t), pgtest.EmptyDB(t)
	db1, db2 := dbName(t, url1), dbName(t, url2)
	exec(t, url1, "CREATE TABLE one (id int PRIMARY KEY)")
	exec(t, url2, "CREATE SCHEMA s; CREATE TABLE s.two (id int); CREATE VIEW s.two_v AS SELECT * FROM s.two")
	const missing = "almanac_test_no_such_database"
	h, err := Crawl(t.Context(), Config{
		Source: "postgres:server", URL: url1, Namespace: "postgres://server:5432",
		Databases: []string{db2, missing, db1, db2},
	})
	if err != nil {
		t.Fatalf("Crawl: %v", err)
	}
	var got []string
	for _, d := range h.Datasets {
		got = append(got, d.Key.Name)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values([]string{db1 + ".public.one", db2 + ".s.two", db2 + ".s.two_v"})), got); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	wantScopes := []catalog.Scope{{Namespace: "postgres://server:5432", Prefix: db1 + "."}, {Namespace: "postgres://server:5432", Prefix: db2 + "."}}
	slices.SortFunc(wantScopes, func(a, b catalog.Scope) int { return strings.Compare(a.Prefix, b.Prefix) })
	if diff := cmp.Diff(wantScopes, datasetScopes(t, h)); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if len(h.Errors) != 1 || h.Errors[0].Object != missing || !strings.Contains(h.Errors[0].Message, "does not exist") {
		t.Errorf("errors = %v, want one naming %s", h.Errors, missing)
	}
}

func TestUnreachable(t *testing.T) {
	const secret = "s3cret"
	for _, tc := range []struct {
		name, url string
		dbs       []string
		object    string // of the first error
	}{
		{name: "url", url: "postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=5", object: "db"},
		{name: "keyword/value", url: "host=127.0.0.1 port=1 user=u password=s3cret dbname=db connect_timeout=5", object: "db"},
		{name: "quoted keyword/value", url: "host=127.0.0.1 port=1 user=u password='s3cret' dbname=db", object: "db"},
		{name: "percent-encoded", url: "postgres://u:s3cr%65t@127.0.0.1:1/db", object: "db"},
		{name: "several databases", url: "postgres://u:s3cret@127.0.0.1:1/db", dbs: []string{"a", "b"}, object: "a"},
		{name: "unparsable url", url: "postgres://u:s3cret@[127.0.0.1:1/db", object: "postgres:warehouse"},
		{name: "bad port", url: "postgres://u:s3cret@127.0.0.1:notaport/db", object: "postgres:warehouse"},
		{name: "bad setting", url: "host=127.0.0.1 password=s3cret sslmode=sometimes", object: "postgres:warehouse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Crawl(t.Context(), Config{Source: "postgres:warehouse", URL: tc.url, Databases: tc.dbs})
			if err == nil {
				t.Fatal("Crawl: no error")
			}
			if !strings.Contains(err.Error(), "postgres:warehouse") {
				t.Errorf("error does not name the source: %v", err)
			}
			if len(h.Errors) == 0 || h.Errors[0].Object != tc.object {
				t.Errorf("errors = %v, want one on %q", h.Errors, tc.object)
			}
			if len(tc.dbs) > 0 && len(h.Errors) != len(tc.dbs) {
				t.Errorf("errors = %v, want one per database", h.Errors)
			}
			if len(h.Datasets) != 0 || len(h.Scopes) != 0 {
				t.Errorf("datasets %v, scopes %v from nothing", h.Datasets, h.Scopes)
			}
			all := err.Error()
			for _, e := range h.Errors {
				all += "\n" + e.Error()
			}
			if strings.Contains(all, secret) || strings.Contains(all, "s3cr%65t") {
				t.Errorf("the password leaks:\n%s", all)
			}
			t.Log(err)
		})
	}
	if _, err := Crawl(t.Context(), Config{URL: "postgres://127.0.0.1:1/db"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("empty source: err = %v, want ErrInvalid", err)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ conn, msg string }{
		{"postgres://u:p4ss@h/db", "cannot parse `postgres://u:p4ss@h/db`: p4ss"},
		{"postgres://u:p4ss@[h/db", `parse "postgres://u:p4ss@[h/db": missing ']' in host`},
		{"postgresql://u:p%40ss@h/db", "user p@ss and p%40ss"},
		{"postgres://u@h/db?password=p4ss", "password=p4ss failed; p4ss"},
		{"host=h password='it''s a \\'p4ss\\'' user=u", "password='it''s'"},
		{"host=h password=p4ss", "server said p4ss"},
		{"", "postgres://x:p4ss@elsewhere/db and password=p4ss"},
	} {
		got := newRedactor(tc.conn, "").redact(tc.msg)
		if strings.Contains(got, "p4ss") || strings.Contains(got, "p@ss") || strings.Contains(got, "p%40ss") || strings.Contains(got, "'it") {
			t.Errorf("redact(%q, %q) = %q", tc.conn, tc.msg, got)
		}
	}
	// A password pgx found elsewhere ($PGPASSWORD, a passfile).
	if got := newRedactor("postgres://h/db", "fromenv").redact("oops fromenv"); got != "oops xxxxx" {
		t.Errorf("resolved password: %q", got)
	}
}

func TestDeterministic(t *testing.T) {
	dbURL, _, _ := awkwardSetup(t)
	first := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	second := mustCrawl(t, Config{Source: "postgres:x", URL: dbURL})
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second crawl differs (-first +second):\n%s", diff)
	}
	// Session settings that change how values print must not change the
	// harvest: a timestamptz default prints in TimeZone, a date bound in
	// DateStyle, and a name outside the search_path is qualified.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("TimeZone", "Asia/Tokyo")
	q.Set("DateStyle", "SQL,DMY")
	q.Set("search_path", "sales,public")
	q.Set("extra_float_digits", "0")
	q.Set("IntervalStyle", "sql_standard")
	u.RawQuery = q.Encode()
	third := mustCrawl(t, Config{Source: "postgres:x", URL: u.String()})
	if diff := cmp.Diff(first, third); diff != "" {
		t.Errorf("crawl with other session settings differs (-first +third):\n%s", diff)
	}
}

// TestViewVanishes drops a view, by dropping the table it reads, after the
// crawl listed the relations and before it reads view definitions: the
// snapshot still lists the view, but pg_get_viewdef reads the live catalog
// and fails. The bulk query fails with it; the crawl must fall back to one
// view at a time, report the vanished view and keep the others. The
// table, whose size is read later, is reported as dropped too.
func TestViewVanishes(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	db := dbName(t, dbURL)
	exec(t, dbURL, `
		CREATE TABLE victim_base (x int);
		CREATE VIEW victim AS SELECT x FROM victim_base;
		CREATE SCHEMA other;
		CREATE TABLE other.kept (y int);
		CREATE VIEW other.survivor AS SELECT y FROM other.kept;
		CREATE MATERIALIZED VIEW other.snapshot AS SELECT y FROM other.kept;
		CREATE VIEW public.a_survivor AS SELECT 1 AS one;
	`)
	dropped := false
	h, err := crawl(t.Context(), Config{Source: "postgres:x", URL: dbURL, Namespace: "postgres://h:1"}, hooks{
		beforeViewDefs: func(ctx context.Context, database string) error {
			// Times out rather than hangs if the crawl still held a lock
			// on the table.
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, dbURL)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, "DROP TABLE victim_base CASCADE")
			dropped = err == nil
			return err
		},
	})
	if err != nil {
		t.Fatalf("Crawl: %v", err)
	}
	if !dropped {
		t.Fatal("the hook did not run")
	}
	if len(h.Errors) != 2 || h.Errors[0].Object != db+".public.victim" ||
		!strings.HasPrefix(h.Errors[0].Message, "read view definition: ") ||
		h.Errors[1] != (catalog.CrawlError{Object: db + ".public.victim_base", Message: "read size: dropped during the crawl"}) {
		t.Fatalf("errors = %v, want one naming %s.public.victim, one naming its table", h.Errors, db)
	}
	for _, d := range h.Datasets {
		if d.Key.Name == db+".public.victim" || d.Key.Name == db+".public.victim_base" {
			t.Errorf("a vanished relation is reported: %+v", d)
		}
	}
	for _, name := range []string{"other.survivor", "other.snapshot", "public.a_survivor"} {
		if d := find(t, h, db+"."+name); d.Definition == "" {
			t.Errorf("%s lost its definition", name)
		}
	}
	// public had an error: only other is known complete.
	if diff := cmp.Diff([]catalog.Scope{{Namespace: "postgres://h:1", Prefix: db + ".other."}}, datasetScopes(t, h)); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
}

func TestNamespaceOf(t *testing.T) {
	for _, tc := range []struct {
		host string
		port uint16
		want string
	}{
		{"warehouse.internal", 5432, "postgres://warehouse.internal:5432"},
		{"::1", 5433, "postgres://[::1]:5433"},
		{"/var/run/postgresql", 5432, "postgres://localhost:5432"},
		{"", 0, "postgres://localhost:5432"},
	} {
		if got := namespaceOf(tc.host, tc.port); got != tc.want {
			t.Errorf("namespaceOf(%q, %d) = %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestFilter(t *testing.T) {
	f, err := newFilter([]string{"sales", "hr.emp*", "a/b.*"}, []string{"sales.tmp_?", "hr.emp_secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		schema, table string
		want          bool
	}{
		{"sales", "orders", true},
		{"sales", "tmp_1", false},
		{"sales", "tmp_10", true},
		{"Sales", "orders", false},
		{"hr", "employees", true},
		{"hr", "emp_secret", false},
		{"hr", "salaries", false},
		{"a/b", "c/d", true},
		{"other", "x", false},
	} {
		if got := f.relation(tc.schema, tc.table); got != tc.want {
			t.Errorf("relation(%q, %q) = %v, want %v", tc.schema, tc.table, got, tc.want)
		}
	}
	for schema, want := range map[string]bool{"sales": true, "hr": true, "a/b": true, "other": false} {
		if got := f.touchesSchema(schema); got != want {
			t.Errorf("touchesSchema(%q) = %v, want %v", schema, got, want)
		}
	}
	if got := f.literalSchemas(); !slices.Equal(got, []string{"sales"}) {
		t.Errorf("literalSchemas = %q", got)
	}
	if _, err := newFilter(nil, []string{"[a-"}); !errors.Is(err, catalog.ErrInvalid) || !errors.Is(err, path.ErrBadPattern) {
		t.Errorf("bad pattern: %v", err)
	}
}

// TestParallelSizes reads sizes on worker connections, as a large crawl
// does, and again with workers that cannot connect, and expects the same
// harvest as a crawl on one connection.
func TestParallelSizes(t *testing.T) {
	dbURL, _, crawlerURL := awkwardSetup(t)
	cfg := Config{Source: "postgres:x", URL: crawlerURL}
	want := mustCrawl(t, cfg)

	defer func(n int) { parallelSizes = n }(parallelSizes)
	parallelSizes = 1
	var mu sync.Mutex
	var workerErrs []error
	h := hooks{sizeWorkerDone: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		workerErrs = append(workerErrs, err)
	}}
	got, err := crawl(t.Context(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("harvest with size workers (-one connection +workers):\n%s", diff)
	}
	if len(workerErrs) != sizeWorkers || workerErrs[0] != nil || workerErrs[1] != nil {
		t.Errorf("workers ended with %v, want %d without error", workerErrs, sizeWorkers)
	}

	// The role may hold one connection only: the workers fail to connect
	// and the crawl's own connection reads their share.
	u, err := url.Parse(crawlerURL)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, dbURL, "ALTER ROLE "+pgx.Identifier{u.User.Username()}.Sanitize()+" CONNECTION LIMIT 1")
	// The first crawl's sessions end on the server a moment after their
	// clients close them; until then they count against the limit.
	waitNoSessions(t, dbURL, u.User.Username())
	workerErrs = nil
	got, err = crawl(t.Context(), cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("harvest with failing size workers (-one connection +workers):\n%s", diff)
	}
	if len(workerErrs) != sizeWorkers || workerErrs[0] == nil || workerErrs[1] == nil {
		t.Errorf("workers ended with %v, want %d connection errors", workerErrs, sizeWorkers)
	}
}

// TestDottedSchemaScopes: a scope is a name prefix, so the scope of schema
// "a" would also cover schema "a.b". When a.b cannot be read, a must not be
// scoped either, or the ingest would mark a.b's datasets removed.
func TestDottedSchemaScopes(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	db := dbName(t, dbURL)
	exec(t, dbURL, `
		CREATE SCHEMA a; CREATE TABLE a.t (x int);
		CREATE SCHEMA "a.b"; CREATE TABLE "a.b".t (x int);
		CREATE SCHEMA c; CREATE TABLE c.t (x int);
		GRANT USAGE ON SCHEMA a, c TO PUBLIC;
	`)
	h := mustCrawl(t, Config{Source: "postgres:x", URL: crawlerRole(t, dbURL), Namespace: "postgres://h:1"})
	if diff := cmp.Diff([]catalog.Scope{{Namespace: "postgres://h:1", Prefix: db + ".c."}, {Namespace: "postgres://h:1", Prefix: db + ".public."}}, datasetScopes(t, h)); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if len(h.Errors) != 1 || h.Errors[0].Object != db+".a.b" {
		t.Errorf("errors = %v, want one naming %s.a.b", h.Errors, db)
	}
	find(t, h, db+".a.t")
}

// TestViewReadsCatalogAndKeyToPartition checks two things PostgreSQL's
// catalogs settle: a view's definition, printed with an empty
// search_path, names a relation without a schema only when it is in
// pg_catalog, so a table public.pg_settings is not what
// pg_catalog.pg_settings was; and a foreign key referencing a partition
// references the partitioned table, the dataset the partition rolls up
// to.
func TestViewReadsCatalogAndKeyToPartition(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	db := dbName(t, dbURL)
	exec(t, dbURL, `
		CREATE TABLE public.pg_settings (name text, setting text);
		CREATE SCHEMA app;
		CREATE VIEW app.w AS SELECT name, setting FROM pg_catalog.pg_settings;
		CREATE TABLE app.h (id int PRIMARY KEY) PARTITION BY RANGE (id);
		CREATE TABLE app.h0 PARTITION OF app.h FOR VALUES FROM (0) TO (100);
		CREATE TABLE app.refs (hid int CONSTRAINT refs_h0 REFERENCES app.h0 (id));
		GRANT USAGE ON SCHEMA app TO PUBLIC;
	`)
	h := mustCrawl(t, Config{Source: "postgres:x", URL: crawlerRole(t, dbURL), Namespace: ns})
	for _, j := range h.Jobs {
		if j.Key.Name == "view:"+db+".app.w" && len(j.Inputs) > 0 {
			t.Errorf("view app.w reads %v, want nothing crawled (pg_catalog.pg_settings is not)", j.Inputs)
		}
	}
	for _, c := range h.ColumnLineage {
		if c.Input.Name == db+".public.pg_settings" {
			t.Errorf("column lineage %v from the table public.pg_settings", c)
		}
	}
	refs := find(t, h, db+".app.refs")
	if len(refs.ForeignKeys) != 1 || refs.ForeignKeys[0].Target.Name != db+".app.h" || !slices.Equal(refs.ForeignKeys[0].TargetCol, []string{"id"}) {
		t.Errorf("foreign keys of app.refs = %+v, want one to %s.app.h (id)", refs.ForeignKeys, db)
	}
}

// TestViewLineageDottedDatabase derives a view's lineage in a database
// whose name holds a dot: its datasets are "a.b.s.t".
func TestViewLineageDottedDatabase(t *testing.T) {
	key := func(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }
	h := catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: key("a.b.s.t"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "id", Ordinal: 1}}},
		{Key: key("a.b.s.v"), Kind: catalog.KindView, Definition: " SELECT t.id\n   FROM s.t;"},
		{Key: key("a.c.s.t"), Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "id", Ordinal: 1}}},
	}}
	h = viewLineage(h, []string{"a", "a.b"}, sqllineage.Postgres)
	if len(h.Errors) != 0 {
		t.Errorf("warnings = %v", h.Errors)
	}
	if len(h.Jobs) != 1 || !slices.Equal(h.Jobs[0].Inputs, []catalog.Key{key("a.b.s.t")}) {
		t.Errorf("jobs = %+v, want view:a.b.s.v reading a.b.s.t", h.Jobs)
	}
	if len(h.ColumnLineage) != 1 || h.ColumnLineage[0].Input != key("a.b.s.t") {
		t.Errorf("column lineage = %+v", h.ColumnLineage)
	}
}
