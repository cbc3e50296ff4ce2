package graph_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"almanac/graph"
	"almanac/graph/graphiql"
	"almanac/ui/browsertest"
)

var (
	// reference is a src or href attribute of the page.
	reference = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)
	// nonceAttr is the nonce of the page's script.
	nonceAttr = regexp.MustCompile(`\bnonce="([^"]+)"`)
	// cssURL is a url() in a stylesheet.
	cssURL = regexp.MustCompile(`url\(\s*['"]?([^'")]*)`)
)

// get fetches u with the header given as name, value pairs.
func get(t *testing.T, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// TestGraphiQLPage checks that a browser's GET of /graphql gets our
// GraphiQL page, which loads every file from the server itself, and that
// each of those files is served with its type and cached for good.
func TestGraphiQLPage(t *testing.T) {
	base := newHTTPServer(t, graph.NewHandler(graph.Options{}))
	pageURL, err := url.Parse(base + "/graphql")
	if err != nil {
		t.Fatal(err)
	}
	res, body := get(t, pageURL.String(), "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /graphql as a browser: status %d, want 200\n%s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("page Content-Type = %q, want text/html; charset=utf-8", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("page Cache-Control = %q, want no-store", cc)
	}
	page := string(body)
	m := nonceAttr.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no nonce:\n%s", page)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if want := graphiql.ContentSecurityPolicy(m[1]); csp != want {
		t.Errorf("page Content-Security-Policy = %q, want %q", csp, want)
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy %q allows another origin or something unsafe", csp)
	}
	if _, again := get(t, pageURL.String(), "Accept", "text/html"); strings.Contains(string(again), m[0]) {
		t.Errorf("two pages have the same nonce %s", m[1])
	}
	if !strings.Contains(page, "<title>Almanac GraphQL</title>") {
		t.Errorf("page has no title Almanac GraphQL:\n%s", page)
	}
	if !strings.Contains(page, `<a href="/">`) {
		t.Errorf("page does not link back to the portal:\n%s", page)
	}
	if !strings.Contains(page, `data-endpoint="/graphql"`) {
		t.Errorf("page does not send operations to /graphql:\n%s", page)
	}

	// Every script and stylesheet comes from this server, with the type
	// a browser enforces under nosniff.
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	served := map[string]int{}
	for _, m := range reference.FindAllStringSubmatch(page, -1) {
		ref := m[1]
		u, err := url.Parse(ref)
		if err != nil {
			t.Errorf("page refers to %q: %v", ref, err)
			continue
		}
		if u.Scheme == "data" {
			continue
		}
		if ref == "/" { // the link back to the portal, not something the page loads
			continue
		}
		if u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/graphql/assets/") {
			t.Errorf("page refers to %q, not to a file under /graphql/assets/ of its own server", ref)
			continue
		}
		res, body := get(t, pageURL.ResolveReference(u).String())
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", ref, res.StatusCode)
			continue
		}
		ext := u.Path[strings.LastIndex(u.Path, "."):]
		if ct := res.Header.Get("Content-Type"); ct != wantType[ext] {
			t.Errorf("GET %s: Content-Type %q, want %q", ref, ct, wantType[ext])
		}
		if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control %q, want a year, immutable", ref, cc)
		}
		if n := res.Header.Get("X-Content-Type-Options"); n != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", ref, n)
		}
		if len(body) == 0 {
			t.Errorf("GET %s: empty", ref)
		}
		if ext == ".css" {
			for _, m := range cssURL.FindAllStringSubmatch(string(body), -1) {
				if !strings.HasPrefix(m[1], "data:") {
					t.Errorf("%s loads %q; a stylesheet may only use data: URLs", ref, m[1])
				}
			}
		}
		served[ext]++
	}
	// React, ReactDOM, GraphiQL and ours; GraphiQL's and our stylesheet.
	if served[".js"] != 4 || served[".css"] != 2 {
		t.Errorf("page loads %d scripts and %d stylesheets, want 4 and 2:\n%s", served[".js"], served[".css"], page)
	}
}

