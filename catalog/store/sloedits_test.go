package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// TestPeopleSLOs creates, changes and deletes an SLO as an owner would:
// each step is audited, the SLO is evaluated beside the configuration's
// with its editor as source, and refused or invalid edits write nothing.
func TestPeopleSLOs(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	customers, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	owner := catalog.Principal{Login: "bob@corp", Role: catalog.RoleViewer} // a user owner of customers, per dbt
	readOnly := catalog.Principal{Login: "bob@corp", Role: catalog.RoleViewer, Scopes: []catalog.TokenScope{catalog.ScopeRead}}
	decl := slo.Declaration{Name: "fresh", Kind: "freshness", MaxAge: "6h", Objective: "99.5%", Window: "7d"}

	refused := []struct {
		name string
		p    catalog.Principal
		d    slo.Declaration
		want error
		key  string // the field the message starts with, for invalid ones
	}{
		{"anonymous", catalog.Principal{}, decl, catalog.ErrUnauthenticated, ""},
		{"viewer", viewer, decl, catalog.ErrForbidden, ""},
		{"read-only token of the owner", readOnly, decl, catalog.ErrForbidden, ""},
		{"bad objective", owner, slo.Declaration{Name: "x", Kind: "freshness", MaxAge: "6h", Objective: "150%"}, catalog.ErrInvalid, "objective"},
		{"missing max age", owner, slo.Declaration{Name: "x", Kind: "freshness"}, catalog.ErrInvalid, "max_age"},
		{"bad window", owner, slo.Declaration{Name: "x", Kind: "quality", Window: "soon"}, catalog.ErrInvalid, "window"},
		{"unknown kind", owner, slo.Declaration{Name: "x", Kind: "speed"}, catalog.ErrInvalid, "kind"},
		{"bad deadline", owner, slo.Declaration{Name: "x", Kind: "on_time", Deadline: "25:00"}, catalog.ErrInvalid, "deadline"},
		{"no name", owner, slo.Declaration{Kind: "quality"}, catalog.ErrInvalid, "name"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.CreateSLO(ctx, tt.p, customers.ID, tt.d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.key != "" && !strings.Contains(err.Error(), ": "+tt.key+": ") {
				t.Errorf("err = %v, want it to name %s", err, tt.key)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM dataset_slos`); n != 0 {
		t.Errorf("refused edits stored %d slos", n)
	}

	// The owner declares it; it is evaluated with a configured one.
	e, err := st.CreateSLO(ctx, owner, customers.ID, decl)
	if err != nil {
		t.Fatal(err)
	}
	if e == nil || e.Field != catalog.FieldSLO || e.Before != nil || e.After == nil || !strings.Contains(*e.After, `"max_age":"6h"`) {
		t.Fatalf("create audit entry = %+v", e)
	}
	if _, err := st.CreateSLO(ctx, owner, customers.ID, decl); !errors.Is(err, catalog.ErrConflict) {
		t.Errorf("creating it twice: err = %v, want a conflict", err)
	}
	declared := []slo.SLO{{Name: "fresh", Dataset: customers.Key, Source: "config", Origin: "almanac.yaml:3",
		Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.9, Window: 24 * time.Hour, MaxAge: time.Hour}}}
	now := time.Now()
	got, err := st.DatasetSLOs(ctx, []catalog.Key{customers.Key}, declared, now)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range got[customers.Key] {
		lines = append(lines, fmt.Sprintf("%s [%s] %s %v %v %v err=%v", r.SLO.Name, r.SLO.Source, r.SLO.Origin, r.SLO.Spec.Objective, r.SLO.Spec.Window, r.SLO.Spec.MaxAge, r.Err))
	}
	want := []string{
		"fresh [config] almanac.yaml:3 0.9 24h0m0s 1h0m0s err=<nil>",
		"fresh [user:bob@corp] " + store.PeopleSLOOrigin + " 0.995 168h0m0s 6h0m0s err=<nil>",
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Errorf("slos:\n got %q\nwant %q", lines, want)
	}

	// An editor changes it: the source becomes theirs; the same
	// declaration again changes nothing.
	changed := decl
	changed.Objective = "0.9"
	e, err = st.UpdateSLO(ctx, editor, customers.ID, changed)
	if err != nil {
		t.Fatal(err)
	}
	if e == nil || e.Before == nil || !strings.Contains(*e.Before, `"objective":"99.5%"`) || !strings.Contains(*e.After, `"objective":"0.9"`) {
		t.Errorf("update audit entry = %+v", e)
	}
	if e, err := st.UpdateSLO(ctx, editor, customers.ID, changed); err != nil || e != nil {
		t.Errorf("unchanged update = %+v, %v; want no entry", e, err)
	}
	if _, err := st.UpdateSLO(ctx, editor, customers.ID, slo.Declaration{Name: "nope", Kind: "quality"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("updating an absent slo: err = %v, want not found", err)
	}
	got, err = st.DatasetSLOs(ctx, []catalog.Key{customers.Key}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[customers.Key]) != 1 || got[customers.Key][0].SLO.Source != "user:alice@corp" || got[customers.Key][0].SLO.Spec.Objective != 0.9 {
		t.Errorf("after update: %+v", got[customers.Key])
	}

	// A viewer may not delete it; the owner may.
	if _, err := st.DeleteSLO(ctx, viewer, customers.ID, "fresh"); !errors.Is(err, catalog.ErrForbidden) {
		t.Errorf("viewer's delete: err = %v, want forbidden", err)
	}
	if e, err := st.DeleteSLO(ctx, owner, customers.ID, "fresh"); err != nil || e == nil || e.After != nil || e.Before == nil {
		t.Errorf("delete = %+v, %v", e, err)
	}
	if _, err := st.DeleteSLO(ctx, owner, customers.ID, "fresh"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("deleting twice: err = %v, want not found", err)
	}
	entries, err := st.AuditLog(ctx, store.AuditFilter{DatasetID: customers.ID, Fields: []catalog.EditField{catalog.FieldSLO}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, e := range entries {
		actors = append(actors, e.Actor)
	}
	if fmt.Sprint(actors) != "[bob@corp alice@corp bob@corp]" {
		t.Errorf("slo audit entries by %v, want delete, update, create", actors)
	}
}
