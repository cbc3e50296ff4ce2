package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

const ns = "postgres://db.example:5432"

func key(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }

func ptr[T any](v T) *T { return &v }

// warehouse is a small harvest: two tables with a foreign key and a view.
func warehouse() []catalog.DatasetFacts {
	return []catalog.DatasetFacts{
		{
			Key: key("shop.public.customers"), Platform: "postgres", Kind: catalog.KindTable,
			Description: "One row per customer.", RowEstimate: ptr[int64](120), SizeBytes: ptr[int64](8192),
			Columns: []catalog.Column{
				{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
				{Name: "email", Ordinal: 2, Type: "text", Nullable: true, Description: "PII: email address"},
			},
			Owners: []catalog.Owner{{Name: "shop_owner", Kind: catalog.OwnerRole, Type: "technical"}},
		},
		{
			Key: key("shop.public.orders"), Platform: "postgres", Kind: catalog.KindTable,
			Columns: []catalog.Column{
				{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
				{Name: "customer_id", Ordinal: 2, Type: "bigint"},
				{Name: "amount", Ordinal: 3, Type: "numeric(12,2)", Default: "0"},
			},
			ForeignKeys: []catalog.ForeignKey{{Name: "orders_customer_fk", Columns: []string{"customer_id"}, Target: key("shop.public.customers"), TargetCol: []string{"id"}}},
		},
		{
			Key: key("shop.public.big_orders"), Platform: "postgres", Kind: catalog.KindView,
			Definition: "SELECT * FROM orders WHERE amount > 100",
			Columns:    []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint", Nullable: true}},
		},
	}
}

func harvest(ds ...catalog.DatasetFacts) func(context.Context) (catalog.Harvest, error) {
	return func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: ds, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}}, nil
	}
}

func newStore(t *testing.T) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	return store.New(pool), pool
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// snapshot is every catalog row except crawl runs, to check that a crawl
// wrote nothing.
func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	for _, table := range []string{"datasets", "dataset_facts", "columns", "foreign_keys", "owners", "tags", "schema_versions", "change_log"} {
		var rows string
		err := pool.QueryRow(context.Background(), fmt.Sprintf(
			`SELECT coalesce(string_agg(x::text || '|' || x.xmin::text, E'\n' ORDER BY x::text), '') FROM %s x`, table)).Scan(&rows)
		if err != nil {
			t.Fatal(err)
		}
		s += table + ":\n" + rows + "\n"
	}
	return s
}

