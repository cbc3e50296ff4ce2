package ui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/search"
)

// TestHostileParameters sends the pages that read query parameters what
// an attacker would — huge, negative, malformed, repeated, control
// characters, other encodings — and requires an answer below 500 for
// each: a bad parameter is the reader's error (400) or ignored, never a
// server failure.
func TestHostileParameters(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	a := catalog.Key{Namespace: warehouseNS, Name: "warehouse.h.a"}
	b := catalog.Key{Namespace: warehouseNS, Name: "warehouse.h.b"}
	if _, err := st.Crawl(ctx, "postgres:h", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{
			{Key: a, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "core", Kind: catalog.OwnerTeam}}},
			{Key: b, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "core", Kind: catalog.OwnerTeam}}},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{{ID: 1, Key: catalog.JobKey{Namespace: "h", Name: "j"}, Inputs: []catalog.Key{a}, Outputs: []catalog.Key{b}}})
	idx, err := search.Create(ctx, t.TempDir(), st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Lineage: g, Search: idx})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	lin := lineageState{Depth: 3, Direction: "both"}.url(a)
	long := make([]byte, 20000)
	for i := range long {
		long[i] = 'x'
	}
	for _, path := range []string{
		"/?sort=popular&page=999999999", "/?page=-1", "/?page=1e9", "/?sort=%00", "/?sort=health&sort=changed",
		"/?kind=%ff%fe&team=core", "/?team=" + string(long), "/?prefix=%25%27%22%3C",
		"/teams/core?stale_days=0", "/teams/core?stale_days=99999999999999999999", "/teams/core?page=0",
		"/teams/%00", "/teams/" + string(long), "/teams/core/report?period=year", "/teams/core/report?period=week&format=xml",
		lin + "&depth=-5", lin + "&depth=99999", lin + "&direction=sideways", lin + "&open=%00", lin + "&open=" + string(long),
		lin + "&draw=all&draw=none", lin + "&expand=not-a-key", lin + "&path=%ff", lin + "&columns=1&column=%00",
		"/search?q=" + string(long), "/search?q=%22unterminated", "/search?q=kind:", "/search?q=owner:%00&page=-3",
		"/search?q=*%20*%20*%20*", "/search?q=t042~5", "/search?q=((((((a", "/search?q=a&format=json&sort=%ff",
	} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatalf("GET %.80s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %.80s: status %d, want below 500", path, resp.StatusCode)
		}
	}
}
