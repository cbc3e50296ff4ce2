package postgres_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
)

// TestWarehouseHarvest checks that pgtest.WarehouseHarvest, which the
// million-dataset benchmark ingests instead of crawling a million
// tables, is what this crawler reads from the warehouse pgtest builds.
// 12 columns, so that every column type and default occurs.
func TestWarehouseHarvest(t *testing.T) {
	dbURL := pgtest.EmptyDB(t)
	pgtest.BuildWarehouse(t, dbURL, 2, 12, 12)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "postgres://wh:5432"
	got, err := postgres.Crawl(context.Background(), postgres.Config{Source: "postgres:wh", URL: dbURL, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	// Sizes are the server's: an empty table and its key's index.
	for i, d := range got.Datasets {
		if d.SizeBytes == nil || *d.SizeBytes == 0 {
			t.Errorf("%s: size %v", d.Key.Name, d.SizeBytes)
		}
		got.Datasets[i].SizeBytes = nil
	}
	want := pgtest.WarehouseHarvest("postgres:wh", ns, strings.TrimPrefix(u.Path, "/"), 2, 12, 12)
	for i := range want.Datasets {
		want.Datasets[i].SizeBytes = nil
	}
	if len(got.Datasets) != 24 {
		t.Fatalf("crawled %d datasets, want 24", len(got.Datasets))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WarehouseHarvest differs from the crawl (-want +got):\n%s", diff)
	}
}
