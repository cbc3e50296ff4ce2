package delta_test

import (
	"context"
	"fmt"
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
	d, err := readDataset(ctx, st, catalog.Key{Namespace: "file", Name: abs})
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
