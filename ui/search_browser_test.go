package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"almanac/ui/browsertest"
)

// TestSearchKeyboard searches with the keyboard alone, as a screen reader
// user would: Tab to the search box, type, Down through the suggestions
// (the box keeps the focus and names the option chosen through
// aria-activedescendant), Escape, Enter on a suggestion to land on the
// dataset's page; then a misspelt search whose "did you mean" link is
// reached with Tab and followed with Enter. axe-core checks the page with
// the list open.
func TestSearchKeyboard(t *testing.T) {
	axe := axeSource(t)
	ts, _ := newA11yPortal(t)
	tab := browsertest.New(t, 1280, 900, 90*time.Second)
	str := func(js string) string {
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
		t.Fatalf("%s: not so after 10s (%v); at %s, focus on %s", what, last, str(`location.href`), str(`document.activeElement.outerHTML.slice(0, 200)`))
	}
	// tabTo presses Tab until the element js finds has the focus.
	tabTo := func(what, js string) {
		t.Helper()
		for range 40 {
			if browsertest.Run(tab, "read the focus", chromedp.Evaluate[bool]("document.activeElement === ("+js+")")) {
				return
			}
			tab.Do("press Tab", chromedp.KeyEvent("\t"))
		}
		t.Fatalf("Tab never reached %s; focus on %s", what, str(`document.activeElement.outerHTML.slice(0, 200)`))
	}
	box := `document.getElementById("search-q")`
	attr := func(name string) string {
		t.Helper()
		return str(box + `.getAttribute("` + name + `") ?? "(none)"`)
	}

	tab.Do("open the home page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("#main")))
	// The script makes the plain box a combobox, collapsed.
	for name, want := range map[string]string{
		"role": "combobox", "aria-autocomplete": "list", "aria-controls": "search-suggestions", "aria-expanded": "false",
		"aria-activedescendant": "(none)", "list": "(none)",
	} {
		if got := attr(name); got != want {
			t.Errorf("search box %s=%q, want %q", name, got, want)
		}
	}
	if got := str(`document.getElementById("search-suggestions")?.getAttribute("role") ?? "(none)"`); got != "listbox" {
		t.Errorf("suggestions role=%q, want listbox", got)
	}

	tabTo("the search box", box)
	tab.Do("type a name", chromedp.KeyEvent("fct_ord"))
	waitFor("see suggestions", box+`.getAttribute("aria-expanded") === "true" && document.querySelectorAll("#search-suggestions [role=option]").length > 0`)
	if got := str(`[...document.querySelectorAll("#search-suggestions [role=option]")].map(o => o.querySelector(".suggestion-name").textContent + " " + o.getAttribute("aria-selected")).join("; ")`); !strings.HasPrefix(got, "warehouse.marts.fct_orders false") {
		t.Errorf("suggestions: %q, want warehouse.marts.fct_orders first, none selected", got)
	}
	if got := str(`document.querySelector("#search-suggestions ~ [role=status]")?.textContent ?? ""`); !strings.Contains(got, "suggestion") {
		t.Errorf("status says %q, want how many suggestions", got)
	}
	if !browsertest.Run(tab, "check the list shows", chromedp.Evaluate[bool](`document.getElementById("search-suggestions").getBoundingClientRect().height > 10`)) {
		t.Error("the suggestions list is not visible")
	}
	for _, v := range runAxe(t, tab, axe) {
		t.Errorf("axe-core, suggestions open: %s", v)
	}

	// Down chooses the first; the focus stays in the box.
	tab.Do("press Down", chromedp.KeyEvent(kb.ArrowDown))
	first := str(`document.querySelector("#search-suggestions [role=option]").id`)
	if got := attr("aria-activedescendant"); got != first || first == "" {
		t.Errorf("after Down, aria-activedescendant=%q, want the first option %q", got, first)
	}
	if got := str(`document.getElementById("` + first + `").getAttribute("aria-selected")`); got != "true" {
		t.Errorf("after Down, the first option aria-selected=%q", got)
	}
	if got := str(`document.activeElement.id`); got != "search-q" {
		t.Errorf("after Down, the focus is on %q, want the box", got)
	}
	// Up from the first wraps to the last; Down again wraps to the first.
	tab.Do("press Up", chromedp.KeyEvent(kb.ArrowUp))
	last := str(`[...document.querySelectorAll("#search-suggestions [role=option]")].pop().id`)
	if got := attr("aria-activedescendant"); got != last {
		t.Errorf("after Up, aria-activedescendant=%q, want the last option %q", got, last)
	}
	tab.Do("press Down", chromedp.KeyEvent(kb.ArrowDown))
	if got := attr("aria-activedescendant"); got != first {
		t.Errorf("after Up, Down, aria-activedescendant=%q, want %q", got, first)
	}
	// Escape closes the list and keeps what was typed.
	tab.Do("press Escape", chromedp.KeyEvent(kb.Escape))
	if got := attr("aria-expanded") + " " + attr("aria-activedescendant") + " " + str(box+".value"); got != "false (none) fct_ord" {
		t.Errorf("after Escape: expanded, active, value = %q, want false (none) fct_ord", got)
	}
	if !browsertest.Run(tab, "check the list hides", chromedp.Evaluate[bool](`document.getElementById("search-suggestions").hidden`)) {
		t.Error("Escape left the list shown")
	}
	// Down opens it again on the first; Enter lands on its page.
	tab.Do("press Down", chromedp.KeyEvent(kb.ArrowDown))
	if got := attr("aria-expanded") + " " + attr("aria-activedescendant"); got != "true "+first {
		t.Errorf("Down after Escape: expanded, active = %q, want true %s", got, first)
	}
	tab.Do("press Enter", chromedp.KeyEvent(kb.Enter))
	waitFor("land on the dataset page", `location.pathname === `+jsString(datasetPath(fctOrders))+` && document.querySelector("h1.dataset-title")`)
	if got := str(`document.querySelector("h1.dataset-title").textContent`); got != fctOrders.Name {
		t.Errorf("landed on %q, want %s", got, fctOrders.Name)
	}

	// A job's name: the job is suggested after the datasets, marked as
	// a job, and Enter on it opens the job's page.
	tab.Do("go home", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("#main")))
	tabTo("the search box", box)
	tab.Do("type a job's name", chromedp.KeyEvent("transform_ord"))
	waitFor("see the job suggested", box+`.getAttribute("aria-expanded") === "true" && [...document.querySelectorAll("#search-suggestions [role=option]")].some(o => o.textContent.includes("orders_daily.transform_orders"))`)
	options := str(`[...document.querySelectorAll("#search-suggestions [role=option]")].map(o => o.querySelector(".suggestion-name").textContent + " (" + o.querySelector(".suggestion-detail").textContent + ")").join("; ")`)
	if !strings.HasSuffix(options, "orders_daily.transform_orders (job · airflow://prod)") {
		t.Errorf("suggestions: %q, want the job last, marked as a job", options)
	}
	tab.Do("press Up", chromedp.KeyEvent(kb.ArrowUp)) // the last: the job
	tab.Do("press Enter", chromedp.KeyEvent(kb.Enter))
	waitFor("land on the job page", `location.pathname === `+jsString(jobPath(airflowTask))+` && document.querySelector("h1.job-name")`)

	// A misspelt search, typed and sent with Enter: the page offers
	// the correction, reached with Tab and followed with Enter.
	tab.Do("go home", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("#main")))
	tabTo("the search box", box)
	tab.Do("search for a misspelling", chromedp.KeyEvent("custmer"), chromedp.KeyEvent(kb.Enter))
	waitFor("see the search page", `location.pathname === "/search" && document.querySelector(".did-you-mean a")`)
	tabTo("the did-you-mean link", `document.querySelector(".did-you-mean a")`)
	tab.Do("follow it", chromedp.KeyEvent(kb.Enter))
	waitFor("see the corrected search", `location.search === "?q=customer" && document.querySelector(".search-results")`)
	if got := str(box + `.value`); got != "customer" {
		t.Errorf("the corrected search shows %q in the box", got)
	}
	if errs := unexpectedErrors(tab); len(errs) > 0 {
		t.Errorf("script errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}

// jsString quotes s for a script.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