func TestIngestCreatesThenSkipsUnchanged(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)

	run, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...))
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.CrawlCounts{Seen: 3, Created: 3, Columns: 6}
	if diff := cmp.Diff(want, run.Counts); diff != "" {
		t.Errorf("first crawl counts (-want +got):\n%s", diff)
	}
	if run.Status != catalog.CrawlSucceeded {
		t.Errorf("status = %s, want succeeded", run.Status)
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE kind = 'created'`); n != 3 {
		t.Errorf("created changes = %d, want 3", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM schema_versions WHERE version = 1`); n != 3 {
		t.Errorf("first schema versions = %d, want 3", n)
	}

	before := snapshot(t, pool)
	run, err = st.Crawl(ctx, "postgres:shop", harvest(warehouse()...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 3, Unchanged: 3, Columns: 6}, run.Counts); diff != "" {
		t.Errorf("second crawl counts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, snapshot(t, pool)); diff != "" {
		t.Errorf("an unchanged crawl wrote catalog rows (-before +after):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM crawl_runs WHERE status = 'succeeded'`); n != 2 {
		t.Errorf("crawl runs = %d, want 2", n)
	}
}

func TestIngestSchemaHistory(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	ds := warehouse()
	orders := &ds[1]
	orders.Columns = []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
		{Name: "buyer_id", Ordinal: 2, Type: "bigint"},           // renamed from customer_id
		{Name: "amount", Ordinal: 3, Type: "numeric(14,2)"},      // retyped, default dropped
		{Name: "placed_at", Ordinal: 4, Type: "timestamptz"},     // added
		{Name: "note", Ordinal: 5, Type: "text", Nullable: true}, // added
	}
	run, err := st.Crawl(ctx, "postgres:shop", harvest(ds...))
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Updated != 1 || run.Counts.Unchanged != 2 {
		t.Errorf("counts = %+v, want 1 updated and 2 unchanged", run.Counts)
	}
	d, err := readDataset(ctx, st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	page := store.HistoryPage{DatasetID: d.ID, Limit: 10, Columns: true}
	histories, err := st.SchemaHistories(ctx, []store.HistoryPage{page})
	if err != nil {
		t.Fatal(err)
	}
	hist := histories[page]
	if len(hist) != 2 || hist[0].Version != 2 {
		t.Fatalf("history = %+v, want versions 2 and 1", hist)
	}
	want := catalog.SchemaDiff{
		Added:   []catalog.Column{{Name: "placed_at", Ordinal: 4, Type: "timestamptz"}, {Name: "note", Ordinal: 5, Type: "text", Nullable: true}},
		Retyped: []catalog.ColumnChange{{Name: "amount", Before: catalog.Column{Name: "amount", Ordinal: 3, Type: "numeric(12,2)", Default: "0"}, After: catalog.Column{Name: "amount", Ordinal: 3, Type: "numeric(14,2)"}}},
		Renamed: []catalog.ColumnRename{{From: "customer_id", To: "buyer_id", Type: "bigint"}},
	}
	if diff := cmp.Diff(want, hist[0].Diff); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE kind = 'schema_changed' AND name = 'shop.public.orders'`); n != 1 {
		t.Errorf("schema_changed entries = %d, want 1", n)
	}
}

func TestIngestRemovesAndRestores(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	ds := warehouse()
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	// The view is gone.
	run, err := st.Crawl(ctx, "postgres:shop", harvest(ds[:2]...))
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Removed != 1 {
		t.Errorf("removed = %d, want 1", run.Counts.Removed)
	}
	d, err := readDataset(ctx, st, key("shop.public.big_orders"))
	if err != nil {
		t.Fatalf("a removed dataset must stay readable: %v", err)
	}
	if d.RemovedAt == nil {
		t.Error("big_orders not marked removed")
	}
	if d.Definition == "" || len(d.Columns) != 1 {
		t.Errorf("a removed dataset keeps its facts as history, got %+v", d)
	}
	live, err := st.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Limit: 10, Total: true})
	if err != nil {
		t.Fatal(err)
	}
	if live.Total != 2 || len(live.IDs) != 2 {
		t.Errorf("live listing has %d (total %d), want 2", len(live.IDs), live.Total)
	}
	if all, _ := st.FindDatasets(ctx, store.DatasetFilter{IncludeRemoved: true}, store.Paging{Limit: 10, Total: true}); all.Total != 3 {
		t.Errorf("listing with removed has %d, want 3", all.Total)
	}

	// It comes back.
	run, err = st.Crawl(ctx, "postgres:shop", harvest(ds...))
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Restored != 1 {
		t.Errorf("restored = %d, want 1 (counts %+v)", run.Counts.Restored, run.Counts)
	}
	d, _ = readDataset(ctx, st, key("shop.public.big_orders"))
	if d.RemovedAt != nil {
		t.Error("big_orders still removed after it came back")
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE kind IN ('removed', 'restored')`); n != 2 {
		t.Errorf("removed+restored entries = %d, want 2", n)
	}
	// Coming back unchanged records no new schema version.
	if n := count(t, pool, `SELECT count(*) FROM schema_versions WHERE dataset_id = $1`, d.ID); n != 1 {
		t.Errorf("schema versions of big_orders = %d, want 1", n)
	}
}

