package migrations_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"almanac/catalog/pgtest"
	"almanac/migrations"
)

// TestOneMigrationAhead checks the rule that lets the previous release
// run beside the next during a rolling upgrade: on a schema one
// migration ahead of it (the next release migrated first), a binary
// starts (Apply leaves the schema alone) and is ready (Check); two ahead,
// or one ahead and dirty, it refuses, saying why.
func TestOneMigrationAhead(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	latest := migrations.Latest()
	set := func(version int, dirty bool) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE schema_migrations SET version = $1, dirty = $2`, version, dirty); err != nil {
			t.Fatal(err)
		}
	}
	set(latest+1, false)
	if err := migrations.Check(ctx, pool); err != nil {
		t.Errorf("Check one migration ahead: %v", err)
	}
	if err := migrations.Apply(ctx, pool); err != nil {
		t.Errorf("Apply one migration ahead: %v", err)
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT version FROM schema_migrations`).Scan(&v); err != nil || v != latest+1 {
		t.Errorf("version after Apply = %d, %v; want %d left alone", v, err, latest+1)
	}
	for _, tc := range []struct {
		version int
		dirty   bool
		want    string
	}{
		{latest + 2, false, "more than one migration ahead"},
		{latest + 1, true, "failed half-way"},
	} {
		set(tc.version, tc.dirty)
		for name, f := range map[string]func(context.Context) error{
			"Check": func(ctx context.Context) error { return migrations.Check(ctx, pool) },
			"Apply": func(ctx context.Context) error { return migrations.Apply(ctx, pool) },
		} {
			if err := f(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s at migration %d (dirty %v): %v, want %q", name, tc.version, tc.dirty, err, tc.want)
			}
		}
	}
}

// TestPreviousReleaseOnNewSchema runs the previous release's store tests
// (its SQL, every query and write it makes) against the schema of this
// release's migrations: migrations are backward compatible for one
// version, so the old binary keeps working while a rolling upgrade
// replaces it. The previous release is the tree as it was just before
// the newest migration was added, taken from git history; its migrations
// are replaced by this release's, so that its test databases have the new
// schema.
func TestPreviousReleaseOnNewSchema(t *testing.T) {
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", args...).Output()
		if err != nil {
			msg := ""
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("git %s: %v %s (the test needs the repository's history; a shallow clone lacks it)", strings.Join(args, " "), err, msg)
		}
		return strings.TrimSpace(string(out))
	}
	root := git("rev-parse", "--show-toplevel")
	newest, err := filepath.Glob(fmt.Sprintf("%04d_*.up.sql", migrations.Latest()))
	if err != nil || len(newest) != 1 {
		t.Fatalf("newest migration file: %v %v", newest, err)
	}
	// Along the first parents, with each merge compared with its first
	// parent: a migration added (or renumbered) on a branch is added by
	// the merge that brought it, and the previous release is the tree
	// before that merge.
	added := git("-C", root, "log", "-1", "--first-parent", "--diff-merges=first-parent", "--diff-filter=A", "--no-patch", "--format=%H", "--", "migrations/"+newest[0])
	if added == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not committed, and CI is set: CI tests a commit, so the previous release must be found in its history", newest[0])
		}
		t.Skipf("%s is not committed yet: the previous release is HEAD", newest[0])
	}
	previous := added + "^"
	t.Logf("previous release: %s (before %s added %s)", git("-C", root, "rev-parse", "--short", previous), added[:7], newest[0])

	dir := t.TempDir()
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", previous)
	var tarball bytes.Buffer
	archive.Stdout = &tarball
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v", previous, err)
	}
	untar := exec.Command("tar", "-x", "-C", dir)
	untar.Stdin = &tarball
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	old, err := filepath.Glob(filepath.Join(dir, "migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	current, err := filepath.Glob("*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range current {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "migrations", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", "./catalog/store/")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the previous release's store tests fail on this release's schema: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
