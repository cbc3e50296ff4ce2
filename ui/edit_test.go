package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// testPrincipal authenticates requests by the X-Test-Login and
// X-Test-Role headers, as single sign-on will by session or token.
func testPrincipal(r *http.Request) (catalog.Principal, bool) {
	login := r.Header.Get("X-Test-Login")
	return catalog.Principal{Login: login, Role: catalog.Role(r.Header.Get("X-Test-Role"))}, login != ""
}

// Who asks, as the test headers say.
var (
	asAlice = []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}
	asVic   = []string{"X-Test-Login", "vic@corp", "X-Test-Role", "viewer"}
	asRoot  = []string{"X-Test-Login", "root@corp", "X-Test-Role", "admin"}
)

// editPortal is the fixture portal with logins by test headers and a
// login page, and its database.
type editPortal struct {
	*portal
	pool *pgxpool.Pool
}

func newEditPortal(t *testing.T) editPortal {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	s, err := New(Options{
		Store: store.New(pool), Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: testPrincipal, LoginPath: "/login",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return editPortal{&portal{ts: ts}, pool}
}

// send makes a request with the header pairs given, without following
// redirects.
func (p *portal) send(t *testing.T, method, path, contentType, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, p.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// getAs requests path as the principal the header pairs name.
func (p *portal) getAs(t *testing.T, path string, header ...string) response {
	t.Helper()
	return p.send(t, "GET", path, "", "", header...)
}

// postForm posts a form as a browser on the portal's own page would: with
// the portal's origin and Sec-Fetch-Site same-origin.
func (p *portal) postForm(t *testing.T, path string, form url.Values, header ...string) response {
	t.Helper()
	h := append([]string{"Origin", p.ts.URL, "Sec-Fetch-Site", "same-origin"}, header...)
	return p.send(t, "POST", path, "application/x-www-form-urlencoded", form.Encode(), h...)
}

func (p editPortal) auditCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := p.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEditFormsOnlyForEditors shows the dataset page to each kind of
// reader: only editors see the forms, an anonymous reader a link to log
// in; and each edit posted by a reader who may not edit is refused (401,
// 403 by the error kinds' table) and writes nothing.
func TestEditFormsOnlyForEditors(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	path := datasetPath(fctOrders)
	login := "/login?next=" + url.QueryEscape(path)
	for _, tc := range []struct {
		name   string
		header []string
		forms  bool
		login  bool
	}{
		{"anonymous", nil, false, true},
		{"viewer", asVic, false, false},
		{"editor", asAlice, true, false},
		{"admin", asRoot, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.getAs(t, path, tc.header...)
			if r.status != 200 {
				t.Fatalf("GET: %d", r.status)
			}
			for _, marker := range []string{`class="edit-form"`, `action="/edit/description/`, `action="/edit/column/`, `action="/edit/owners/`, `action="/edit/tags/`, "edit.js"} {
				if got := strings.Contains(r.body, marker); got != tc.forms {
					t.Errorf("page has %s: %v, want %v", marker, got, tc.forms)
				}
			}
			if got := strings.Contains(r.body, `href="`+htmlEscape(login)+`"`); got != tc.login {
				t.Errorf("page links the login page: %v, want %v", got, tc.login)
			}
			if !strings.Contains(r.body, `href="/history/postgres:%2F%2Fdb.example:5432/warehouse.marts.fct_orders">edit history</a>`) {
				t.Error("page does not link its edit history")
			}
		})
	}

	edits := []struct {
		path string
		form url.Values
	}{
		{editPath("description", fctOrders), url.Values{"description": {"Mine."}, "action": {"save"}}},
		{editPath("description", fctOrders), url.Values{"description": {"Mine."}, "action": {"preview"}}},
		{editPath("column", fctOrders), url.Values{"column": {"amount"}, "description": {"Mine."}}},
		{editPath("owners", fctOrders), url.Values{"op": {"add"}, "name": {"vic@corp"}, "kind": {"user"}}},
		{editPath("tags", fctOrders), url.Values{"op": {"add"}, "tag": {"mine"}}},
		{editPath("tags", fctOrders), url.Values{"op": {"remove"}, "tag": {"finance"}}},
	}
	for _, tc := range []struct {
		name   string
		header []string
		status int
		want   string
	}{
		{"anonymous", nil, http.StatusUnauthorized, `Editing needs a login.`},
		{"viewer", asVic, http.StatusForbidden, `vic@corp (role &#34;viewer&#34;) may not edit`},
	} {
		t.Run(tc.name+" posting", func(t *testing.T) {
			for _, e := range edits {
				r := p.postForm(t, e.path, e.form, tc.header...)
				if r.status != tc.status || !strings.Contains(r.body, tc.want) {
					t.Errorf("POST %s %v: %d, want %d saying %q\n%s", e.path, e.form, r.status, tc.status, tc.want, r.body)
				}
				if tc.status == http.StatusUnauthorized && !strings.Contains(r.body, `href="`+htmlEscape(login)+`"`) {
					t.Errorf("POST %s: the 401 page does not link the login page back to the dataset", e.path)
				}
			}
			r := p.send(t, "POST", "/edit/preview", "application/x-www-form-urlencoded", "description=x", append([]string{"Origin", p.ts.URL}, tc.header...)...)
			if tc.status == http.StatusUnauthorized && r.status != tc.status {
				t.Errorf("POST /edit/preview: %d, want %d", r.status, tc.status)
			}
		})
	}
	if n := p.auditCount(t); n != 0 {
		t.Errorf("refused edits left %d audit entries", n)
	}
}

func htmlEscape(s string) string { return strings.ReplaceAll(s, "&", "&amp;") }

// TestEditsFromThePage edits a dataset through its page's forms as an
// editor: each edit redirects back to the page (Post/Redirect/Get) and
// shows there with its author, in provenance, and in the edit history;
// a refused one shows the page again with the form, what was typed and
// why; a preview shows the rendering and writes nothing.
func TestEditsFromThePage(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	page := datasetPath(fctOrders)
	post := func(what string, form url.Values) response {
		t.Helper()
		return p.postForm(t, editPath(what, fctOrders), form, asAlice...)
	}
	redirected := func(r response, anchor string) {
		t.Helper()
		if r.status != http.StatusSeeOther || r.header.Get("Location") != page+"#"+anchor {
			t.Fatalf("status %d Location %q, want 303 to %s#%s\n%s", r.status, r.header.Get("Location"), page, anchor, r.body)
		}
	}

	// A preview writes nothing and shows the rendering in the open form.
	r := post("description", url.Values{"description": {"**Every** order.\r\n\r\n| status | meaning |\r\n|---|---|\r\n| placed | new |"}, "action": {"preview"}})
	if r.status != 200 {
		t.Fatalf("preview: %d\n%s", r.status, r.body)
	}
	for _, want := range []string{`<details class="edit" open>`, `<p class="preview-label">Preview</p>`, "<strong>Every</strong> order.", "<td>placed</td>",
		"**Every** order.\n\n| status | meaning |"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("preview page lacks %q", want)
		}
	}
	if n := p.auditCount(t); n != 0 {
		t.Fatalf("a preview wrote %d audit entries", n)
	}

	redirected(post("description", url.Values{"description": {"**Every** order placed.\r\n\r\n- one row each\r\n- amounts in [EUR](https://en.wikipedia.org/wiki/Euro)"}, "action": {"save"}}), "description")
	redirected(post("column", url.Values{"column": {"amount"}, "description": {"Total, _tax included_."}, "action": {"save"}}), "col-amount")
	redirected(post("owners", url.Values{"op": {"add"}, "name": {"alice@corp"}, "kind": {"user"}, "type": {"steward"}}), "owners")
	redirected(post("tags", url.Values{"op": {"add"}, "tag": {"reviewed"}}), "tags")
	redirected(post("tags", url.Values{"op": {"add"}, "tag": {"temporary"}}), "tags")
	redirected(post("tags", url.Values{"op": {"remove"}, "tag": {"temporary"}}), "tags")

	// The person's edits show with their author, and their time in
	// provenance.
	if _, err := p.pool.Exec(context.Background(), `UPDATE dataset_facts SET updated_at = $1 WHERE source = 'user:alice@corp'`, now.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	body := p.getAs(t, page, asAlice...).body
	checkMarkup(t, body)
	for _, want := range []string{
		`<p><strong>Every</strong> order placed.</p>`,
		`<li>amounts in <a href="https://en.wikipedia.org/wiki/Euro" rel="nofollow noopener" target="_blank">EUR</a></li>`,
		`Description by <span class="person">alice@corp</span>`,
		`<p>Total, <em>tax included</em>.</p>`, `by <span class="person">alice@corp</span>`,
		`<a class="owner" href="/?owner=alice%40corp">alice@corp</a> <span class="muted">user, steward · from</span>`, `<span class="source-name">user:alice@corp</span>`,
		`<input type="hidden" name="name" value="alice@corp">`, // its remove button
		`>reviewed`,
		`edited by <span class="person">alice@corp</span>`, `title="2026-03-10 11:58 UTC">2 minutes ago</time>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page after the edits lacks %q", want)
		}
	}
	if strings.Contains(body, ">temporary") {
		t.Error("page shows the removed tag")
	}
	// Crawled owners and tags have no remove button.
	if strings.Contains(body, `name="name" value="data-platform"`) || strings.Contains(body, `name="tag" value="finance"`) {
		t.Error("page offers to remove an owner or tag a crawled source asserts")
	}

	// The edit history lists them, newest first.
	hist := p.getAs(t, historyPath(fctOrders))
	if hist.status != 200 {
		t.Fatalf("history: %d", hist.status)
	}
	hist.body = strings.Join(strings.Fields(hist.body), " ")
	checkMarkup(t, hist.body)
	var kinds []string
	for _, k := range []string{"tag</span> <span class=\"muted\">removed", "tag</span> <span class=\"muted\">added", "owner</span>", "column description</span>", "description</span> <span class=\"muted\">changed"} {
		i := strings.Index(hist.body, k)
		if i < 0 {
			t.Errorf("history lacks %q", k)
			continue
		}
		kinds = append(kinds, k)
		_ = i
	}
	for i := 1; i < len(kinds); i++ {
		if strings.Index(hist.body, kinds[i-1]) > strings.Index(hist.body, kinds[i]) {
			t.Errorf("history lists %q before %q, want newest first", kinds[i], kinds[i-1])
		}
	}
	for _, want := range []string{"One row per order placed on the web shop. Grain: order_id; amounts in EUR.", "**Every** order placed. - one row each", "user:alice@corp (steward)"} {
		if !strings.Contains(hist.body, htmlText(want)) {
			t.Errorf("history lacks %q", want)
		}
	}

	// Refused for what the form holds: the page again, the form open
	// with what was typed, and why.
	for _, tc := range []struct {
		what   string
		form   url.Values
		status int
		want   []string
	}{
		{"tags", url.Values{"op": {"add"}, "tag": {" spaced"}}, 400,
			[]string{`<p class="form-error" role="alert">Tag &#34; spaced&#34; has leading or trailing spaces.</p>`, `value=" spaced"`}},
		{"tags", url.Values{"op": {"remove"}, "tag": {"finance"}}, 400,
			[]string{`comes from dbt:analytics; remove it there.`}},
		{"owners", url.Values{"op": {"add"}, "name": {"x"}, "kind": {"group"}}, 400,
			[]string{`unknown kind &#34;group&#34; (want user, team or role).`, `value="x"`}},
		{"column", url.Values{"column": {"nope"}, "description": {"x"}}, 404,
			[]string{`has no column &#34;nope&#34;.`}},
		{"description", url.Values{"description": {"nul \x00 char"}}, 400,
			[]string{`Description contains a NUL character.`}},
	} {
		r := post(tc.what, tc.form)
		if r.status != tc.status {
			t.Errorf("%s %v: %d, want %d\n%s", tc.what, tc.form, r.status, tc.status, r.body)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s %v: page lacks %q", tc.what, tc.form, w)
			}
		}
	}
	// Unknown dataset: the error page.
	if r := p.postForm(t, editPath("tags", catalog.Key{Namespace: warehouseNS, Name: "nope"}), url.Values{"op": {"add"}, "tag": {"x"}}, asAlice...); r.status != 404 {
		t.Errorf("edit of an unknown dataset: %d, want 404", r.status)
	}
	if n := p.auditCount(t); n != 6 {
		t.Errorf("%d audit entries, want 6", n)
	}
}

// htmlText is s as templ escapes text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestEditFormsCrossOrigin posts the edit forms as a page of another site
// could make a browser post them, and as a tool or an old browser would:
// each is refused, 403, and writes nothing; the form routes take only
// forms, and the API routes no forms.
func TestEditFormsCrossOrigin(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	form := url.Values{"op": {"add"}, "tag": {"csrf"}}.Encode()
	path := editPath("tags", fctOrders)
	const formType = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name        string
		contentType string
		header      []string
		status      int
	}{
		{"from another site, says the browser", formType, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"from another origin of the same site", formType, []string{"Sec-Fetch-Site", "same-site", "Origin", "https://sub.example"}, 403},
		{"from another origin, no Sec-Fetch-Site", formType, []string{"Origin", "https://evil.example"}, 403},
		{"a browser that sends neither header", formType, nil, 403},
		{"JSON to a form route", "application/json", []string{"Origin", p.ts.URL}, 415},
		{"text/plain to a form route", "text/plain", []string{"Origin", p.ts.URL}, 415},
	} {
		r := p.send(t, "POST", path, tc.contentType, form, append(tc.header, asAlice...)...)
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	if n := p.auditCount(t); n != 0 {
		t.Fatalf("refused posts left %d audit entries", n)
	}
	// The APIs take no forms.
	if r := p.send(t, "POST", "/api/v1/lineage", formType, "x=1", "Origin", p.ts.URL); r.status != 415 {
		t.Errorf("a form to /api/v1/lineage: %d, want 415", r.status)
	}
	// The portal's own page posts, by Origin alone (browsers without
	// Sec-Fetch-Site) and by Sec-Fetch-Site.
	if r := p.send(t, "POST", path, formType, form, append([]string{"Origin", p.ts.URL}, asAlice...)...); r.status != 303 {
		t.Errorf("from the portal, by Origin: %d %s, want 303", r.status, r.body)
	}
	if r := p.send(t, "POST", path, formType, url.Values{"op": {"add"}, "tag": {"csrf2"}}.Encode(), append([]string{"Sec-Fetch-Site", "same-origin"}, asAlice...)...); r.status != 303 {
		t.Errorf("from the portal, by Sec-Fetch-Site: %d %s, want 303", r.status, r.body)
	}
}

// TestDescriptionAttacks saves descriptions made to run script through
// the form and reads the page back: the rendered Markdown holds nothing
// that could run, and the page keeps its structure.
func TestDescriptionAttacks(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	attacks := []string{
		"<script>alert('desc')</script> text",
		"[click](javascript:alert('desc'))",
		"[click](JaVaScRiPt&#58;alert('desc'))",
		`<img src=x onerror="alert('desc')">`,
		"![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
		"[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
		`<a href="javascript:alert('desc')" onclick="alert('desc')">raw</a>`,
		`<iframe src="https://evil.example"></iframe><style>*{display:none}</style>`,
		"</div></td></tr></table></section></article><form action=https://evil.example><input name=password></form>",
		`<svg><script>alert('desc')</script></svg>`,
	}
	for i, a := range attacks {
		col := []string{"order_id", "customer_id", "amount", "ordered_at"}[i%4]
		if r := p.postForm(t, editPath("description", fctOrders), url.Values{"description": {a}}, asAlice...); r.status != 303 {
			t.Fatalf("save %q: %d", a, r.status)
		}
		if r := p.postForm(t, editPath("column", fctOrders), url.Values{"column": {col}, "description": {a}}, asAlice...); r.status != 303 {
			t.Fatalf("save %q on %s: %d", a, col, r.status)
		}
		for _, who := range [][]string{nil, asAlice} {
			body := p.getAs(t, datasetPath(fctOrders), who...).body
			checkMarkup(t, body)
			for _, bad := range []string{"alert('desc')", "alert(&#39;desc&#39;)", "evil.example", "<form action=\"https", "<iframe", "<style"} {
				if strings.Contains(stripTextareas(body), bad) {
					t.Errorf("after saving %q, the page holds %q", a, bad)
				}
			}
			// The columns table is still whole: every column has its row.
			for _, c := range []string{"order_id", "customer_id", "amount", "ordered_at"} {
				if !strings.Contains(body, `<tr id="col-`+c+`">`) {
					t.Errorf("after saving %q, the page lost the row of %s", a, c)
				}
			}
		}
		// The preview of the script is sanitized as well.
		r := p.postForm(t, "/edit/preview", url.Values{"description": {a}}, asAlice...)
		if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("preview of %q: %d %s", a, r.status, r.header.Get("Content-Type"))
		}
		checkMarkup(t, `<div class="markdown">`+r.body+`</div>`)
	}
}

// stripTextareas leaves out the text of the page's text boxes, which hold
// descriptions as typed, escaped, for editing.
func stripTextareas(page string) string {
	var b strings.Builder
	for {
		i := strings.Index(page, "<textarea")
		if i < 0 {
			return b.String() + page
		}
		j := strings.Index(page[i:], "</textarea>")
		if j < 0 {
			return b.String() + page
		}
		b.WriteString(page[:i])
		page = page[i+j:]
	}
}
