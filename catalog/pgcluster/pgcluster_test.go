package pgcluster

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testLogger sends the cluster's log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// reachableTempDir returns a fresh temporary directory the postgres user can
// traverse when the test runs as root: t.TempDir's parent is created 0700,
// and Start refuses directories it did not create itself.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(dir), dir} {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func query(t *testing.T, url, sql string) int {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestStartStop(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(reachableTempDir(t), "pg")
	log := testLogger(t)

	// Two processes starting one cluster at once share it; two goroutines
	// take the same lock file path.
	var (
		wg    sync.WaitGroup
		other *Cluster
		oErr  error
	)
	wg.Go(func() { other, oErr = Start(ctx, dir, log) })
	c, err := Start(ctx, dir, log)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if oErr != nil {
		t.Fatal(oErr)
	}
	if other.Port != c.Port {
		t.Fatalf("concurrent Starts: ports %d and %d, want one cluster", other.Port, c.Port)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if !filepath.IsAbs(c.Dir) || c.Port == 0 {
		t.Fatalf("Start = {Dir: %q, Port: %d}, want an absolute dir and a port", c.Dir, c.Port)
	}
	if got := query(t, c.URL("postgres"), "SELECT 1"); got != 1 {
		t.Fatalf("SELECT 1 = %d", got)
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE kept"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	// A second Start while the server runs reuses it.
	again, err := Start(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if again.Port != c.Port {
		t.Errorf("Start of a running cluster: port %d, want %d", again.Port, c.Port)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
		t.Fatal("connected after Stop")
	}
	if err := c.Stop(ctx); err != nil {
		t.Errorf("Stop of a stopped cluster: %v", err)
	}

	// Starting after a stop reuses the data and the port.
	c2, err := Start(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Port != c.Port {
		t.Errorf("restart: port %d, want the remembered %d", c2.Port, c.Port)
	}
	if got := query(t, c2.URL("kept"), "SELECT count(*) FROM pg_database WHERE datname = 'kept'"); got != 1 {
		t.Errorf("database created before the restart is gone")
	}
	if err := c2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestStartUnreachableDir(t *testing.T) {
	needRoot(t)
	closed := filepath.Join(reachableTempDir(t), "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(t.Context(), filepath.Join(closed, "pg"), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "chmod o+x "+closed) {
		t.Fatalf("Start under a 0700 directory: %v, want an error telling to chmod o+x %s", err, closed)
	}
}

func TestMakeDirOpensCreatedParents(t *testing.T) {
	needRoot(t)
	cred, err := postgresUser()
	if err != nil {
		t.Fatal(err)
	}
	base := reachableTempDir(t)
	old := syscall.Umask(0o077)
	abs, created, err := makeDir(filepath.Join(base, ".almanac", "pg"))
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	almanac := filepath.Join(base, ".almanac")
	if len(created) != 1 || created[0] != almanac {
		t.Fatalf("makeDir created %q, want [%s]", created, almanac)
	}
	c := &Cluster{Dir: abs, cred: cred}
	if err := c.openPath(created); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(almanac)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o701 {
		t.Errorf("mode of created %s = %v, want 0701", almanac, got)
	}
}

func TestNewestBindir(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "10", "15", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		names := []string{"initdb", "pg_ctl"}
		if v == "16" {
			names = names[:1] // a half-installed version does not count
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(bin, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, want := newestBindir(root), filepath.Join(root, "15", "bin"); got != want {
		t.Errorf("newestBindir = %q, want %q", got, want)
	}
	if got := newestBindir(filepath.Join(root, "missing")); got != "" {
		t.Errorf("newestBindir of a missing root = %q, want \"\"", got)
	}
}

func TestBinariesMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := debianRoot
	debianRoot = t.TempDir()
	t.Cleanup(func() { debianRoot = old })
	_, err := Binaries()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("Binaries without PostgreSQL: %v, want ErrNotInstalled", err)
	}
	// Without apt-get on PATH there is nothing to install with.
	if _, err := EnsureInstalled(t.Context(), testLogger(t)); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("EnsureInstalled without PostgreSQL or apt-get: %v, want ErrNotInstalled", err)
	}
	if _, err := Start(t.Context(), t.TempDir(), testLogger(t)); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Start without PostgreSQL: %v, want ErrNotInstalled", err)
	}
}

func TestWriteConfig(t *testing.T) {
	for _, tc := range []struct {
		name, sub, wantSockets string
	}{
		{"short dir gets the socket", "pg", "DIR"},
		{"long dir is TCP only", strings.Repeat("d", maxSocketPath), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.sub)
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			main := filepath.Join(dir, "data", "postgresql.conf")
			if err := os.WriteFile(main, []byte("max_connections = 100\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c := &Cluster{Dir: dir, Port: 5999}
			for range 2 { // the include line is added once
				if err := c.writeConfig(); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(filepath.Join(dir, "data", confFile))
			if err != nil {
				t.Fatal(err)
			}
			wantSockets := strings.ReplaceAll(tc.wantSockets, "DIR", dir)
			for _, want := range []string{"port = 5999\n", "listen_addresses = '127.0.0.1'\n", "unix_socket_directories = '" + wantSockets + "'\n"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("%s lacks %q:\n%s", confFile, want, b)
				}
			}
			b, err = os.ReadFile(main)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), "include_if_exists = 'almanac.conf'"); n != 1 {
				t.Errorf("postgresql.conf includes %s %d times, want once:\n%s", confFile, n, b)
			}
			port, err := os.ReadFile(filepath.Join(dir, portFile))
			if err != nil || string(port) != "5999\n" {
				t.Errorf("port file = %q, %v; want 5999", port, err)
			}
		})
	}
}

// needRoot skips a test of what only root does (hand the cluster to the
// postgres user), except in CI (CI is set, as .ci/run does), which runs as
// root: there a skip would hide the test, so it fails instead.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("this test needs root, and CI is set: run .ci/run as root")
	}
	t.Skip("only root hands the cluster to the postgres user")
}

// TestStandby starts a private primary and a streaming replica of it: a
// row written on the primary is soon read on the replica, which is in
// recovery and refuses writes.
func TestStandby(t *testing.T) {
	ctx := t.Context()
	log := testLogger(t)
	dir := reachableTempDir(t)
	primary, err := Start(ctx, filepath.Join(dir, "primary"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.WithoutCancel(ctx)) })
	standby, err := primary.StartStandby(ctx, filepath.Join(dir, "standby"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop(context.WithoutCancel(ctx)) })
	if standby.Port == primary.Port {
		t.Fatalf("standby on the primary's port %d", primary.Port)
	}
	if n := query(t, standby.URL("postgres"), `SELECT pg_is_in_recovery()::int`); n != 1 {
		t.Fatal("the standby is not in recovery")
	}
	conn, err := pgx.Connect(ctx, primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE replicated AS SELECT 42 AS n`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := pgx.Connect(ctx, standby.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = c.QueryRow(ctx, `SELECT n FROM replicated`).Scan(&n)
		c.Close(ctx)
		if err == nil && n == 42 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby never saw the primary's table: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
