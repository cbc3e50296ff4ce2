package demo

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"almanac/catalog"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgcluster"
)

// TestDemoWorkload starts a private cluster as the demo does, without
// pg_stat_statements preloaded, lets PreloadStatements restart it with
// the extension, builds the demo warehouse, runs the demo's workload and
// crawls: the crawl counts the workload's reads of fct_orders, by role.
func TestDemoWorkload(t *testing.T) {
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil { // for the postgres OS user
		t.Fatal(err)
	}
	c, err := pgcluster.Start(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	}()
	if c, err = PreloadStatements(ctx, c, dir, log); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDatabase(ctx, c.URL("postgres"), "warehouse"); err != nil {
		t.Fatal(err)
	}
	whURL := c.URL("warehouse")
	if err := LoadWarehouse(ctx, whURL); err != nil {
		t.Fatal(err)
	}
	RunWorkload(ctx, whURL, log)
	h, err := postgres.Crawl(ctx, postgres.Config{Source: "demo", URL: whURL, Namespace: Namespace})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Queries) != 1 {
		t.Fatalf("%d query statistics, want 1; crawl errors %+v", len(h.Queries), h.Errors)
	}
	fct := catalog.Key{Namespace: Namespace, Name: "warehouse.marts.fct_orders"}
	calls := map[string]int64{}
	for _, s := range h.Queries[0].Statements {
		for _, k := range s.Reads {
			if k == fct {
				calls[s.Role] += s.Calls
			}
		}
	}
	// The warehouse script's own INSERT … SELECTs, as postgres, count too.
	if calls["finance_team"] != 52 {
		t.Errorf("fct_orders read %v times by role, want 52 by finance_team", calls)
	}
}
