package extlink_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/extlink"
)

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"javascript:alert(1)//{summary}", "http:// or https://"},
		{"ftp://x/{summary}", "http:// or https://"},
		{"{summary}", "http:// or https://"},
		{"https://{summary}.example.com/", "http:// or https://"},
		{"https://example.com{summary}", "then /, ? or #"},
		{"https://user@example.com/{summary}", "http:// or https://"},
		{"https://example.com/{title}", "unknown placeholder {title}"},
		{"https://example.com/{{.Summary}}", ""}, // literal braces, not a template language
		{"https://example.com/{summary", "unmatched {"},
		{"https://example.com/summary}", "unmatched }"},
		{"https://example.com/{summary}" + strings.Repeat("a", 3000), "at most 2048"},
		{"https://example.com/ {summary}", "spaces"},
	} {
		_, err := extlink.Parse(tc.raw, extlink.IssuePlaceholders)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Parse(%.40q) = %v, want it taken", tc.raw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Parse(%.40q) = %v, want an error saying %q", tc.raw, err, tc.want)
		}
	}
}

func incident() catalog.Incident {
	return catalog.Incident{
		ID: 42, Dataset: catalog.Key{Namespace: "postgres://db:5432", Name: "shop.public.orders"},
		Cause: catalog.CauseCheckFailed, Severity: catalog.SeverityError,
		Title:    `not_null failed & {{.Secret}} ?x=1#frag <script>`,
		Detail:   "3 rows with null id",
		OpenedAt: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC),
		Impact:   []catalog.ImpactedDataset{{Dataset: catalog.Key{Namespace: "postgres://db:5432", Name: "shop.marts.revenue"}, Distance: 1}},
	}
}

// TestIssueURL checks that an issue link carries the incident in its
// query, escaped so that no value adds a parameter or changes the host,
// for the trackers' usual forms.
func TestIssueURL(t *testing.T) {
	for _, raw := range []string{
		"https://jira.example.com/secure/CreateIssueDetails!init.jspa?pid=10000&issuetype=1&summary={summary}&description={description}",
		"https://github.com/acme/data/issues/new?title={summary}&body={description}",
		"https://gitlab.example.com/acme/data/-/issues/new?issue[title]={summary}&issue[description]={description}",
	} {
		ts := extlink.Templates{Issue: extlink.MustParse(raw, extlink.IssuePlaceholders)}
		got := ts.IssueURL(incident(), "https://almanac.example.com/incidents/42")
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		want, _ := url.Parse(raw)
		if u.Host != want.Host || u.Path != want.Path || u.Fragment != "" {
			t.Errorf("%s: host, path or fragment changed by the values", got)
		}
		q := u.Query()
		if len(q) != len(want.Query()) {
			t.Errorf("%s: parameters %v, want only those of the template", got, q)
		}
		var summary, body string
		for k, v := range q {
			if strings.Contains(k, "title") || k == "summary" {
				summary = v[0]
			}
			if strings.Contains(k, "desc") || k == "body" {
				body = v[0]
			}
		}
		if summary != "[error] shop.public.orders: "+incident().Title {
			t.Errorf("%s: summary %q", got, summary)
		}
		for _, w := range []string{"Incident 42 on postgres://db:5432/shop.public.orders", "3 rows with null id", "https://almanac.example.com/incidents/42", "- postgres://db:5432/shop.marts.revenue"} {
			if !strings.Contains(body, w) {
				t.Errorf("%s: description %q lacks %q", got, body, w)
			}
		}
	}
}

// TestIssueURLBounded checks that an incident with an enormous detail
// still gives a link of at most MaxURL bytes, its description cut.
func TestIssueURLBounded(t *testing.T) {
	ts := extlink.Templates{Issue: extlink.MustParse("https://github.com/acme/data/issues/new?title={summary}&body={description}", extlink.IssuePlaceholders)}
	inc := incident()
	inc.Detail = strings.Repeat("é&", 50000)
	inc.Title = strings.Repeat("t", 1000)
	got := ts.IssueURL(inc, "")
	if len(got) > extlink.MaxURL {
		t.Errorf("link is %d bytes, want at most %d", len(got), extlink.MaxURL)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if title := u.Query().Get("title"); len([]rune(title)) > 250 || !strings.HasSuffix(title, "…") {
		t.Errorf("title of %d runes, want at most 250 ending in …", len([]rune(title)))
	}
	if !strings.HasSuffix(u.Query().Get("body"), "…") {
		t.Errorf("description not cut with …")
	}
	if (extlink.Templates{}).IssueURL(inc, "") != "" {
		t.Error("no template gives a link")
	}
}

func TestWikiAndCodeURL(t *testing.T) {
	ts := extlink.Templates{
		Wiki: extlink.MustParse("https://wiki.example.com/display/DATA/{name}?ns={namespace}", extlink.WikiPlaceholders),
		Code: extlink.MustParse("https://github.com/acme/dbt/blob/main/{path}", extlink.CodePlaceholders),
	}
	if got, want := ts.WikiURL(catalog.Key{Namespace: "postgres://db:5432", Name: "shop/../orders"}),
		"https://wiki.example.com/display/DATA/shop%2F..%2Forders?ns=postgres%3A%2F%2Fdb%3A5432"; got != want {
		t.Errorf("WikiURL = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"sourceCodeLocation": "https://git.example.com/etl/blob/v1/dag.py"}, "https://git.example.com/etl/blob/v1/dag.py"},
		{map[string]string{"sourceCodeLocation": "javascript:alert(1)", "path": "models/orders.sql"}, "https://github.com/acme/dbt/blob/main/models/orders.sql"},
		{map[string]string{"path": "../../models/orders.sql"}, "https://github.com/acme/dbt/blob/main/models/orders.sql"},
		{map[string]string{}, ""},
	} {
		j := catalog.Job{Key: catalog.JobKey{Namespace: "dbt://shop", Name: "orders"}, Properties: tc.props}
		if got := ts.CodeURL(j); got != tc.want {
			t.Errorf("CodeURL(%v) = %s, want %s", tc.props, got, tc.want)
		}
	}
}

// FuzzExpandKeepsHost checks that no value filled into a template that
// parses changes the scheme or host of the link, or makes it anything
// but an http(s) URL.
func FuzzExpandKeepsHost(f *testing.F) {
	f.Add("https://github.com/acme/data/issues/new?title={summary}&body={description}", "a/b?c#d", "@evil.com")
	f.Add("https://wiki.example.com/{name}", "../../x", "//evil.com")
	f.Add("https://example.com/{path}#{summary}", "..\\..\\x", "%2e%2e")
	f.Fuzz(func(t *testing.T, raw, v1, v2 string) {
		tmpl, err := extlink.Parse(raw, []string{"summary", "description", "name", "path"})
		if err != nil {
			return
		}
		want, err := url.Parse(tmpl.Expand(nil))
		if err != nil {
			t.Fatalf("template %q expands to an unparsable URL: %v", raw, err)
		}
		got := tmpl.Expand(map[string]string{"summary": v1, "description": v2, "name": v1, "path": v2})
		u, err := url.Parse(got)
		if err != nil {
			return // a value made it unparsable: no link is followed
		}
		if u.Scheme != want.Scheme || u.Host != want.Host || u.User != nil {
			t.Errorf("template %q with %q, %q: %s goes to %s://%s, want %s://%s", raw, v1, v2, got, u.Scheme, u.Host, want.Scheme, want.Host)
		}
	})
}
