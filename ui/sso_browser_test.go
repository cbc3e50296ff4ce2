package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"almanac/ui/browsertest"
)

// TestSignInInBrowser signs in through a real OIDC provider (mockoidc,
// which signs the queued user in without a form) in headless Chromium:
// the page shows the person's name, they edit a description, a column's
// description and the owners, sign out with the header's button, and are
// a read-only reader again, with a sign-in link and no edit forms.
func TestSignInInBrowser(t *testing.T) {
	site := newSSOSite(t, ssoOptions{anonymousRead: true})
	site.idp.QueueUser(person("alice@corp", "catalog-editors"))
	tab := browsertest.New(t, 1280, 1000, 60*time.Second)
	text := func(js string) string {
		t.Helper()
		return browsertest.Run(tab, "read "+js, chromedp.Evaluate[string](js))
	}
	waitFor := func(what, js string) {
		t.Helper()
		var last error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			ok, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool]("!!("+js+")"))
			if err == nil && ok {
				return
			}
			last = err
		}
		t.Fatalf("%s: not so after 10s (%v)", what, last)
	}
	page := site.url() + datasetPath(fctOrders)

	tab.Do("open the dataset page, anonymous", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("a.sign-in")))
	if n := browsertest.Run(tab, "count forms", chromedp.Evaluate[int](`document.querySelectorAll(".edit-form").length`)); n != 0 {
		t.Fatalf("anonymous reader sees %d edit forms", n)
	}
	tab.Do("sign in", chromedp.Click(chromedp.CSS("a.sign-in")))
	waitFor("come back signed in", `document.querySelector(".user-name")?.textContent === "alice"`)
	if loc := browsertest.Run(tab, "read the address", chromedp.Location()); loc != page {
		t.Errorf("after sign-in at %q, want back at %q", loc, page)
	}
	if got := text(`document.querySelector(".user-role").textContent`); got != "editor" {
		t.Errorf("role badge %q, want editor", got)
	}

	desc := chromedp.CSS("#description textarea[name=description]")
	tab.Do("write a description",
		chromedp.Click(chromedp.CSS("#description details.edit > summary")),
		chromedp.WaitVisible(desc),
		chromedp.Clear(desc),
		chromedp.SendKeys(desc, "Orders, **signed** in."),
		chromedp.Click(chromedp.CSS(`#description button[value="save"]`)),
	)
	waitFor("see the saved description", `document.querySelector("#description > .markdown strong")?.textContent === "signed"`)
	if got := text(`document.querySelector("#description > .provenance").textContent`); !strings.Contains(got, "alice@corp") {
		t.Errorf("description provenance %q, want it by alice@corp", got)
	}

	col := chromedp.CSS("#col-amount textarea[name=description]")
	tab.Do("describe the amount column",
		chromedp.Click(chromedp.CSS("#col-amount details.edit > summary")),
		chromedp.WaitVisible(col),
		chromedp.Clear(col),
		chromedp.SendKeys(col, "Total, _tax included_."),
		chromedp.Click(chromedp.CSS(`#col-amount button[value="save"]`)),
	)
	waitFor("see the column's description", `document.querySelector("#col-amount .markdown em")?.textContent === "tax included"`)

	tab.Do("add an owner",
		chromedp.Click(chromedp.CSS("#owners details.edit > summary")),
		chromedp.WaitVisible(chromedp.CSS("#owners input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("#owners input[name=name]"), "payments"),
		chromedp.SetValue(chromedp.CSS("#owners select[name=kind]"), "team"),
		chromedp.Click(chromedp.CSS("#owners details.edit button[type=submit]")),
	)
	waitFor("see the owner", `[...document.querySelectorAll("#owners .owner")].some(e => e.textContent === "payments")`)

	tab.Do("sign out", chromedp.Click(chromedp.CSS("form.sign-out button")))
	waitFor("be signed out", `!!document.querySelector("a.sign-in") && !document.querySelector(".user-name")`)
	tab.Do("open the dataset page again", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#description")))
	if n := browsertest.Run(tab, "count forms", chromedp.Evaluate[int](`document.querySelectorAll(".edit-form").length`)); n != 0 {
		t.Errorf("after signing out the page has %d edit forms", n)
	}
	if got := text(`document.querySelector("#description > .markdown strong")?.textContent ?? ""`); got != "signed" {
		t.Errorf("description after signing out %q, want the edit kept", got)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the browser reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
