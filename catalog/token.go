package catalog

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// API tokens let tools act in the catalog without a browser: a person's
// personal token acts as that person (their role, at most the token's
// scopes); a service token, created by an admin for a producer such as
// Airflow, Spark or dbt, acts for nobody, as the principal
// "token:<name>". The secret is shown once, when the token is created,
// and only its SHA-256 hash is kept (package catalog/auth).

// TokenScope is a right a token may be given (not a crawl's Scope).
type TokenScope string

// Scopes of API tokens.
const (
	// ScopeRead reads the catalog: pages, GraphQL queries, the Marquez
	// reads.
	ScopeRead TokenScope = "read"
	// ScopeWrite edits documentation, tags and owners as the token's owner
	// may (GraphQL mutations); it includes ScopeRead.
	ScopeWrite TokenScope = "write"
	// ScopeLineageWrite posts OpenLineage events to /api/v1/lineage.
	ScopeLineageWrite TokenScope = "lineage:write"
)

// AllScopes lists every scope, in the order forms offer them.
var AllScopes = []TokenScope{ScopeRead, ScopeWrite, ScopeLineageWrite}

// ParseScope returns the scope named s, or an ErrInvalid error naming it.
func ParseScope(s string) (TokenScope, error) {
	if slices.Contains(AllScopes, TokenScope(s)) {
		return TokenScope(s), nil
	}
	return "", fmt.Errorf("unknown token scope %q (want read, write or lineage:write): %w", s, ErrInvalid)
}

// HasScope reports whether p may use the right s: a person's session
// (no scopes) has every right of its role; a token only those of its
// scopes, write including read.
func (p Principal) HasScope(s TokenScope) bool {
	if len(p.Scopes) == 0 {
		return true
	}
	if slices.Contains(p.Scopes, s) {
		return true
	}
	return s == ScopeRead && slices.Contains(p.Scopes, ScopeWrite)
}

// ViaToken reports whether p is a request made with an API token.
func (p Principal) ViaToken() bool { return len(p.Scopes) > 0 }

// scopeList is how scopes read in messages: "read, lineage:write".
func scopeList(scopes []TokenScope) string {
	if len(scopes) == 0 {
		return "(all)"
	}
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ", ")
}

// AuthorizeLineageWrite returns nil if p may post OpenLineage events, and
// otherwise an error of kind ErrUnauthenticated (anonymous) or
// ErrForbidden saying why: it takes the lineage:write scope (a session
// has it) and the editor or admin role, which service tokens have.
func AuthorizeLineageWrite(p Principal) error {
	if p.Anonymous() {
		return fmt.Errorf("posting lineage needs a token: %w", ErrUnauthenticated)
	}
	if !p.HasScope(ScopeLineageWrite) {
		return fmt.Errorf("%s may not post lineage with a token of scope %s: it needs the %s scope: %w", p.Login, scopeList(p.Scopes), ScopeLineageWrite, ErrForbidden)
	}
	if p.Role != RoleEditor && p.Role != RoleAdmin {
		return fmt.Errorf("%s (role %q) may not post lineage: only editors and admins may: %w", p.Login, p.Role, ErrForbidden)
	}
	return nil
}

// ServiceTokenPrefix starts the login of a service token's principal:
// "token:airflow". Its edits are recorded as "user:token:airflow".
const ServiceTokenPrefix = "token:"

// APIToken is an API token as the catalog keeps it: never its secret.
type APIToken struct {
	ID   int64
	Name string
	// Owner is the login of the person the token acts as; "" for a
	// service token.
	Owner string
	// Role is the role the token acts with: its owner's when it was
	// created, the editor role for a service token.
	Role      Role
	Scopes    []TokenScope
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastUsedAt is when the token last authenticated a request, to the
	// minute; zero when never.
	LastUsedAt time.Time
	// RevokedAt is when the token was revoked, and RevokedBy by whom;
	// zero and "" while it is not.
	RevokedAt time.Time
	RevokedBy string
}

// Service reports whether t is a service token, tied to no person.
func (t APIToken) Service() bool { return t.Owner == "" }

// Principal is who a request made with t is.
func (t APIToken) Principal() Principal {
	login := t.Owner
	if t.Service() {
		login = ServiceTokenPrefix + t.Name
	}
	return Principal{Login: login, Role: t.Role, Scopes: slices.Clone(t.Scopes)}
}

// TokenStatus is whether a token still works.
type TokenStatus string

// Token statuses.
const (
	TokenActive  TokenStatus = "active"
	TokenExpired TokenStatus = "expired"
	TokenRevoked TokenStatus = "revoked"
)

// Status says whether t works at now.
func (t APIToken) Status(now time.Time) TokenStatus {
	switch {
	case !t.RevokedAt.IsZero():
		return TokenRevoked
	case !now.Before(t.ExpiresAt):
		return TokenExpired
	}
	return TokenActive
}

