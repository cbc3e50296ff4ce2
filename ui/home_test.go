package ui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// statements counts the SQL statements sent on a pool: queries, each
// statement of a batch, and COPYs.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) { s.n.Add(1) }
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (s *statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// TestHomeStatements counts the SQL statements of the home page: the
// listing reads its page of ids, then the datasets in one batch, as the
// API does, so that a page of 50 datasets costs the same few statements as
// a page of 10, whatever the filters.
func TestHomeStatements(t *testing.T) {
	ctx := context.Background()
	_, url := pgtest.NewDB(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	stmts := &statements{}
	cfg.ConnConfig.Tracer = stmts
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	var pg, dbt []catalog.DatasetFacts
	for i := range 60 {
		k := catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("warehouse.bulk.t%02d", i)}
		pg = append(pg, catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable,
			Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}, {Name: "v", Ordinal: 2, Type: "text"}},
			Owners:  []catalog.Owner{{Name: "owner_role", Kind: catalog.OwnerRole}},
			ForeignKeys: []catalog.ForeignKey{{Name: "fk", Columns: []string{"id"},
				Target: catalog.Key{Namespace: warehouseNS, Name: "warehouse.bulk.t00"}, TargetCol: []string{"id"}}},
		})
		dbt = append(dbt, catalog.DatasetFacts{Key: k, Platform: "dbt", Kind: catalog.KindModel, Description: "Model.",
			Owners: []catalog.Owner{{Name: fmt.Sprintf("team%d", i%3), Kind: catalog.OwnerTeam}}, Tags: []string{"bulk"}})
	}
	for src, facts := range map[string][]catalog.DatasetFacts{"postgres:bulk": pg, "dbt:bulk": dbt} {
		if _, err := st.Crawl(ctx, src, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: facts}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	s.now = func() time.Time { return clock }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}

	// The first visit reads the change log's position (1), the
	// catalog-wide counts (stats, namespaces, and the facets and attention
	// counts in one round trip of 8), the page of ids (1), the recently
	// changed ids (1), the most read ids (1), their datasets (5, in one
	// round trip) and the
	// sources (1). Later visits find the counts cached, the change log
	// not having moved, and have no side lists when filtered or paged.
	// (The fixture has no failing or stale dataset, whose lists would add
	// one each.) Every page reads the health badges of its listing (1).
	for _, tt := range []struct {
		path string
		rows int
		max  int64
	}{
		{"/", 50, 21},
		{"/", 50, 11},
		{"/?page=2", 10, 9},
		{"/?kind=table&prefix=warehouse.bulk.&page=2", 10, 9},
		{"/?namespace=" + warehouseNS + "&removed=1", 50, 9},
		{"/?sort=popular&team=team1", 20, 9},
	} {
		stmts.n.Store(0)
		r := p.get(t, tt.path)
		n := stmts.n.Load()
		if r.status != 200 {
			t.Fatalf("GET %s: status %d", tt.path, r.status)
		}
		if rows := strings.Count(r.body, `class="dataset-summary"`); rows != tt.rows {
			t.Errorf("GET %s: %d datasets listed, want %d", tt.path, rows, tt.rows)
		}
		if n != tt.max {
			t.Errorf("GET %s: %d statements, want %d", tt.path, n, tt.max)
		}
	}

	// A change: the counts stay cached for DefaultCountsMaxAge, then are
	// read again and show it.
	k := catalog.Key{Namespace: warehouseNS, Name: "warehouse.extra.new"}
	if _, err := st.Crawl(ctx, "postgres:extra", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: k, Platform: "postgres", Kind: catalog.KindTable}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	card := `<span class="stat-value">61</span> <span class="stat-label">Datasets</span>`
	if r := p.get(t, "/"); strings.Contains(r.body, card) {
		t.Errorf("the counts were read again within DefaultCountsMaxAge of the last read")
	}
	clock = clock.Add(DefaultCountsMaxAge + time.Second)
	if r := p.get(t, "/"); !strings.Contains(r.body, card) {
		t.Errorf("after DefaultCountsMaxAge the counts still miss the new dataset")
	}
}

// TestHomeListsTheMergedDataset checks that the listing shows a dataset as
// its page and the API do, merged by catalog.Merge: the description of the
// best documenting source and the kind of the best structural source,
// whichever wrote last, and nothing of a source that no longer reports it.
// The listing read both in SQL once, by recency, and disagreed.
func TestHomeListsTheMergedDataset(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	k := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.orders"}
	crawl := func(source string, scoped bool, facts ...catalog.DatasetFacts) {
		t.Helper()
		h := catalog.Harvest{Datasets: facts}
		if scoped {
			h.Scopes = []catalog.Scope{{Namespace: warehouseNS}}
		}
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// OpenLineage documents it first, then the warehouse comments it,
	// then dbt models it: the last word by time is the warehouse's
	// comment and dbt's kind, but lineage documents better and the
	// warehouse knows the structure better.
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{
		Facts: catalog.DatasetFacts{Key: k, Description: "Orders, as lineage describes them."}, Asserts: catalog.FacetDescription}}}); err != nil {
		t.Fatal(err)
	}
	crawl("postgres:warehouse", false, catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable,
		Description: "Warehouse comment.", Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}}})
	crawl("dbt:analytics", false, catalog.DatasetFacts{Key: k, Platform: "dbt", Kind: catalog.KindModel})
	// A replica that no longer reports it: its owner and column are history.
	crawl("postgres:replica", true, catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable,
		Owners:  []catalog.Owner{{Name: "replica_owner", Kind: catalog.OwnerRole}},
		Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}, {Name: "gone", Ordinal: 2, Type: "text"}}})
	crawl("postgres:replica", true)

	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}
	home, page := p.get(t, "/"), p.get(t, datasetPath(k))
	for _, want := range []string{"Orders, as lineage describes them.", "kind-table", "1 column<"} {
		if !strings.Contains(page.body, want) && want != "1 column<" {
			t.Fatalf("the dataset page lacks %q: the fixture is not what this test is about", want)
		}
		if !strings.Contains(home.body, want) {
			t.Errorf("the listing lacks %q, which the dataset page shows", want)
		}
	}
	for _, unwanted := range []string{"Warehouse comment.", "kind-model", "replica_owner", "2 columns"} {
		if strings.Contains(home.body, unwanted) {
			t.Errorf("the listing shows %q, unlike the dataset page", unwanted)
		}
	}
}

