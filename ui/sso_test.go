package ui

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/lineage"
)

// idp is a real OIDC provider (mockoidc) for the tests: it signs in the
// users queued, and records what the portal asked of it.
type idp struct {
	*mockoidc.MockOIDC
	mu sync.Mutex
	// authorize and token are the last requests' parameters.
	authorize, token url.Values
	// endSession, when set, is advertised as end_session_endpoint.
	endSession string
}

func newIDP(t *testing.T, endSession string) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{MockOIDC: m, endSession: endSession}
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			p.mu.Lock()
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				p.authorize = r.Form
			case mockoidc.TokenEndpoint:
				p.token = r.Form
			}
			p.mu.Unlock()
			if r.URL.Path == mockoidc.DiscoveryEndpoint && p.endSession != "" {
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				doc := map[string]any{}
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				doc["end_session_endpoint"] = p.endSession
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(doc)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// user is a person the provider signs in, whose ID token's claims tweak
// may falsify, and whose groups userinfo alone may carry.
type user struct {
	*mockoidc.MockUser
	tweak          func(*mockoidc.IDTokenClaims)
	groupsInfoOnly bool
}

func (u user) Claims(scope []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.tweak != nil {
		u.tweak(c)
	}
	m := *u.MockUser
	if u.groupsInfoOnly {
		m.Groups = nil
	}
	return m.Claims(scope, c)
}

func person(login string, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + login, Email: login, EmailVerified: true,
		PreferredUsername: strings.Split(login, "@")[0], Groups: groups}
}

// ssoServer is one replica of the portal with sign-in through an idp.
type ssoServer struct {
	ts       *httptest.Server
	sessions *auth.Sessions
}

// ssoSite is a catalog signed into through a real OIDC provider, served
// by one or more replicas sharing one database.
type ssoSite struct {
	idp      *idp
	pool     *pgxpool.Pool
	st       *store.Store
	replicas []*ssoServer
}

// url is the first replica's address.
func (s *ssoSite) url() string { return s.replicas[0].ts.URL }

type ssoOptions struct {
	anonymousRead bool
	replicas      int
	endSession    bool
	clientID      string // the client id the portal uses; "" for the provider's
	idle          time.Duration
	absolute      time.Duration
	proxies       []netip.Prefix // trusted proxies
}

func newSSOSite(t *testing.T, o ssoOptions) *ssoSite {
	t.Helper()
	end := ""
	if o.endSession {
		end = "https://idp.example/logout"
	}
	p := newIDP(t, end)
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	site := &ssoSite{idp: p, pool: pool, st: st}
	if o.replicas == 0 {
		o.replicas = 1
	}
	// Every replica has the first one's redirect URL, as behind one
	// load balancer.
	first := httptest.NewUnstartedServer(nil)
	redirect := "http://" + first.Listener.Addr().String() + "/auth/callback"
	clientID := o.clientID
	if clientID == "" {
		clientID = p.ClientID
	}
	for i := range o.replicas {
		ts := first
		if i > 0 {
			ts = httptest.NewUnstartedServer(nil)
		}
		oidc, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{
			Issuer: p.Issuer(), ClientID: clientID, ClientSecret: p.ClientSecret,
			Scopes: []string{"profile", "email", "groups"}, RedirectURL: redirect,
		})
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
		sessions := auth.NewSessions(st, auth.SessionConfig{Idle: o.idle, Absolute: o.absolute, Secure: oidc.SecureCookies()}, log)
		lg := lineage.NewGraph()
		f := lineage.NewFollower(st, lg, nil)
		if err := f.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{
			Store: st, Registry: prometheus.NewRegistry(), Logger: log, Lineage: lg,
			GraphQL:      graph.NewHandler(graph.Options{Store: st, Lineage: f, Logger: log}),
			Authenticate: auth.Chain(sessions.Authenticate),
			OIDC:         oidc, Sessions: sessions,
			Roles:        auth.Roles{Default: catalog.RoleViewer, Groups: map[string]catalog.Role{"catalog-editors": catalog.RoleEditor, "catalog-admins": catalog.RoleAdmin}},
			RequireLogin: !o.anonymousRead, TrustedProxies: o.proxies,
		})
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = s.Handler()
		ts.Start()
		t.Cleanup(ts.Close)
		site.replicas = append(site.replicas, &ssoServer{ts: ts, sessions: sessions})
	}
	return site
}

// browser is a cookie-keeping client that follows no redirects.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do makes a request; a form body is posted as the portal's own pages
// post it (same origin).
func (b *browser) do(method, rawURL string, form url.Values, header ...string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		u, _ := url.Parse(rawURL)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(data)}
}

func (b *browser) get(rawURL string) response { b.t.Helper(); return b.do("GET", rawURL, nil) }

