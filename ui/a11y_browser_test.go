package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/search"
	"almanac/ui/browsertest"
)

// axeDir holds the package.json and package-lock.json that pin axe-core.
const axeDir = "testdata/axe"

// axeSource returns axe-core's axe.min.js, installed with `npm ci` from
// testdata/axe's lock file into a cache folder named by the lock file's
// hash, once per version. Without npm the test is skipped, except in CI,
// where it fails: an accessibility check CI never runs checks nothing.
func axeSource(t *testing.T) string {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(axeDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(axeDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(append(manifest, lock...))
	dir := filepath.Join(cache, "almanac", "axe-"+hex.EncodeToString(sum[:6]))
	js := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if b, err := os.ReadFile(js); err == nil {
		return string(b)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		msg := "npm is needed to install axe-core (" + axeDir + "/package-lock.json) and was not found on PATH; on Debian: apt-get install npm"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " — CI is set, so the accessibility test fails rather than skip")
		}
		t.Skip(msg)
	}
	// Install beside the final folder and rename, so that a failed or
	// concurrent install never leaves a half-filled cache.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "axe-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"package.json": manifest, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci for axe-core (from %s) in %s: %v\n%s", axeDir, tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(js); statErr != nil { // another test run won the race otherwise
			t.Fatalf("keep axe-core in %s: %v", dir, err)
		}
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatalf("axe-core installed, yet: %v", err)
	}
	return string(b)
}

// screenshotDir is where the browser tests keep their screenshots:
// $ALMANAC_SCREENSHOTS (for CI to keep as artifacts), else a temporary
// folder of the test.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("ALMANAC_SCREENSHOTS"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// a11yPage is a page of each type the portal has.
type a11yPage struct {
	name, path string
	error      bool // the page is an error page on purpose
}

// newA11yPortal serves the fixture catalog with search, lineage, quality
// and SLOs, Airflow jobs and runs, tokens and GraphQL, to an admin, and returns one page of each
// type.
func newA11yPortal(t *testing.T) (*httptest.Server, []a11yPage) {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	addTeamData(t, pool)
	st := store.New(pool)
	g := lineageFixture(t, pool)
	slos := addQuality(t, st)
	pushAirflowFixture(t, st)
	x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), st, search.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	admin := func(*http.Request) (catalog.Principal, bool) {
		return catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin}, true
	}
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Search: x, Lineage: g, SLOs: slos, Tokens: tokens, GraphQL: graph.NewHandler(graph.Options{}),
		Authenticate: admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = time.Now // the database checks a token's expiry on its own clock
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := &portal{ts: ts}
	// An edit, for the audit page and the dataset's history to show.
	if r := p.postForm(t, editPath("description", fctOrders), map[string][]string{"description": {"Orders, **one row** each."}}); r.status != 303 {
		t.Fatalf("edit a description: %d\n%s", r.status, r.body)
	}
	if r := p.postForm(t, accountTokensPath, map[string][]string{"name": {"notebook"}, "scope": {"read"}, "days": {"90"}}); r.status >= 400 {
		t.Fatalf("create a token: %d\n%s", r.status, r.body)
	}
	s.now = func() time.Time { return now }
	var run int64
	if err := pool.QueryRow(t.Context(), `SELECT min(id) FROM crawl_runs`).Scan(&run); err != nil {
		t.Fatal(err)
	}
	return ts, []a11yPage{
		{"home", "/", false},
		{"search", "/search?q=orders", false},
		{"dataset", datasetPath(fctOrders), false},
		{"lineage", lineagePath(fctOrders) + "?columns=1", false},
		{"impact", impactPath(rawEvents), false},
		{"sources", "/sources", false},
		{"run", fmt.Sprintf("/runs/%d", run), false},
		{"history", historyPath(fctOrders), false},
		{"jobs", "/jobs", false},
		{"job", jobPath(airflowTask), false},
		{"runs", "/runs", false},
		{"job-run", "/runs/" + lateTaskRun, false},
		{"failed-job-run", "/runs/" + failedTaskRun, false},
		{"audit", "/admin/audit", false},
		{"account", "/account", false},
		{"tokens", accountTokensPath, false},
		{"admin-tokens", adminTokensPath, false},
		{"teams", "/teams", false},
		{"team", teamPath("data-platform"), false},
		{"team-status", teamPath("data-platform") + "/status", false},
		{"team-report", teamPath("data-platform") + "/report?period=week", false},
		{"not-found", "/datasets/nowhere/nothing", true},
	}
}

