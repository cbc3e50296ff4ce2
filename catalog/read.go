package catalog

import "fmt"

// AuthorizeRead returns nil if p may read the catalog, and otherwise an
// error of kind ErrUnauthenticated: with single sign-on every reader needs
// a login (or an API token) unless anonymousAllowed, the configuration's
// explicit choice (`auth.anonymous_read`, or no authentication at all on a
// loopback address). Any principal may read everything there is to read.
func AuthorizeRead(p Principal, anonymousAllowed bool) error {
	if anonymousAllowed || !p.Anonymous() {
		return nil
	}
	return fmt.Errorf("reading the catalog needs a login: %w", ErrUnauthenticated)
}
