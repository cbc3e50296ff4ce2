package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/extlink"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// newLinksPortal is the edit portal with the issue tracker, wiki and
// code host configured.
func newLinksPortal(t *testing.T) (editPortal, *store.Store) {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: testPrincipal, LoginPath: "/login", PublicURL: "https://almanac.example.com",
		Links: extlink.Templates{
			Issue: extlink.MustParse("https://github.com/acme/data/issues/new?title={summary}&body={description}", extlink.IssuePlaceholders),
			Wiki:  extlink.MustParse("https://wiki.example.com/display/DATA/{name}", extlink.WikiPlaceholders),
			Code:  extlink.MustParse("https://github.com/acme/dbt/blob/main/{path}", extlink.CodePlaceholders),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return editPortal{&portal{ts: ts}, pool}, st
}

// TestDatasetLinksPortal adds and removes links with the dataset page's
// forms: an editor may, a viewer may not; hostile links are refused with
// the form shown again saying why, and nothing is stored; titles show as
// text. The page links the wiki's documentation page.
func TestDatasetLinksPortal(t *testing.T) {
	t.Parallel()
	p, _ := newLinksPortal(t)
	page := datasetPath(fctOrders)
	action := editPath("links", fctOrders)

	r := p.getAs(t, page, asAlice...)
	if !strings.Contains(r.body, `href="https://wiki.example.com/display/DATA/warehouse.marts.fct_orders"`) {
		t.Errorf("dataset page lacks the wiki link")
	}
	if !strings.Contains(r.body, `action="`+action+`"`) {
		t.Errorf("an editor's page lacks the link form")
	}
	if r := p.getAs(t, page, asVic...); strings.Contains(r.body, `action="`+action+`"`) {
		t.Errorf("a viewer's page has the link form")
	}

	for _, tc := range []struct {
		name, title, url, want string
	}{
		{"javascript", "x", "javascript:alert(1)", "only http and https"},
		{"javascript with spaces", "x", " JAVASCRIPT:alert(1)", "only http and https"},
		{"data", "x", "data:text/html,<script>alert(1)</script>", "only http and https"},
		{"long", "x", "https://example.com/" + strings.Repeat("a", 2100), "at most 2048"},
	} {
		r := p.postForm(t, action, url.Values{"op": {"add"}, "title": {tc.title}, "url": {tc.url}}, asAlice...)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, htmlText(tc.want)) {
			t.Errorf("%s: %d, want 400 saying %q", tc.name, r.status, tc.want)
		}
		if strings.Contains(r.body, `href="javascript`) || strings.Contains(r.body, `href="data:`) {
			t.Errorf("%s: the page links the hostile URL", tc.name)
		}
	}
	if r := p.postForm(t, action, url.Values{"op": {"add"}, "title": {"Runbook"}, "url": {"https://wiki.example.com/runbook"}}, asVic...); r.status != http.StatusForbidden {
		t.Errorf("viewer adding a link: %d, want 403", r.status)
	}
	if n := p.auditCount(t); n != 0 {
		t.Errorf("%d audit entries after refusals, want 0", n)
	}

	evilTitle := `<script>alert("t")</script>{{.Secret}}`
	r = p.postForm(t, action, url.Values{"op": {"add"}, "title": {evilTitle}, "url": {"https://dash.example.com/d?a=1&b=\"x\""}}, asAlice...)
	if r.status != http.StatusSeeOther {
		t.Fatalf("add link: %d %s", r.status, r.body)
	}
	r = p.getAs(t, page, asAlice...)
	if !strings.Contains(r.body, htmlText(evilTitle)) || strings.Contains(r.body, evilTitle) {
		t.Errorf("the link's title is not shown as text")
	}
	if !strings.Contains(r.body, `href="https://dash.example.com/d?a=1&amp;b=&#34;x&#34;"`) {
		t.Errorf("the link's URL is not on the page, escaped:\n%s", r.body)
	}
	r = p.postForm(t, action, url.Values{"op": {"remove"}, "url": {"https://dash.example.com/d?a=1&b=\"x\""}}, asAlice...)
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove link: %d %s", r.status, r.body)
	}
	if r := p.getAs(t, page, asAlice...); strings.Contains(r.body, "dash.example.com") {
		t.Errorf("the link is still shown after its removal")
	}
	if n := p.auditCount(t); n != 2 {
		t.Errorf("%d audit entries, want 2 (added, removed)", n)
	}
}

// TestIncidentTicketLink checks that an incident's page links a new
// issue prefilled from the incident, its text escaped into the query.
func TestIncidentTicketLink(t *testing.T) {
	t.Parallel()
	p, st := newLinksPortal(t)
	inc, _, err := st.OpenIncident(context.Background(), catalog.NewIncident{Dataset: fctOrders, Cause: catalog.CauseCheckFailed,
		CauseKey: "nn", Severity: catalog.SeverityError, Title: `not_null & "order_id" fails?#x`, By: catalog.ActorAlmanac})
	if err != nil {
		t.Fatal(err)
	}
	r := p.getAs(t, incidentPath(inc.ID), asVic...)
	i := strings.Index(r.body, `class="ticket-link" href="`)
	if i < 0 {
		t.Fatalf("incident page has no ticket link:\n%s", r.body)
	}
	rest := r.body[i+len(`class="ticket-link" href="`):]
	raw := strings.NewReplacer("&amp;", "&", "&#34;", `"`).Replace(rest[:strings.IndexByte(rest, '"')])
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "github.com" || u.Path != "/acme/data/issues/new" || len(u.Query()) != 2 {
		t.Errorf("ticket link %s: want github's new issue with title and body only", raw)
	}
	if got, want := u.Query().Get("title"), `[error] warehouse.marts.fct_orders: not_null & "order_id" fails?#x`; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if body := u.Query().Get("body"); !strings.Contains(body, "https://almanac.example.com"+incidentPath(inc.ID)) {
		t.Errorf("body %q lacks the incident's address", body)
	}
}

// TestJobCodeLinks checks that the dataset page links the code of the
// jobs that write it: the sourceCodeLocation when it is an http(s) URL,
// else the code host's page for the job's path; never a javascript: one.
func TestJobCodeLinks(t *testing.T) {
	t.Parallel()
	p, st := newLinksPortal(t)
	jobs := []catalog.JobFacts{
		{Key: catalog.JobKey{Namespace: "airflow://prod", Name: "load.orders"}, Type: "airflow_task", Outputs: []catalog.Key{fctOrders},
			Properties: map[string]string{"sourceCodeLocation": "https://git.example.com/etl/blob/main/dags/load.py"}},
		{Key: catalog.JobKey{Namespace: "dbt://shop", Name: "model.fct_orders"}, Type: "dbt_model", Outputs: []catalog.Key{fctOrders},
			Properties: map[string]string{"path": "models/marts/fct_orders.sql"}},
		{Key: catalog.JobKey{Namespace: "airflow://prod", Name: "evil"}, Type: "airflow_task", Outputs: []catalog.Key{fctOrders},
			Properties: map[string]string{"sourceCodeLocation": "javascript:alert(1)"}},
	}
	if _, err := st.Crawl(context.Background(), "openlineage", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: jobs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := p.getAs(t, datasetPath(fctOrders), asVic...)
	for _, want := range []string{
		`href="https://git.example.com/etl/blob/main/dags/load.py"`,
		`href="https://github.com/acme/dbt/blob/main/models/marts/fct_orders.sql"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("dataset page lacks %s", want)
		}
	}
	if strings.Contains(r.body, "javascript:") {
		t.Errorf("dataset page links javascript:")
	}
}
