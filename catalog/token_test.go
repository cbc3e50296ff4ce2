package catalog_test

import (
	"errors"
	"testing"

	"almanac/catalog"
)

// TestTokenScopesBoundRights checks that a token acts with at most its
// scopes within its owner's role, for edits and for posting lineage, and
// that a session (no scopes) has every right of its role.
func TestTokenScopesBoundRights(t *testing.T) {
	d := catalog.Dataset{Key: catalog.Key{Namespace: "postgres://db:5432", Name: "w.public.orders"}}
	d.Owners = []catalog.Sourced[catalog.Owner]{{Value: catalog.Owner{Name: "olga@corp", Kind: catalog.OwnerUser}}}
	scopes := func(s ...catalog.TokenScope) []catalog.TokenScope { return s }
	for _, tc := range []struct {
		name          string
		p             catalog.Principal
		edit, lineage error
	}{
		{"anonymous", catalog.Principal{}, catalog.ErrUnauthenticated, catalog.ErrUnauthenticated},
		{"editor session", catalog.Principal{Login: "alice", Role: catalog.RoleEditor}, nil, nil},
		{"viewer session", catalog.Principal{Login: "vic", Role: catalog.RoleViewer}, catalog.ErrForbidden, catalog.ErrForbidden},
		{"editor read token", catalog.Principal{Login: "alice", Role: catalog.RoleEditor, Scopes: scopes(catalog.ScopeRead)}, catalog.ErrForbidden, catalog.ErrForbidden},
		{"editor write token", catalog.Principal{Login: "alice", Role: catalog.RoleEditor, Scopes: scopes(catalog.ScopeWrite)}, nil, catalog.ErrForbidden},
		{"viewer write token", catalog.Principal{Login: "vic", Role: catalog.RoleViewer, Scopes: scopes(catalog.ScopeWrite)}, catalog.ErrForbidden, catalog.ErrForbidden},
		{"owner's write token", catalog.Principal{Login: "olga@corp", Role: catalog.RoleViewer, Scopes: scopes(catalog.ScopeWrite)}, nil, catalog.ErrForbidden},
		{"owner's read token", catalog.Principal{Login: "olga@corp", Role: catalog.RoleViewer, Scopes: scopes(catalog.ScopeRead)}, catalog.ErrForbidden, catalog.ErrForbidden},
		{"service lineage token", catalog.APIToken{Name: "airflow", Role: catalog.RoleEditor, Scopes: scopes(catalog.ScopeLineageWrite)}.Principal(), catalog.ErrForbidden, nil},
		{"admin lineage+write token", catalog.Principal{Login: "root", Role: catalog.RoleAdmin, Scopes: scopes(catalog.ScopeWrite, catalog.ScopeLineageWrite)}, nil, nil},
	} {
		if err := catalog.AuthorizeEdit(tc.p, d); !errors.Is(err, tc.edit) || (tc.edit == nil) != (err == nil) {
			t.Errorf("%s editing: %v, want %v", tc.name, err, tc.edit)
		}
		if got := catalog.CanEdit(tc.p, d); got != (tc.edit == nil) {
			t.Errorf("%s: CanEdit %v, AuthorizeEdit says %v", tc.name, got, tc.edit)
		}
		if err := catalog.AuthorizeLineageWrite(tc.p); !errors.Is(err, tc.lineage) || (tc.lineage == nil) != (err == nil) {
			t.Errorf("%s posting lineage: %v, want %v", tc.name, err, tc.lineage)
		}
	}
	p := catalog.Principal{Login: "alice", Role: catalog.RoleEditor, Scopes: scopes(catalog.ScopeWrite)}
	if !p.HasScope(catalog.ScopeRead) {
		t.Error("a write token cannot read")
	}
	if (catalog.Principal{Scopes: scopes(catalog.ScopeLineageWrite)}).HasScope(catalog.ScopeRead) {
		t.Error("a lineage:write token can read")
	}
}
