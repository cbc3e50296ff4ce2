package graph

import (
	"context"
	"fmt"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/graph/model"
)

// maxStaleDays bounds team(staleDays:), as the team page bounds its
// parameter.
const maxStaleDays = 3650

// teams lists every owning team (store.Teams).
func teams(ctx context.Context, st *store.Store) ([]model.TeamSummary, error) {
	ts, err := st.Teams(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.TeamSummary, len(ts))
	for i, t := range ts {
		out[i] = model.TeamSummary{Name: t.Team, Datasets: t.Datasets, DescribedDatasets: t.Described, OpenIncidents: t.OpenIncidents}
	}
	return out, nil
}

// team reads a team's figures at now (store.TeamFigures, as its page
// does); a team without live datasets is catalog.ErrNotFound, which the
// resolver turns into null.
func team(ctx context.Context, st *store.Store, name string, staleDays *int, now time.Time) (*model.Team, error) {
	days := 30
	if staleDays != nil {
		days = *staleDays
	}
	if days < 1 || days > maxStaleDays {
		return nil, fmt.Errorf("team: staleDays must be from 1 to %d, not %d: %w", maxStaleDays, days, catalog.ErrInvalid)
	}
	f, err := st.TeamFigures(ctx, name, now.AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	return &model.Team{Name: f.Team, Datasets: f.Datasets, DescribedDatasets: f.Described, Columns: f.Columns,
		DescribedColumns: f.DescribedColumns, Slos: f.SLOs, SlosMet: f.SLOsMet, SlosAtRisk: f.SLOsAtRisk,
		SlosBreached: f.SLOsBreached, SlosNoData: f.SLOsNoData, SloAttainment: f.SLOAttainment(),
		OpenIncidents: f.OpenIncidents, StaleDatasets: f.Stale,
		RowCount: f.RowCount, Bytes: f.Bytes}, nil
}