func TestIngestRemovesOnlyWithinScopes(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	ds := warehouse()
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	// A crawl that could read only another schema removes nothing here.
	_, err := st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{
			Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop.other."}},
			Errors: []catalog.CrawlError{{Object: "shop.public", Message: "permission denied for schema public"}},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		got, err := readDataset(ctx, st, d.Key)
		if err != nil || got.RemovedAt != nil {
			t.Errorf("%s removed by a crawl that could not read its schema (err %v)", d.Key, err)
		}
	}
	runs, err := st.CrawlRuns(ctx, "postgres:shop", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if runs[0].Status != catalog.CrawlPartial || len(runs[0].Errors) != 1 || runs[0].Errors[0].Object != "shop.public" {
		t.Errorf("last run = %+v, want partial with the schema's error", runs[0])
	}
}

// TestIngestDatasetsCompleteRemovesAnywhere checks Harvest.DatasetsComplete:
// a dataset the source no longer reports is removed whatever its
// namespace, and only the source's own; a harvest that does not claim it
// removes nothing outside its scopes.
func TestIngestDatasetsCompleteRemovesAnywhere(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	a := catalog.DatasetFacts{Key: catalog.Key{Namespace: "s3://bucket-a", Name: "warehouse/t"}, Kind: catalog.KindTable}
	b := catalog.DatasetFacts{Key: catalog.Key{Namespace: "s3://bucket-b", Name: "warehouse/u"}, Kind: catalog.KindTable}
	other := catalog.DatasetFacts{Key: catalog.Key{Namespace: "s3://bucket-a", Name: "warehouse/v"}, Kind: catalog.KindTable}
	crawl := func(source string, complete bool, ds ...catalog.DatasetFacts) {
		t.Helper()
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: ds, DatasetsComplete: complete}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	crawl("unitycatalog:lake", true, a, b)
	crawl("delta:lake", false, other)
	removed := func(k catalog.Key) bool {
		t.Helper()
		d, err := readDataset(ctx, st, k)
		if err != nil {
			t.Fatal(err)
		}
		return d.RemovedAt != nil
	}
	crawl("unitycatalog:lake", false, a)
	if removed(b.Key) {
		t.Errorf("%s removed by a crawl that did not claim to be complete", b.Key)
	}
	crawl("unitycatalog:lake", true, a)
	if !removed(b.Key) {
		t.Errorf("%s not removed by a complete crawl that no longer reports it", b.Key)
	}
	if removed(a.Key) || removed(other.Key) {
		t.Errorf("a complete crawl removed what it reports or another source's dataset")
	}
}

func TestIngestBadInputKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	ds := warehouse()
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	bad := ds[2]
	bad.Columns = append(bad.Columns, catalog.Column{Name: "id", Ordinal: 2, Type: "int"})
	run, err := st.Crawl(ctx, "postgres:shop", harvest(ds[0], ds[1], bad, catalog.DatasetFacts{Key: catalog.Key{Namespace: ns}}))
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != catalog.CrawlPartial || len(run.Errors) != 2 {
		t.Fatalf("run = %+v, want partial with 2 errors", run)
	}
	if want := `dataset postgres://db.example:5432/shop.public.big_orders: column "id" listed twice: invalid`; run.Errors[0].Message != want {
		t.Errorf("error = %q, want %q", run.Errors[0].Message, want)
	}
	d, err := readDataset(ctx, st, key("shop.public.big_orders"))
	if err != nil {
		t.Fatal(err)
	}
	if d.RemovedAt != nil || len(d.Columns) != 1 {
		t.Errorf("the dataset reported with bad facts lost what was stored: %+v", d)
	}

	// A crawler that fails changes nothing and says why.
	run, err = st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{}, errors.New("connect to 127.0.0.1:1: connection refused")
	})
	if err == nil || run.Status != catalog.CrawlFailed {
		t.Fatalf("failed crawl: err %v, run %+v", err, run)
	}
	if live, _ := st.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Limit: 10, Total: true}); live.Total != 3 {
		t.Errorf("after a failed crawl %d datasets are live, want 3", live.Total)
	}
	// A crawler that panics too.
	run, err = st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) { panic("boom") })
	if err == nil || run.Status != catalog.CrawlFailed {
		t.Fatalf("panicking crawl: err %v, run %+v", err, run)
	}
	// People's edits are not a crawlable source.
	if _, err := st.Crawl(ctx, "user:mallory", harvest()); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("crawl as a user source: err %v, want ErrInvalid", err)
	}
}

