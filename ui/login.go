package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
)

// Single sign-on: /auth/login sends the browser to the identity provider
// with a fresh state, nonce and PKCE verifier; /auth/callback takes the
// provider's answer once, checks it and starts a session; /auth/logout
// ends the session (and, where the provider offers it, the provider's
// too).
//
// The state, nonce and verifier of a sign-in under way live in a
// login_attempts row keyed by the state's hash, and the browser holds the
// state in a short-lived cookie. A row rather than a signed cookie: every
// replica can take the answer without sharing a signing key, and deleting
// the row as it is read makes each state good exactly once. The cookie
// binds the answer to the browser that asked, so that nobody can sign a
// victim in to the attacker's account by sending them a callback link.

// loginAttemptTTL is how long a sign-in may take at the provider.
const loginAttemptTTL = 10 * time.Minute

// loginCookie names the cookie holding the state of a sign-in under way.
func (s *Server) loginCookie() string {
	if s.sessions.Secure() {
		return "__Host-almanac_login"
	}
	return "almanac_login"
}

// serveLogin starts a sign-in, returning to the page in "next" after.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	state, nonce, verifier := auth.RandomToken(), auth.RandomToken(), auth.RandomToken()
	err := s.store.SaveLoginAttempt(r.Context(), auth.Hash(state),
		store.LoginAttempt{Nonce: nonce, Verifier: verifier, ReturnTo: next}, loginAttemptTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.loginCookie(), Value: state, Path: "/", MaxAge: int(loginAttemptTTL / time.Second),
		HttpOnly: true, Secure: s.sessions.Secure(), SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.oidc.AuthCodeURL(state, nonce, verifier), http.StatusFound)
	return nil
}

// oauthErrorCode is what an OAuth error code looks like.
var oauthErrorCode = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// safeNext keeps a return path only if it is a path of this site: never
// another site ("//evil", "https://evil", "/\evil"). Browsers drop tabs
// and newlines from a Location before reading it ("/\t/evil" is
// "//evil") and read a backslash as a slash, so a path with any control
// character or backslash is refused.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	return next
}

// serveCallback takes the identity provider's answer: the state must be
// the one this browser's sign-in was given, and the code must yield an ID
// token of this provider, for this client, unexpired, with this
// sign-in's nonce. Every refusal is recorded in the security log.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	// refuse shows reason on the page and records detail in the
	// security log (which clips it); fail records the reason.
	refuse := func(status int, reason, detail string, err error) error {
		s.recordAuth(ctx, r, catalog.AuthEvent{Kind: catalog.AuthLogin, Detail: detail})
		if err != nil {
			s.log.InfoContext(ctx, "sign-in refused", "reason", reason, "err", err)
		}
		kind := catalog.ErrUnauthenticated
		if status == http.StatusBadRequest {
			kind = catalog.ErrInvalid
		}
		return &pageError{msg: "Sign-in failed: " + reason + ". Try signing in again.", err: fmt.Errorf("%s: %w", reason, kind)}
	}
	fail := func(status int, reason string, err error) error { return refuse(status, reason, reason, err) }
	c, cerr := r.Cookie(s.loginCookie())
	http.SetCookie(w, &http.Cookie{Name: s.loginCookie(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.sessions.Secure(), SameSite: http.SameSiteLaxMode})
	if e := q.Get("error"); e != "" {
		// The page shows the provider's error code only when it is one
		// (RFC 6749 4.1.2.1: access_denied…): a link to the callback
		// could otherwise make the portal say anything. The security log
		// keeps the description too.
		code := "an error"
		if oauthErrorCode.MatchString(e) {
			code = e
		}
		reason := "the provider refused: " + code
		return refuse(http.StatusUnauthorized, reason, strings.TrimSpace(reason+" "+q.Get("error_description")), nil)
	}
	state := q.Get("state")
	if state == "" || q.Get("code") == "" {
		return fail(http.StatusBadRequest, "callback without state or code", nil)
	}
	if cerr != nil || c.Value != state {
		return fail(http.StatusBadRequest, "state mismatch", nil)
	}
	attempt, err := s.store.TakeLoginAttempt(ctx, auth.Hash(state))
	if errors.Is(err, catalog.ErrNotFound) {
		return fail(http.StatusBadRequest, "state unknown, used or expired", err)
	}
	if err != nil {
		return err
	}
	id, err := s.oidc.Exchange(ctx, q.Get("code"), attempt.Verifier, attempt.Nonce)
	if le, ok := errors.AsType[*auth.LoginError](err); ok {
		return fail(http.StatusUnauthorized, le.Reason, err)
	}
	if err != nil {
		return err
	}
	p := catalog.Principal{Login: id.Login, Name: id.Name, Groups: id.Groups, Role: s.roles.For(id.Groups)}
	sess, err := s.sessions.Start(ctx, w, r, p, id.Email)
	if err != nil {
		return err
	}
	s.recordAuth(ctx, r, catalog.AuthEvent{Kind: catalog.AuthLogin, Success: true, Actor: p.Login,
		Detail: fmt.Sprintf("session %d, role %s, groups %s", sess.ID, p.Role, strings.Join(p.Groups, ", "))})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeNext(attempt.ReturnTo), http.StatusSeeOther)
	return nil
}

