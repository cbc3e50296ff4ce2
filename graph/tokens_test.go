package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
	"almanac/graph"
)

// TestAPITokens creates tokens through GraphQL from a session, then uses
// them as Bearer tokens: a write token edits and its last use is noted; a
// read-only one reads but its mutation is FORBIDDEN; a revoked, expired
// or wrong one is refused 401; each refusal is in the security log; a
// user cannot revoke another's token, an admin can; the secret is never
// shown again.
func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	fixture := newEnv(t, graph.Options{})
	st := fixture.store
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	h := graph.NewHandler(graph.Options{Store: st, Tokens: tokens})
	e := &env{url: newHTTPServer(t, tokens.Guard(auth.Middleware(auth.Chain(tokens.Authenticate, principal), h), nil)) + "/graphql", store: st, pool: fixture.pool}
	asAlice := []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}
	asBob := []string{"X-Test-Login", "bob@corp", "X-Test-Role", "editor"}
	asRoot := []string{"X-Test-Login", "root@corp", "X-Test-Role", "admin"}
	bearer := func(secret string) []string { return []string{"Authorization", "Bearer " + secret} }

	const create = `mutation($in: CreateTokenInput!) { createToken(input: $in) { secret token { id name login service scopes status lastUsedAt expiresAt } } }`
	type created struct {
		CreateToken struct {
			Secret string
			Token  struct {
				ID, Name, Login, Status string
				Service                 bool
				Scopes                  []string
				LastUsedAt              *string
			}
		}
	}
	newToken := func(name string, scopes []string, header []string, service bool) (id, secret string) {
		t.Helper()
		r := e.post(t, create, map[string]any{"in": map[string]any{"name": name, "scopes": scopes, "expiresAt": time.Now().Add(24 * time.Hour).Format(time.RFC3339), "service": service}}, header...)
		var c created
		if err := json.Unmarshal(r.Data, &c); err != nil || len(r.Errors) > 0 || !strings.HasPrefix(c.CreateToken.Secret, "alm_") {
			t.Fatalf("createToken %s: %s %+v", name, r.Data, r.Errors)
		}
		return c.CreateToken.Token.ID, c.CreateToken.Secret
	}
	writeID, writeSecret := newToken("ci", []string{"WRITE"}, asAlice, false)
	readID, readSecret := newToken("notebook", []string{"READ"}, asAlice, false)

	customers := globalID(t, e, "warehouse.marts.customers")
	const mutate = `mutation($id: ID!, $s: String!) { setDatasetDescription(input: {datasetId: $id, description: $s}) { auditEntry { actor } } }`

	// A write token edits as its owner.
	r := e.post(t, mutate, map[string]any{"id": customers, "s": "Set by a token."}, bearer(writeSecret)...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"actor":"alice@corp"`) {
		t.Fatalf("write token editing: %s %+v", r.Data, r.Errors)
	}
	// A read token reads, and may not edit.
	if r := e.post(t, `{ dataset(namespace: "`+fixtureNS+`", name: "warehouse.marts.customers") { name } }`, nil, bearer(readSecret)...); len(r.Errors) > 0 {
		t.Fatalf("read token reading: %+v", r.Errors)
	}
	failures := func() []catalog.AuthEvent {
		evs, err := st.AuthEvents(ctx, store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthTokenUsed}, FailuresOnly: true}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	r = e.post(t, mutate, map[string]any{"id": customers, "s": "Read-only."}, bearer(readSecret)...)
	if r.code() != graph.CodeForbidden || !strings.Contains(r.Errors[0].Message, "needs the write scope") {
		t.Errorf("read token editing: %d %+v, want FORBIDDEN", r.Status, r.Errors)
	}
	if f := failures(); len(f) != 1 || f[0].Actor != "alice@corp" || f[0].Subject != "notebook" || !strings.Contains(f[0].Detail, "write scope") || f[0].RemoteAddr != "127.0.0.1" {
		t.Errorf("read token editing recorded as %+v", f)
	}
	// A token may not create tokens.
	r = e.post(t, create, map[string]any{"in": map[string]any{"name": "x", "scopes": []string{"READ"}, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)}}, bearer(writeSecret)...)
	if r.code() != graph.CodeForbidden {
		t.Errorf("createToken with a token: %+v, want FORBIDDEN", r.Errors)
	}

	// Listing: one's own, without secrets, with the last use.
	const list = `{ tokens { id name login scopes status lastUsedAt revokedBy } }`
	r = e.post(t, list, nil, asAlice...)
	if len(r.Errors) > 0 || strings.Contains(string(r.Data), writeSecret) || !strings.Contains(string(r.Data), `"name":"ci"`) || strings.Count(string(r.Data), `"lastUsedAt":"`) != 2 {
		t.Errorf("alice's tokens: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, list, nil, asBob...); string(r.Data) != `{"tokens":[]}` {
		t.Errorf("bob's tokens: %s %+v", r.Data, r.Errors)
	}

	// Revoking: not another's; the owner's and an admin's.
	const revoke = `mutation($id: ID!) { revokeToken(id: $id) { status revokedBy } }`
	if r := e.post(t, revoke, map[string]any{"id": writeID}, asBob...); r.code() != graph.CodeForbidden {
		t.Errorf("bob revoking alice's token: %+v, want FORBIDDEN", r.Errors)
	}
	if r := e.post(t, revoke, map[string]any{"id": writeID}, asRoot...); !strings.Contains(string(r.Data), `"status":"REVOKED","revokedBy":"root@corp"`) {
		t.Errorf("admin revoking: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, revoke, map[string]any{"id": readID}, asAlice...); !strings.Contains(string(r.Data), `"REVOKED"`) {
		t.Errorf("alice revoking her own: %s %+v", r.Data, r.Errors)
	}
	// Revoked, expired and wrong tokens are refused before GraphQL.
	before := len(failures())
	// An expired token: created, then its expiry moved into the past.
	_, expiredSecret, err := tokens.Create(ctx, catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}, catalog.TokenRequest{Name: "old", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE api_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE name = 'old'`); err != nil {
		t.Fatal(err)
	}
	wrong, _ := auth.NewTokenSecret()
	for name, secret := range map[string]string{"revoked": writeSecret, "expired": expiredSecret, "wrong": wrong} {
		req, _ := http.NewRequest("POST", e.url, strings.NewReader(`{"query": "{ sources { name } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, resp.StatusCode)
		}
	}
	if n := len(failures()) - before; n != 3 {
		t.Errorf("revoked, expired and wrong tokens: %d refusals recorded, want 3", n)
	}
}
