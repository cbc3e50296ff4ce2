package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestTeamRollups checks the team_rollups rows: a rollup reads back as
// saved, including its times and SLO statuses through JSON; an older one
// does not replace a newer; and which teams are due at a time, in order,
// with the rollup of a team that owns nothing removed.
func TestTeamRollups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, pool := teamCatalog(t)
	at := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	if _, err := st.TeamRollup(ctx, "payments"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("rollup before any: %v, want not found", err)
	}
	figures, err := st.TeamFigures(ctx, "payments", at.AddDate(0, 0, -30))
	if err != nil {
		t.Fatal(err)
	}
	slos, err := st.TeamSLOStatuses(ctx, "payments", 10)
	if err != nil {
		t.Fatal(err)
	}
	trends, err := st.TeamTrends(ctx, "payments", teamDay, teamDay.AddDate(0, 0, 3))
	if err != nil {
		t.Fatal(err)
	}
	last, err := st.LastChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := store.TeamRollup{Team: "payments", ComputedAt: at, ChangeSeq: last, TeamAggregates: store.TeamAggregates{
		Figures: figures, Datasets: []int64{1, 2, 3}, Total: 3, Stale: []int64{2}, StaleTotal: 1, SLOs: slos, Trends: trends}}
	for _, r := range []store.TeamRollup{want, {Team: "payments", ComputedAt: at.Add(-time.Second), ChangeSeq: last + 9}} {
		if err := st.SaveTeamRollup(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.TeamRollup(ctx, "payments")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("rollup (-want +got):\n%s", diff)
	}

	// growth has no rollup; gone owns nothing.
	if err := st.SaveTeamRollup(ctx, store.TeamRollup{Team: "gone", ComputedAt: at, ChangeSeq: last}); err != nil {
		t.Fatal(err)
	}
	change := func(name string) int64 {
		t.Helper()
		var seq int64
		if err := pool.QueryRow(ctx, `INSERT INTO change_log (entity, entity_id, namespace, name, kind, source)
			SELECT 'dataset', id, namespace, name, 'updated', 'test' FROM datasets WHERE name = $1 RETURNING seq`, name).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	due := func(what string, seq int64, now time.Time, want ...string) {
		t.Helper()
		got, err := st.TeamRollupsDue(ctx, seq, now, 15*time.Second, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: teams due (-want +got):\n%s", what, diff)
		}
	}
	due("log still", last, at.Add(time.Minute), "growth")
	if _, err := st.TeamRollup(ctx, "gone"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("rollup of a team that owns nothing: %v, want removed", err)
	}
	// A change to growth's dataset alone does not concern payments,
	// whose rollup, once max age old, is marked as of it.
	seq := change("shop.grow.e")
	due("growth's change, younger than max age", seq, at.Add(14*time.Second), "growth")
	due("growth's change, max age old", seq, at.Add(15*time.Second), "growth")
	if r, err := st.TeamRollup(ctx, "payments"); err != nil || r.ChangeSeq != seq {
		t.Errorf("rollup not concerned by the change: change_seq %d, %v; want %d", r.ChangeSeq, err, seq)
	}
	// A change to one of payments' datasets does.
	seq = change("shop.pay.b")
	due("payments' change, younger than max age", seq, at.Add(14*time.Second), "growth")
	due("payments' change, max age old", seq, at.Add(15*time.Second), "growth", "payments")
	due("log still, every old", last, at.Add(5*time.Minute), "growth", "payments")
	due("clock set back", last, at.Add(-time.Minute), "growth", "payments")
}

// TestTeamRollupPayloadPath pins the JSON path TeamRollupsDue reads a
// rollup's count of datasets from (payload->'Figures'->>'Datasets'): a
// renamed field would make that NULL and silently stop a team that lost
// a dataset from being due.
func TestTeamRollupPayloadPath(t *testing.T) {
	b, err := json.Marshal(store.TeamAggregates{Figures: store.TeamFigures{Datasets: 7}})
	if err != nil {
		t.Fatal(err)
	}
	// Exact keys, as PostgreSQL's -> and ->> match them.
	var p map[string]json.RawMessage
	var f map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p["Figures"], &f); err != nil || f["Datasets"] != 7.0 {
		t.Errorf("payload %s: want Figures.Datasets = 7 (%v)", b, err)
	}
}
