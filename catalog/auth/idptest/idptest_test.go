package idptest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"almanac/catalog/auth/idptest"
)

// TestProviderServesDiscovery checks that the provider starts and
// describes itself under its issuer, with the endpoints a client needs.
func TestProviderServesDiscovery(t *testing.T) {
	p := idptest.Start(t, []idptest.User{{Username: "ada", Password: "pw", Email: "ada@example.com"}},
		"http://127.0.0.1:1/auth/callback")
	res, err := http.Get(p.Issuer + ".well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		EndSessionEndpoint    string   `json:"end_session_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != p.Issuer || doc.AuthorizationEndpoint == "" || doc.TokenEndpoint == "" || doc.JWKSURI == "" {
		t.Fatalf("discovery document: %+v", doc)
	}
	t.Logf("end_session_endpoint %q, PKCE methods %v", doc.EndSessionEndpoint, doc.CodeChallengeMethods)
}
