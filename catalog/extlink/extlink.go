// Package extlink builds links from Almanac to where work is tracked
// elsewhere: a new issue in the issue tracker prefilled from an incident,
// a dataset's page in the wiki, a job's code on the code host. Each comes
// from a URL template of the configuration with {placeholders}; a value
// is escaped for where it stands (path segment, or query and fragment),
// so that no value can add a path, a parameter or a scheme, and a
// template is no more than text and placeholders: nothing in it or in a
// value is ever evaluated.
package extlink

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"almanac/catalog"
)

// Template is a parsed URL template: literal text and {placeholders}.
// The zero Template is unset and expands to "".
type Template struct {
	raw   string
	parts []part
}

type part struct {
	text  string // literal text, or the placeholder's name
	name  bool   // a placeholder
	query bool   // after the first '?' or '#': escaped as a query value
}

// Placeholders each kind of template may use.
var (
	IssuePlaceholders = []string{"summary", "description", "dataset", "namespace", "name", "incident_url", "incident_id"}
	WikiPlaceholders  = []string{"dataset", "namespace", "name"}
	CodePlaceholders  = []string{"namespace", "name", "path", "source_url"}
)

// Parse parses a URL template that may use the placeholders allowed. It
// refuses a template that is not an absolute http(s) URL with a host
// before its first placeholder, that names an unknown placeholder, or
// that has an unmatched brace; "{{" and "}}" stand for literal braces.
func Parse(raw string, allowed []string) (Template, error) {
	if raw == "" {
		return Template{}, nil
	}
	if len(raw) > catalog.MaxLinkURL {
		return Template{}, fmt.Errorf("template is %d bytes, at most %d", len(raw), catalog.MaxLinkURL)
	}
	t := Template{raw: raw}
	var lit strings.Builder
	query := false
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{text: lit.String(), query: query})
			lit.Reset()
		}
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '{' && i+1 < len(raw) && raw[i+1] == '{', c == '}' && i+1 < len(raw) && raw[i+1] == '}':
			lit.WriteByte(c)
			i++
		case c == '{':
			end := strings.IndexByte(raw[i:], '}')
			if end < 0 {
				return Template{}, fmt.Errorf("unmatched { at byte %d", i+1)
			}
			name := raw[i+1 : i+end]
			if !slices.Contains(allowed, name) {
				return Template{}, fmt.Errorf("unknown placeholder {%s}: this template may use {%s}", name, strings.Join(allowed, "}, {"))
			}
			flush()
			t.parts = append(t.parts, part{text: name, name: true, query: query})
			i += end
		case c == '}':
			return Template{}, fmt.Errorf("unmatched } at byte %d (write }} for a literal one)", i+1)
		default:
			if c == '?' || c == '#' {
				if !query {
					flush()
				}
				query = true
			}
			lit.WriteByte(c)
		}
	}
	flush()
	// The scheme and host are literal text, ended by a '/', '?' or '#'
	// before any placeholder: a value can never choose where the link
	// goes ("https://example.com{x}" with x "@evil.com" would).
	var prefix strings.Builder
	placeholders := false
	for _, p := range t.parts {
		if p.name {
			placeholders = true
			break
		}
		prefix.WriteString(p.text)
	}
	u, err := url.Parse(prefix.String())
	if err != nil {
		u = &url.URL{}
	}
	rest, _ := strings.CutPrefix(prefix.String(), u.Scheme+"://")
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(placeholders && !strings.ContainsAny(rest, "/?#")) {
		return Template{}, fmt.Errorf("must start with an http:// or https:// URL's host and then /, ? or # before any placeholder, got %q", raw)
	}
	if err := catalog.ValidateLinkURL("template", t.Expand(nil)); err != nil {
		return Template{}, err
	}
	return t, nil
}

// MustParse is Parse for templates known to be valid; it panics on error.
func MustParse(raw string, allowed []string) Template {
	t, err := Parse(raw, allowed)
	if err != nil {
		panic(err)
	}
	return t
}

// IsZero reports whether t is unset.
func (t Template) IsZero() bool { return len(t.parts) == 0 }

// Equal reports whether t and u were written alike (for go-cmp).
func (t Template) Equal(u Template) bool { return t.raw == u.raw }

// String is the template as written.
func (t Template) String() string { return t.raw }