// unexpectedErrors are the tab's errors but the 404 of the page that is
// missing on purpose.
func unexpectedErrors(tab *browsertest.Tab) []string {
	var out []string
	for _, e := range tab.Errors() {
		if !strings.Contains(e, "status of 404") || !strings.Contains(e, "/datasets/nowhere/nothing") {
			out = append(out, e)
		}
	}
	return out
}

// axeViolation is one rule axe-core found broken, with where.
type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v axeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n\t\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, "\n\t\t"))
}

// runAxe injects axe-core into the tab's page with Runtime.evaluate (the
// page's Content-Security-Policy forbids inline scripts, but not the
// DevTools protocol's) and returns the serious and critical violations
// of the rules given, or of every rule when none are.
func runAxe(t *testing.T, tab *browsertest.Tab, axe string, rules ...string) []axeViolation {
	t.Helper()
	if !browsertest.Run(tab, "inject axe-core", chromedp.Evaluate[bool](axe+"\n;typeof window.axe === 'object'")) {
		t.Fatal("axe-core did not load into the page")
	}
	opts := `{resultTypes: ["violations"]}`
	if len(rules) > 0 {
		b, _ := json.Marshal(rules)
		opts = `{resultTypes: ["violations"], runOnly: {type: "rule", values: ` + string(b) + `}}`
	}
	return browsertest.Run(tab, "run axe-core", chromedp.Evaluate[[]axeViolation](`axe.run(document, `+opts+`).then(r => r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " "))})))`,
		chromedp.EvalAwaitPromise))
}

// emulateDark makes the tab's pages see prefers-color-scheme: dark, or
// the default again.
func emulateDark(dark bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if dark {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
		}
		_, err := cdp.Call(ctx, target, emulation.SetEmulatedMedia, p)
		return err
	})
}

