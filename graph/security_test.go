package graph_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/graph"
)

// TestMe answers who is asking: null for nobody.
func TestMe(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	if r := e.post(t, `{ me { login name role groups } }`, nil); string(r.Data) != `{"me":null}` || len(r.Errors) > 0 {
		t.Errorf("anonymous me: %s %+v", r.Data, r.Errors)
	}
	r := e.post(t, `{ me { login name role groups } }`, nil, "X-Test-Login", "vic@corp", "X-Test-Role", "viewer")
	if want := `{"me":{"login":"vic@corp","name":"vic@corp","role":"VIEWER","groups":[]}}`; string(r.Data) != want {
		t.Errorf("me = %s, want %s", r.Data, want)
	}
}

// TestSecurityEvents pages through the security log as an admin, with the
// filter, and refuses everyone else.
func TestSecurityEvents(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, ev := range []catalog.AuthEvent{
		{Kind: catalog.AuthLogin, Success: true, Actor: "alice@corp"},
		{Kind: catalog.AuthLogin, Detail: "state mismatch", RemoteAddr: "192.0.2.1"},
		{Kind: catalog.AuthLogout, Success: true, Actor: "alice@corp"},
		{Kind: catalog.AuthLogin, Detail: "nonce mismatch", RemoteAddr: "192.0.2.2"},
	} {
		ev.At = base.Add(time.Duration(i) * time.Minute)
		if err := e.store.RecordAuthEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	const q = `query($after: String) { securityEvents(filter: {kinds: [LOGIN], failuresOnly: true}, first: 1, after: $after) {
		edges { node { kind success detail remoteAddr } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		SecurityEvents struct {
			Edges []struct {
				Node struct{ Kind, Detail, RemoteAddr string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	var details []string
	var after any
	for range 3 {
		r := e.post(t, q, map[string]any{"after": after}, "X-Test-Login", "root@corp", "X-Test-Role", "admin")
		if len(r.Errors) > 0 {
			t.Fatalf("errors %+v", r.Errors)
		}
		var p page
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatal(err)
		}
		for _, edge := range p.SecurityEvents.Edges {
			details = append(details, edge.Node.Detail+" from "+edge.Node.RemoteAddr)
		}
		if !p.SecurityEvents.PageInfo.HasNextPage {
			break
		}
		after = p.SecurityEvents.PageInfo.EndCursor
	}
	if diff := cmp.Diff([]string{"nonce mismatch from 192.0.2.2", "state mismatch from 192.0.2.1"}, details); diff != "" {
		t.Errorf("failed sign-ins, newest first (-want +got):\n%s", diff)
	}
	for _, who := range [][]string{nil, {"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}} {
		r := e.post(t, `{ securityEvents { edges { node { kind } } } }`, nil, who...)
		want := "FORBIDDEN"
		if who == nil {
			want = "UNAUTHENTICATED"
		}
		if r.code() != want {
			t.Errorf("securityEvents as %v: %+v, want %s", who, r.Errors, want)
		}
	}
}
