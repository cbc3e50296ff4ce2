package auth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIdentityFromClaims reads who signed in from the claims configured,
// never trusting an address the provider marks unverified.
func TestIdentityFromClaims(t *testing.T) {
	o := &OIDC{cfg: OIDCConfig{EmailClaim: "email", NameClaim: "name", GroupsClaim: "groups"}}
	entra := &OIDC{cfg: OIDCConfig{EmailClaim: "upn", NameClaim: "name", GroupsClaim: "roles"}}
	for _, tc := range []struct {
		name   string
		o      *OIDC
		claims map[string]any
		want   Identity
	}{
		{"full", o, map[string]any{"email": "alice@corp", "name": "Alice M", "groups": []any{"a", "b", 3, ""}},
			Identity{Subject: "s", Login: "alice@corp", Email: "alice@corp", Name: "Alice M", Groups: []string{"a", "b"}}},
		{"unverified email", o, map[string]any{"email": "ceo@corp", "email_verified": false, "preferred_username": "mallory"},
			Identity{Subject: "s", Login: "mallory", Name: "mallory"}},
		{"subject only", o, map[string]any{}, Identity{Subject: "s", Login: "s"}},
		{"one group as a string", o, map[string]any{"email": "a@corp", "groups": "admins"},
			Identity{Subject: "s", Login: "a@corp", Email: "a@corp", Name: "", Groups: []string{"admins"}}},
		{"claims configured", entra, map[string]any{"upn": "bob@corp", "email": "other@corp", "name": "Bob", "roles": []any{"Catalog.Admin"}},
			Identity{Subject: "s", Login: "bob@corp", Email: "bob@corp", Name: "Bob", Groups: []string{"Catalog.Admin"}}},
	} {
		if diff := cmp.Diff(tc.want, tc.o.identity("s", tc.claims)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestEndSessionURL(t *testing.T) {
	o := &OIDC{cfg: OIDCConfig{ClientID: "almanac"}}
	if got := o.EndSessionURL("https://almanac.example.com/"); got != "" {
		t.Errorf("no end_session_endpoint: %q, want none", got)
	}
	o.endSession = "https://idp.example/logout?x=1"
	if got, want := o.EndSessionURL("https://almanac.example.com/"), "https://idp.example/logout?client_id=almanac&post_logout_redirect_uri=https%3A%2F%2Falmanac.example.com%2F&x=1"; got != want {
		t.Errorf("EndSessionURL = %q, want %q", got, want)
	}
}