// TestGraphiQLAssets checks what is served for addresses under
// /graphql/assets/ other than those the page uses.
func TestGraphiQLAssets(t *testing.T) {
	base := newHTTPServer(t, graph.NewHandler(graph.Options{}))
	for _, tc := range []struct {
		path         string
		header       []string
		status       int
		contentType  string
		cacheControl string
	}{
		{"/graphql/assets/graphiql.LICENSE", nil, http.StatusOK, "text/plain; charset=utf-8", "no-cache"},
		{"/graphql/assets/react.LICENSE", nil, http.StatusOK, "text/plain; charset=utf-8", "no-cache"},
		{"/graphql/assets/react-dom.LICENSE", nil, http.StatusOK, "text/plain; charset=utf-8", "no-cache"},
		// An old version is not cached under its name for good.
		{"/graphql/assets/graphiql.min.js?v=000000000000", nil, http.StatusOK, "text/javascript; charset=utf-8", "no-cache"},
		{"/graphql/assets/nothing.js", nil, http.StatusNotFound, "", ""},
		{"/graphql/assets/", []string{"Accept", "text/html"}, http.StatusNotFound, "", ""},
		{"/graphql/assets/../handler.go", nil, http.StatusNotFound, "", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, base+tc.path, tc.header...)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if cc := res.Header.Get("Cache-Control"); cc != tc.cacheControl {
				t.Errorf("Cache-Control %q, want %q", cc, tc.cacheControl)
			}
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			if res, _ := get(t, base+tc.path, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
				t.Errorf("with If-None-Match %s: status %d, want 304", etag, res.StatusCode)
			}
		})
	}
}

// TestGraphiQLBrowser opens GraphiQL in Chromium, runs the query it
// shows first, and sees the search's hits, with nothing blocked by the
// Content-Security-Policy and no script errors.
func TestGraphiQLBrowser(t *testing.T) {
	e := newEnv(t, graph.Options{})
	tab := browsertest.New(t, 1400, 1000, 60*time.Second)
	tab.Do("open GraphiQL",
		chromedp.Navigate(e.url),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-container .graphiql-query-editor .CodeMirror")),
	)
	if title := browsertest.Run(tab, "read the title", chromedp.Evaluate[string](`document.title`)); title != "Almanac GraphQL" {
		t.Errorf("title %q, want Almanac GraphQL", title)
	}
	// A bar links back to the portal, and GraphiQL fills the rest of the
	// window without the page scrolling.
	if got := browsertest.Run(tab, "find the portal link", chromedp.Evaluate[string](`(() => {
		const a = document.querySelector('nav.almanac-bar a[href="/"]'), g = document.querySelector(".graphiql-container");
		if (!a || a.getBoundingClientRect().height < 1) return "no visible link to the portal";
		const r = g.getBoundingClientRect();
		if (r.top < a.getBoundingClientRect().bottom || Math.abs(r.bottom - innerHeight) > 1) return "GraphiQL spans " + r.top + " to " + r.bottom + " of " + innerHeight;
		return document.documentElement.scrollHeight > innerHeight ? "the page scrolls" : "ok";
	})()`)); got != "ok" {
		t.Errorf("GraphiQL's bar: %s", got)
	}
	editor := `document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.getValue()`
	if q := browsertest.Run(tab, "read the query", chromedp.Evaluate[string](editor)); !strings.Contains(q, `search(query: "orders"`) {
		t.Errorf("the query editor shows\n%s\nwant the default search", q)
	}
	result := `document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue()`
	tab.Do("run the query",
		chromedp.Click(chromedp.CSS(".graphiql-execute-button"), chromedp.NodeVisible),
		chromedp.Poll[chromedp.Void](result+`.includes('"totalCount"')`, chromedp.WithPollingTimeout(15*time.Second)),
	)
	got := browsertest.Run(tab, "read the result", chromedp.Evaluate[string](result))
	for _, want := range []string{`"data"`, `"name": "warehouse.marts.orders"`} {
		if !strings.Contains(got, want) {
			t.Errorf("result pane lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"errors"`) {
		t.Errorf("result pane shows errors:\n%s", got)
	}
	// The schema loaded too: the documentation explorer lists the root
	// type.
	tab.Do("open the docs",
		chromedp.Click(chromedp.CSS(`button[aria-label$="Documentation Explorer"]`), chromedp.NodeVisible),
		chromedp.Poll[chromedp.Void](`document.querySelector(".graphiql-doc-explorer") && document.querySelector(".graphiql-doc-explorer").textContent.includes("Query")`, chromedp.WithPollingTimeout(10*time.Second)),
	)
	// GraphiQL's dialogs add a style element that stops the page behind
	// them scrolling, which only the page's nonce lets through the
	// Content-Security-Policy.
	for _, label := range []string{"Open settings dialog", "Open short keys dialog"} {
		tab.Do(label,
			chromedp.Click(chromedp.CSS(`button[aria-label="`+label+`"]`), chromedp.NodeVisible),
			chromedp.WaitVisible(chromedp.CSS(".graphiql-dialog")),
			chromedp.Poll[chromedp.Void](`getComputedStyle(document.body).overflow === "hidden"`, chromedp.WithPollingTimeout(5*time.Second)),
			chromedp.Click(chromedp.CSS(`.graphiql-dialog-close`), chromedp.NodeVisible),
			chromedp.WaitNotPresent(chromedp.CSS(".graphiql-dialog")),
		)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the page logged errors:\n%s", strings.Join(errs, "\n"))
	}
}
