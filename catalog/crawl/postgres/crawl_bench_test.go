package postgres

import (
	"context"
	"testing"
	"time"

	"almanac/catalog/pgtest"
)

const (
	benchSchemas = 100
	benchTables  = 100 // per schema
	benchColumns = 10  // per table, the primary key included
)

// BenchmarkCrawl crawls a warehouse of 10,000 tables and 100,000 columns
// (more with the foreign key columns). Building it takes a while and is not
// timed.
func BenchmarkCrawl(b *testing.B) {
	dbURL := pgtest.EmptyDB(b)
	start := time.Now()
	pgtest.BuildWarehouse(b, dbURL, benchSchemas, benchTables, benchColumns)
	b.Logf("built %d tables in %v", benchSchemas*benchTables, time.Since(start).Round(time.Millisecond))

	cfg := Config{Source: "postgres:bench", URL: dbURL}
	for b.Loop() {
		h, err := Crawl(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		// One scope of datasets (the database), and its twin for the
		// jobs of views.
		if scopes := datasetScopes(b, h); len(h.Datasets) != benchSchemas*benchTables || len(h.Errors) != 0 || len(scopes) != 1 {
			b.Fatalf("%d datasets, %d scopes, errors %v", len(h.Datasets), len(scopes), h.Errors)
		}
	}
}
