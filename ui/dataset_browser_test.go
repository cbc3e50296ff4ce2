package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"almanac/ui/browsertest"
)

// TestDatasetSectionsInBrowser opens the orders page with the keyboard
// alone: the table of contents comes before the sections, each of its
// links, followed with Enter, scrolls its section to the top of the
// window; a folded part opens with Enter on its summary. At 375 px the
// contents wrap rather than widen the page.
func TestDatasetSectionsInBrowser(t *testing.T) {
	ts, _ := newA11yPortal(t)
	tab := browsertest.New(t, 1280, 800, 90*time.Second)
	str := func(js string) string {
		t.Helper()
		return browsertest.Run(tab, "read "+js, chromedp.Evaluate[string](js))
	}
	tabTo := func(what, js string) {
		t.Helper()
		for range 80 {
			if browsertest.Run(tab, "read the focus", chromedp.Evaluate[bool]("document.activeElement === ("+js+")")) {
				return
			}
			tab.Do("press Tab", chromedp.KeyEvent("\t"))
		}
		t.Fatalf("Tab never reached %s; focus on %s", what, str(`document.activeElement.outerHTML.slice(0, 200)`))
	}
	tab.Do("open the dataset page", chromedp.Navigate(ts.URL+datasetPath(fctOrders)), chromedp.WaitReady(chromedp.CSS("#main")))
	links := str(`[...document.querySelectorAll(".section-nav a")].map(a => a.getAttribute("href")).join(" ")`)
	if links != "#columns #lineage #quality #slos #history #runs #usage" {
		t.Fatalf("contents link to %q", links)
	}
	for _, id := range strings.Fields(links) {
		tab.Do("go to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		tabTo("the link to "+id, `document.querySelector('.section-nav a[href="`+id+`"]')`)
		tab.Do("follow it", chromedp.KeyEvent(kb.Enter))
		got := str(`(() => {
			const s = document.querySelector("` + id + `");
			if (!s) return "no section";
			const top = s.getBoundingClientRect().top;
			const atEnd = Math.ceil(window.scrollY + window.innerHeight) >= document.documentElement.scrollHeight;
			return location.hash + (top >= -2 && (top < 40 || atEnd) ? " at the top" : " at " + Math.round(top) + " px");
		})()`)
		if got != id+" at the top" {
			t.Errorf("after Enter on %s: %s", id, got)
		}
	}
	// The older schema versions are folded; Enter on the summary opens them.
	tab.Do("go to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	if str(`String(!!document.querySelector("#history details.fold"))`) == "true" {
		tabTo("the older versions", `document.querySelector("#history details.fold > summary")`)
		tab.Do("open them", chromedp.KeyEvent(kb.Enter))
		if str(`String(document.querySelector("#history details.fold").open)`) != "true" {
			t.Error("Enter on the summary left the older versions folded")
		}
	}
	// The view SQL and the properties start folded.
	if got := str(`[...document.querySelectorAll("#definition-heading ~ details, #properties-heading ~ details")].map(d => d.open).join(" ")`); strings.Contains(got, "true") {
		t.Errorf("folded parts open: %s", got)
	}
	tab.Do("narrow the window", chromedp.EmulateViewport(375, 800), chromedp.Navigate(ts.URL+datasetPath(fctOrders)), chromedp.WaitReady(chromedp.CSS("#main")))
	if got := str(`String(document.querySelector(".section-nav").getBoundingClientRect().right <= document.documentElement.clientWidth + 1)`); got != "true" {
		t.Error("at 375 px the contents stick out of the page")
	}
	if errs := unexpectedErrors(tab); len(errs) > 0 {
		t.Errorf("script errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}
