package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"almanac/catalog"
)

func TestRolesFor(t *testing.T) {
	m := Roles{Default: catalog.RoleViewer, Groups: map[string]catalog.Role{
		"catalog-editors": catalog.RoleEditor, "catalog-admins": catalog.RoleAdmin, "readers": catalog.RoleViewer,
	}}
	for _, tc := range []struct {
		groups []string
		want   catalog.Role
	}{
		{nil, catalog.RoleViewer},
		{[]string{"marketing"}, catalog.RoleViewer},
		{[]string{"catalog-editors"}, catalog.RoleEditor},
		{[]string{"catalog-admins", "catalog-editors"}, catalog.RoleAdmin},
		{[]string{"catalog-editors", "catalog-admins"}, catalog.RoleAdmin},
		{[]string{"Catalog-Admins"}, catalog.RoleViewer}, // group names match exactly
	} {
		if got := m.For(tc.groups); got != tc.want {
			t.Errorf("For(%v) = %s, want %s", tc.groups, got, tc.want)
		}
	}
	// A default higher than a mapped group's role stays: mapping only raises.
	if got := (Roles{Default: catalog.RoleEditor, Groups: map[string]catalog.Role{"readers": catalog.RoleViewer}}).For([]string{"readers"}); got != catalog.RoleEditor {
		t.Errorf("editor default with a viewer group = %s, want editor", got)
	}
	if got := (Roles{}).For(nil); got != catalog.RoleViewer {
		t.Errorf("no default = %s, want viewer", got)
	}
}

func TestSecureURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://almanac.example.com/auth/callback": true,
		"http://127.0.0.1:8080/auth/callback":       false,
		"http://localhost:8080/auth/callback":       false,
		"http://[::1]:8080/auth/callback":           false,
		"http://almanac.internal/auth/callback":     true,
		"https://localhost/auth/callback":           true,
	} {
		if got := SecureURL(u); got != want {
			t.Errorf("SecureURL(%s) = %v, want %v", u, got, want)
		}
	}
}

func TestChain(t *testing.T) {
	a := func(login string) Authenticator {
		return func(*http.Request) (catalog.Principal, bool) {
			return catalog.Principal{Login: login}, login != ""
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	if p, ok := Chain(nil, a(""), a("bob"), a("carol"))(r); !ok || p.Login != "bob" {
		t.Errorf("Chain = %+v %v, want bob", p, ok)
	}
	if _, ok := Chain(nil, a(""))(r); ok {
		t.Error("Chain of nobody found someone")
	}
}
