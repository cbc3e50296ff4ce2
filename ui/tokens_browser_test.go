package ui

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/ui/browsertest"
)

// TestTokensInBrowser creates a token on /account/tokens in headless
// Chromium, reads its secret once, finds it works as a Bearer token, and
// revokes it with the page's button, with no script error or
// Content-Security-Policy violation on the way.
func TestTokensInBrowser(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: auth.Chain(tokens.Authenticate, auth.Dev("alice@corp")), Tokens: tokens,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = time.Now
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	status := func(secret string) int {
		req, _ := http.NewRequest("GET", ts.URL+datasetPath(fctOrders), nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	tab := browsertest.New(t, 1280, 1000, 60*time.Second)
	tab.Do("create a token",
		chromedp.Navigate(ts.URL+accountTokensPath),
		chromedp.WaitVisible(chromedp.CSS(`form.token-form input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`form.token-form input[name=name]`), "notebook"),
		chromedp.Click(chromedp.CSS(`form.token-form input[value="read"]`)),
		chromedp.Click(chromedp.CSS(`form.token-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.token-created input.token-secret`)),
	)
	secret := browsertest.Run(tab, "read the secret", chromedp.Evaluate[string](`document.querySelector(".token-created input.token-secret").value`))
	if !secretRE.MatchString(secret) {
		t.Fatalf("secret shown: %q", secret)
	}
	if code := status(secret); code != http.StatusOK {
		t.Errorf("the new token on a page: %d, want 200", code)
	}
	tab.Do("list the tokens again",
		chromedp.Navigate(ts.URL+accountTokensPath),
		chromedp.WaitVisible(chromedp.CSS(`.token-table`)),
	)
	if html := browsertest.Run(tab, "read the page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secret) || !strings.Contains(html, "notebook") {
		t.Errorf("the list shows the secret, or not the token")
	}
	tab.Do("revoke it",
		chromedp.Click(chromedp.CSS(`.token-table button[aria-label="Revoke notebook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.token-table`)),
	)
	var revoked bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !revoked; time.Sleep(50 * time.Millisecond) {
		revoked, _ = chromedp.Run[bool](tab.Context(), chromedp.Evaluate[bool](`document.body.textContent.includes("revoked by alice@corp")`))
	}
	if !revoked {
		t.Error("the page does not show the token revoked")
	}
	if code := status(secret); code != http.StatusUnauthorized {
		t.Errorf("the revoked token on a page: %d, want 401", code)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("script errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}
