package catalog_test

import (
	"errors"
	"testing"

	"almanac/catalog"
)

// TestAuthorizeFollow: people follow, whatever their role; anonymous
// readers, service tokens and read-only tokens do not.
func TestAuthorizeFollow(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    catalog.Principal
		want error
	}{
		{"viewer", catalog.Principal{Login: "vic@corp", Role: catalog.RoleViewer}, nil},
		{"write token", catalog.Principal{Login: "vic@corp", Role: catalog.RoleViewer, Scopes: []catalog.TokenScope{catalog.ScopeWrite}}, nil},
		{"anonymous", catalog.Principal{}, catalog.ErrUnauthenticated},
		{"read token", catalog.Principal{Login: "vic@corp", Role: catalog.RoleEditor, Scopes: []catalog.TokenScope{catalog.ScopeRead}}, catalog.ErrForbidden},
		{"service token", catalog.Principal{Login: catalog.ServiceTokenPrefix + "airflow", Role: catalog.RoleEditor, Scopes: []catalog.TokenScope{catalog.ScopeWrite}}, catalog.ErrForbidden},
	} {
		if err := catalog.AuthorizeFollow(tc.p); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
