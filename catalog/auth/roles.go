package auth

import (
	"fmt"

	"almanac/catalog"
)

// Roles maps the identity provider's groups to roles: a person gets the
// most privileged role of their groups, and Default when none of their
// groups is mapped.
type Roles struct {
	Default catalog.Role
	Groups  map[string]catalog.Role
}

// rank orders roles from least to most privileged.
func rank(r catalog.Role) int {
	switch r {
	case catalog.RoleViewer:
		return 1
	case catalog.RoleEditor:
		return 2
	case catalog.RoleAdmin:
		return 3
	}
	return 0
}

// ParseRole returns the role named s, or an error naming the roles there
// are.
func ParseRole(s string) (catalog.Role, error) {
	r := catalog.Role(s)
	if rank(r) == 0 {
		return "", fmt.Errorf("unknown role %q (want viewer, editor or admin): %w", s, catalog.ErrInvalid)
	}
	return r, nil
}

// For returns the role of a person in groups.
func (m Roles) For(groups []string) catalog.Role {
	role := m.Default
	if rank(role) == 0 {
		role = catalog.RoleViewer
	}
	for _, g := range groups {
		if r, ok := m.Groups[g]; ok && rank(r) > rank(role) {
			role = r
		}
	}
	return role
}
