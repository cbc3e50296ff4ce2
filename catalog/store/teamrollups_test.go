package store_test

import (
	"context"
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
	st, _ := teamCatalog(t)
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
	want := store.TeamRollup{Team: "payments", ComputedAt: at, ChangeSeq: 7, TeamAggregates: store.TeamAggregates{
		Figures: figures, Datasets: []int64{1, 2, 3}, Total: 3, Stale: []int64{2}, StaleTotal: 1, SLOs: slos, Trends: trends}}
	for _, r := range []store.TeamRollup{want, {Team: "payments", ComputedAt: at.Add(-time.Second), ChangeSeq: 9}} {
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
	if err := st.SaveTeamRollup(ctx, store.TeamRollup{Team: "gone", ComputedAt: at, ChangeSeq: 7}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		seq  int64
		now  time.Time
		want []string
	}{
		{"log still", 7, at.Add(time.Minute), []string{"growth"}},
		{"log moved, younger than max age", 8, at.Add(14 * time.Second), []string{"growth"}},
		{"log moved, max age old", 8, at.Add(15 * time.Second), []string{"growth", "payments"}},
		{"log still, every old", 7, at.Add(5 * time.Minute), []string{"growth", "payments"}},
		{"clock set back", 7, at.Add(-time.Minute), []string{"growth", "payments"}},
	} {
		got, err := st.TeamRollupsDue(ctx, tc.seq, tc.now, 15*time.Second, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: teams due (-want +got):\n%s", tc.name, diff)
		}
	}
	if _, err := st.TeamRollup(ctx, "gone"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("rollup of a team that owns nothing: %v, want removed", err)
	}
}
