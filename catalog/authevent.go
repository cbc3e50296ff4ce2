package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// AuthEventKind is what kind of security event an AuthEvent records.
type AuthEventKind string

// Kinds of security events.
const (
	AuthLogin          AuthEventKind = "login"           // a sign-in, or a failed attempt
	AuthLogout         AuthEventKind = "logout"          // a person signed out
	AuthSessionRevoked AuthEventKind = "session_revoked" // a session ended by its owner or an admin
	AuthTokenCreated   AuthEventKind = "token_created"
	AuthTokenUsed      AuthEventKind = "token_used" // first use in a while, or a refused token
	AuthTokenRevoked   AuthEventKind = "token_revoked"
	AuthRoleChanged    AuthEventKind = "role_changed"
	AuthAccessDenied   AuthEventKind = "access_denied" // a request refused for want of a right
)

// AuthEventKinds lists every kind, in the order filters offer them.
var AuthEventKinds = []AuthEventKind{
	AuthLogin, AuthLogout, AuthSessionRevoked,
	AuthTokenCreated, AuthTokenUsed, AuthTokenRevoked,
	AuthRoleChanged, AuthAccessDenied,
}

// Valid reports whether k is one of AuthEventKinds.
func (k AuthEventKind) Valid() bool {
	for _, x := range AuthEventKinds {
		if k == x {
			return true
		}
	}
	return false
}

// AuthEvent records one security event: who did what to whom, when, from
// where, and whether it succeeded.
type AuthEvent struct {
	ID   int64
	At   time.Time
	Kind AuthEventKind
	// Success is false for a refusal: a failed sign-in, a revoked token
	// presented, a forbidden request.
	Success bool
	// Actor is who acted: a login, "token:<name>" for a service token, or
	// "" when nobody could be identified.
	Actor string
	// Subject is what the event was done to, when not the actor: the
	// owner of a session ended, a token's name, whose role changed.
	Subject string
	// Detail says why, in words: "state mismatch", "scope read only".
	Detail     string
	RemoteAddr string
}

// maxAuthText is the longest actor, subject or detail kept: enough for any
// real value, and a bound on what a hostile request can make the log hold.
const maxAuthText = 1000

// Normalize validates e's kind and trims its texts to what the log keeps,
// replacing invalid UTF-8 and NULs, so that a hostile value (a login name
// from a forged token, say) is recorded rather than refused.
func (e AuthEvent) Normalize() (AuthEvent, error) {
	if !e.Kind.Valid() {
		return e, fmt.Errorf("auth event of unknown kind %q: %w", e.Kind, ErrInvalid)
	}
	e.Actor = clipText(e.Actor)
	e.Subject = clipText(e.Subject)
	e.Detail = clipText(e.Detail)
	e.RemoteAddr = clipText(e.RemoteAddr)
	return e, nil
}

func clipText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if len(s) <= maxAuthText {
		return s
	}
	cut := maxAuthText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

type remoteAddrKey struct{}

// WithRemoteAddr returns ctx carrying the address of the client that made
// the request, for the security events recorded while serving it.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteAddrKey{}, addr)
}

// RemoteAddrFrom returns the client address ctx carries; "" when none.
func RemoteAddrFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteAddrKey{}).(string)
	return s
}

type tokenNameKey struct{}

// WithTokenName returns ctx carrying the name of the API token that
// authenticated the request, so that a refusal deeper down (an edit, a
// lineage post) names the token in the security log.
func WithTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tokenNameKey{}, name)
}

// TokenNameFrom returns the token name ctx carries; "" when none.
func TokenNameFrom(ctx context.Context) string {
	s, _ := ctx.Value(tokenNameKey{}).(string)
	return s
}
