package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestSourcesShowsRunningCrawl crawls 6,000 datasets (two ingest
// batches) and reads the sources page at each point the crawl reports
// progress: what the crawl recorded in crawl_runs, which any replica
// reads, is on the page while it runs, and gone once it finished.
func TestSourcesShowsRunningCrawl(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}
	const n = 6000
	var pages []string
	harvest := func(context.Context) (catalog.Harvest, error) {
		// Reading the source: the run is running, with nothing counted.
		pages = append(pages, p.get(t, "/sources").body)
		var h catalog.Harvest
		for i := range n {
			h.Datasets = append(h.Datasets, catalog.DatasetFacts{
				Key: catalog.Key{Namespace: "postgres://big:5432", Name: fmt.Sprintf("big.public.t%05d", i)}, Platform: "postgres", Kind: catalog.KindTable})
		}
		return h, nil
	}
	_, err = st.CrawlReporting(ctx, "postgres:big", harvest, func(catalog.CrawlRun) {
		pages = append(pages, p.get(t, "/sources").body)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"reading the source", "0 of 6000 datasets ingested", "5000 of 6000 datasets ingested", "6000 of 6000 datasets ingested"}
	if len(pages) != len(want) {
		t.Fatalf("%d pages read during the crawl, want %d", len(pages), len(want))
	}
	for i, w := range want {
		if !strings.Contains(pages[i], w) {
			t.Errorf("sources page %d lacks %q:\n%s", i, w, pages[i])
		}
	}
	if !strings.Contains(pages[2], `<progress max="6000" value="5000">`) {
		t.Errorf("no progress bar on the page of a running crawl:\n%s", pages[2])
	}
	after := p.get(t, "/sources").body
	if strings.Contains(after, "datasets ingested") || strings.Contains(after, "<progress") {
		t.Errorf("a finished crawl still shows progress:\n%s", after)
	}
}
