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
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}

	// Stats, namespaces and sources (3), the page of ids (1), its
	// datasets (5, in one round trip) and their health badges (1).
	const max = 10
	for _, tt := range []struct {
		path string
		rows int
	}{
		{"/", 50},
		{"/?page=2", 10},
		{"/?kind=table&prefix=warehouse.bulk.&page=2", 10},
		{"/?namespace=" + warehouseNS + "&removed=1", 50},
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
		if n != max {
			t.Errorf("GET %s: %d statements, want %d", tt.path, n, max)
		}
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
