package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// TestTeamRollups checks the team rollups' refresher and the pages that
// read them: a rollup written by one server is served by another with an
// empty cache, without reading the aggregates; the change log moving
// makes it due once older than the max age; a team without a rollup is
// computed first; and a team that owns nothing any more loses its rollup
// and its page.
func TestTeamRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, pool := teamFixture(t)
	st := store.New(pool)
	// A second team, whose name sorts before data-platform, owning
	// extra.events and extra.clicks (unless owners says otherwise).
	analytics := []catalog.Owner{{Name: "analytics", Kind: catalog.OwnerTeam}}
	crawlExtra := func(events, clicks []catalog.Owner) {
		t.Helper()
		if _, err := st.Crawl(ctx, "postgres:extra", func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: []catalog.DatasetFacts{
				{Key: catalog.Key{Namespace: warehouseNS, Name: "extra.events"}, Platform: "postgres", Kind: catalog.KindTable, Owners: events},
				{Key: catalog.Key{Namespace: warehouseNS, Name: "extra.clicks"}, Platform: "postgres", Kind: catalog.KindTable, Owners: clicks},
			}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	crawlExtra(analytics, analytics)
	change := func(entity string, id int64, key catalog.Key) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO change_log (entity, entity_id, namespace, name, kind, source) VALUES ($1, $2, $3, $4, 'updated', 'test')`,
			entity, id, key.Namespace, key.Name); err != nil {
			t.Fatal(err)
		}
	}
	var fctID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM datasets WHERE namespace = $1 AND name = $2`, fctOrders.Namespace, fctOrders.Name).Scan(&fctID); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now.Add(d) } }
	pass := func(want ...string) {
		t.Helper()
		got, err := p.s.RefreshTeamRollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("teams refreshed (-want +got):\n%s", diff)
		}
	}
	// fresh is another replica, its cache empty, its clock at now+d.
	fresh := func(d time.Duration) *portal {
		q := newPortalOn(t, pool, nil)
		q.s.now = at(d)
		return q
	}
	attained := `<span class="stat-value">100 %</span> <span class="stat-label">SLO attainment</span>`
	breached := `<span class="stat-value">0 %</span> <span class="stat-label">SLO attainment</span>`

	// At first start every team gets a rollup, and none is due again.
	pass("analytics", "data-platform")
	pass()

	// The SLO judged again behind the change log's back: the live
	// aggregates say 100 %, the rollup still 0 %. Another server with an
	// empty cache serves the rollup's; with other parameters, the live.
	if _, err := pool.Exec(ctx, `UPDATE slo_reports SET status = 'ok', attainment = 1`); err != nil {
		t.Fatal(err)
	}
	q := fresh(0)
	if r := q.get(t, "/teams/data-platform"); r.status != 200 || !strings.Contains(r.body, breached) || !strings.Contains(r.body, "check c1 fails") {
		t.Errorf("fresh server: the team page did not serve its rollup: %d\n%.3000s", r.status, r.body)
	}
	if r := q.get(t, "/teams/data-platform?stale_days=29"); !strings.Contains(r.body, attained) {
		t.Errorf("fresh server: the team page with stale_days served the rollup rather than the live aggregates")
	}

	// A change to data-platform's dataset: its rollup is due once older
	// than the max age, and computed again then; analytics' is not.
	const maxAge = DefaultTeamsMaxAge
	change("dataset", fctID, fctOrders)
	p.s.now = at(maxAge - time.Second)
	pass()
	p.s.now = at(maxAge)
	pass("data-platform")
	if r := fresh(maxAge).get(t, "/teams/data-platform"); !strings.Contains(r.body, attained) {
		t.Errorf("the rollup computed after the change does not show it:\n%.3000s", r.body)
	}
	// An incident on analytics' dataset concerns analytics alone; a
	// change to a job, every team (oldest rollup first).
	change("incident", 1, catalog.Key{Namespace: warehouseNS, Name: "extra.events"})
	p.s.now = at(2 * maxAge)
	pass("analytics")
	change("job", 1, catalog.Key{})
	p.s.now = at(3 * maxAge)
	pass("data-platform", "analytics")
	// Without a change, rollups are computed again after teamRollupEvery.
	p.s.now = at(3*maxAge + teamRollupEvery - time.Second)
	pass()

	// A team without a rollup comes first, before those merely old.
	if err := st.DeleteTeamRollup(ctx, "data-platform"); err != nil {
		t.Fatal(err)
	}
	p.s.now = at(3*maxAge + teamRollupEvery)
	pass("data-platform", "analytics")

	// A rollup too old, with no refresher keeping it, is not served: the
	// page reads its aggregates live.
	if _, err := pool.Exec(ctx, `UPDATE slo_reports SET status = 'breached', attainment = 0.9`); err != nil {
		t.Fatal(err)
	}
	if r := fresh(3*maxAge+3*teamRollupEvery).get(t, "/teams/data-platform"); !strings.Contains(r.body, breached) {
		t.Errorf("a rollup older than twice teamRollupEvery was served:\n%.3000s", r.body)
	}

	// An SLO evaluated again, which logs no change, makes its team due
	// once the rollup is max age old.
	base := 3*maxAge + teamRollupEvery
	if err := st.SaveEvaluations(ctx, 0, nil, map[catalog.Key]store.Evaluation{fctOrders: {EvaluatedAt: now.Add(base + time.Second), SLOs: []store.SLOReport{{
		SLO:    slo.SLO{Name: "orders_fresh", Source: "config", Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.99}},
		Report: slo.Report{Status: slo.StatusBreached, Attainment: 0.9, Total: 10},
	}}}}); err != nil {
		t.Fatal(err)
	}
	p.s.now = at(base + maxAge - time.Second)
	pass()
	p.s.now = at(base + maxAge)
	pass("data-platform")
	// Once more while the rollup is less than store's slack of 30 s
	// younger than the evaluation (it may have been stored late), then
	// no more.
	p.s.now = at(base + 3*maxAge)
	pass("data-platform")
	p.s.now = at(base + 5*maxAge)
	pass()

	// analytics stops owning extra.clicks: no owners row ties that change
	// to it, but its count of datasets does.
	crawlExtra(analytics, nil)
	p.s.now = at(base + 6*maxAge)
	pass("analytics")
	if r := fresh(base+6*maxAge).get(t, "/teams/analytics"); !strings.Contains(r.body, "Showing 1–1 of 1") {
		t.Errorf("analytics after it stopped owning extra.clicks:\n%.3000s", r.body)
	}
	// analytics owns nothing any more: its rollup goes, its page is 404.
	crawlExtra(nil, nil)
	p.s.now = at(base + 7*maxAge)
	pass()
	if _, err := st.TeamRollup(ctx, "analytics"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("rollup of a team that owns nothing: %v, want not found", err)
	}
	if r := fresh(base+7*maxAge).get(t, "/teams/analytics"); r.status != 404 {
		t.Errorf("page of a team that owns nothing: %d, want 404", r.status)
	}
}

// TestTeamRollupsOneReplica checks that of two replicas one refreshes the
// rollups at a time: while one holds the lock, the other's pass does
// nothing.
func TestTeamRollupsOneReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, pool := teamFixture(t)
	release, ok, err := store.New(pool).LockTeamRollups(ctx)
	if err != nil || !ok {
		t.Fatalf("lock: %v, %v", ok, err)
	}
	if got, err := p.s.RefreshTeamRollups(ctx); err != nil || len(got) != 0 {
		t.Errorf("pass while another replica holds the lock: %v, %v; want nothing", got, err)
	}
	release()
	if got, err := p.s.RefreshTeamRollups(ctx); err != nil || len(got) != 1 {
		t.Errorf("pass after the lock was released: %v, %v; want data-platform", got, err)
	}
}
