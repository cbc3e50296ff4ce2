package olapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage/olapi"
)

// TestPostWithAPITokens posts events with API tokens through the tokens'
// Guard and Authenticator, as the server mounts the endpoint: a token
// with lineage:write posts; a read-only one is refused 403, a revoked one
// 401, each with a security log entry; the shared token still posts, and
// nothing else does.
func TestPostWithAPITokens(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	tokens := auth.NewTokens(st, auth.TokenOptions{LegacyToken: "s3cret"})
	rc := olapi.NewReceiver(st, olapi.Config{Token: "s3cret", Authenticated: true})
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/lineage", rc.PostLineage())
	mux.Handle("POST /api/v1/lineage/batch", rc.PostBatch())
	srv := httptest.NewServer(tokens.Guard(auth.Middleware(auth.Chain(tokens.Authenticate), mux), nil))
	t.Cleanup(srv.Close)
	e := &env{st: st, rc: rc, srv: srv}

	root := catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin}
	alice := catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	create := func(p catalog.Principal, name string, service bool, scopes ...catalog.TokenScope) (catalog.APIToken, string) {
		tok, secret, err := tokens.Create(ctx, p, catalog.TokenRequest{Name: name, Scopes: scopes, ExpiresAt: time.Now().Add(time.Hour), Service: service})
		if err != nil {
			t.Fatal(err)
		}
		return tok, secret
	}
	airflow, airflowSecret := create(root, "airflow", true, catalog.ScopeLineageWrite)
	_, readSecret := create(alice, "reader", false, catalog.ScopeRead, catalog.ScopeWrite)
	revoked, revokedSecret := create(root, "old-spark", true, catalog.ScopeLineageWrite)
	if _, err := tokens.Revoke(ctx, root, revoked.ID); err != nil {
		t.Fatal(err)
	}

	event := func(job string) []byte {
		return []byte(`{"eventType": "COMPLETE", "eventTime": "2024-05-01T10:00:00Z", "run": {"runId": "` + uuidR + `"}, "job": {"namespace": "airflow://prod", "name": "` + job + `"},
			"inputs": [{"namespace": "postgres://db:5432", "name": "w.public.src"}], "outputs": [{"namespace": "postgres://db:5432", "name": "w.public.` + job + `"}]}`)
	}
	refusals := func() int {
		evs, err := st.AuthEvents(ctx, store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthTokenUsed}, FailuresOnly: true}, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	for _, tc := range []struct {
		name    string
		authz   string
		code    int
		says    string
		refusal bool
	}{
		{"lineage:write token", "Bearer " + airflowSecret, 201, "", false},
		{"shared token", "Bearer s3cret", 201, "", false},
		{"read and write token", "Bearer " + readSecret, 403, "needs the lineage:write scope", true},
		{"revoked token", "Bearer " + revokedSecret, 401, "token revoked", true},
		{"wrong token", "Bearer nope", 401, "not an Almanac API token", true},
		{"no token", "", 401, "lineage:write", false},
	} {
		before := refusals()
		var header []string
		if tc.authz != "" {
			header = []string{"Authorization", tc.authz}
		}
		job := strings.ReplaceAll(tc.name, " ", "_")
		code, body := e.post(t, "/api/v1/lineage", event(job), header...)
		if code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, code, body, tc.code, tc.says)
		}
		if got := refusals() - before; got != map[bool]int{true: 1, false: 0}[tc.refusal] {
			t.Errorf("%s: %d refusals recorded", tc.name, got)
		}
		code, _ = e.post(t, "/api/v1/lineage/batch", []byte("["+string(event(job+"_batch"))+"]"), header...)
		if code != tc.code {
			t.Errorf("%s, batch: %d, want %d", tc.name, code, tc.code)
		}
	}
	e.drain(t)
	got := strings.Join(edges(t, st), "\n")
	for _, want := range []string{"airflow://prod/lineage:write_token", "airflow://prod/shared_token_batch"} {
		if !strings.Contains(got, want) {
			t.Errorf("lineage lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "read_and_write_token") || strings.Contains(got, "revoked") {
		t.Errorf("refused events were stored:\n%s", got)
	}
	evs, err := st.AuthEvents(ctx, store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthTokenUsed}, FailuresOnly: true, Actor: "alice@corp"}, 10)
	if err != nil || len(evs) != 2 || evs[0].Subject != "reader" || evs[0].RemoteAddr != "127.0.0.1" {
		t.Errorf("read token's refusals recorded as %+v, %v; want two naming the token and the address", evs, err)
	}
	tok, err := st.Token(ctx, airflow.ID)
	if err != nil || tok.LastUsedAt.IsZero() {
		t.Errorf("service token's last use not noted: %+v, %v", tok, err)
	}
}
