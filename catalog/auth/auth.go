// Package auth owns who makes a request: the principal carried by a
// request's context; sign-in with an OpenID Connect provider (oidc.go);
// the sessions that keep people signed in, stored in PostgreSQL by the
// hash of their cookie (sessions.go); the mapping of the provider's
// groups to roles (roles.go); and the chain of authenticators a server
// asks (chain.go). The rules of who may read, edit and administer stay
// in package catalog (catalog.AuthorizeRead, AuthorizeEdit,
// AuthorizeAdminister), so that the portal, GraphQL and the OpenLineage
// endpoint decide alike.
package auth

import (
	"context"
	"net/http"

	"almanac/catalog"
)

// Authenticator says who makes a request: ok is false for an anonymous
// one. The server calls it once per request, in its middleware.
type Authenticator func(*http.Request) (p catalog.Principal, ok bool)

// Dev treats every request as made by login with the editor role: for
// `almanac demo`, a local playground. Never use it on a server others can
// reach.
func Dev(login string) Authenticator {
	return func(*http.Request) (catalog.Principal, bool) {
		return catalog.Principal{Login: login, Role: catalog.RoleEditor}, true
	}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p as the request's principal.
func WithPrincipal(ctx context.Context, p catalog.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns who makes the request ctx belongs to; the zero
// Principal, anonymous, when nobody was authenticated.
func PrincipalFrom(ctx context.Context) catalog.Principal {
	p, _ := ctx.Value(principalKey{}).(catalog.Principal)
	return p
}

// Middleware puts the principal authn finds into each request's context,
// for handlers to read with PrincipalFrom; a nil authn makes every request
// anonymous.
func Middleware(authn Authenticator, next http.Handler) http.Handler {
	if authn == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := authn(r); ok {
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}
