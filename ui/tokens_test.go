package ui

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// syncBuffer is a log sink tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var secretRE = regexp.MustCompile(`alm_[0-9A-Za-z]{40}`)

// TestTokenPages drives /account/tokens and /admin/tokens with plain
// forms: a person creates a token and sees its secret once, uses it as a
// Bearer token on the portal (a read-only one cannot edit there either),
// cannot revoke another's; an admin sees every token, creates a service
// token and revokes anyone's. No secret reaches a later page, the log or
// the database.
func TestTokenPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokens := auth.NewTokens(st, auth.TokenOptions{Logger: log})
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), Logger: log,
		Authenticate: auth.Chain(tokens.Authenticate, testPrincipal), Tokens: tokens, LoginPath: "/login",
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}
	var secrets []string

	if r := p.getAs(t, accountTokensPath); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", r.status)
	}
	r := p.getAs(t, accountTokensPath, asAlice...)
	if r.status != 200 || !strings.Contains(r.body, `action="/account/tokens"`) || !strings.Contains(r.body, "No tokens yet") {
		t.Fatalf("alice's empty page: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " onclick=") {
		t.Error("the page has inline script")
	}

	// A refused form comes back with what was typed and why.
	r = p.postForm(t, accountTokensPath, url.Values{"name": {"ci"}, "days": {"30"}}, asAlice...)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "no scope") || !strings.Contains(r.body, `value="ci"`) || secretRE.MatchString(r.body) {
		t.Errorf("token without scope: %d\n%s", r.status, r.body)
	}
	r = p.postForm(t, accountTokensPath, url.Values{"name": {"ci"}, "scope": {"read"}, "days": {"400"}}, asAlice...)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "longest lifetime allowed, 365 days") {
		t.Errorf("token for 400 days: %d\n%s", r.status, r.body)
	}

	create := func(path, name string, scopes []string, header []string) string {
		t.Helper()
		r := p.postForm(t, path, url.Values{"name": {name}, "scope": scopes, "days": {"30"}}, header...)
		secret := secretRE.FindString(r.body)
		if r.status != http.StatusCreated || secret == "" || !strings.Contains(r.body, "shown only this once") {
			t.Fatalf("create %s: %d\n%s", name, r.status, r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("create %s: Cache-Control %q, want no-store", name, cc)
		}
		secrets = append(secrets, secret)
		return secret
	}
	cross := p.send(t, "POST", accountTokensPath, "application/x-www-form-urlencoded", url.Values{"name": {"x"}, "scope": {"read"}, "days": {"30"}}.Encode(),
		append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, asAlice...)...)
	if cross.status != http.StatusForbidden || secretRE.MatchString(cross.body) {
		t.Errorf("cross-origin create form: %d, want 403", cross.status)
	}
	readSecret := create(accountTokensPath, "notebook", []string{"read"}, asAlice)
	writeSecret := create(accountTokensPath, "ci", []string{"read", "write"}, asAlice)

	// The list shows the tokens, never their secrets.
	r = p.getAs(t, accountTokensPath, asAlice...)
	if !strings.Contains(r.body, "<td>notebook</td>") || !strings.Contains(r.body, "<td>ci</td>") || secretRE.MatchString(r.body) || strings.Count(r.body, ">never<") != 2 {
		t.Errorf("alice's list:\n%s", r.body)
	}

	// Tokens on the portal: reading works and is noted; a read-only
	// token cannot edit, a write token can.
	page := datasetPath(fctOrders)
	if r := p.getAs(t, page, "Authorization", "Bearer "+readSecret); r.status != 200 {
		t.Errorf("dataset page with a read token: %d", r.status)
	}
	edit := url.Values{"description": {"By token."}, "action": {"save"}}
	if r := p.postForm(t, editPath("description", fctOrders), edit, "Authorization", "Bearer "+readSecret); r.status != http.StatusForbidden || !strings.Contains(r.body, "write scope") {
		t.Errorf("edit form with a read token: %d\n%s", r.status, r.body)
	}
	if r := p.postForm(t, editPath("description", fctOrders), edit, "Authorization", "Bearer "+writeSecret); r.status != http.StatusSeeOther {
		t.Errorf("edit form with a write token: %d\n%s", r.status, r.body)
	}
	if r := p.getAs(t, page, "Authorization", "Bearer alm_nope"); r.status != http.StatusUnauthorized {
		t.Errorf("dataset page with a wrong token: %d, want 401", r.status)
	}
	// Refusals come in the shape each API's clients read.
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/graphql", `{"errors":[{"message":"invalid API token: unknown token","extensions":{"code":"UNAUTHENTICATED"}}]}`},
		{"POST", "/api/v1/lineage", `{"error":"invalid API token: unknown token"}`},
	} {
		wrong, _ := auth.NewTokenSecret()
		r := p.send(t, c.method, c.path, "application/json", `{}`, "Authorization", "Bearer "+wrong)
		if r.status != http.StatusUnauthorized || strings.TrimSpace(r.body) != c.want || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("POST %s with a wrong token: %d %s, want 401 %s", c.path, r.status, r.body, c.want)
		}
	}
	r = p.getAs(t, accountTokensPath, asAlice...)
	if strings.Count(r.body, ">never<") != 0 {
		t.Errorf("last use not shown after use:\n%s", r.body)
	}

	// Admins: every token, service tokens, anyone's revoked.
	if r := p.getAs(t, adminTokensPath, asAlice...); r.status != http.StatusForbidden {
		t.Errorf("admin page for an editor: %d, want 403", r.status)
	}
	if r := p.postForm(t, adminTokensPath, url.Values{"name": {"x"}, "scope": {"read"}, "days": {"30"}}, asAlice...); r.status != http.StatusForbidden {
		t.Errorf("service token by an editor: %d, want 403", r.status)
	}
	create(adminTokensPath, "airflow", []string{"lineage:write"}, asRoot)
	r = p.getAs(t, adminTokensPath, asRoot...)
	if !strings.Contains(r.body, `<td class="mono">token:airflow</td>`) || !strings.Contains(r.body, `<td class="mono">alice@corp</td>`) || secretRE.MatchString(r.body) {
		t.Errorf("admin's list:\n%s", r.body)
	}
	all, err := tokens.List(ctx, rootPrincipal, true)
	if err != nil || len(all) != 3 {
		t.Fatalf("tokens: %v, %v", all, err)
	}
	var readID, writeID string
	for _, tk := range all {
		switch tk.Name {
		case "notebook":
			readID = itoa64(tk.ID)
		case "ci":
			writeID = itoa64(tk.ID)
		}
	}
	if r := p.postForm(t, accountTokensPath+"/"+readID+"/revoke", nil, asBob...); r.status != http.StatusForbidden {
		t.Errorf("bob revoking alice's token: %d, want 403", r.status)
	}
	if r := p.getAs(t, page, "Authorization", "Bearer "+readSecret); r.status != 200 {
		t.Errorf("alice's token after bob's attempt: %d", r.status)
	}
	if r := p.postForm(t, accountTokensPath+"/"+readID+"/revoke", nil, asAlice...); r.status != http.StatusSeeOther || r.header.Get("Location") != accountTokensPath {
		t.Errorf("alice revoking her token: %d %s", r.status, r.header.Get("Location"))
	}
	if r := p.postForm(t, adminTokensPath+"/"+writeID+"/revoke", nil, asRoot...); r.status != http.StatusSeeOther || r.header.Get("Location") != adminTokensPath {
		t.Errorf("admin revoking alice's token: %d %s", r.status, r.header.Get("Location"))
	}
	for _, secret := range []string{readSecret, writeSecret} {
		if r := p.getAs(t, page, "Authorization", "Bearer "+secret); r.status != http.StatusUnauthorized {
			t.Errorf("revoked token: %d, want 401", r.status)
		}
	}
	r = p.getAs(t, accountTokensPath, asAlice...)
	if !strings.Contains(r.body, "revoked by alice@corp") || !strings.Contains(r.body, "revoked by root@corp") {
		t.Errorf("revocations not shown:\n%s", r.body)
	}

	// No secret anywhere but on the page that created it.
	var dump string
	if err := pool.QueryRow(ctx, `
		SELECT coalesce((SELECT string_agg(t::text, E'\n') FROM api_tokens t), '') ||
		       coalesce((SELECT string_agg(a::text, E'\n') FROM auth_events a), '') ||
		       coalesce((SELECT string_agg(l::text, E'\n') FROM audit_log l), '')`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range secrets {
		if strings.Contains(dump, secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("secret %s… found in the database or the log", secret[:8])
		}
	}
	if !strings.Contains(logs.String(), "http request") {
		t.Error("the log was not written at all: the check above proves nothing")
	}
}

var (
	asBob         = []string{"X-Test-Login", "bob@corp", "X-Test-Role", "editor"}
	rootPrincipal = catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin}
)

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