// TestHomeBrowses checks the home page as a place to browse from: count
// cards that link to their lists, the failing and stale datasets beside
// the listing, facets as links, the listing's sort and filters kept across
// pages, and a clear 400 for a bad parameter.
func TestHomeBrowses(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	k := func(name string) catalog.Key { return catalog.Key{Namespace: warehouseNS, Name: name} }
	var facts []catalog.DatasetFacts
	for i := range 55 {
		facts = append(facts, catalog.DatasetFacts{Key: k(fmt.Sprintf("warehouse.bulk.t%02d", i)), Platform: "postgres", Kind: catalog.KindTable,
			Description: "Bulk.", Owners: []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam}}})
	}
	facts = append(facts, catalog.DatasetFacts{Key: k("warehouse.marts.orders"), Platform: "postgres", Kind: catalog.KindView})
	observed := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	h := catalog.Harvest{
		Datasets: facts,
		Checks:   []catalog.QualityCheck{{Dataset: k("warehouse.marts.orders"), Name: "not_null_orders_id", Type: "not_null"}},
		Results: []catalog.QualityResult{{Check: "not_null_orders_id", Dataset: k("warehouse.marts.orders"), Status: catalog.QualityFail,
			StartedAt: observed, RunID: "run-1"}},
		Freshness: []catalog.FreshnessObservation{{Dataset: k("warehouse.bulk.t07"), ObservedAt: observed, Status: catalog.FreshnessError}},
	}
	if _, err := st.Crawl(ctx, "dbt:warehouse", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}

	home := p.get(t, "/")
	for _, want := range []string{
		`href="/?attention=failing"`, `<span class="stat-label">Failing checks</span>`,
		`href="/?attention=stale"`, `href="/?attention=undocumented"`,
		`id="attention-heading"`, `href="/?sort=changed"`,
		`href="/?platform=postgres"`, `href="/?team=payments"`,
		`<option value="view">view (1)</option>`,
	} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home lacks %s", want)
		}
	}
	if strings.Contains(home.body, `value="model"`) {
		t.Errorf("the kind filter offers a kind no dataset has")
	}
	attention := home.body[strings.Index(home.body, `id="attention-heading"`):]
	attention = attention[:strings.Index(attention, "</section>")]
	for _, want := range []string{"warehouse.marts.orders", "warehouse.bulk.t07"} {
		if !strings.Contains(attention, want) {
			t.Errorf("needs attention lacks %s:\n%s", want, attention)
		}
	}

	for _, tt := range []struct {
		path  string
		want  []string
		count int
	}{
		{"/?attention=failing", []string{"warehouse.marts.orders"}, 1},
		{"/?attention=stale", []string{"warehouse.bulk.t07"}, 1},
		{"/?attention=undocumented", []string{"warehouse.marts.orders"}, 1},
		{"/?sort=health", []string{"warehouse.marts.orders", "warehouse.bulk.t07", "warehouse.bulk.t00"}, 50},
		{"/?team=payments&page=2", []string{"warehouse.bulk.t50"}, 5},
		{"/?platform=postgres&kind=view", []string{"warehouse.marts.orders"}, 1},
	} {
		r := p.get(t, tt.path)
		if r.status != 200 {
			t.Fatalf("GET %s: %d", tt.path, r.status)
		}
		if n := strings.Count(r.body, `class="dataset-item"`); n != tt.count {
			t.Errorf("GET %s: %d datasets, want %d", tt.path, n, tt.count)
		}
		last := 0
		for _, name := range tt.want {
			i := strings.Index(r.body[last:], ">"+name+"<")
			if i < 0 {
				t.Errorf("GET %s: %s missing or out of order", tt.path, name)
				break
			}
			last += i
		}
	}
	// The team filter has no field in the form: it is kept as a hidden
	// field and in the pager's links, and shown with a way to drop it.
	r := p.get(t, "/?team=payments&sort=changed")
	for _, want := range []string{`name="team" value="payments"`, `href="/?page=2&amp;sort=changed&amp;team=payments"`, `aria-label="Remove filter Team payments"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("team listing lacks %s", want)
		}
	}
	for _, bad := range []string{"/?sort=random", "/?attention=bored", "/?platform=%00", "/?team=" + strings.Repeat("x", 1001)} {
		if r := p.get(t, bad); r.status != 400 {
			t.Errorf("GET %s: %d, want 400", bad, r.status)
		}
	}
}
