package ui

import (
	"log/slog"
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

// TestEditInBrowser edits a dataset's page in headless Chromium as an
// editor: the description, previewed in place by the page's script and
// then saved; a column's description; a new owner; and a link, a
// javascript: one refused first. Each save comes
// back to the page showing the edit and who made it, with no script
// error or Content-Security-Policy violation on the way.
func TestEditInBrowser(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	s, err := New(Options{
		Store: store.New(pool), Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: auth.Dev("alice@corp"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = time.Now
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	tab := browsertest.New(t, 1280, 1000, 60*time.Second)
	text := func(js string) string {
		t.Helper()
		return browsertest.Run(tab, "read "+js, chromedp.Evaluate[string](js))
	}
	// waitFor waits until js is true, across the navigation a form's
	// post makes, which ends the page's scripts' context under a poll.
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
	tab.Do("open the dataset page",
		chromedp.Navigate(ts.URL+datasetPath(fctOrders)),
		chromedp.WaitVisible(chromedp.CSS("#description details.edit > summary")),
	)

	// The description: a preview in place, without leaving the page.
	browsertest.Run(tab, "mark the page", chromedp.Evaluate[bool](`window.notReloaded = true`))
	desc := chromedp.CSS("#description textarea[name=description]")
	tab.Do("write a description",
		chromedp.Click(chromedp.CSS("#description details.edit > summary")),
		chromedp.WaitVisible(desc),
		chromedp.Clear(desc),
		chromedp.SendKeys(desc, "**Every** order.\n\n| status | meaning |\n|---|---|\n| placed | new |\n"),
		chromedp.Click(chromedp.CSS(`#description button[value="preview"]`)),
	)
	waitFor("see the preview", `!!document.querySelector("#description .preview-body td")`)
	if got := text(`document.querySelector("#description .preview-body strong").textContent`); got != "Every" {
		t.Errorf("preview shows %q in bold, want Every", got)
	}
	if !browsertest.Run(tab, "check for a reload", chromedp.Evaluate[bool](`window.notReloaded === true`)) {
		t.Error("the preview reloaded the page")
	}
	tab.Do("save the description", chromedp.Click(chromedp.CSS(`#description button[value="save"]`)))
	waitFor("see the saved description", `!window.notReloaded && document.querySelector("#description > .markdown td")?.textContent === "placed"`)
	if got := text(`document.querySelector("#description > .provenance").textContent`); !strings.Contains(got, "Description by alice@corp") {
		t.Errorf("description provenance %q, want it by alice@corp", got)
	}
	if loc := browsertest.Run(tab, "read the address", chromedp.Location()); !strings.HasSuffix(loc, "#description") {
		t.Errorf("address after saving %q, want the page at #description", loc)
	}

	// A column's description.
	col := chromedp.CSS("#col-amount textarea[name=description]")
	tab.Do("describe the amount column",
		chromedp.Click(chromedp.CSS("#col-amount details.edit > summary")),
		chromedp.WaitVisible(col),
		chromedp.Clear(col),
		chromedp.SendKeys(col, "Total, _tax included_."),
		chromedp.Click(chromedp.CSS(`#col-amount button[value="save"]`)),
	)
	waitFor("see the column's description", `document.querySelector("#col-amount .markdown em")?.textContent === "tax included"`)
	if got := text(`document.querySelector("#col-amount .provenance").textContent`); !strings.Contains(got, "by alice@corp") {
		t.Errorf("column description provenance %q, want it by alice@corp", got)
	}

	// An owner.
	tab.Do("add an owner",
		chromedp.Click(chromedp.CSS("#owners details.edit > summary")),
		chromedp.WaitVisible(chromedp.CSS("#owners input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("#owners input[name=name]"), "payments"),
		chromedp.SetValue(chromedp.CSS("#owners select[name=kind]"), "team"),
		chromedp.SendKeys(chromedp.CSS("#owners input[name=type]"), "business"),
		chromedp.Click(chromedp.CSS("#owners details.edit button[type=submit]")),
	)
	waitFor("see the owner", `[...document.querySelectorAll("#owners .owner")].some(e => e.textContent === "payments")`)
	owners := text(`document.querySelector("#owners ul.owners").textContent`)
	if !strings.Contains(owners, "team, business") || !strings.Contains(owners, "user:alice@corp") {
		t.Errorf("owners %q, want payments (team, business) from user:alice@corp", owners)
	}

	// A link: a javascript: one is refused with the form shown again
	// saying why, an https one is listed.
	tab.Do("add a javascript: link",
		chromedp.Click(chromedp.CSS("#links details.edit > summary")),
		chromedp.WaitVisible(chromedp.CSS("#links input[name=title]")),
		chromedp.SendKeys(chromedp.CSS("#links input[name=title]"), "Runbook"),
		chromedp.SendKeys(chromedp.CSS("#links input[name=url]"), "javascript:alert(1)"),
		chromedp.Click(chromedp.CSS("#links details.edit button[type=submit]")),
	)
	waitFor("see the refusal", `document.querySelector("#links .form-error")?.textContent.includes("only http and https")`)
	tab.Do("add an https link",
		chromedp.WaitVisible(chromedp.CSS("#links input[name=url]")),
		chromedp.Clear(chromedp.CSS("#links input[name=url]")),
		chromedp.SendKeys(chromedp.CSS("#links input[name=url]"), "https://wiki.example.com/runbooks/orders"),
		chromedp.Click(chromedp.CSS("#links details.edit button[type=submit]")),
	)
	waitFor("see the link", `document.querySelector("#links ul.external-links a")?.getAttribute("href") === "https://wiki.example.com/runbooks/orders"`)
	if got := text(`document.querySelector("#links ul.external-links a").textContent`); got != "Runbook" {
		t.Errorf("link title %q, want Runbook", got)
	}

	// Provenance names the editor, and the history lists the edits.
	if got := text(`[...document.querySelectorAll("section[aria-labelledby=provenance-heading] td")].map(e => e.textContent).join(" ")`); !strings.Contains(got, "edited by alice@corp") {
		t.Errorf("provenance %q, want an entry edited by alice@corp", got)
	}
	tab.Do("open the edit history",
		chromedp.Click(chromedp.CSS(`#description > .provenance a`)),
		chromedp.WaitVisible(chromedp.CSS("table.audit-table")),
	)
	if n := browsertest.Run(tab, "count the history", chromedp.Evaluate[int](`document.querySelectorAll("table.audit-table tbody tr").length`)); n != 4 {
		t.Errorf("history lists %d edits, want 4", n)
	}
	var errs []string
	for _, e := range tab.Errors() {
		// The refused link is a page answered 400 on purpose.
		if !strings.Contains(e, "status of 400") || !strings.Contains(e, "/edit/links/") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the browser reported errors:\n%s", strings.Join(errs, "\n"))
	}
}
