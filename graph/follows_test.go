package graph_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/graph"
)

// TestFollows follows a dataset, a team and a search through the API,
// lists them, refuses what cannot be followed, and unfollows.
func TestFollows(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	as := []string{"X-Test-Login", "vic@corp", "X-Test-Role", "viewer"}
	const follow = `mutation($in: FollowInput!) { follow(input: $in) { kind name channel dataset { name } } }`
	const unfollow = `mutation($in: FollowInput!) { unfollow(input: $in) }`
	orders := map[string]any{"kind": "DATASET", "namespace": fixtureNS, "name": "warehouse.marts.orders"}

	for _, tt := range []struct {
		name     string
		in       map[string]any
		header   []string
		wantCode string
	}{
		{"anonymous", orders, nil, graph.CodeUnauthenticated},
		{"unknown channel", map[string]any{"kind": "TEAM", "name": "payments", "channel": "pager"}, as, graph.CodeBadUserInput},
		{"no such dataset", map[string]any{"kind": "DATASET", "namespace": fixtureNS, "name": "nope"}, as, graph.CodeNotFound},
		{"empty team", map[string]any{"kind": "TEAM", "name": " "}, as, graph.CodeBadUserInput},
	} {
		r := e.post(t, follow, map[string]any{"in": tt.in}, tt.header...)
		if r.code() != tt.wantCode || r.Status != http.StatusOK {
			t.Errorf("%s: code %q (status %d), want %q (%+v)", tt.name, r.code(), r.Status, tt.wantCode, r.Errors)
		}
	}
	r := e.post(t, follow, map[string]any{"in": orders}, as...)
	want := `{"follow":{"kind":"DATASET","name":"` + fixtureNS + `/warehouse.marts.orders","channel":"hooks","dataset":{"name":"warehouse.marts.orders"}}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" || len(r.Errors) > 0 {
		t.Fatalf("follow orders (-want +got):\n%s %+v", diff, r.Errors)
	}
	r = e.post(t, follow, map[string]any{"in": map[string]any{"kind": "TEAM", "name": "payments", "channel": "data-slack"}}, as...)
	if len(r.Errors) > 0 {
		t.Fatal(r.Errors)
	}
	r = e.post(t, `{ myFollows { kind name channel } }`, nil, as...)
	want = `{"myFollows":[{"kind":"DATASET","name":"` + fixtureNS + `/warehouse.marts.orders","channel":"hooks"},{"kind":"TEAM","name":"payments","channel":"data-slack"}]}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("myFollows (-want +got):\n%s %+v", diff, r.Errors)
	}
	if r := e.post(t, unfollow, map[string]any{"in": orders}, as...); string(r.Data) != `{"unfollow":true}` {
		t.Errorf("unfollow: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, unfollow, map[string]any{"in": orders}, as...); r.code() != graph.CodeNotFound {
		t.Errorf("unfollow again: code %q, want %s", r.code(), graph.CodeNotFound)
	}
	if r := e.post(t, `{ myFollows { kind } }`, nil); r.code() != graph.CodeUnauthenticated {
		t.Errorf("anonymous myFollows: code %q", r.code())
	}
}
