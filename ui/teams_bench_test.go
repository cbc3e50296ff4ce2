package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkTeamPage measures the latency of the page of a team owning
// 5,000 of 10,000 datasets (five columns each, half described), with
// 50,000 SLO statuses and 50,000 check results over the last 30 days, a
// row count and size of each dataset every three days (100,000
// observations) and 100 open incidents: from the team cache; cold (the
// change log moved before each request: the page is served from
// aggregates at most Options.TeamsMaxAge old while they are read again
// behind it); uncached (the cache emptied and no team rollup, nothing
// precomputed, before each request); rollup (the cache emptied before
// each request but the team's rollup computed, as for the first view of
// a team on a fresh replica, with pass-ms the refresher's first pass
// over every team that computed it, and pass-one-ms a later pass after a
// change to one small team); and of its weekly report, its status page
// and /teams.
func BenchmarkTeamPage(b *testing.B) {
	ctx := context.Background()
	st, pool := benchTeamCatalog(b)
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	get := func(path string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
		}
	}
	// cold moves the change log before each request, so that the team
	// page reads its aggregates again rather than from its cache.
	cold := func() {
		if _, err := pool.Exec(ctx, `INSERT INTO change_log (entity, entity_id, kind, source) VALUES ('dataset', 1, 'updated', 'bench')`); err != nil {
			b.Fatal(err)
		}
	}
	uncached := func() {
		s.teams.refreshes.Wait()
		s.teams.clear()
	}
	// noRollups leaves nothing precomputed: no team rollup, no cache.
	noRollups := func() {
		if _, err := pool.Exec(ctx, `DELETE FROM team_rollups`); err != nil {
			b.Fatal(err)
		}
		uncached()
	}
	// rollups makes one pass of the refresher, as a replica's would
	// after a crawl, and reports how long it took.
	rollups := func(b *testing.B) map[string]float64 {
		t0 := time.Now()
		teams, err := s.RefreshTeamRollups(ctx)
		if err != nil || !slices.Contains(teams, "big") {
			b.Fatalf("refresh team rollups: %v, %v", teams, err)
		}
		took := time.Since(t0)
		// A later pass, once past the max age, after a change to one
		// dataset of a small team: it computes that team alone.
		if _, err := pool.Exec(ctx, `INSERT INTO change_log (entity, entity_id, namespace, name, kind, source)
			SELECT 'dataset', id, namespace, name, 'updated', 'bench' FROM datasets WHERE name = 'bench.s001.t000001'`); err != nil {
			b.Fatal(err)
		}
		s.now = func() time.Time { return time.Now().Add(DefaultTeamsMaxAge) }
		defer func() { s.now = time.Now }()
		t1 := time.Now()
		again, err := s.RefreshTeamRollups(ctx)
		if err != nil || len(again) != 1 {
			b.Fatalf("refresh team rollups after a change to one team: %v, %v", again, err)
		}
		return map[string]float64{"pass-ms": float64(took.Milliseconds()), "teams": float64(len(teams)),
			"pass-one-ms": float64(time.Since(t1).Milliseconds())}
	}
	for _, bm := range []struct {
		name, path string
		n          int
		// setup runs before the requests; it returns metrics to report.
		setup  func(*testing.B) map[string]float64
		before func()
	}{
		{"team-5000", "/teams/big", 200, nil, nil},
		{"team-5000-page-50", "/teams/big?page=50", 200, nil, nil},
		{"team-5000-cold", "/teams/big", 20, nil, cold},
		{"team-5000-uncached", "/teams/big", 10, nil, noRollups},
		{"team-5000-rollup", "/teams/big", 50, rollups, uncached},
		{"team-report-week", "/teams/big/report?period=week", 20, nil, nil},
		{"team-status", "/teams/big/status", 20, nil, nil},
		{"teams", "/teams", 20, nil, nil},
	} {
		b.Run(bm.name, func(b *testing.B) {
			var extra map[string]float64
			if bm.setup != nil {
				extra = bm.setup(b)
			}
			for range 3 { // warm the connections
				get(bm.path)
			}
			var lat []time.Duration
			for b.Loop() {
				for range bm.n {
					if bm.before != nil {
						bm.before()
					}
					t0 := time.Now()
					get(bm.path)
					lat = append(lat, time.Since(t0))
				}
			}
			s.teams.refreshes.Wait()
			slices.Sort(lat)
			q := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
			for unit, v := range extra {
				b.ReportMetric(v, unit)
			}
		})
	}
}

