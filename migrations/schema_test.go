package migrations_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/pgcluster"
	"almanac/catalog/pgtest"
	"almanac/migrations"
)

var update = flag.Bool("update", false, "rewrite schema.sql from the migrations")

// TestSchemaDump keeps schema.sql, the committed dump of the schema the
// migrations build, in step with them: a migration added without `make
// schema` fails here, and a reviewer reads the resulting schema in one file.
func TestSchemaDump(t *testing.T) {
	_, url := pgtest.NewDB(t)
	dir, err := pgcluster.Binaries()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(dir, "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", url).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	got := normalize(out)
	if *update {
		if err := os.WriteFile("schema.sql", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatalf("%v (run `make schema`)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("schema.sql is stale; run `make schema` and commit (-committed +migrated):\n%s", diff)
	}
}

// normalize drops what differs between pg_dump runs and versions.
func normalize(dump []byte) []byte {
	dump = regexp.MustCompile(`(?m)^(-- Dumped (from|by) .*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*)\n`).ReplaceAll(dump, nil)
	dump = regexp.MustCompile(`\n{3,}`).ReplaceAll(dump, []byte("\n\n"))
	return append(bytes.TrimSpace(dump), '\n')
}

// TestApplyConcurrently starts three replicas on an empty database at once.
func TestApplyConcurrently(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.EmptyDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	errs := make(chan error, 3)
	for range 3 {
		go func() { errs <- migrations.Apply(ctx, pool) }()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); err == nil {
		t.Error("Check accepted a database behind the binary's migrations")
	}
}
