package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"almanac/catalog/demo"
	"almanac/catalog/pgtest"
	"almanac/cmd/almanac/config"
)

// TestDemoReset checks that `almanac demo -reset` drops the demo's
// databases and search index, and refuses to drop a configured catalog.
func TestDemoReset(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	adminURL, err := demo.WithDatabase(pgtest.EmptyDB(t), "postgres")
	if err != nil {
		t.Fatal(err)
	}
	dbs := []string{"almanac_reset_test_catalog", "almanac_reset_test_warehouse"}
	for _, db := range dbs {
		if _, err := demo.EnsureDatabase(ctx, adminURL, db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { demo.DropDatabase(context.Background(), adminURL, db) })
	}
	index := filepath.Join(t.TempDir(), "index")
	if err := os.MkdirAll(filepath.Join(index, "segments"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := demo.Reset(ctx, adminURL, dbs, index, log); err != nil {
		t.Fatal(err)
	}
	for _, db := range dbs {
		// ensureDatabase creates only what is missing: created means dropped.
		created, err := demo.EnsureDatabase(ctx, adminURL, db)
		if err != nil {
			t.Fatal(err)
		}
		if !created {
			t.Errorf("database %s survived the reset", db)
		}
	}
	if _, err := os.Stat(index); !os.IsNotExist(err) {
		t.Errorf("the search index survived the reset: %v", err)
	}

	cfg := &config.Config{DatabaseURL: adminURL, Listen: "127.0.0.1:0"}
	err = runDemo(ctx, cfg, log, false, true)
	if err == nil || !strings.Contains(err.Error(), "will not drop a configured catalog") {
		t.Errorf("demo -reset with database_url set: %v, want a refusal", err)
	}
}
