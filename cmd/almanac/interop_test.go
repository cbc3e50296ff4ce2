package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"almanac/catalog/auth/idptest"
	"almanac/catalog/pgtest"
	"almanac/ui/browsertest"
)

// TestSignInAtAnotherProvider signs in as a new user would: `almanac
// serve` configured as the README shows, against an OpenID provider built
// by other people (zitadel/oidc's example provider, which Almanac's client
// was not written against), through its real login page, in headless
// Chromium. Its ID tokens carry no email or name (only userinfo does), so
// the sign-in also proves the userinfo fallback. Then the person signs
// out, and the next page asks them to sign in again.
func TestSignInAtAnotherProvider(t *testing.T) {
	_, catalogURL := pgtest.NewDB(t)
	addr := freeAddr(t)
	base := "http://" + addr
	idp := idptest.Start(t, []idptest.User{{Username: "grace", Password: "correct horse battery", FirstName: "Grace", LastName: "Hopper", Email: "grace@example.com"}},
		base+"/auth/callback", base+"/")
	cfg := writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\npublic_url: "+base+
		"\nsearch:\n  index_dir: "+filepath.Join(t.TempDir(), "index")+`
auth:
  mode: oidc
  oidc:
    issuer: `+idp.Issuer+`
    client_id: `+idptest.ClientID+`
  roles:
    default: editor
`)
	env := map[string]string{"ALMANAC_AUTH_OIDC_CLIENT_SECRET": idptest.ClientSecret}
	startServe(t, base, cfg, env, nil)

	tab := browsertest.New(t, 1280, 900, 90*time.Second)
	waitFor := func(what, js string) {
		t.Helper()
		var last error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			ok, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool]("!!("+js+")"))
			if err == nil && ok {
				return
			}
			last = err
		}
		href, _ := chromedp.Run(tab.Context(), chromedp.Location())
		text, _ := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
		t.Fatalf("%s: not so after 20s (%v), at %s:\n%s\n%v", what, last, href, text, tab.Errors())
	}
	tab.Do("open the catalog: sent to the provider's login page", chromedp.Navigate(base+"/sources"))
	waitFor("the provider's login form", `document.querySelector("input#username") && document.querySelector("input#password")`)
	if loc := browsertest.Run(tab, "read the address", chromedp.Location()); !strings.HasPrefix(loc, idp.Issuer) {
		t.Fatalf("login page at %s, want the provider's (%s)", loc, idp.Issuer)
	}
	tab.Do("sign in at the provider",
		chromedp.SendKeys(chromedp.CSS("input#username"), "grace"),
		chromedp.SendKeys(chromedp.CSS("input#password"), "correct horse battery"),
		chromedp.Submit(chromedp.CSS("input#password")),
	)
	waitFor("back at the catalog, signed in", `location.pathname === "/sources" && document.querySelector(".user-name")`)
	tab.Do("open the account page", chromedp.Navigate(base+"/account"))
	waitFor("the account page", `document.querySelector(".account-role")`)
	account := browsertest.Run(tab, "read the account page", chromedp.Evaluate[string](`document.querySelector("main").innerText`))
	for _, want := range []string{"grace@example.com", "Grace Hopper", "editor"} {
		if !strings.Contains(account, want) {
			t.Errorf("account page lacks %q (from the provider's userinfo):\n%s", want, account)
		}
	}

	tab.Do("sign out", chromedp.Click(chromedp.CSS("form.sign-out button")))
	// Signed out here and, through RP-initiated logout, at the provider:
	// the next page of the catalog asks for the provider's login again.
	waitFor("signed out", `!document.querySelector(".user-name")`)
	tab.Do("open the catalog again", chromedp.Navigate(base+"/sources"))
	waitFor("the provider's login form again", `document.querySelector("input#username")`)
}
