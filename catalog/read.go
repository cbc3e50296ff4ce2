package catalog

import "fmt"

// AuthorizeRead returns nil if p may read the catalog, and otherwise an
// error of kind ErrUnauthenticated: with single sign-on every reader needs
// a login (or an API token) unless anonymousAllowed, the configuration's
// explicit choice (`auth.anonymous_read`, or no authentication at all on a
// loopback address). Any principal may read everything there is to read,
// but an API token only with the read or write scope: one made to post
// lineage (lineage:write alone) is refused with ErrForbidden, whatever
// anonymous readers may do, so that a leaked producer token reads nothing.
func AuthorizeRead(p Principal, anonymousAllowed bool) error {
	if !p.Anonymous() && !p.HasScope(ScopeRead) {
		return fmt.Errorf("%s's token has scope %s, which does not read the catalog: reading needs the %s or %s scope: %w",
			p.Login, scopeList(p.Scopes), ScopeRead, ScopeWrite, ErrForbidden)
	}
	if anonymousAllowed || !p.Anonymous() {
		return nil
	}
	return fmt.Errorf("reading the catalog needs a login: %w", ErrUnauthenticated)
}
