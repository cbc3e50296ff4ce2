package graph

import (
	"context"
	"fmt"
	"strings"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/graph/model"
)

// Dataset.incidents lists at most this many open incidents, or of all.
const (
	openIncidentsLimit   = 100
	recentIncidentsLimit = 50
)

// incidentFilter turns the schema's filter into the store's.
func incidentFilter(f *model.IncidentFilter) (store.IncidentFilter, error) {
	var out store.IncidentFilter
	if f == nil {
		return out, nil
	}
	out.Open = f.Open
	out.Team = deref(f.Team)
	switch {
	case f.Namespace != nil && f.Name != nil:
		key := catalog.Key{Namespace: *f.Namespace, Name: *f.Name}
		if err := key.Validate(); err != nil {
			return out, fmt.Errorf("incident filter: %w", err)
		}
		out.Datasets = []catalog.Key{key}
	case f.Namespace != nil || f.Name != nil:
		return out, fmt.Errorf("incident filter: give both namespace and name, or neither: %w", catalog.ErrInvalid)
	}
	return out, nil
}

// incidentByID reads one incident.
func incidentByID(ctx context.Context, st *store.Store, id int64) (*catalog.Incident, error) {
	inc, err := st.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	return &inc, nil
}

// incidentState is the schema's name of i's state.
func incidentState(i *catalog.Incident) model.IncidentState {
	return model.IncidentState(strings.ToUpper(i.State()))
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