// benchTeamCatalog builds BenchmarkTeamPage's catalog: the team "big"
// owns the even datasets of 10,000.
func benchTeamCatalog(tb testing.TB) (*store.Store, *pgxpool.Pool) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(tb)
	st := store.New(pool)
	const datasets = 10_000
	var facts []catalog.DatasetFacts
	for i := range datasets {
		team := "big"
		if i%2 == 1 {
			team = fmt.Sprintf("small%02d", i%50)
		}
		f := catalog.DatasetFacts{Key: catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("bench.s%03d.t%06d", i%100, i)},
			Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: team, Kind: catalog.OwnerTeam}}}
		if i%4 < 2 {
			f.Description = "Described."
		}
		for c := range 5 {
			col := catalog.Column{Name: fmt.Sprintf("c%d", c), Ordinal: c + 1, Type: "text"}
			if c%2 == 0 {
				col.Description = "Described column."
			}
			f.Columns = append(f.Columns, col)
		}
		facts = append(facts, f)
	}
	if _, err := st.Crawl(ctx, "postgres:bench", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: facts}, nil
	}); err != nil {
		tb.Fatal(err)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for _, sql := range []string{
		`INSERT INTO slo_evaluations (dataset_id, seq, evaluated_at, declared_hash) SELECT d.id, 0, now() - interval '1 hour', '' FROM datasets d`,
		`INSERT INTO slo_reports (dataset_id, ordinal, source, name, kind, status, attainment, evaluated_at, slo, report)
		 SELECT d.id, s, 'config', 'slo' || s, 'freshness', (ARRAY['ok', 'ok', 'at_risk', 'breached', 'no_data'])[1 + (d.id + s) % 5], 0.99, now(),
		        '{"Spec": {"Objective": 0.99}}', '{"Summary": ""}'
		 FROM datasets d, generate_series(1, 5) s`,
		`INSERT INTO quality_results (source, check_name, run_id, dataset_namespace, dataset_name, status, started_at)
		 SELECT 'dbt:bench', 'check' || d.id || '_' || s, 'r' || d.id || '_' || s, d.namespace, d.name,
		        CASE WHEN (d.id + s) % 7 = 0 THEN 'fail' ELSE 'pass' END, $1::timestamptz - s * interval '6 days' + interval '1 hour'
		 FROM datasets d, generate_series(0, 4) s`,
		`INSERT INTO dataset_metrics (namespace, name, observed_at, source, direction, row_count, bytes)
		 SELECT d.namespace, d.name, $1::timestamptz - s * interval '3 days' + interval '2 hours', 'ol', 'out', 1000 + d.id + s, 8192 * (d.id + s)
		 FROM datasets d, generate_series(0, 9) s`,
		`INSERT INTO incidents (dataset_namespace, dataset_name, cause, cause_key, severity, title, opened_at, opened_by, last_seen_at)
		 SELECT d.namespace, d.name, 'check_failed', 'c', 'error', 'check fails', now(), 'almanac', now()
		 FROM datasets d WHERE d.id % 100 = 0`,
		`ANALYZE`,
	} {
		args := []any{}
		if strings.Contains(sql, "$1") {
			args = append(args, day)
		}
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("%s: %v", sql, err)
		}
	}
	if _, err := st.RecordTeamSnapshots(ctx, day.AddDate(0, 0, -8)); err != nil {
		tb.Fatal(err)
	}
	return st, pool
}

// clear empties the cache.
func (c *teamCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}
