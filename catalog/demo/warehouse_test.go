package demo_test

import (
	"context"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/demo"
	"almanac/catalog/pgtest"
)

// TestWarehouse builds the bundled demo warehouse and crawls it: the
// script must keep running on a fresh database and keep showing what a
// catalog shows.
func TestWarehouse(t *testing.T) {
	ctx := context.Background()
	url := pgtest.EmptyDB(t)
	if err := demo.LoadWarehouse(ctx, url); err != nil {
		t.Fatal(err)
	}
	h, err := postgres.Crawl(ctx, postgres.Config{Source: "postgres:demo", URL: url, Namespace: demo.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Errors) > 0 {
		t.Errorf("crawl errors: %v", h.Errors)
	}
	kinds := map[catalog.Kind]int{}
	schemas := map[string]bool{}
	described := 0
	for _, d := range h.Datasets {
		kinds[d.Kind]++
		schemas[strings.Split(d.Key.Name, ".")[1]] = true
		if d.Description != "" {
			described++
		}
	}
	if len(h.Datasets) < 30 {
		t.Errorf("demo warehouse has %d datasets, want 30 or more", len(h.Datasets))
	}
	for _, k := range []catalog.Kind{catalog.KindTable, catalog.KindView, catalog.KindMaterializedView, catalog.KindPartitioned, catalog.KindForeign} {
		if kinds[k] == 0 {
			t.Errorf("demo warehouse has no %s (kinds %v)", k, kinds)
		}
	}
	for _, s := range []string{"raw", "staging", "marts"} {
		if !schemas[s] {
			t.Errorf("demo warehouse lacks schema %s", s)
		}
	}
	if described < len(h.Datasets)/2 {
		t.Errorf("only %d of %d datasets are documented", described, len(h.Datasets))
	}
}
