package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestAuthEventsFilterAndOrder checks that the security log keeps what it
// is given (hostile text clipped, not refused), lists newest first, and
// filters by kind, actor, outcome, time and cursor.
func TestAuthEventsFilterAndOrder(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	events := []catalog.AuthEvent{
		{At: t0, Kind: catalog.AuthLogin, Success: true, Actor: "alice@corp", RemoteAddr: "10.0.0.1"},
		{At: t0.Add(time.Minute), Kind: catalog.AuthLogin, Actor: "", Detail: "state mismatch", RemoteAddr: "10.0.0.9"},
		{At: t0.Add(2 * time.Minute), Kind: catalog.AuthTokenCreated, Success: true, Actor: "Alice@Corp", Subject: "airflow"},
		{At: t0.Add(3 * time.Minute), Kind: catalog.AuthAccessDenied, Actor: "vic@corp", Detail: "viewer may not edit\x00" + strings.Repeat("x", 5000) + "\xff"},
	}
	for _, e := range events {
		if err := st.RecordAuthEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordAuthEvent(ctx, catalog.AuthEvent{Kind: "teleport"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("unknown kind: got %v, want ErrInvalid", err)
	}

	all, err := st.AuthEvents(ctx, store.AuthEventFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].Kind != catalog.AuthAccessDenied || all[3].Actor != "alice@corp" {
		t.Fatalf("all events, newest first: %+v", all)
	}
	if d := all[0].Detail; len(d) > 1100 || strings.ContainsRune(d, 0) || !strings.HasSuffix(d, "…") {
		t.Errorf("hostile detail stored as %d bytes %.40q…", len(d), d)
	}

	cases := []struct {
		name string
		f    store.AuthEventFilter
		want []string // details or subjects identifying the events, newest first
	}{
		{"kind", store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthLogin}}, []string{"state mismatch", ""}},
		{"actor any case", store.AuthEventFilter{Actor: "ALICE@corp"}, []string{"airflow", ""}},
		{"failures", store.AuthEventFilter{FailuresOnly: true, Kinds: []catalog.AuthEventKind{catalog.AuthLogin}}, []string{"state mismatch"}},
		{"since until", store.AuthEventFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"airflow", "state mismatch"}},
		{"after cursor", store.AuthEventFilter{After: store.AuditCursor{At: all[1].At, ID: all[1].ID}}, []string{"state mismatch", ""}},
	}
	for _, c := range cases {
		got, err := st.AuthEvents(ctx, c.f, 100)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.Subject+e.Detail)
		}
		if strings.Join(ids, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: got %q, want %q", c.name, ids, c.want)
		}
	}
}