// TokenRequest asks for a new token.
type TokenRequest struct {
	Name      string
	Scopes    []TokenScope
	ExpiresAt time.Time
	// Service asks for a service token, which only admins create.
	Service bool
}

// maxTokenName bounds a token's name.
const maxTokenName = 100

// AuthorizeTokenCreate checks that p may create the token req asks for, at
// now, with a lifetime of at most maxLifetime, and returns the token to
// store: named, with its scopes sorted and without repeats, acting with
// p's role (or, for a service token, the editor role). Tokens are created
// from a person's session, never with another token.
func AuthorizeTokenCreate(p Principal, req TokenRequest, now time.Time, maxLifetime time.Duration) (APIToken, error) {
	if p.Anonymous() {
		return APIToken{}, fmt.Errorf("creating a token needs a login: %w", ErrUnauthenticated)
	}
	if p.ViaToken() {
		return APIToken{}, fmt.Errorf("%s may not create a token with a token: sign in to create one: %w", p.Login, ErrForbidden)
	}
	if req.Service && !MayAdminister(p) {
		return APIToken{}, fmt.Errorf("%s (role %q) may not create a service token: only admins may: %w", p.Login, p.Role, ErrForbidden)
	}
	name := strings.TrimSpace(req.Name)
	switch {
	case name == "":
		return APIToken{}, fmt.Errorf("token name: empty: %w", ErrInvalid)
	case len(name) > maxTokenName:
		return APIToken{}, fmt.Errorf("token name %.20q…: longer than %d bytes: %w", name, maxTokenName, ErrInvalid)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return APIToken{}, fmt.Errorf("token name %q: holds a control character: %w", name, ErrInvalid)
	}
	if err := ValidName("token name", name); err != nil {
		return APIToken{}, err
	}
	if len(req.Scopes) == 0 {
		return APIToken{}, fmt.Errorf("token %q: no scope: choose read, write or lineage:write: %w", name, ErrInvalid)
	}
	var scopes []TokenScope
	for _, s := range AllScopes {
		if slices.Contains(req.Scopes, s) {
			scopes = append(scopes, s)
		}
	}
	for _, s := range req.Scopes {
		if _, err := ParseScope(string(s)); err != nil {
			return APIToken{}, fmt.Errorf("token %q: %w", name, err)
		}
	}
	if req.ExpiresAt.IsZero() {
		return APIToken{}, fmt.Errorf("token %q: no expiry: every token needs one: %w", name, ErrInvalid)
	}
	if !req.ExpiresAt.After(now) {
		return APIToken{}, fmt.Errorf("token %q: expiry %s is not in the future: %w", name, req.ExpiresAt.UTC().Format(time.RFC3339), ErrInvalid)
	}
	if maxLifetime > 0 && req.ExpiresAt.Sub(now) > maxLifetime {
		return APIToken{}, fmt.Errorf("token %q: expiry %s is further than the longest lifetime allowed, %s (%s): %w",
			name, req.ExpiresAt.UTC().Format(time.RFC3339), lifetimeText(maxLifetime), now.Add(maxLifetime).UTC().Format(time.RFC3339), ErrInvalid)
	}
	t := APIToken{Name: name, Owner: p.Login, Role: p.Role, Scopes: scopes, CreatedBy: p.Login, CreatedAt: now, ExpiresAt: req.ExpiresAt}
	if req.Service {
		t.Owner, t.Role = "", RoleEditor
	}
	if slices.Contains(scopes, ScopeLineageWrite) && t.Role != RoleEditor && t.Role != RoleAdmin {
		return APIToken{}, fmt.Errorf("token %q: %s (role %q) may not give a token the %s scope: only editors and admins post lineage: %w", name, p.Login, p.Role, ScopeLineageWrite, ErrForbidden)
	}
	return t, nil
}

// lifetimeText says a lifetime in days when it is whole days.
func lifetimeText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", n)
		}
	}
	return d.String()
}

// MayManageToken reports whether p may see and revoke t: its owner, from
// a session, and admins.
func MayManageToken(p Principal, t APIToken) bool {
	if p.Anonymous() || p.ViaToken() {
		return false
	}
	return MayAdminister(p) || (!t.Service() && t.Owner == p.Login)
}

// AuthorizeTokenRevoke returns nil if p may revoke t, and otherwise an
// error of kind ErrUnauthenticated or ErrForbidden saying why. Nobody
// revokes with a token: a leaked one could otherwise revoke its owner's
// others.
func AuthorizeTokenRevoke(p Principal, t APIToken) error {
	switch {
	case p.Anonymous():
		return fmt.Errorf("revoking a token needs a login: %w", ErrUnauthenticated)
	case p.ViaToken():
		return fmt.Errorf("%s may not revoke a token with a token: sign in to revoke it: %w", p.Login, ErrForbidden)
	case !MayManageToken(p, t):
		return fmt.Errorf("%s may not revoke token %d: only its owner and admins may: %w", p.Login, t.ID, ErrForbidden)
	}
	return nil
}