// follow GETs rawURL and every redirect after it, returning the last
// response and the URL it came from.
func (b *browser) follow(rawURL string) (response, string) {
	b.t.Helper()
	for range 10 {
		r := b.get(rawURL)
		loc := r.header.Get("Location")
		if r.status < 300 || r.status >= 400 || loc == "" {
			return r, rawURL
		}
		next, err := url.Parse(rawURL)
		if err != nil {
			b.t.Fatal(err)
		}
		u, err := next.Parse(loc)
		if err != nil {
			b.t.Fatal(err)
		}
		rawURL = u.String()
	}
	b.t.Fatalf("too many redirects from %s", rawURL)
	return response{}, ""
}

// startLogin asks the portal to sign in and the provider to answer,
// without following the provider's redirect back: it returns the callback
// URL the provider sent the browser to.
func (b *browser) startLogin(site string, next string) string {
	b.t.Helper()
	r := b.get(site + "/auth/login?next=" + url.QueryEscape(next))
	if r.status != http.StatusFound {
		b.t.Fatalf("/auth/login: %d %s", r.status, r.body)
	}
	r = b.get(r.header.Get("Location"))
	if r.status != http.StatusFound {
		b.t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	return r.header.Get("Location")
}

// signIn signs in as u and returns the page it lands on.
func (b *browser) signIn(site *ssoSite, u mockoidc.User, next string) response {
	b.t.Helper()
	site.idp.QueueUser(u)
	cb := b.startLogin(site.url(), next)
	r := b.get(cb)
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("callback: %d %s", r.status, r.body)
	}
	if loc := r.header.Get("Location"); loc != next {
		b.t.Fatalf("callback went to %q, want %q", loc, next)
	}
	page, _ := b.follow(site.url() + next)
	return page
}

