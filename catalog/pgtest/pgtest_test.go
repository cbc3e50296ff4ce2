package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/pgcluster"
	"almanac/migrations"
)

// existing returns which of names are databases on the admin server.
func existing(t *testing.T, names []string) []string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname = ANY($1) ORDER BY datname", names)
	if err != nil {
		t.Fatal(err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func currentDatabase(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func hasTable(t *testing.T, pool *pgxpool.Pool, table string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestNewDB(t *testing.T) {
	var names []string
	t.Run("create", func(t *testing.T) {
		var pools []*pgxpool.Pool
		for range 2 {
			pool, url := NewDB(t)
			name := currentDatabase(t, pool)
			if !strings.HasPrefix(name, "almanac_test_") || !strings.Contains(url, "/"+name+"?") {
				t.Errorf("NewDB: database %q at %q, want almanac_test_<hex> named in the URL", name, url)
			}
			if !hasTable(t, pool, "datasets") {
				t.Errorf("%s has no table datasets: not migrated", name)
			}
			if err := migrations.Check(t.Context(), pool); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			names = append(names, name)
			pools = append(pools, pool)
		}
		if names[0] == names[1] {
			t.Fatalf("NewDB twice gave the same database %s", names[0])
		}
		// What one test writes, another does not see.
		if _, err := pools[0].Exec(t.Context(), "CREATE TABLE only_in_first (id int)"); err != nil {
			t.Fatal(err)
		}
		if hasTable(t, pools[1], "only_in_first") {
			t.Errorf("a table created in %s shows in %s", names[0], names[1])
		}
		if got := existing(t, names); len(got) != 2 {
			t.Errorf("databases during the test = %q, want both of %q", got, names)
		}
	})
	if got := existing(t, names); len(got) != 0 {
		t.Errorf("databases left after the test: %q", got)
	}
}

func TestEmptyDB(t *testing.T) {
	var name string
	t.Run("create", func(t *testing.T) {
		ctx := t.Context()
		pool, err := pgxpool.New(ctx, EmptyDB(t))
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		name = currentDatabase(t, pool)
		var tables int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Errorf("EmptyDB %s has %d tables, want none", name, tables)
		}
	})
	if got := existing(t, []string{name}); len(got) != 0 {
		t.Errorf("database left after the test: %q", got)
	}
}

func TestTemplate(t *testing.T) {
	NewDB(t) // builds the template if needed
	name, err := templateName()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^almanac_tmpl_[0-9a-f]{12}$`).MatchString(name) {
		t.Errorf("templateName() = %q, want almanac_tmpl_ and 12 hex digits", name)
	}
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var isTemplate, allowConn bool
	if err := conn.QueryRow(ctx, "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1", name).Scan(&isTemplate, &allowConn); err != nil {
		t.Fatalf("template %s: %v", name, err)
	}
	if !isTemplate || allowConn {
		t.Errorf("template %s: datistemplate=%v datallowconn=%v, want true, false", name, isTemplate, allowConn)
	}
}

func TestParallel(t *testing.T) {
	for i := range 8 {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			pool, _ := NewDB(t)
			if !hasTable(t, pool, "datasets") {
				t.Errorf("parallel NewDB %d: not migrated", i)
			}
		})
	}
}

func TestDatabaseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/almanac_test_x?sslmode=disable"},
		{"postgresql://u:p@db:6543", "postgresql://u:p@db:6543/almanac_test_x"},
		{"host=db dbname=postgres", ""},
	} {
		got, err := databaseURL(tc.in, "almanac_test_x")
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("databaseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestPrivateCluster makes 127.0.0.1:5432 unreachable and checks that the
// harness starts a private cluster under $TMPDIR and migrates a template on
// it. Unlike the shared one, this cluster is stopped at the end.
func TestPrivateCluster(t *testing.T) {
	tmp := t.TempDir()
	if os.Geteuid() == 0 { // the postgres user must reach the cluster's directory
		for _, d := range []string{filepath.Dir(tmp), tmp} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("TMPDIR", tmp)
	t.Setenv(envURL, "")
	oldLocal := localURL
	localURL = "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"
	mu.Lock()
	oldServer := server
	server = nil
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		if server != nil && server.pool != nil {
			server.pool.Close()
		}
		server, localURL = oldServer, oldLocal
		mu.Unlock()
	})
	dir := filepath.Join(tmp, fmt.Sprintf("almanac-pgtest-%d", os.Getuid()))
	t.Cleanup(func() {
		c, err := pgcluster.Start(context.Background(), dir, nil) // the running one
		if err == nil {
			err = c.Stop(context.Background())
		}
		if err != nil {
			t.Errorf("stop private cluster: %v", err)
		}
	})

	u := AdminURL(t)
	if strings.Contains(u, ":5432/") || strings.Contains(u, ":1/") {
		t.Fatalf("AdminURL = %q, want the private cluster's", u)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("no private cluster in %s: %v", dir, err)
	}
	pool, dbURL := NewDB(t)
	if !strings.HasPrefix(dbURL, strings.TrimSuffix(u, "postgres?sslmode=disable")) {
		t.Errorf("NewDB URL %q is not on the private cluster %q", dbURL, u)
	}
	if !hasTable(t, pool, "datasets") {
		t.Errorf("database on the private cluster is not migrated")
	}
}
