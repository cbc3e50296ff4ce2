// Package pgtest owns the PostgreSQL harness that every package's tests use:
// a real server, a template database migrated once and shared by all test
// processes, and a fresh database cloned from it for each test.
//
// The server is, in order of preference:
//   - the one at $ALMANAC_TEST_DATABASE_URL (a postgres:// URL of a user who
//     may create databases);
//   - the one at 127.0.0.1:5432, as user postgres, if it answers within 2 s;
//   - a private cluster (package pgcluster) under
//     $TMPDIR/almanac-pgtest-<uid>, started by the first test process that
//     needs it and shared by all others.
//
// Tests never stop that private cluster: parallel `go test` processes of
// other packages may still be using it, and the next run starts instantly.
// Stop it by hand with pg_ctl stop -D $TMPDIR/almanac-pgtest-<uid>/data
// (as the postgres user when running as root).
//
// Templates are named after a hash of the migrations, so a change to them
// builds a new one; old templates and databases of test processes that were
// killed are left behind on the server.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"almanac/catalog/pgcluster"
	"almanac/migrations"
)

const (
	envURL = "ALMANAC_TEST_DATABASE_URL"
	// templateLockKey serializes building the template across test processes
	// ("almtpl" in ASCII; migrations uses its own key).
	templateLockKey int64 = 0x616c6d74706c
	// setupTimeout bounds starting a server and building the template.
	setupTimeout = 2 * time.Minute
	// opTimeout bounds creating or dropping one database.
	opTimeout = time.Minute
)

var (
	// localURL is the conventional local server, tried before starting a
	// private one. A variable so that a test can make it unreachable.
	localURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

	// mu guards server and templates, which live as long as the process.
	mu        sync.Mutex
	server    *adminServer                  // nil until first needed
	templates = map[string]templateResult{} // migrated template by admin URL
)

// adminServer is the server tests create their databases on.
type adminServer struct {
	url  string
	pool *pgxpool.Pool // on its admin database; never closed, it ends with the process
	err  error
}

type templateResult struct {
	name string
	err  error
}

// AdminURL returns the URL of a PostgreSQL server on which tests may create
// databases (see the package comment for which one). It fails the test with
// what is missing when there is none.
func AdminURL(t testing.TB) string {
	t.Helper()
	return admin(t).url
}

func admin(t testing.TB) *adminServer {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if server == nil {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		server = &adminServer{}
		server.url, server.err = findServer(ctx, t)
		if server.err == nil {
			server.pool, server.err = pgxpool.New(ctx, server.url)
		}
	}
	if server.err != nil {
		t.Fatal(server.err)
	}
	return server
}

func findServer(ctx context.Context, t testing.TB) (string, error) {
	if u := os.Getenv(envURL); u != "" {
		if _, err := databaseURL(u, "postgres"); err != nil {
			return "", fmt.Errorf("$%s: %w", envURL, err)
		}
		if err := ping(ctx, u, 10*time.Second); err != nil {
			return "", fmt.Errorf("$%s: %s: %w", envURL, redact(u), err)
		}
		return u, nil
	}
	localErr := ping(ctx, localURL, 2*time.Second)
	if localErr == nil {
		return localURL, nil
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("almanac-pgtest-%d", os.Getuid()))
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	c, err := pgcluster.Start(ctx, dir, log)
	if errors.Is(err, pgcluster.ErrNotInstalled) {
		return "", fmt.Errorf("no PostgreSQL server for tests: none at 127.0.0.1:5432 (%v) and initdb not found to start a private one: install postgresql (apt-get install postgresql), or set $%s", localErr, envURL)
	}
	if err != nil {
		return "", fmt.Errorf("no PostgreSQL server for tests: none at 127.0.0.1:5432 (%v), and the private cluster in %s did not start: %w", localErr, dir, err)
	}
	return c.URL("postgres"), nil
}

