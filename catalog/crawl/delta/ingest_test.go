package delta_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestIngestFixtures ingests every Delta fixture into a real catalog, then
// again: the second crawl writes nothing.
func TestIngestFixtures(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := delta.Config{Source: "delta:lake", Roots: []string{"testdata"}}
	crawl := func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, cfg) }
	run, err := st.Crawl(ctx, cfg.Source, crawl)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 8, Created: 8, Columns: 20}, run.Counts); diff != "" {
		t.Errorf("first crawl counts (-want +got):\n%s", diff)
	}
	if run.Status != catalog.CrawlSucceeded {
		t.Errorf("status %s, errors %v", run.Status, run.Errors)
	}
	abs, err := filepath.Abs("testdata/delta-0.8.0-partitioned")
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.Dataset(ctx, catalog.Key{Namespace: "file", Name: abs})
	if err != nil {
		t.Fatal(err)
	}
	if d.Platform != "delta" || d.PartitionKey != "year, month, day" || len(d.Columns) != 4 || d.Properties[delta.PropVersion] != "0" {
		t.Errorf("partitioned table = %+v", d)
	}

	run, err = st.Crawl(ctx, cfg.Source, crawl)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 8, Unchanged: 8, Columns: 20}, run.Counts); diff != "" {
		t.Errorf("second crawl counts (-want +got):\n%s", diff)
	}
}