// Expand fills in the placeholders from values, missing ones empty: in
// the path, each value is escaped as one path segment (a "/" in it
// becomes %2F), except {path}, whose segments stay apart but lose any
// "." and ".."; after '?' or '#', as a query value.
func (t Template) Expand(values map[string]string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case !p.name:
			b.WriteString(p.text)
		case p.query:
			b.WriteString(url.QueryEscape(values[p.text]))
		case p.text == "path":
			b.WriteString(escapePath(values[p.text]))
		default:
			b.WriteString(url.PathEscape(values[p.text]))
		}
	}
	return b.String()
}

// Templates are the configured links: each may be unset.
type Templates struct {
	// Issue opens a new issue prefilled from an incident (Jira's
	// CreateIssueDetails!init.jspa, GitHub's issues/new, GitLab's
	// -/issues/new).
	Issue Template
	// Wiki is a dataset's documentation page.
	Wiki Template
	// Code is a job's code, for jobs whose sources give no http(s)
	// sourceCodeLocation.
	Code Template
}

// MaxURL bounds a link built from a template: an issue's description is
// shortened to fit, as servers and browsers refuse longer URLs.
const MaxURL = 6000

// maxSummary bounds an issue's summary (Jira's limit is 255).
const maxSummary = 250

// IssueURL is the link opening a new issue about inc in the issue
// tracker, with its summary and description prefilled; incidentURL is
// the incident's page. "" when no issue template is configured.
func (ts Templates) IssueURL(inc catalog.Incident, incidentURL string) string {
	if ts.Issue.IsZero() {
		return ""
	}
	summary := truncate(fmt.Sprintf("[%s] %s: %s", inc.Severity, inc.Dataset.Name, inc.Title), maxSummary)
	desc := issueDescription(inc, incidentURL)
	values := map[string]string{
		"summary": summary, "description": desc, "dataset": inc.Dataset.String(),
		"namespace": inc.Dataset.Namespace, "name": inc.Dataset.Name,
		"incident_url": incidentURL, "incident_id": fmt.Sprint(inc.ID),
	}
	u := ts.Issue.Expand(values)
	if len(u) <= MaxURL {
		return u
	}
	// Keep the longest start of the description that fits.
	lo, hi := 0, utf8.RuneCountInString(desc)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		values["description"] = truncate(desc, mid)
		if len(ts.Issue.Expand(values)) <= MaxURL {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	values["description"] = truncate(desc, lo)
	return ts.Issue.Expand(values)
}

func issueDescription(inc catalog.Incident, incidentURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Incident %d on %s (%s, %s), opened %s.\n\n%s\n", inc.ID, inc.Dataset, inc.Cause, inc.Severity,
		inc.OpenedAt.UTC().Format("2006-01-02 15:04 MST"), inc.Title)
	if inc.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", inc.Detail)
	}
	if incidentURL != "" {
		fmt.Fprintf(&b, "\n%s\n", incidentURL)
	}
	if len(inc.Impact) > 0 {
		b.WriteString("\nDownstream:\n")
		for _, d := range inc.Impact {
			fmt.Fprintf(&b, "- %s\n", d.Dataset)
		}
	}
	return b.String()
}

// WikiURL is the dataset's documentation page; "" when no wiki template is
// configured.
func (ts Templates) WikiURL(k catalog.Key) string {
	if ts.Wiki.IsZero() {
		return ""
	}
	return ts.Wiki.Expand(map[string]string{"dataset": k.String(), "namespace": k.Namespace, "name": k.Name})
}

// CodeURL is the link to a job's code: its sources' sourceCodeLocation
// when that is an http(s) URL, else the code template filled with the
// job's path (dbt's path property) and sourceCodeLocation as written;
// "" when neither gives one.
func (ts Templates) CodeURL(j catalog.Job) string {
	loc := j.Properties["sourceCodeLocation"]
	if loc != "" && catalog.ValidateLinkURL("source code location", loc) == nil {
		return loc
	}
	path := j.Properties["path"]
	if ts.Code.IsZero() || (path == "" && loc == "") {
		return ""
	}
	return ts.Code.Expand(map[string]string{"namespace": j.Key.Namespace, "name": j.Key.Name, "path": path, "source_url": loc})
}

// truncate shortens s to at most n runes, ending it with "…" when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// escapePath escapes each segment of a file path, leaving out empty, "."
// and ".." segments, so that it stays under the template's own path.
func escapePath(p string) string {
	var segs []string
	for _, s := range strings.Split(strings.ReplaceAll(p, "\\", "/"), "/") {
		if s != "" && s != "." && s != ".." {
			segs = append(segs, url.PathEscape(s))
		}
	}
	return strings.Join(segs, "/")
}
