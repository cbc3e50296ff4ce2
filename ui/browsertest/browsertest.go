// Package browsertest drives headless Chromium from Go tests, so that the
// portal's pages are tested as a browser runs them: their scripts, the
// Content-Security-Policy, layout.
//
// A test calls New and runs chromedp actions on the tab it returns. Where
// no Chromium is installed the test is skipped, except in CI (the
// environment variable CI is set), where it fails: a browser test that CI
// never runs cannot catch anything.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// candidates are where Debian and other systems put Chromium.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path returns the Chromium binary: $ALMANAC_CHROMIUM, else the first of
// chromium, chromium-browser and google-chrome on PATH. When there is none
// it skips t, or fails it in CI.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ALMANAC_CHROMIUM"); p != "" {
		return p
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	msg := "no Chromium found (looked for " + strings.Join(candidates, ", ") + " on PATH, and $ALMANAC_CHROMIUM); on Debian: apt-get install chromium"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI is set, so the browser test fails rather than skip")
	}
	t.Skip(msg)
	return ""
}

// Tab is one page of a headless Chromium that a test drives.
type Tab struct {
	t   testing.TB
	ctx context.Context

	mu   sync.Mutex
	errs []string
}

// New starts a headless Chromium with a fresh profile and a window of
// width×height, and returns its first tab. Every action run on the tab
// must finish within timeout altogether. The browser is stopped when the
// test ends.
func New(t testing.TB, width, height int, timeout time.Duration) *Tab {
	t.Helper()
	path := Path(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
	}
	// The timeout is on the browser's own context: when it passes, the
	// browser stops and every action fails.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	// Start the browser now, so that a broken installation fails here
	// with its own message.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	tab := &Tab{t: t, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				tab.record(m.String() + " (" + m.URL + ")")
			}
		}
	}()
	return tab
}

func (tab *Tab) record(msg string) {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	tab.errs = append(tab.errs, msg)
}

// Context is the tab's context, for chromedp calls Run does not cover.
func (tab *Tab) Context() context.Context { return tab.ctx }

// Do runs steps on the tab in order, and fails the test, saying what it
// was doing, if one fails.
func (tab *Tab) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	tab.t.Helper()
	if err := chromedp.Do(tab.ctx, steps...); err != nil {
		tab.t.Fatalf("%s: %v", what, err)
	}
}

// Run runs an action that returns a value on tab, and fails the test,
// saying what it was doing, if it fails.
func Run[T any](tab *Tab, what string, a chromedp.Action[T]) T {
	tab.t.Helper()
	v, err := chromedp.Run(tab.ctx, a)
	if err != nil {
		tab.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Errors returns what the page's scripts threw or logged as errors and
// warnings so far, and the browser's own complaints (Content-Security-
// Policy violations, failed loads).
func (tab *Tab) Errors() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.errs...)
}
