package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// SessionConfig says how long sign-ins last and how their cookie is set.
type SessionConfig struct {
	// Idle ends a session unused this long.
	Idle time.Duration
	// Absolute ends a session this long after sign-in, however used.
	Absolute time.Duration
	// Secure sets the cookie Secure, under a __Host- name. Only a server
	// reached by plain HTTP on a loopback address does without: browsers
	// refuse Secure cookies (and so __Host- ones) over plain HTTP.
	Secure bool
}

// Sessions keeps people signed in: an opaque random id in a cookie, and
// in PostgreSQL only its SHA-256 with who it signs in, so that every
// replica honours (and ends) the same sessions.
type Sessions struct {
	store *store.Store
	cfg   SessionConfig
	log   *slog.Logger
}

// NewSessions returns the sessions kept in st.
func NewSessions(st *store.Store, cfg SessionConfig, log *slog.Logger) *Sessions {
	if cfg.Idle <= 0 {
		cfg.Idle = 8 * time.Hour
	}
	if cfg.Absolute <= 0 {
		cfg.Absolute = 7 * 24 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: st, cfg: cfg, log: log}
}

// CookieName is the session cookie's name: __Host-almanac_session
// (Secure, Path=/, no Domain: no other site, nor a subdomain, can set or
// read it), or almanac_session on plain-HTTP loopback, where a __Host-
// cookie cannot be set.
func (s *Sessions) CookieName() string {
	if s.cfg.Secure {
		return "__Host-almanac_session"
	}
	return "almanac_session"
}

// Secure reports whether the cookies are Secure.
func (s *Sessions) Secure() bool { return s.cfg.Secure }

// Idle is the idle timeout.
func (s *Sessions) Idle() time.Duration { return s.cfg.Idle }

// Hash is the SHA-256 of an opaque secret, which is all the database
// keeps of it.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// RandomToken returns 32 random bytes, base64url-encoded.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Start signs the person of r in as p: a new session, and its cookie.
// A session the browser already held is ended first, so that an id
// planted before sign-in (session fixation) never becomes a signed-in one.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, p catalog.Principal, email string) (catalog.Session, error) {
	if old, err := s.lookup(ctx, r); err == nil {
		if err := s.store.RevokeSession(ctx, old.ID); err != nil {
			return catalog.Session{}, err
		}
	}
	secret := RandomToken()
	sess, err := s.store.CreateSession(ctx, Hash(secret), catalog.Session{
		Login: p.Login, Name: p.Name, Email: email, Groups: p.Groups, Role: p.Role,
		UserAgent: r.UserAgent(), RemoteAddr: ClientIP(r),
	}, s.cfg.Absolute)
	if err != nil {
		return sess, err
	}
	http.SetCookie(w, &http.Cookie{
		Name: s.CookieName(), Value: secret, Path: "/",
		MaxAge: int(s.cfg.Absolute / time.Second), HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// ClearCookie tells the browser to drop the session cookie.
func (s *Sessions) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.CookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode,
	})
}

// HasCookie reports whether r carries a session cookie, valid or not.
func (s *Sessions) HasCookie(r *http.Request) bool {
	_, err := r.Cookie(s.CookieName())
	return err == nil
}

// errNoSession is the lookup of a request without a session cookie.
var errNoSession = errors.New("no session cookie")

// lookup returns the live session r's cookie names, or why there is none:
// errNoSession, or an error saying what was wrong with the cookie.
func (s *Sessions) lookup(ctx context.Context, r *http.Request) (catalog.Session, error) {
	c, err := r.Cookie(s.CookieName())
	if err != nil || c.Value == "" {
		return catalog.Session{}, errNoSession
	}
	sess, now, err := s.store.SessionByToken(ctx, Hash(c.Value))
	if errors.Is(err, catalog.ErrNotFound) {
		return sess, fmt.Errorf("session cookie matches no session: %w", catalog.ErrUnauthenticated)
	}
	if err != nil {
		return sess, err
	}
	if st := sess.State(now, s.cfg.Idle); st != catalog.SessionLive {
		return sess, fmt.Errorf("session %d ended (%s): %w", sess.ID, st, catalog.ErrUnauthenticated)
	}
	if now.Sub(sess.LastSeen) >= time.Minute {
		if err := s.store.TouchSession(ctx, sess.ID); err != nil {
			s.log.WarnContext(ctx, "session use not recorded", "session", sess.ID, "err", err)
		}
	}
	return sess, nil
}

// Current returns the live session of r, and false when r has none.
func (s *Sessions) Current(r *http.Request) (catalog.Session, bool) {
	sess, err := s.lookup(r.Context(), r)
	return sess, err == nil
}

// Authenticate is the Authenticator of sessions: the person whose live
// session r's cookie names. A cookie naming no session, or one that
// ended, is recorded in the security log and leaves r anonymous.
func (s *Sessions) Authenticate(r *http.Request) (catalog.Principal, bool) {
	ctx := r.Context()
	sess, err := s.lookup(ctx, r)
	switch {
	case err == nil:
		return sess.Principal(), true
	case errors.Is(err, errNoSession):
	case errors.Is(err, catalog.ErrUnauthenticated):
		e := catalog.AuthEvent{Kind: catalog.AuthAccessDenied, Actor: sess.Login, Detail: err.Error(), RemoteAddr: ClientIP(r)}
		if rerr := s.store.RecordAuthEvent(ctx, e); rerr != nil {
			s.log.ErrorContext(ctx, "security event not recorded", "event", e.Detail, "err", rerr)
		}
	default:
		s.log.ErrorContext(ctx, "session not read", "err", err)
	}
	return catalog.Principal{}, false
}

// End ends the session of r, if any, and drops its cookie; it returns the
// session ended.
func (s *Sessions) End(ctx context.Context, w http.ResponseWriter, r *http.Request) (catalog.Session, bool, error) {
	s.ClearCookie(w)
	sess, err := s.lookup(ctx, r)
	if err != nil {
		return sess, false, nil
	}
	if err := s.store.RevokeSession(ctx, sess.ID); err != nil {
		return sess, false, err
	}
	return sess, true, nil
}

// ClientIP is the address a request came from, without its port. Headers
// a client can set (X-Forwarded-For) are not trusted.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
