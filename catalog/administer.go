package catalog

import "fmt"

// MayAdminister reports whether p may see what only administrators see:
// the audit of the whole catalog (every edit and, with single sign-on,
// sign-ins and API tokens). Only the admin role may.
func MayAdminister(p Principal) bool {
	return !p.Anonymous() && p.Role == RoleAdmin
}

// AuthorizeAdminister returns nil if p may administer the catalog, and
// otherwise an error of kind ErrUnauthenticated (anonymous) or
// ErrForbidden saying why; what names the page or query asked for.
func AuthorizeAdminister(p Principal, what string) error {
	if p.Anonymous() {
		return fmt.Errorf("%s needs a login: %w", what, ErrUnauthenticated)
	}
	if !MayAdminister(p) {
		return fmt.Errorf("%s (role %q) may not see %s: only admins may: %w", p.Login, p.Role, what, ErrForbidden)
	}
	return nil
}

// UserLogin returns the login of a person's edit source ("alice@corp" of
// "user:alice@corp"), and false for any other source.
func UserLogin(source string) (string, bool) {
	if !IsUserSource(source) {
		return "", false
	}
	return source[len("user:"):], true
}