// TestPagesOnPhoneAndDesktop opens a page of every type at 1,400 and 375
// pixels wide in Chromium: no page scrolls sideways on the phone (a wide
// table scrolls in its own box), each has a skip link to its main
// content, links to GraphiQL, and axe-core finds no serious or critical
// violation. Screenshots of each are kept (see screenshotDir).
func TestPagesOnPhoneAndDesktop(t *testing.T) {
	axe := axeSource(t)
	ts, pages := newA11yPortal(t)
	shots := screenshotDir(t)
	tab := browsertest.New(t, 1400, 900, 240*time.Second)
	for _, width := range []int64{1400, 375} {
		tab.Do("set the width", chromedp.EmulateViewport(width, 800))
		for _, pg := range pages {
			where := fmt.Sprintf("%s (%s) at %d px", pg.name, pg.path, width)
			tab.Do("open "+where, chromedp.Navigate(ts.URL+pg.path), chromedp.WaitReady(chromedp.CSS("#main")))
			if status := browsertest.Run(tab, "read the title", chromedp.Evaluate[string](`document.title`)); (strings.HasPrefix(status, "Error") || strings.Contains(strings.ToLower(status), "not found")) != pg.error {
				t.Errorf("%s: title %q, want an error page: %v", where, status, pg.error)
			}
			shot := browsertest.Run(tab, "screenshot "+where, chromedp.FullScreenshot(80))
			if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.jpg", pg.name, width)), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			if width < 400 {
				// What sticks out, to name in the failure.
				wide := browsertest.Run(tab, "measure "+where, chromedp.Evaluate[[]string](`(() => {
					const vw = document.documentElement.clientWidth;
					if (document.documentElement.scrollWidth <= vw) return [];
					const out = [document.documentElement.scrollWidth + " px wide, viewport " + vw + " px"];
					for (const e of document.querySelectorAll("body *")) {
						const r = e.getBoundingClientRect();
						let clipped = false;
						for (let p = e.parentElement; p && p !== document.body && !clipped; p = p.parentElement) {
							clipped = getComputedStyle(p).overflowX !== "visible";
						}
						if (r.right > vw + 1 && !clipped && out.length < 12) {
							out.push(e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " right=" + Math.round(r.right));
						}
					}
					return out;
				})()`))
				if len(wide) > 0 {
					t.Errorf("%s scrolls sideways: %s", where, strings.Join(wide, "\n\t"))
				}
			}
			if !browsertest.Run(tab, "find the skip link", chromedp.Evaluate[bool](`(() => {
				const a = document.querySelector("body a");
				return !!a && a.getAttribute("href") === "#main" && document.getElementById("main")?.tagName === "MAIN";
			})()`)) {
				t.Errorf("%s: the first link is not a skip link to <main id=main>", where)
			}
			if !browsertest.Run(tab, "find the GraphiQL link", chromedp.Evaluate[bool](`!!document.querySelector('a[href="/graphql"]')`)) {
				t.Errorf("%s: no link to GraphiQL", where)
			}
			for _, v := range runAxe(t, tab, axe) {
				t.Errorf("%s: axe-core: %s", where, v)
			}
		}
	}
	// The skip link shows when focused, first in the tab order.
	tab.Do("focus the skip link", chromedp.Navigate(ts.URL+"/"), chromedp.KeyEvent("\t"))
	if got := browsertest.Run(tab, "read the focus", chromedp.Evaluate[string](`(() => {
		const a = document.activeElement, r = a.getBoundingClientRect();
		return a.getAttribute("href") + (r.width > 1 && r.height > 1 && r.top >= 0 ? " visible" : " hidden");
	})()`)); got != "#main visible" {
		t.Errorf("the first Tab focuses %q, want the skip link (#main), visible", got)
	}
	if errs := unexpectedErrors(tab); len(errs) > 0 {
		t.Errorf("script errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}

// TestDarkTheme opens every page type with prefers-color-scheme: dark:
// the page's background is dark, and axe-core's color-contrast rule
// passes, on the text and on the inline drawings' labels.
func TestDarkTheme(t *testing.T) {
	axe := axeSource(t)
	ts, pages := newA11yPortal(t)
	shots := screenshotDir(t)
	tab := browsertest.New(t, 1400, 900, 240*time.Second)
	tab.Do("prefer dark", emulateDark(true))
	for _, pg := range pages {
		where := fmt.Sprintf("%s (%s), dark", pg.name, pg.path)
		tab.Do("open "+where, chromedp.Navigate(ts.URL+pg.path), chromedp.WaitReady(chromedp.CSS("#main")))
		shot := browsertest.Run(tab, "screenshot "+where, chromedp.FullScreenshot(80))
		if err := os.WriteFile(filepath.Join(shots, pg.name+"-dark.jpg"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		// The relative luminance of the body's background, 0 black to 1 white.
		lum := browsertest.Run(tab, "measure the background", chromedp.Evaluate[float64](`(() => {
			const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/[\d.]+/g).map(Number)
				.map(c => c / 255).map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
			return 0.2126 * r + 0.7152 * g + 0.0722 * b;
		})()`))
		if lum > 0.05 {
			t.Errorf("%s: body background luminance %.2f, want a dark one (≤ 0.05)", where, lum)
		}
		for _, v := range runAxe(t, tab, axe, "color-contrast") {
			t.Errorf("%s: axe-core: %s", where, v)
		}
	}
	// The lineage drawing is Graphviz's, with black labels on white
	// boxes: its canvas stays light, so that the edges and the labels
	// outside boxes keep their contrast. axe-core does not check SVG text.
	tab.Do("open the lineage drawing", chromedp.Navigate(ts.URL+lineagePath(fctOrders)), chromedp.WaitReady(chromedp.CSS("#lineage-graph svg text")))
	ratio := browsertest.Run(tab, "measure the drawing's contrast", chromedp.Evaluate[float64](`(() => {
		const lum = s => s.match(/[\d.]+/g).slice(0, 3).map(Number).map(c => c / 255)
			.map(c => c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
			.reduce((sum, c, i) => sum + [0.2126, 0.7152, 0.0722][i] * c, 0);
		const text = lum(getComputedStyle(document.querySelector("#lineage-graph svg text")).fill);
		const canvas = lum(getComputedStyle(document.getElementById("lineage-graph")).backgroundColor);
		return (Math.max(text, canvas) + 0.05) / (Math.min(text, canvas) + 0.05);
	})()`))
	if ratio < 4.5 {
		t.Errorf("the lineage drawing's labels have a contrast of %.1f:1 on its canvas, want 4.5:1 or more", ratio)
	}
	if errs := unexpectedErrors(tab); len(errs) > 0 {
		t.Errorf("script errors or CSP violations:\n%s", strings.Join(errs, "\n"))
	}
}
