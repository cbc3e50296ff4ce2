package migrations_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"almanac/catalog/pgtest"
)

// TestSLOReportsHome migrates a database holding SLO statuses of both
// homes through 0021: statuses of a dataset the evaluator never stored
// move to slo_reports, as an evaluation no reader takes as current; a
// dataset the evaluator stored keeps its reports; the previous release's
// reads and writes of slo_statuses (a view now) still work and land in
// slo_reports; and 0021's down migration brings the table back.
func TestSLOReportsHome(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.EmptyDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	src, err := iofs.New(os.DirFS("."), ".")
	if err != nil {
		t.Fatal(err)
	}
	drv, err := migratepgx.WithInstance(stdlib.OpenDBFromPool(pool), &migratepgx.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() }) // before the pool's: it holds a connection of it
	// The migration before 0021, whichever it is.
	var versions []int
	entries, _ := os.ReadDir(".")
	re := regexp.MustCompile(`^(\d+)_.*\.up\.sql$`)
	for _, e := range entries {
		if v := re.FindStringSubmatch(e.Name()); v != nil {
			n, _ := strconv.Atoi(v[1])
			versions = append(versions, n)
		}
	}
	slices.Sort(versions)
	i := slices.Index(versions, 21)
	if i < 1 {
		t.Fatalf("no migration 0021 among %v", versions)
	}
	before := uint(versions[i-1])
	if err := m.Migrate(before); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO datasets (namespace, name) VALUES ('pg', 'a'), ('pg', 'b')`)
	// a: judged by the detector only; b: by both, the evaluator's report
	// newer.
	exec(`INSERT INTO slo_statuses (dataset_namespace, dataset_name, source, name, status, attainment, objective, summary, evaluated_at) VALUES
		('pg', 'a', 'config', 'fresh', 'breached', 0.5, 0.99, 'half fresh', '2026-03-01Z'),
		('pg', 'a', 'dbt:shop', 'on time', 'ok', 1, 0.95, 'all met', '2026-03-01Z'),
		('pg', 'b', 'config', 'fresh', 'breached', 0.5, 0.99, 'old', '2026-03-01Z')`)
	exec(`INSERT INTO slo_evaluations (dataset_id, seq, evaluated_at, declared_hash) SELECT id, 7, '2026-03-02Z', 'h' FROM datasets WHERE name = 'b'`)
	exec(`INSERT INTO slo_reports (dataset_id, ordinal, source, name, kind, status, attainment, evaluated_at, slo, report)
		SELECT id, 0, 'config', 'fresh', 'freshness', 'ok', 1, '2026-03-02Z', '{"Name": "fresh", "Spec": {"Objective": 0.99}}', '{"Summary": "fresh"}'
		FROM datasets WHERE name = 'b'`)
	if err := m.Migrate(21); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := pool.QueryRow(ctx, `SELECT table_type FROM information_schema.tables WHERE table_name = 'slo_statuses'`).Scan(&kind); err != nil || kind != "VIEW" {
		t.Fatalf("slo_statuses is %q, %v; want a view", kind, err)
	}
	statuses := func() []string {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT dataset_name || ' ' || source || ' ' || name || ' ' || status || ' ' || attainment || ' ' || objective || ' ' || summary
			FROM slo_statuses ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	want := []string{"a config fresh breached 0.5 0.99 half fresh", "a dbt:shop on time ok 1 0.95 all met", "b config fresh ok 1 0.99 fresh"}
	if diff := cmp.Diff(want, statuses()); diff != "" {
		t.Errorf("statuses after 0021 (-want +got):\n%s", diff)
	}
	var seq int64
	var hash string
	if err := pool.QueryRow(ctx, `SELECT seq, declared_hash FROM slo_evaluations e JOIN datasets d ON d.id = e.dataset_id WHERE d.name = 'a'`).Scan(&seq, &hash); err != nil || seq != 0 || hash != "migrated" {
		t.Errorf("moved evaluation: seq %d, hash %q, %v; want 0 and migrated, current for no reader", seq, hash, err)
	}

	// The previous release's RecordSLOStatuses, as it wrote.
	exec(`DELETE FROM slo_statuses s USING unnest($1::text[], $2::text[]) AS k(namespace, name)
		WHERE s.dataset_namespace = k.namespace AND s.dataset_name = k.name`, []string{"pg"}, []string{"b"})
	exec(`INSERT INTO slo_statuses (dataset_namespace, dataset_name, source, name, status, attainment, objective, summary, evaluated_at)
		SELECT x.*, $9 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::text[]) AS x
		ON CONFLICT DO NOTHING`, []string{"pg", "pg"}, []string{"b", "b"}, []string{"config", "config"}, []string{"fresh", "vol"},
		[]string{"at_risk", "no_data"}, []float64{0.995, 0}, []float64{0.99, 0.9}, []string{"close", "none"}, "2026-03-03Z")
	want = []string{"a config fresh breached 0.5 0.99 half fresh", "a dbt:shop on time ok 1 0.95 all met", "b config fresh at_risk 0.995 0.99 close", "b config vol no_data 0 0.9 none"}
	if diff := cmp.Diff(want, statuses()); diff != "" {
		t.Errorf("statuses written by the previous release (-want +got):\n%s", diff)
	}
	if err := pool.QueryRow(ctx, `SELECT declared_hash FROM slo_evaluations e JOIN datasets d ON d.id = e.dataset_id WHERE d.name = 'b'`).Scan(&hash); err != nil || hash != "migrated" {
		t.Errorf("evaluation of b written through the view: hash %q, %v; want it no longer current (migrated)", hash, err)
	}

	if err := m.Migrate(before); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT table_type FROM information_schema.tables WHERE table_name = 'slo_statuses'`).Scan(&kind); err != nil || kind != "BASE TABLE" {
		t.Fatalf("after 0021 down, slo_statuses is %q, %v; want a table", kind, err)
	}
	if diff := cmp.Diff(want, statuses()); diff != "" {
		t.Errorf("statuses after 0021 down (-want +got):\n%s", diff)
	}
}