// postLogout ends the session of the request and, when the provider
// advertises an end_session_endpoint, sends the browser there to end the
// provider's session too.
func (s *Server) postLogout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sess, ended, err := s.sessions.End(ctx, w, r)
	if err != nil {
		return err
	}
	if ended {
		s.recordAuth(ctx, r, catalog.AuthEvent{Kind: catalog.AuthLogout, Success: true, Actor: sess.Login, Detail: fmt.Sprintf("session %d", sess.ID)})
	}
	to := "/"
	if s.oidc != nil {
		if u := s.oidc.EndSessionURL(s.siteURL(r) + "/"); u != "" {
			to = u
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// siteURL is the portal's own origin: the public URL's, else the
// request's.
func (s *Server) siteURL(r *http.Request) string {
	if s.publicURL != "" {
		return strings.TrimSuffix(s.publicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// recordAuth appends e to the security log, with the request's address;
// a failure to record is logged, and does not change the answer.
func (s *Server) recordAuth(ctx context.Context, r *http.Request, e catalog.AuthEvent) {
	e.RemoteAddr = auth.ClientIP(r)
	if err := s.store.RecordAuthEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "security event not recorded", "kind", e.Kind, "detail", e.Detail, "err", err)
	}
}

// readExempt reports whether a route is open to anonymous readers
// whatever the configuration: health probes, sign-in itself, the static
// assets the sign-in pages use, and the OpenLineage endpoint, which
// checks its own token.
func readExempt(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz":
		return true
	case strings.HasPrefix(p, "/auth/") || strings.HasPrefix(p, "/static/"):
		return true
	case r.Method == http.MethodPost && (p == "/api/v1/lineage" || p == "/api/v1/lineage/batch"):
		return true
	}
	return false
}

// isAPI reports whether r is for an API or a machine (GraphQL, the
// Marquez reads, /metrics, the search box's suggestions), which answers
// 401 in JSON rather than sending a browser to sign in.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return p == "/graphql" || strings.HasPrefix(p, "/graphql/") || strings.HasPrefix(p, "/api/") ||
		p == "/metrics" || p == "/search/suggest"
}

// requireRead lets a request through only if its principal may read
// (catalog.AuthorizeRead), once for every route: a page asks the browser
// to sign in and come back, an API answers 401 in JSON. A session cookie
// that signed nobody in (forged, ended, expired) is dropped.
func (s *Server) requireRead(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.PrincipalFrom(r.Context())
		if p.Anonymous() && s.sessions != nil && s.sessions.HasCookie(r) {
			s.sessions.ClearCookie(w)
		}
		site := siteInfo{Demo: s.demo, Sessions: s.sessions != nil, GraphQL: s.graphql != nil}
		if p.Anonymous() && !strings.HasPrefix(r.URL.Path, "/auth/") {
			site.Login = s.loginLink(returnPath(r))
		}
		ctx := withSite(store.WithRemoteAddr(r.Context(), auth.ClientIP(r)), site)
		r = r.WithContext(ctx)
		err := catalog.AuthorizeRead(p, !s.requireLogin)
		if err == nil || readExempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case isAPI(r):
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="almanac"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
				"message":    "sign in, or send an API token: " + err.Error(),
				"extensions": map[string]string{"code": "UNAUTHENTICATED"},
			}}})
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && s.loginPath != "":
			http.Redirect(w, r, s.loginLink(returnPath(r)), http.StatusSeeOther)
		default:
			s.serveError(w, r, err)
		}
	})
}

// loginLimiter allows each client address a few sign-in requests a
// minute: enough for a person, too few to fill the sign-in table or
// hammer the provider.
type loginLimiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	clients map[string]*clientLimit
}

type clientLimit struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLoginLimiter(perMinute, burst int) *loginLimiter {
	return &loginLimiter{every: rate.Limit(float64(perMinute) / 60), burst: burst, clients: map[string]*clientLimit{}}
}

// allow reports whether addr may make one more request now.
func (l *loginLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clients) > 10000 {
		// Forget clients idle long enough to be back at a full burst.
		for k, c := range l.clients {
			if now.Sub(c.seen) > 10*time.Minute {
				delete(l.clients, k)
			}
		}
	}
	c := l.clients[addr]
	if c == nil {
		c = &clientLimit{lim: rate.NewLimiter(l.every, l.burst)}
		l.clients[addr] = c
	}
	c.seen = now
	return c.lim.AllowN(now, 1)
}

// limited answers 429 to a client over the sign-in rate limit.
func (s *Server) limited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.loginLimit.allow(auth.ClientIP(r), time.Now()) {
			w.Header().Set("Retry-After", "60")
			refuse(w, http.StatusTooManyRequests, "too many sign-in requests from your address: wait a minute")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// accountURL is the account page.
const accountURL = "/account"
