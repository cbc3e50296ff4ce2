package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

var (
	alice = catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	bob   = catalog.Principal{Login: "bob@corp", Role: catalog.RoleEditor}
	root  = catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin}
)

// clock is a settable clock for the tokens.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// tokenEnv is a server that answers with who made each request, behind
// the tokens' Guard and Authenticator as the portal puts them.
type tokenEnv struct {
	tokens *auth.Tokens
	st     *store.Store
	pool   *pgxpool.Pool
	srv    *httptest.Server
	clock  *clock
	logs   *bytes.Buffer
}

const legacy = "shared-openlineage-secret"

func newTokenEnv(t *testing.T, opts auth.TokenOptions) *tokenEnv {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	e := &tokenEnv{st: st, pool: pool, clock: &clock{t: time.Now()}, logs: &bytes.Buffer{}}
	opts.Now = e.clock.now
	opts.LegacyToken = legacy
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.tokens = auth.NewTokens(st, opts)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		io.WriteString(w, p.Login+"|"+string(p.Role)+"|"+strings.Join(scopeStrings(p.Scopes), ","))
	})
	e.srv = httptest.NewServer(e.tokens.Guard(auth.Middleware(auth.Chain(e.tokens.Authenticate, nil), h), nil))
	t.Cleanup(e.srv.Close)
	return e
}

