package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"almanac/catalog/pgtest"
)

// TestServeWithSignIn starts `almanac serve` configured for single
// sign-on as the README shows, with a real OIDC provider (mockoidc): pages
// send the browser to sign in, health probes stay open, GraphQL answers
// 401, and signing in through the provider brings the browser back to the
// page, signed in with the role its groups map to.
func TestServeWithSignIn(t *testing.T) {
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	_, catalogURL := pgtest.NewDB(t)
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\npublic_url: "+base+
		"\nsearch:\n  index_dir: "+filepath.Join(t.TempDir(), "index")+`
auth:
  mode: oidc
  oidc:
    issuer: `+idp.Issuer()+`
    client_id: `+idp.ClientID+`
    scopes: [openid, profile, email, groups]
    claims:
      name: preferred_username
  roles:
    groups:
      catalog-admins: admin
`)
	env := map[string]string{"ALMANAC_AUTH_OIDC_CLIENT_SECRET": idp.ClientSecret}
	startServe(t, base, cfg, env, nil)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/sources": 303, "/healthz": 200, "/metrics": 401, "/graphql?query=%7B__typename%7D": 401} {
		resp, err := noFollow.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("anonymous GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}

	idp.QueueUser(&mockoidc.MockUser{Subject: "1", Email: "ada@corp", EmailVerified: true, PreferredUsername: "ada", Groups: []string{"catalog-admins"}})
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(base + "/account")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/account" {
		t.Fatalf("after sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	for _, want := range []string{`<dd class="account-name">ada</dd>`, `<dd class="account-role">admin</dd>`, `href="/admin/audit"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("account page lacks %q", want)
		}
	}
}