func TestUserEditsSurviveCrawls(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	ds := warehouse()
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	k := key("shop.public.customers")
	before, err := readDataset(ctx, st, k)
	if err != nil {
		t.Fatal(err)
	}
	alice := catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	if _, err := st.SetDatasetDescription(ctx, alice, before.ID, "Customers who ordered at least once."); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetColumnDescription(ctx, alice, before.ID, "email", "Lower-cased."); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetColumnDescription(ctx, alice, before.ID, "nope", "x"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("describing a missing column: %v, want ErrNotFound", err)
	}
	// The source changes its comment; the crawl must not touch the edit.
	ds[0].Description = "Customer master data."
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, k)
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "Customers who ordered at least once." || d.DescriptionSource != "user:alice@corp" {
		t.Errorf("description = %q from %s, want the user's", d.Description, d.DescriptionSource)
	}
	var email catalog.DatasetColumn
	for _, c := range d.Columns {
		if c.Name == "email" {
			email = c
		}
	}
	want := catalog.DatasetColumn{
		Column:            catalog.Column{Name: "email", Ordinal: 2, Type: "text", Nullable: true, Description: "Lower-cased."},
		TypeSource:        "postgres:shop",
		DescriptionSource: "user:alice@corp",
		Descriptions: []catalog.Sourced[string]{
			{Value: "PII: email address", Source: "postgres:shop"},
			{Value: "Lower-cased.", Source: "user:alice@corp"},
		},
	}
	ignoreTimes := cmp.Comparer(func(a, b time.Time) bool { return true })
	if diff := cmp.Diff(want, email, ignoreTimes); diff != "" {
		t.Errorf("email column (-want +got):\n%s", diff)
	}
	// The source's own description is still shown beside the edit.
	var sources []string
	for _, f := range d.Sources {
		sources = append(sources, f.Source+"="+f.Description)
	}
	if diff := cmp.Diff([]string{"postgres:shop=Customer master data.", "user:alice@corp=Customers who ordered at least once."}, sources); diff != "" {
		t.Errorf("per-source descriptions (-want +got):\n%s", diff)
	}
	// Removal by the crawl does not remove the edit, but does remove the
	// dataset, since no source reports it any more.
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds[1:]...)); err != nil {
		t.Fatal(err)
	}
	d, _ = readDataset(ctx, st, k)
	if d.RemovedAt == nil || d.Description != "Customers who ordered at least once." {
		t.Errorf("after removal: removed %v, description %q", d.RemovedAt, d.Description)
	}
}

func TestSourcesMerge(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	// dbt documents the same table, under the same key.
	_, err := st.Crawl(ctx, "dbt:analytics", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{
			Key: key("shop.public.orders"), Platform: "dbt", Kind: catalog.KindModel,
			Description: "Orders placed in the web shop.",
			Columns:     []catalog.Column{{Name: "amount", Description: "Order total in EUR."}, {Name: "extra"}},
			Owners:      []catalog.Owner{{Name: "analytics", Kind: catalog.OwnerTeam, Type: "business"}},
			Tags:        []string{"finance", "core"},
		}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Columns {
		got = append(got, fmt.Sprintf("%s %s %q", c.Name, c.Type, c.Description))
	}
	want := []string{`id bigint ""`, `customer_id bigint ""`, `amount numeric(12,2) "Order total in EUR."`, `extra  ""`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged columns (-want +got):\n%s", diff)
	}
	if d.Kind != catalog.KindTable || d.Platform != "postgres" || d.Description != "Orders placed in the web shop." {
		t.Errorf("merged dataset: kind %s platform %s description %q", d.Kind, d.Platform, d.Description)
	}
	if len(d.Owners) != 1 || len(d.Tags) != 2 || len(d.ForeignKeys) != 1 {
		t.Errorf("owners %v tags %v fks %v", d.Owners, d.Tags, d.ForeignKeys)
	}
	c, _ := readDataset(ctx, st, key("shop.public.customers"))
	if len(c.Referenced) != 1 || c.Referenced[0].Value.From != key("shop.public.orders") {
		t.Errorf("customers referenced by %+v", c.Referenced)
	}
}

func TestChangeLogNotifies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, url := pgtest.NewDB(t)
	st := store.New(pool)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "LISTEN "+catalog.ChangeChannel); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	n, err := conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := st.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 || n.Payload != fmt.Sprint(changes[2].Seq) {
		t.Errorf("notified %q, changes %+v", n.Payload, changes)
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}
