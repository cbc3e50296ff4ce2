package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/graph"
)

// TestTeams reads the teams and one team's figures, which must be the
// store's (the team page reads the same), an unknown team as null, and
// refuses a staleDays out of range.
func TestTeams(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, graph.Options{}, principal)
	r := e.post(t, `{ teams { name datasets describedDatasets openIncidents }
		team(name: "payments", staleDays: 7) { name datasets describedDatasets columns describedColumns slos slosMet slosAtRisk
			slosBreached slosNoData sloAttainment openIncidents staleDatasets rowCount bytes }
		nobody: team(name: "nobody") { name } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	var got struct {
		Teams []struct {
			Name                                       string
			Datasets, DescribedDatasets, OpenIncidents int
		}
		Team   map[string]any
		Nobody *struct{ Name string }
	}
	if err := json.Unmarshal(r.Data, &got); err != nil {
		t.Fatal(err)
	}
	ts, err := e.store.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) == 0 || len(got.Teams) != len(ts) {
		t.Fatalf("teams = %+v, store has %+v", got.Teams, ts)
	}
	for i, s := range ts {
		g := got.Teams[i]
		if g.Name != s.Team || g.Datasets != s.Datasets || g.DescribedDatasets != s.Described || g.OpenIncidents != s.OpenIncidents {
			t.Errorf("team %d = %+v, store says %+v", i, g, s)
		}
	}
	f, err := e.store.TeamFigures(ctx, "payments", time.Now().AddDate(0, 0, -7))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "payments", "datasets": float64(f.Datasets), "describedDatasets": float64(f.Described),
		"columns": float64(f.Columns), "describedColumns": float64(f.DescribedColumns), "slos": float64(f.SLOs),
		"slosMet": float64(f.SLOsMet), "slosAtRisk": float64(f.SLOsAtRisk), "slosBreached": float64(f.SLOsBreached),
		"slosNoData": float64(f.SLOsNoData), "sloAttainment": f.SLOAttainment(), "openIncidents": float64(f.OpenIncidents),
		"staleDatasets": float64(f.Stale), "rowCount": float64(f.RowCount), "bytes": float64(f.Bytes)}
	if diff := cmp.Diff(want, got.Team); diff != "" {
		t.Errorf("team (-store +api):\n%s", diff)
	}
	if f.Datasets == 0 || f.Columns == 0 {
		t.Errorf("payments owns nothing in the fixture: %+v", f)
	}
	if got.Nobody != nil {
		t.Errorf("unknown team = %+v, want null", got.Nobody)
	}

	r = e.post(t, `{ team(name: "payments", staleDays: 0) { name } }`, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "staleDays must be from 1 to 3650, not 0") {
		t.Errorf("staleDays 0: %+v", r.Errors)
	}
}