// testWriter sends the private cluster's log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func ping(ctx context.Context, connURL string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// NewDB returns a pool on a fresh database with all migrations applied, and
// the database's URL. The database is a copy of the template, so it costs a
// file copy rather than a migration; it is dropped when the test ends.
func NewDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	srv := admin(t)
	tmpl := ensureTemplate(t, srv.url)
	name, dbURL := createDB(t, srv, tmpl)

	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("pgtest: pool on %s: %v", name, err)
	}
	// Cleanups run last-in first-out: the pool closes before the drop.
	t.Cleanup(func() {
		closed := make(chan struct{})
		go func() {
			pool.Close() // waits for every acquired connection to come back
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Errorf("pgtest: a connection to %s is still in use 10s after the test ended: a missing rows.Close, tx.Rollback or conn.Release? dropping the database anyway", name)
		}
	})
	return pool, dbURL
}

// EmptyDB returns the URL of a fresh database without any migrations, e.g. to
// act as a warehouse that a crawler reads. It is dropped when the test ends.
func EmptyDB(t testing.TB) string {
	t.Helper()
	_, dbURL := createDB(t, admin(t), "template0")
	return dbURL
}

// createDB creates almanac_test_<random> from tmpl and drops it when the test
// ends.
func createDB(t testing.TB, srv *adminServer, tmpl string) (name, dbURL string) {
	t.Helper()
	name = "almanac_test_" + randomHex(8)
	dbURL, err := databaseURL(srv.url, name)
	if err != nil {
		t.Fatal(err)
	}
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(tmpl)
	if tmpl == "template0" {
		sql += " ENCODING 'UTF8'"
	}
	ctx, cancel := context.WithTimeout(t.Context(), opTimeout)
	defer cancel()
	// CREATE DATABASE ... TEMPLATE fails while any session is connected to
	// the template. Nobody may connect to ours (ALLOW_CONNECTIONS false), but
	// the backends that migrated it may still be exiting.
	for attempt := 1; ; attempt++ {
		_, err = srv.pool.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatalf("pgtest: create database %s from %s: %v", name, tmpl, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := srv.pool.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return name, dbURL
}

// ensureTemplate returns the name of the migrated template database, building
// it if no test process has yet. The build holds an advisory lock on the
// admin server, so parallel test processes build it once and the others wait.
// The template is marked complete by IS_TEMPLATE and ALLOW_CONNECTIONS false
// in one statement at the end: a template without them was left by a process
// that died while migrating, and is rebuilt.
func ensureTemplate(t testing.TB, adminURL string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	r, ok := templates[adminURL]
	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		r.name, r.err = buildTemplate(ctx, adminURL)
		templates[adminURL] = r
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.name
}

func buildTemplate(ctx context.Context, adminURL string) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("pgtest: template database %s: %w", name, err)
	}
	// A connection of its own, so that closing it surely releases the lock.
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fail(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fail(err)
	}

	var complete bool
	err = conn.QueryRow(ctx, "SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = $1", name).Scan(&complete)
	switch {
	case err == nil && complete:
		return name, nil
	case err == nil:
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return fail(fmt.Errorf("drop half-built template: %w", err))
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fail(err)
	}

	// template0 rather than template1, which a shared server may have
	// extended; UTF8 whatever the server's default.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return fail(err)
	}
	tmplURL, err := databaseURL(adminURL, name)
	if err != nil {
		return fail(err)
	}
	pool, err := pgxpool.New(ctx, tmplURL)
	if err != nil {
		return fail(err)
	}
	err = migrations.Apply(ctx, pool)
	pool.Close()
	if err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH ALLOW_CONNECTIONS false IS_TEMPLATE true"); err != nil {
		return fail(err)
	}
	return name, nil
}

// templateName is almanac_tmpl_ and the first 12 hex digits of a SHA-256 over
// everything the migrations apply: Almanac's embedded files and River's
// migrations (which change with the River version in go.mod).
var templateName = sync.OnceValues(func() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pgtest: hash migrations: %w", err)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "", fmt.Errorf("pgtest: hash river migrations: %w", err)
	}
	for _, m := range migrator.AllVersions() {
		fmt.Fprintf(h, "river %d %d\n", m.Version, len(m.SQLUp))
		h.Write([]byte(m.SQLUp))
	}
	return "almanac_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
})

// databaseURL returns serverURL with its database replaced by name.
func databaseURL(serverURL, name string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", fmt.Errorf("pgtest: %q is not a postgres://user@host:port/database URL", redact(serverURL))
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// redact hides a password in a URL for error messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics rather than returning an error)
	return hex.EncodeToString(b)
}