func scopeStrings(s []catalog.TokenScope) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func (e *tokenEnv) get(t *testing.T, authorization string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *tokenEnv) create(t *testing.T, p catalog.Principal, req catalog.TokenRequest) (catalog.APIToken, string) {
	t.Helper()
	if req.ExpiresAt.IsZero() {
		req.ExpiresAt = e.clock.now().Add(30 * 24 * time.Hour)
	}
	tok, secret, err := e.tokens.Create(context.Background(), p, req)
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

// events lists the token events of the security log, newest first.
func (e *tokenEnv) events(t *testing.T) []catalog.AuthEvent {
	t.Helper()
	evs, err := e.st.AuthEvents(context.Background(), store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthTokenCreated, catalog.AuthTokenUsed, catalog.AuthTokenRevoked}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// dump is every row of the tables a secret could leak into, as text.
func (e *tokenEnv) dump(t *testing.T) string {
	t.Helper()
	var s string
	err := e.pool.QueryRow(context.Background(), `
		SELECT coalesce((SELECT string_agg(t::text, E'\n') FROM api_tokens t), '') || E'\n' ||
		       coalesce((SELECT string_agg(a::text, E'\n') FROM auth_events a), '')`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTokenSecretFormat(t *testing.T) {
	secret, err := auth.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "alm_") || len(secret) != auth.TokenLength || !auth.WellFormedToken(secret) {
		t.Fatalf("secret %q: want alm_ and %d base62 characters with a valid checksum", secret, auth.TokenLength-4)
	}
	other, _ := auth.NewTokenSecret()
	if other == secret {
		t.Fatal("two secrets are equal")
	}
	// A typo in any place breaks the checksum.
	for i := 4; i < len(secret); i++ {
		b := []byte(secret)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		if auth.WellFormedToken(string(b)) {
			t.Errorf("secret with character %d changed is taken as well formed", i)
		}
	}
	for _, bad := range []string{"", "alm_", "ghp_" + secret[4:], secret + "x", strings.Replace(secret, secret[10:11], "-", 1)} {
		if auth.WellFormedToken(bad) {
			t.Errorf("%q is taken as well formed", bad)
		}
	}
}

// TestTokenLifecycle creates a token, uses it as a Bearer token, and
// presents it revoked, expired and wrong: each refusal is a 401 with a
// security log entry, never an anonymous request, and the secret is
// nowhere but in the hands of who created it.
func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newTokenEnv(t, auth.TokenOptions{FailureBurst: 100})
	tok, secret := e.create(t, alice, catalog.TokenRequest{Name: "notebook", Scopes: []catalog.TokenScope{catalog.ScopeRead}})

	if code, who := e.get(t, "Bearer "+secret); code != 200 || who != "alice@corp|editor|read" {
		t.Fatalf("valid token: %d %q, want 200 alice@corp|editor|read", code, who)
	}
	if code, who := e.get(t, "bearer  "+secret+" "); code != 200 || who != "alice@corp|editor|read" {
		t.Fatalf("valid token, scheme in lower case: %d %q", code, who)
	}
	if code, who := e.get(t, ""); code != 200 || who != "||" {
		t.Fatalf("no token: %d %q, want anonymous", code, who)
	}
	if code, who := e.get(t, "Bearer "+legacy); code != 200 || who != "||" {
		t.Fatalf("shared OpenLineage token: %d %q, want passed on as anonymous", code, who)
	}
	got, err := e.st.Token(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt.IsZero() {
		t.Errorf("last use not noted; log:\n%s", e.logs)
	}
	// Only the hash is stored.
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE hash = sha256($1::bytea)`, []byte(secret)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("tokens stored under the secret's SHA-256: %d, %v", n, err)
	}

	wrong, _ := auth.NewTokenSecret()
	refusals := []struct {
		name, authz, detail string
		before              func()
	}{
		{"garbage", "Bearer hunter2", "not an Almanac API token", nil},
		{"empty", "Bearer ", "not an Almanac API token", nil},
		{"wrong", "Bearer " + wrong, "unknown token", nil},
		{"revoked", "Bearer " + secret, "token revoked", func() {
			if _, err := e.tokens.Revoke(ctx, alice, tok.ID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, r := range refusals {
		if r.before != nil {
			r.before()
		}
		code, body := e.get(t, r.authz)
		if code != http.StatusUnauthorized || !strings.Contains(body, r.detail) {
			t.Errorf("%s: %d %q, want 401 saying %q", r.name, code, body, r.detail)
		}
		evs := e.events(t)
		if ev := evs[0]; ev.Kind != catalog.AuthTokenUsed || ev.Success || !strings.Contains(ev.Detail, r.detail) || ev.RemoteAddr != "127.0.0.1" {
			t.Errorf("%s: newest token event %+v, want a token_used failure saying %q from 127.0.0.1", r.name, ev, r.detail)
		}
	}

	// Expired.
	exp, expSecret := e.create(t, alice, catalog.TokenRequest{Name: "short", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: e.clock.now().Add(time.Hour)})
	if code, _ := e.get(t, "Bearer "+expSecret); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	e.clock.add(2 * time.Hour)
	if code, body := e.get(t, "Bearer "+expSecret); code != http.StatusUnauthorized || !strings.Contains(body, "token expired") {
		t.Errorf("expired: %d %q", code, body)
	}
	if ev := e.events(t)[0]; ev.Success || ev.Actor != "alice@corp" || ev.Subject != exp.Name {
		t.Errorf("expired: event %+v", ev)
	}

	// The log holds the creations, the first use, the revocation and the
	// refusals, and neither it nor the tokens table holds a secret.
	kinds := map[catalog.AuthEventKind]int{}
	for _, ev := range e.events(t) {
		kinds[ev.Kind]++
	}
	if kinds[catalog.AuthTokenCreated] != 2 || kinds[catalog.AuthTokenRevoked] != 1 || kinds[catalog.AuthTokenUsed] < 6 {
		t.Errorf("token events by kind: %v", kinds)
	}
	dump := e.dump(t)
	for _, s := range []string{secret, expSecret, secret[4:20]} {
		if strings.Contains(dump, s) {
			t.Errorf("the database holds the secret %q", s)
		}
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log holds the secret %q", s)
		}
	}
}

// TestTokenUseRecordedOncePerHour checks that a token used often writes
// its last use and a log entry only now and then.
func TestTokenUseRecordedOncePerHour(t *testing.T) {
	e := newTokenEnv(t, auth.TokenOptions{})
	_, secret := e.create(t, alice, catalog.TokenRequest{Name: "bot", Scopes: []catalog.TokenScope{catalog.ScopeRead}})
	uses := func() int {
		n := 0
		for _, ev := range e.events(t) {
			if ev.Kind == catalog.AuthTokenUsed && ev.Success {
				n++
			}
		}
		return n
	}
	for range 5 {
		e.get(t, "Bearer "+secret)
	}
	if n := uses(); n != 1 {
		t.Fatalf("5 uses in a row: %d use events, want 1", n)
	}
	e.clock.add(30 * time.Minute)
	e.get(t, "Bearer "+secret)
	if n := uses(); n != 1 {
		t.Fatalf("a use half an hour later: %d use events, want 1", n)
	}
	e.clock.add(61 * time.Minute)
	e.get(t, "Bearer "+secret)
	if n := uses(); n != 2 {
		t.Fatalf("a use an hour after the last: %d use events, want 2", n)
	}
}

// TestTokenFailuresRateLimited refuses a client address that failed too
// often with 429, even with a valid token, until its limit refills.
func TestTokenFailuresRateLimited(t *testing.T) {
	e := newTokenEnv(t, auth.TokenOptions{FailureBurst: 3, FailureEvery: time.Minute})
	_, secret := e.create(t, alice, catalog.TokenRequest{Name: "bot", Scopes: []catalog.TokenScope{catalog.ScopeRead}})
	wrong, _ := auth.NewTokenSecret()
	for i := range 3 {
		if code, _ := e.get(t, "Bearer "+wrong); code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, code)
		}
	}
	before := len(e.events(t))
	if code, _ := e.get(t, "Bearer "+wrong); code != http.StatusTooManyRequests {
		t.Fatalf("fourth failure: %d, want 429", code)
	}
	if code, _ := e.get(t, "Bearer "+secret); code != http.StatusTooManyRequests {
		t.Fatalf("valid token from a blocked address: %d, want 429", code)
	}
	if code, who := e.get(t, ""); code != 200 || who != "||" {
		t.Fatalf("no token from a blocked address: %d %q, want served", code, who)
	}
	if n := len(e.events(t)); n != before {
		t.Errorf("refusals while blocked wrote %d log entries, want none", n-before)
	}
	e.clock.add(time.Minute)
	if code, _ := e.get(t, "Bearer "+secret); code != 200 {
		t.Fatalf("valid token once the limit refilled: %d, want 200", code)
	}
}

// TestTokenManagement checks who may create, list and revoke which tokens.
func TestTokenManagement(t *testing.T) {
	ctx := context.Background()
	e := newTokenEnv(t, auth.TokenOptions{MaxLifetime: 90 * 24 * time.Hour})
	now := e.clock.now()
	mine, _ := e.create(t, alice, catalog.TokenRequest{Name: "mine", Scopes: []catalog.TokenScope{catalog.ScopeWrite, catalog.ScopeRead}})
	svc, svcSecret := e.create(t, root, catalog.TokenRequest{Name: "airflow", Scopes: []catalog.TokenScope{catalog.ScopeLineageWrite}, Service: true})
	if svc.Owner != "" || svc.Principal().Login != "token:airflow" || svc.Role != catalog.RoleEditor {
		t.Errorf("service token %+v: want no owner, login token:airflow, role editor", svc)
	}
	if code, who := e.get(t, "Bearer "+svcSecret); code != 200 || who != "token:airflow|editor|lineage:write" {
		t.Errorf("service token used: %d %q", code, who)
	}

	refused := []struct {
		name string
		p    catalog.Principal
		req  catalog.TokenRequest
		want error
		says string
	}{
		{"anonymous", catalog.Principal{}, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrUnauthenticated, "needs a login"},
		{"with a token", svc.Principal(), catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrForbidden, "with a token"},
		{"service by an editor", alice, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(time.Hour), Service: true}, catalog.ErrForbidden, "only admins"},
		{"no name", alice, catalog.TokenRequest{Name: " ", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrInvalid, "token name: empty"},
		{"no scope", alice, catalog.TokenRequest{Name: "x", ExpiresAt: now.Add(time.Hour)}, catalog.ErrInvalid, "no scope"},
		{"unknown scope", alice, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{"admin"}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrInvalid, `unknown token scope "admin"`},
		{"no expiry", alice, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}}, catalog.ErrInvalid, "no expiry"},
		{"past expiry", alice, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(-time.Hour)}, catalog.ErrInvalid, "not in the future"},
		{"too long", alice, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(91 * 24 * time.Hour)}, catalog.ErrInvalid, "longest lifetime allowed, 90 days"},
		{"lineage by a viewer", catalog.Principal{Login: "vic@corp", Role: catalog.RoleViewer}, catalog.TokenRequest{Name: "x", Scopes: []catalog.TokenScope{catalog.ScopeLineageWrite}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrForbidden, "only editors and admins post lineage"},
		{"same name", alice, catalog.TokenRequest{Name: "MINE", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: now.Add(time.Hour)}, catalog.ErrConflict, "a live token of that name exists"},
	}
	for _, r := range refused {
		_, secret, err := e.tokens.Create(ctx, r.p, r.req)
		if !errors.Is(err, r.want) || !strings.Contains(err.Error(), r.says) || secret != "" {
			t.Errorf("%s: %v, want %v saying %q", r.name, err, r.want, r.says)
		}
	}
	if mine.Scopes[0] != catalog.ScopeRead || len(mine.Scopes) != 2 {
		t.Errorf("scopes kept as %v, want read, write in order", mine.Scopes)
	}

	// Listing: one's own; every one for an admin; nothing for a token.
	list := func(p catalog.Principal, all bool) []string {
		ts, err := e.tokens.List(ctx, p, all)
		if err != nil {
			return []string{err.Error()}
		}
		var names []string
		for _, t := range ts {
			names = append(names, t.Name)
		}
		return names
	}
	if got := list(alice, false); strings.Join(got, ",") != "mine" {
		t.Errorf("alice's tokens: %v", got)
	}
	if got := list(bob, false); len(got) != 0 {
		t.Errorf("bob's tokens: %v", got)
	}
	if got := list(alice, true); len(got) != 1 || !strings.Contains(got[0], "only admins") {
		t.Errorf("every token, for an editor: %v", got)
	}
	if got := list(root, true); strings.Join(got, ",") != "airflow,mine" {
		t.Errorf("every token, for an admin: %v", got)
	}

	// Revoking: not another's, not with a token; the owner and admins may.
	if _, err := e.tokens.Revoke(ctx, bob, mine.ID); !errors.Is(err, catalog.ErrForbidden) {
		t.Errorf("bob revoking alice's token: %v, want ErrForbidden", err)
	}
	if _, err := e.tokens.Revoke(ctx, mine.Principal(), mine.ID); !errors.Is(err, catalog.ErrForbidden) {
		t.Errorf("revoking with the token itself: %v, want ErrForbidden", err)
	}
	if _, err := e.tokens.Revoke(ctx, alice, svc.ID); !errors.Is(err, catalog.ErrForbidden) {
		t.Errorf("an editor revoking a service token: %v, want ErrForbidden", err)
	}
	if _, err := e.tokens.Revoke(ctx, root, 999999); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("revoking no token: %v, want ErrNotFound", err)
	}
	got, err := e.tokens.Revoke(ctx, root, mine.ID)
	if err != nil || got.RevokedBy != "root@corp" || got.Status(e.clock.now()) != catalog.TokenRevoked {
		t.Fatalf("admin revoking alice's token: %+v, %v", got, err)
	}
	if ev := e.events(t)[0]; ev.Kind != catalog.AuthTokenRevoked || ev.Actor != "root@corp" || !strings.Contains(ev.Subject, "mine") {
		t.Errorf("revocation recorded as %+v", ev)
	}
	// Revoked, its name is free again.
	e.create(t, alice, catalog.TokenRequest{Name: "mine", Scopes: []catalog.TokenScope{catalog.ScopeRead}})
}

// TestTokenRoleCappedBySignIn checks that a personal token acts with at
// most the role its owner had at their newest sign-in: an editor demoted
// to viewer by the identity provider's groups cannot edit through a token
// made while an editor, and a later promotion gives the token nothing
// more than it was made with.
func TestTokenRoleCappedBySignIn(t *testing.T) {
	ctx := context.Background()
	e := newTokenEnv(t, auth.TokenOptions{FailureBurst: 100})
	_, secret := e.create(t, alice, catalog.TokenRequest{Name: "notebook", Scopes: []catalog.TokenScope{catalog.ScopeWrite}})
	if _, who := e.get(t, "Bearer "+secret); who != "alice@corp|editor|write" {
		t.Fatalf("before any sign-in: %q", who)
	}
	signIn := func(secret string, role catalog.Role) {
		t.Helper()
		h := sha256.Sum256([]byte(secret))
		if _, err := e.st.CreateSession(ctx, h[:], catalog.Session{Login: "Alice@corp", Role: role}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	signIn("session-1", catalog.RoleViewer)
	if _, who := e.get(t, "Bearer "+secret); who != "alice@corp|viewer|write" {
		t.Errorf("after a sign-in as viewer: %q, want the viewer role", who)
	}
	signIn("session-2", catalog.RoleAdmin)
	if _, who := e.get(t, "Bearer "+secret); who != "alice@corp|editor|write" {
		t.Errorf("after a sign-in as admin: %q, want the token's own editor role", who)
	}
}