// events returns the security log, newest first.
func (s *ssoSite) events(t *testing.T) []catalog.AuthEvent {
	t.Helper()
	ev, err := s.st.AuthEvents(t.Context(), store.AuthEventFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// lastEvent returns the newest security event, failing if there is none.
func (s *ssoSite) lastEvent(t *testing.T) catalog.AuthEvent {
	t.Helper()
	ev := s.events(t)
	if len(ev) == 0 {
		t.Fatal("security log is empty")
	}
	return ev[0]
}

func htmlHas(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

// TestSignInFlow signs in through the provider and out again: the page
// asked for sends the browser to sign in, the provider's answer (with
// PKCE, state and nonce) starts a session, the page shows the person's
// name, signing out ends the session, and the next page asks to sign in
// again.
func TestSignInFlow(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	b := newBrowser(t)
	path := datasetPath(fctOrders)

	r := b.get(site.url() + path)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login?next="+url.QueryEscape(path) {
		t.Fatalf("anonymous GET %s: %d to %q, want 303 to sign in", path, r.status, r.header.Get("Location"))
	}
	site.idp.QueueUser(person("alice@corp", "catalog-editors", "data-platform"))
	page, at := b.follow(site.url() + path)
	if page.status != 200 || at != site.url()+path {
		t.Fatalf("after sign-in: %d at %s", page.status, at)
	}
	htmlHas(t, page.body, `class="user-name"`, ">alice<", `class="badge user-role">editor<`, `action="/auth/logout"`, `class="edit-form"`)

	site.idp.mu.Lock()
	az, tok := site.idp.authorize, site.idp.token
	site.idp.mu.Unlock()
	if az.Get("code_challenge_method") != "S256" || az.Get("code_challenge") == "" || az.Get("nonce") == "" || az.Get("state") == "" {
		t.Errorf("authorization request %v lacks PKCE S256, nonce or state", az)
	}
	if tok.Get("code_verifier") == "" {
		t.Errorf("token request %v lacks the PKCE verifier", tok)
	}

	// The session: stored by hash only, with what the provider said.
	var n int
	var login, name, role string
	var groups []string
	if err := site.pool.QueryRow(t.Context(), `SELECT count(*) OVER (), login, name, role, groups FROM sessions`).Scan(&n, &login, &name, &role, &groups); err != nil {
		t.Fatal(err)
	}
	if n != 1 || login != "alice@corp" || name != "alice" || role != "editor" || strings.Join(groups, ",") != "catalog-editors,data-platform" {
		t.Errorf("sessions: %d, %s %s %s %v", n, login, name, role, groups)
	}
	var cookie string
	for _, c := range b.client.Jar.Cookies(mustURL(t, site.url())) {
		if c.Name == "almanac_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatal("no almanac_session cookie (plain-HTTP loopback name)")
	}
	var stored int
	if err := site.pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE token_hash = $1`, auth.Hash(cookie)).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("session stored by the cookie's SHA-256: %d, %v", stored, err)
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthLogin || !e.Success || e.Actor != "alice@corp" {
		t.Errorf("last event %+v, want alice's sign-in", e)
	}

	// The account page.
	acct := b.get(site.url() + "/account")
	htmlHas(t, acct.body, "alice@corp", "editor", "<code>catalog-editors</code>", "this browser", `class="end-session"`)

	// Sign out.
	r = b.do("POST", site.url()+"/auth/logout", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("logout: %d to %q", r.status, r.header.Get("Location"))
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthLogout || e.Actor != "alice@corp" {
		t.Errorf("last event %+v, want alice's sign-out", e)
	}
	var revoked int
	if err := site.pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL`).Scan(&revoked); err != nil || revoked != 1 {
		t.Errorf("revoked sessions after logout: %d, %v", revoked, err)
	}
	r = b.get(site.url() + path)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login?") {
		t.Errorf("after logout GET %s: %d to %q, want to sign in", path, r.status, r.header.Get("Location"))
	}
	// The old cookie, replayed, signs nobody in.
	old := newBrowser(t)
	r = old.do("GET", site.url()+"/graphql?query=%7Bme%7Blogin%7D%7D", nil, "Cookie", "almanac_session="+cookie)
	if r.status != http.StatusUnauthorized {
		t.Errorf("revoked cookie on GraphQL: %d, want 401", r.status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRPInitiatedLogout: a provider advertising end_session_endpoint is
// sent the browser after the local sign-out.
func TestRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{endSession: true})
	b := newBrowser(t)
	b.signIn(site, person("alice@corp"), "/")
	r := b.do("POST", site.url()+"/auth/logout", url.Values{})
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || err != nil || loc.Host != "idp.example" || loc.Path != "/logout" {
		t.Fatalf("logout: %d to %q, want the provider's end_session_endpoint", r.status, r.header.Get("Location"))
	}
	if q := loc.Query(); q.Get("client_id") != site.idp.ClientID || q.Get("post_logout_redirect_uri") != site.url()+"/" {
		t.Errorf("end session query %v", q)
	}
}

// TestSignInRefusals replays the ways a sign-in can be forged or go
// stale: each is refused with its status, starts no session, and leaves a
// failed sign-in with its reason in the security log.
func TestSignInRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		user   mockoidc.User
		opts   ssoOptions
		mangle func(t *testing.T, b *browser, site *ssoSite, cb string) response
		status int
		reason string
	}{
		{"wrong state", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			u := mustURL(t, cb)
			q := u.Query()
			q.Set("state", auth.RandomToken())
			u.RawQuery = q.Encode()
			return b.get(u.String())
		}, 400, "state mismatch"},
		{"callback from another browser", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			return newBrowser(t).get(cb) // the victim's browser, without the state cookie
		}, 400, "state mismatch"},
		{"replayed callback", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			var state string
			for _, c := range b.client.Jar.Cookies(mustURL(t, site.url())) {
				if c.Name == "almanac_login" {
					state = c.Value
				}
			}
			if r := b.get(cb); r.status != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.status)
			}
			if _, err := site.pool.Exec(t.Context(), `DELETE FROM sessions`); err != nil {
				t.Fatal(err)
			}
			// The same answer, with the same state cookie, again.
			return newBrowser(t).do("GET", cb, nil, "Cookie", "almanac_login="+state)
		}, 400, "state unknown, used or expired"},
		{"replayed code", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			if r := b.get(cb); r.status != http.StatusSeeOther {
				t.Fatalf("first callback: %d", r.status)
			}
			if _, err := site.pool.Exec(t.Context(), `DELETE FROM sessions`); err != nil {
				t.Fatal(err)
			}
			// A fresh sign-in whose answer carries the code already used:
			// the state is good, and the provider refuses the code.
			site.idp.QueueUser(person("eve@corp"))
			fresh := mustURL(t, b.startLogin(site.url(), "/"))
			q := fresh.Query()
			q.Set("code", mustURL(t, cb).Query().Get("code"))
			fresh.RawQuery = q.Encode()
			return b.get(fresh.String())
		}, 401, "code exchange failed"},
		{"wrong nonce", user{MockUser: person("eve@corp"), tweak: func(c *mockoidc.IDTokenClaims) { c.Nonce = "forged" }}, ssoOptions{}, nil, 401, "nonce mismatch"},
		{"expired id token", user{MockUser: person("eve@corp"), tweak: func(c *mockoidc.IDTokenClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
		}}, ssoOptions{}, nil, 401, "id token expired"},
		{"wrong audience", user{MockUser: person("eve@corp"), tweak: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }}, ssoOptions{}, nil, 401, "id token for another audience"},
		{"wrong issuer", user{MockUser: person("eve@corp"), tweak: func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example" }}, ssoOptions{}, nil, 401, "id token of another issuer"},
		{"provider error", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			u := mustURL(t, cb)
			u.RawQuery = url.Values{"error": {"access_denied"}, "state": {u.Query().Get("state")}}.Encode()
			return b.get(u.String())
		}, 401, "the provider refused: access_denied"},
		{"provider error that is no code", person("eve@corp"), ssoOptions{}, func(t *testing.T, b *browser, site *ssoSite, cb string) response {
			u := mustURL(t, cb)
			u.RawQuery = url.Values{"error": {"Your account is locked: call +1 555 0100"}, "error_description": {"<b>call now</b>"}, "state": {u.Query().Get("state")}}.Encode()
			r := b.get(u.String())
			if strings.Contains(r.body, "555") || strings.Contains(r.body, "call now") {
				t.Errorf("the page repeats the link's text: %s", r.body)
			}
			return r
		}, 401, "the provider refused: an error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			site := newSSOSite(t, tc.opts)
			b := newBrowser(t)
			site.idp.QueueUser(tc.user)
			cb := b.startLogin(site.url(), "/")
			var r response
			if tc.mangle != nil {
				r = tc.mangle(t, b, site, cb)
			} else {
				r = b.get(cb)
			}
			if r.status != tc.status {
				t.Errorf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if c := r.header.Values("Set-Cookie"); strings.Contains(strings.Join(c, ";"), "almanac_session=") && !strings.Contains(strings.Join(c, ";"), "almanac_session=;") {
				t.Errorf("refused sign-in set a session cookie: %v", c)
			}
			e := site.lastEvent(t)
			if e.Kind != catalog.AuthLogin || e.Success || !strings.Contains(e.Detail, tc.reason) || e.RemoteAddr != "127.0.0.1" {
				t.Errorf("last event %+v, want a failed sign-in because %q", e, tc.reason)
			}
			var live int
			if err := site.pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE login = 'eve@corp'`).Scan(&live); err != nil || live != 0 {
				t.Errorf("eve's sessions: %d, %v", live, err)
			}
		})
	}
}

// TestSessionRefusals presents session cookies that must sign nobody in:
// forged, and ended by the idle and the absolute timeouts. Each is sent
// to sign in (page) or answered 401 (API), has its cookie dropped, and is
// recorded.
func TestSessionRefusals(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{idle: time.Hour, absolute: 24 * time.Hour})
	for _, tc := range []struct {
		name   string
		age    string // SQL run on alice's session to age it
		forged bool
		reason string
	}{
		{"tampered cookie", "", true, "session cookie matches no session"},
		{"idle", `UPDATE sessions SET last_seen = now() - interval '61 minutes' WHERE login = 'alice@corp'`, false, "idle timeout"},
		{"absolute", `UPDATE sessions SET expires_at = now() - interval '1 second', last_seen = now() WHERE login = 'alice@corp'`, false, "absolute timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			b.signIn(site, person("alice@corp"), "/")
			u := mustURL(t, site.url())
			var cookie string
			for _, c := range b.client.Jar.Cookies(u) {
				if c.Name == "almanac_session" {
					cookie = c.Value
				}
			}
			if tc.forged {
				// One character changed: the hash matches nothing.
				last := cookie[len(cookie)-1]
				repl := byte('A')
				if last == 'A' {
					repl = 'B'
				}
				cookie = cookie[:len(cookie)-1] + string(repl)
			} else if _, err := site.pool.Exec(t.Context(), tc.age); err != nil {
				t.Fatal(err)
			}
			c := newBrowser(t)
			r := c.do("GET", site.url()+"/sources", nil, "Cookie", "almanac_session="+cookie)
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login?") {
				t.Errorf("page: %d to %q, want 303 to sign in", r.status, r.header.Get("Location"))
			}
			if sc := strings.Join(r.header.Values("Set-Cookie"), ";"); !strings.Contains(sc, "almanac_session=;") {
				t.Errorf("cookie not dropped: %q", sc)
			}
			e := site.lastEvent(t)
			if e.Kind != catalog.AuthAccessDenied || e.Success || !strings.Contains(e.Detail, tc.reason) {
				t.Errorf("last event %+v, want a refusal because %q", e, tc.reason)
			}
			r = c.do("POST", site.url()+"/graphql", nil, "Cookie", "almanac_session="+cookie, "Content-Type", "application/json")
			if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "UNAUTHENTICATED") {
				t.Errorf("GraphQL: %d %s, want 401 UNAUTHENTICATED", r.status, r.body)
			}
		})
	}
}

// TestSessionLastSeen checks that a session's use is written at most once
// a minute, and that use within the idle timeout keeps it alive.
func TestSessionLastSeen(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{idle: time.Hour})
	b := newBrowser(t)
	b.signIn(site, person("alice@corp"), "/")
	lastSeen := func() time.Time {
		var at time.Time
		if err := site.pool.QueryRow(t.Context(), `SELECT last_seen FROM sessions`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	first := lastSeen()
	b.get(site.url() + "/sources")
	if got := lastSeen(); !got.Equal(first) {
		t.Errorf("last_seen written within the minute: %v → %v", first, got)
	}
	if _, err := site.pool.Exec(t.Context(), `UPDATE sessions SET last_seen = now() - interval '59 minutes'`); err != nil {
		t.Fatal(err)
	}
	if r := b.get(site.url() + "/sources"); r.status != 200 {
		t.Fatalf("59 minutes idle: %d", r.status)
	}
	if got := lastSeen(); time.Since(got) > time.Minute {
		t.Errorf("last_seen not refreshed: %v", got)
	}
}

// TestReplicasShareSessions signs in through one replica and uses the
// session on another; ending it on the second ends it on both.
func TestReplicasShareSessions(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{replicas: 2})
	a, bURL := site.url(), site.replicas[1].ts.URL
	br := newBrowser(t)
	br.signIn(site, person("alice@corp"), "/")
	var cookie string
	for _, c := range br.client.Jar.Cookies(mustURL(t, a)) {
		if c.Name == "almanac_session" {
			cookie = c.Value
		}
	}
	asAliceCookie := func(base, path string) response {
		return newBrowser(t).do("GET", base+path, nil, "Cookie", "almanac_session="+cookie)
	}
	r := asAliceCookie(bURL, "/account")
	if r.status != 200 || !strings.Contains(r.body, "alice@corp") {
		t.Fatalf("replica B with A's session: %d", r.status)
	}
	var id int64
	if err := site.pool.QueryRow(t.Context(), `SELECT id FROM sessions`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	end := url.Values{}
	r = newBrowser(t).do("POST", bURL+"/account/sessions/"+itoa(id)+"/end", end, "Cookie", "almanac_session="+cookie)
	if r.status != http.StatusSeeOther {
		t.Fatalf("end session on B: %d %s", r.status, r.body)
	}
	for _, base := range []string{a, bURL} {
		if r := asAliceCookie(base, "/account"); r.status != http.StatusSeeOther {
			t.Errorf("%s after the session ended: %d, want 303 to sign in", base, r.status)
		}
	}
	e := site.events(t)
	found := false
	for _, ev := range e {
		if ev.Kind == catalog.AuthSessionRevoked && ev.Actor == "alice@corp" && ev.Success {
			found = true
		}
	}
	if !found {
		t.Errorf("no session_revoked event in %+v", e)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestEndingSessions: a viewer may not end another's session; an admin
// may, from the sessions page, and the log names both.
func TestEndingSessions(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	alice, vic, root := newBrowser(t), newBrowser(t), newBrowser(t)
	alice.signIn(site, person("alice@corp", "catalog-editors"), "/")
	vic.signIn(site, person("vic@corp"), "/")
	root.signIn(site, person("root@corp", "catalog-admins"), "/")
	var aliceSession int64
	if err := site.pool.QueryRow(t.Context(), `SELECT id FROM sessions WHERE login = 'alice@corp'`).Scan(&aliceSession); err != nil {
		t.Fatal(err)
	}
	path := site.url() + "/account/sessions/" + itoa(aliceSession) + "/end"
	if r := vic.do("POST", path, url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("viewer ending alice's session: %d, want 403", r.status)
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthAccessDenied || e.Actor != "vic@corp" || e.Subject != "alice@corp" {
		t.Errorf("last event %+v, want vic refused", e)
	}
	if r := vic.get(site.url() + "/admin/sessions"); r.status != http.StatusForbidden {
		t.Errorf("viewer on the sessions page: %d, want 403", r.status)
	}
	list := root.get(site.url() + "/admin/sessions")
	htmlHas(t, list.body, "alice@corp", "vic@corp", `action="/account/sessions/`+itoa(aliceSession)+`/end"`)
	if r := root.do("POST", path, url.Values{"back": {"admin"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/sessions" {
		t.Errorf("admin ending alice's session: %d to %q", r.status, r.header.Get("Location"))
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthSessionRevoked || e.Actor != "root@corp" || e.Subject != "alice@corp" {
		t.Errorf("last event %+v, want root ending alice's session", e)
	}
	if r := alice.get(site.url() + "/sources"); r.status != http.StatusSeeOther {
		t.Errorf("alice after her session ended: %d", r.status)
	}
	// A cross-origin form post ending a session is refused before it
	// reaches the handler, and recorded.
	r := root.do("POST", site.url()+"/auth/logout", url.Values{}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Errorf("cross-origin logout: %d, want 403", r.status)
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthAccessDenied || !strings.Contains(e.Detail, "cross-origin") || e.Subject != "POST /auth/logout" {
		t.Errorf("last event %+v, want a cross-origin refusal", e)
	}
	if r := root.get(site.url() + "/account"); r.status != 200 {
		t.Errorf("root signed out by a cross-origin post: %d", r.status)
	}
}

// TestRolesAndOwners: groups map to roles (the highest wins, the default
// otherwise), userinfo supplies groups the ID token lacks, a member of an
// owning team edits what the team owns, and a viewer's edit (form or
// GraphQL mutation) is refused and recorded.
func TestRolesAndOwners(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	for _, tc := range []struct {
		user mockoidc.User
		role catalog.Role
	}{
		{person("vic@corp"), catalog.RoleViewer},
		{person("ed@corp", "catalog-editors"), catalog.RoleEditor},
		{person("root@corp", "catalog-editors", "catalog-admins"), catalog.RoleAdmin},
		{user{MockUser: person("info@corp", "catalog-admins"), groupsInfoOnly: true}, catalog.RoleAdmin},
	} {
		b := newBrowser(t)
		page := b.signIn(site, tc.user, "/account")
		if !strings.Contains(page.body, `<dd class="account-role">`+string(tc.role)+`</dd>`) {
			t.Errorf("%s: account page lacks role %s", tc.user.ID(), tc.role)
		}
	}

	// Team ownership: fct_orders is owned by the team data-platform.
	desc := func(b *browser, text string) response {
		return b.do("POST", site.url()+editPath("description", fctOrders), url.Values{"description": {text}})
	}
	member := newBrowser(t)
	member.signIn(site, person("tess@corp", "data-platform"), "/")
	if r := desc(member, "Edited by a team member."); r.status != http.StatusSeeOther {
		t.Errorf("team member's edit: %d %s", r.status, r.body)
	}
	outsider := newBrowser(t)
	outsider.signIn(site, person("otto@corp", "marketing"), "/")
	if r := desc(outsider, "Edited by an outsider."); r.status != http.StatusForbidden {
		t.Errorf("non-owner viewer's edit: %d, want 403", r.status)
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthAccessDenied || e.Actor != "otto@corp" || !strings.Contains(e.Detail, "may not edit") {
		t.Errorf("last event %+v, want otto's refused edit", e)
	}

	// GraphQL: a viewer's mutation is FORBIDDEN, and recorded.
	gql := func(b *browser, query string) map[string]any {
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest("POST", site.url()+"/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := gql(outsider, `{ dataset(namespace: "`+fctOrders.Namespace+`", name: "`+fctOrders.Name+`") { id } }`)
	id := got["data"].(map[string]any)["dataset"].(map[string]any)["id"].(string)
	got = gql(outsider, `mutation { setDatasetDescription(input: {datasetId: "`+id+`", description: "x"}) { auditEntry { id } } }`)
	errs, _ := got["errors"].([]any)
	if len(errs) == 0 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "FORBIDDEN" {
		t.Errorf("viewer's mutation: %v, want FORBIDDEN", got)
	}
	if e := site.lastEvent(t); e.Kind != catalog.AuthAccessDenied || e.Actor != "otto@corp" || e.RemoteAddr != "127.0.0.1" {
		t.Errorf("last event %+v, want otto's refused mutation", e)
	}
	got = gql(outsider, `{ me { login name role groups } }`)
	me, _ := got["data"].(map[string]any)["me"].(map[string]any)
	if me["login"] != "otto@corp" || me["name"] != "otto" || me["role"] != "VIEWER" || len(me["groups"].([]any)) != 1 {
		t.Errorf("me: %v", got)
	}
}

// TestAnonymousRead checks who may read with and without anonymous_read:
// pages, GraphQL, the Marquez reads and /metrics need a sign-in unless it
// is allowed; health probes, sign-in and static assets never do.
func TestAnonymousRead(t *testing.T) {
	t.Parallel()
	for _, anon := range []bool{false, true} {
		site := newSSOSite(t, ssoOptions{anonymousRead: anon})
		b := newBrowser(t)
		for _, tc := range []struct {
			path   string
			api    bool
			exempt bool
		}{
			{"/", false, false},
			{datasetPath(fctOrders), false, false},
			{"/sources", false, false},
			{"/graphql?query=%7B__typename%7D", true, false},
			{"/api/v1/lineage?nodeId=dataset:" + url.QueryEscape(fctOrders.Namespace) + ":" + url.QueryEscape(fctOrders.Name), true, false},
			{"/metrics", true, false},
			{"/healthz", false, true},
			{"/readyz", false, true},
			{"/static/almanac.css", false, true},
		} {
			r := b.get(site.url() + tc.path)
			switch {
			case anon || tc.exempt:
				if r.status != 200 {
					t.Errorf("anonymous_read %v: GET %s: %d, want 200", anon, tc.path, r.status)
				}
			case tc.api:
				if r.status != 401 || !strings.Contains(r.body, "UNAUTHENTICATED") || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
					t.Errorf("anonymous_read %v: GET %s: %d %s, want 401 JSON", anon, tc.path, r.status, r.body)
				}
			default:
				if r.status != 303 || r.header.Get("Location") != "/auth/login?next="+url.QueryEscape(tc.path) {
					t.Errorf("anonymous_read %v: GET %s: %d to %q, want 303 to sign in", anon, tc.path, r.status, r.header.Get("Location"))
				}
			}
		}
		if anon {
			// Reading anonymously never allows writing.
			r := b.do("POST", site.url()+editPath("description", fctOrders), url.Values{"description": {"x"}})
			if r.status != 401 {
				t.Errorf("anonymous edit with anonymous_read: %d, want 401", r.status)
			}
			home := b.get(site.url() + "/")
			htmlHas(t, home.body, `class="sign-in" href="/auth/login?next=%2F"`)
		}
	}
}

// TestSignInRateLimit: a client over its sign-in budget is answered 429.
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	b := newBrowser(t)
	var statuses []int
	for range 25 {
		statuses = append(statuses, b.get(site.url()+"/auth/login").status)
	}
	if statuses[0] != http.StatusFound || statuses[19] != http.StatusFound || statuses[24] != http.StatusTooManyRequests {
		t.Errorf("statuses %v: want 20 sign-ins, then 429", statuses)
	}
	if r := b.get(site.url() + "/auth/callback?state=x&code=y"); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("callback over the limit: %d", r.status)
	}
}

// TestSafeNext keeps sign-in from sending the browser to another site.
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/datasets/x": "/datasets/x", "//evil.example": "/", "https://evil.example": "/", "/\\evil.example": "/", "/a\r\nb": "/",
		// Browsers drop tabs and newlines anywhere in a URL: each of these
		// would be "//evil.example".
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/\r/evil.example": "/", "\t//evil.example": "/",
		"/\x00/evil.example": "/", "/\x7f/evil.example": "/",
		// Encoded, they stay a path of this site.
		"/%09/evil.example": "/%09/evil.example", "/search?q=a%2F%2Fb": "/search?q=a%2F%2Fb",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSafeNext: what safeNext keeps is a path of this site as a browser
// reads it: with the tabs and newlines a browser drops removed and
// backslashes read as slashes, it starts with one slash, not two.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/datasets/x", "//evil", "/\t/evil", "/\\evil", "/%09/evil", "https://evil", "\t//evil", "/a?next=//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the path nor /", next, got)
		}
		read := strings.Map(func(r rune) rune {
			switch r {
			case '\t', '\n', '\r':
				return -1
			case '\\':
				return '/'
			}
			return r
		}, got)
		if !strings.HasPrefix(read, "/") || strings.HasPrefix(read, "//") {
			t.Fatalf("safeNext(%q) = %q, which a browser reads as %q: another site", next, got, read)
		}
	})
}

// TestSecurityLogOnAuditPage: the admin's audit page shows the security
// log in its own tab, filtered by kind, actor and failures, and exports
// it as CSV; GraphQL's securityEvents gives admins alone the same.
func TestSecurityLogOnAuditPage(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	root, vic := newBrowser(t), newBrowser(t)
	root.signIn(site, person("root@corp", "catalog-admins"), "/")
	vic.signIn(site, person("vic@corp"), "/")
	// A failed sign-in: a callback whose state is not this browser's.
	eve := newBrowser(t)
	site.idp.QueueUser(person("eve@corp"))
	cb := mustURL(t, eve.startLogin(site.url(), "/"))
	q := cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	if r := eve.get(cb.String()); r.status != 400 {
		t.Fatalf("forged state: %d", r.status)
	}

	all := root.get(site.url() + "/admin/audit?log=security")
	htmlHas(t, all.body, `aria-current="page">Security<`, "root@corp", "vic@corp", "state mismatch", `class="audit-login audit-failure"`, `name="failures"`)
	failures := root.get(site.url() + "/admin/audit?log=security&failures=1")
	htmlHas(t, failures.body, "state mismatch")
	if strings.Contains(failures.body, `<span class="person">vic@corp</span>`) {
		t.Error("failures-only lists vic's successful sign-in")
	}
	byActor := root.get(site.url() + "/admin/audit?log=security&who=vic@corp&kind=login")
	if !strings.Contains(byActor.body, `<span class="person">vic@corp</span>`) || strings.Contains(byActor.body, `<span class="person">root@corp</span>`) {
		t.Error("the actor filter does not select vic's events alone")
	}
	csvResp := root.get(site.url() + "/admin/audit.csv?log=security&failures=1")
	if csvResp.status != 200 || !strings.Contains(csvResp.body, "login,failed,,,,,,,state mismatch (from 127.0.0.1)") {
		t.Errorf("CSV export: %d\n%s", csvResp.status, csvResp.body)
	}
	if r := vic.get(site.url() + "/admin/audit?log=security"); r.status != 403 {
		t.Errorf("viewer on the security log: %d, want 403", r.status)
	}

	gql := func(b *browser, query string) string {
		r := b.do("GET", site.url()+"/graphql?query="+url.QueryEscape(query), nil)
		return r.body
	}
	body := gql(root, `{ securityEvents(filter: {kinds: [LOGIN], failuresOnly: true}, first: 10) { edges { node { kind success actor detail remoteAddr } } } }`)
	if !strings.Contains(body, `"kind":"LOGIN","success":false,"actor":"","detail":"state mismatch","remoteAddr":"127.0.0.1"`) || strings.Contains(body, "vic@corp") {
		t.Errorf("securityEvents for the admin: %s", body)
	}
	if body := gql(vic, `{ securityEvents { edges { node { kind } } } }`); !strings.Contains(body, "FORBIDDEN") {
		t.Errorf("securityEvents for a viewer: %s, want FORBIDDEN", body)
	}
}

// TestDemoSaysSo: in `almanac demo` every page, error pages included,
// says that every visitor is the editor demo, without a password.
func TestDemoSaysSo(t *testing.T) {
	t.Parallel()
	p := newPortal(t, func(o *Options) {
		o.Authenticate = auth.Dev("demo")
		o.Demo = "demo"
		o.Unauthenticated = true
	})
	for _, path := range []string{"/", datasetPath(fctOrders), "/sources", "/no/such/page"} {
		r := p.get(t, path)
		htmlHas(t, r.body, `class="demo-banner`, "signed in as <strong>demo</strong>, an editor, without a password", `<span class="user-name" title="demo">demo</span>`)
		if strings.Contains(r.body, `action="/auth/logout"`) {
			t.Errorf("%s: the demo offers to sign out", path)
		}
	}
	// Without Demo, no banner.
	plain := newPortal(t, func(o *Options) { o.Authenticate = auth.Dev("alice@corp") })
	if r := plain.get(t, "/"); strings.Contains(r.body, "demo-banner") {
		t.Error("a server that is no demo shows the demo banner")
	}
}

// TestSessionRotatedAtSignIn: signing in again in a browser that holds a
// session (or an id planted in it) gives a new id and ends the old
// session, so that an id known before sign-in never signs anyone in.
func TestSessionRotatedAtSignIn(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{})
	b := newBrowser(t)
	cookie := func() string {
		for _, c := range b.client.Jar.Cookies(mustURL(t, site.url())) {
			if c.Name == "almanac_session" {
				return c.Value
			}
		}
		return ""
	}
	b.signIn(site, person("alice@corp"), "/")
	first := cookie()
	b.signIn(site, person("alice@corp"), "/")
	second := cookie()
	if first == "" || second == "" || first == second {
		t.Fatalf("cookie not replaced at sign-in: %q then %q", first, second)
	}
	var live, ended int
	if err := site.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE revoked_at IS NULL), count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM sessions`).Scan(&live, &ended); err != nil {
		t.Fatal(err)
	}
	if live != 1 || ended != 1 {
		t.Errorf("sessions live %d, ended %d; want 1 and 1", live, ended)
	}
	if r := newBrowser(t).do("GET", site.url()+"/account", nil, "Cookie", "almanac_session="+first); r.status != http.StatusSeeOther {
		t.Errorf("the first id after signing in again: %d, want 303 to sign in", r.status)
	}
}

// TestSignInRateLimitBehindProxy: behind a trusted proxy each client has
// its own budget, by X-Forwarded-For, and the security log records the
// client's address, not the proxy's.
func TestSignInRateLimitBehindProxy(t *testing.T) {
	t.Parallel()
	site := newSSOSite(t, ssoOptions{proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	b := newBrowser(t)
	for range 20 {
		if r := b.do("GET", site.url()+"/auth/login", nil, "X-Forwarded-For", "198.51.100.1"); r.status != http.StatusFound {
			t.Fatalf("within the budget: %d", r.status)
		}
	}
	if r := b.do("GET", site.url()+"/auth/login", nil, "X-Forwarded-For", "198.51.100.1"); r.status != http.StatusTooManyRequests {
		t.Errorf("21st sign-in of one client: %d, want 429", r.status)
	}
	if r := b.do("GET", site.url()+"/auth/login", nil, "X-Forwarded-For", "198.51.100.2"); r.status != http.StatusFound {
		t.Errorf("another client behind the same proxy: %d, want 302", r.status)
	}
	if r := b.do("GET", site.url()+"/auth/callback?state=x&code=y", nil, "X-Forwarded-For", "6.6.6.6, 198.51.100.3"); r.status != http.StatusBadRequest {
		t.Errorf("forged callback: %d", r.status)
	}
	if e := site.lastEvent(t); e.RemoteAddr != "198.51.100.3" {
		t.Errorf("recorded address %q, want the client's 198.51.100.3", e.RemoteAddr)
	}
}
