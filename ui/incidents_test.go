package ui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestIncidentBannerAndForms opens incidents and follows them through
// the portal: a banner on the dataset page with the impact count, forms
// only for those who may handle it, acknowledging and resolving by the
// plain forms (refused to viewers, anonymous readers and other origins),
// and the status page, for everyone and per team.
func TestIncidentBannerAndForms(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	ctx := context.Background()
	st := store.New(p.pool)
	open := func(key catalog.Key, title string, impact ...catalog.ImpactedDataset) int64 {
		inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: key, Cause: catalog.CauseCheckFailed, CauseKey: title,
			Severity: catalog.SeverityError, Title: title, By: catalog.ActorAlmanac, Impact: impact})
		if err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	finance := []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}
	id := open(fctOrders, "check not_null_order_id fails",
		catalog.ImpactedDataset{Dataset: dailyRevenue, Distance: 1, Owners: finance},
		catalog.ImpactedDataset{Dataset: catalog.Key{Namespace: warehouseNS, Name: "warehouse.bi.dashboard"}, Distance: 2, Owners: finance})
	other := open(dimCustomers, "check unique_email fails")
	ack := incidentPath(id) + "/acknowledge"
	resolve := incidentPath(id) + "/resolve"
	page := datasetPath(fctOrders)

	for _, tc := range []struct {
		name   string
		header []string
		forms  bool
	}{
		{"anonymous", nil, false},
		{"viewer", asVic, false},
		{"editor", asAlice, true},
	} {
		r := p.getAs(t, page, tc.header...)
		if r.status != 200 || !strings.Contains(r.body, `class="banner banner-incident severity-error"`) ||
			!strings.Contains(r.body, "check not_null_order_id fails") || !strings.Contains(r.body, "2 downstream datasets of 1 owner") {
			t.Errorf("%s: no incident banner with its impact: %d\n%.3000s", tc.name, r.status, r.body)
		}
		if got := strings.Contains(r.body, `action="`+ack+`"`) && strings.Contains(r.body, `action="`+resolve+`"`); got != tc.forms {
			t.Errorf("%s: incident forms shown %v, want %v", tc.name, got, tc.forms)
		}
	}

	// Refused: anonymous, a viewer, another origin.
	for _, tc := range []struct {
		name   string
		r      response
		status int
	}{
		{"anonymous", p.postForm(t, ack, url.Values{"back": {"dataset"}}), http.StatusUnauthorized},
		{"viewer", p.postForm(t, ack, url.Values{"back": {"dataset"}}, asVic...), http.StatusForbidden},
		{"other origin", p.send(t, "POST", ack, "application/x-www-form-urlencoded", "back=dataset",
			append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, asAlice...)...), http.StatusForbidden},
		{"no such incident", p.postForm(t, incidentPath(9999)+"/acknowledge", nil, asAlice...), http.StatusNotFound},
		{"not a number", p.postForm(t, "/incidents/x/acknowledge", nil, asAlice...), http.StatusNotFound},
	} {
		if tc.r.status != tc.status {
			t.Errorf("%s: %d, want %d\n%s", tc.name, tc.r.status, tc.status, tc.r.body)
		}
	}
	if inc, _ := st.Incident(ctx, id); inc.State() != "open" {
		t.Fatalf("after refused posts the incident is %s", inc.State())
	}

	// Alice acknowledges from the banner, then resolves with a note.
	r := p.postForm(t, ack, url.Values{"back": {"dataset"}}, asAlice...)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), page+"#incident-") {
		t.Fatalf("acknowledge: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := p.getAs(t, page, asAlice...); !strings.Contains(r.body, `acknowledged by <span class="person">alice@corp</span>`) ||
		strings.Contains(r.body, `action="`+ack+`"`) {
		t.Errorf("acknowledged banner:\n%.3000s", r.body)
	}
	r = p.postForm(t, resolve, url.Values{"note": {"Backfilled from the raw export."}}, asAlice...)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != incidentPath(id) {
		t.Fatalf("resolve: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := p.postForm(t, resolve, nil, asAlice...); r.status != http.StatusConflict || !strings.Contains(r.body, "resolved already") {
		t.Errorf("resolving again: %d\n%s", r.status, r.body)
	}
	r = p.getAs(t, page)
	_, past, _ := strings.Cut(r.body, `id="past-incidents-heading"`)
	if strings.Contains(r.body, "banner-incident") || !strings.Contains(past, `<a href="`+incidentPath(id)+`">check not_null_order_id fails</a>`) {
		t.Errorf("a resolved incident shows as a banner, or not among the past ones:\n%.2000s", past)
	}
	r = p.getAs(t, incidentPath(id))
	for _, want := range []string{"Backfilled from the raw export.", "warehouse.bi.dashboard", "<strong>acknowledged</strong>", "<strong>resolved</strong>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("incident page lacks %q\n%.5000s", want, r.body)
		}
	}

	// The status page: dim_customers' incident is open, fct_orders' was
	// resolved; fct_orders is data-platform's, dim_customers not.
	r = p.getAs(t, "/incidents")
	open1, resolved1, _ := strings.Cut(r.body, `id="resolved-incidents"`)
	if !strings.Contains(open1, "check unique_email fails") || strings.Contains(open1, "not_null_order_id") ||
		!strings.Contains(resolved1, "check not_null_order_id fails") {
		t.Errorf("status page:\n%s", r.body)
	}
	r = p.getAs(t, "/incidents?team=data-platform")
	if !strings.Contains(r.body, "All datasets healthy") || !strings.Contains(r.body, "not_null_order_id") || strings.Contains(r.body, "unique_email") {
		t.Errorf("data-platform's status page:\n%s", r.body)
	}
	if r := p.getAs(t, incidentPath(other)); r.status != 200 || !strings.Contains(r.body, "Nothing downstream.") {
		t.Errorf("incident %d page: %d", other, r.status)
	}
	if r := p.getAs(t, "/incidents/"+strconv.Itoa(12345)); r.status != http.StatusNotFound {
		t.Errorf("no such incident: %d", r.status)
	}
}

// TestIncidentReviewForm: a person who may handle an incident writes its
// post-incident review from the incident page, and rewrites it; blank
// action rows are left out; a ticket that is not an http(s) link, an empty
// cause, anonymous readers and viewers are refused, and nothing is stored.
func TestIncidentReviewForm(t *testing.T) {
	t.Parallel()
	p := newEditPortal(t)
	ctx := context.Background()
	st := store.New(p.pool)
	inc, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: fctOrders, Cause: catalog.CauseRunLate, CauseKey: "airflow/orders_daily.load",
		Severity: catalog.SeverityWarn, Title: "run r9 took 45m0s", By: catalog.ActorAlmanac})
	if err != nil {
		t.Fatal(err)
	}
	review := incidentPath(inc.ID) + "/review"
	if r := p.getAs(t, incidentPath(inc.ID), asAlice...); !strings.Contains(r.body, `action="`+review+`"`) || !strings.Contains(r.body, "Write the post-incident review") {
		t.Fatalf("an editor's incident page has no review form:\n%.4000s", r.body)
	}
	if r := p.getAs(t, incidentPath(inc.ID), asVic...); strings.Contains(r.body, `action="`+review+`"`) {
		t.Errorf("a viewer is offered the review form")
	}
	form := url.Values{
		"cause":  {"The upstream export ran twice."},
		"impact": {"Revenue dashboards were 45 minutes late."},
		"action": {"Make the export idempotent", "", "Alert on duplicate files"},
		"ticket": {"https://jira.example.com/browse/DATA-12", "", ""},
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header []string
		status int
		says   string
	}{
		{"anonymous", form, nil, http.StatusUnauthorized, "needs a login"},
		{"viewer", form, asVic, http.StatusForbidden, ""},
		{"javascript ticket", url.Values{"cause": {"x"}, "action": {"a"}, "ticket": {"javascript:alert(1)"}}, asAlice, http.StatusBadRequest, "not an http(s) link"},
		{"no cause", url.Values{"cause": {"  "}, "action": {""}, "ticket": {""}}, asAlice, http.StatusBadRequest, "empty cause"},
		{"unpaired", url.Values{"cause": {"x"}, "action": {"a", "b"}, "ticket": {""}}, asAlice, http.StatusBadRequest, "do not pair up"},
	} {
		r := p.postForm(t, review, tc.form, tc.header...)
		if r.status != tc.status || !strings.Contains(r.body, tc.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%.2000s", tc.name, r.status, tc.status, tc.says, r.body)
		}
	}
	if got, err := st.Incident(ctx, inc.ID); err != nil || got.Review != nil {
		t.Fatalf("a refused review was stored: %+v %v", got.Review, err)
	}

	r := p.postForm(t, review, form, asAlice...)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != incidentPath(inc.ID)+"#review" {
		t.Fatalf("review: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	got, err := st.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.FollowUpAction{{Action: "Make the export idempotent", Ticket: "https://jira.example.com/browse/DATA-12"}, {Action: "Alert on duplicate files"}}
	if got.Review == nil || got.Review.Cause != "The upstream export ran twice." || got.Review.By != "alice@corp" || !slices.Equal(got.Review.Actions, want) {
		t.Fatalf("stored review = %+v", got.Review)
	}
	page := p.getAs(t, incidentPath(inc.ID), asAlice...)
	for _, s := range []string{"Edit the post-incident review", `value="Make the export idempotent"`, `<a href="https://jira.example.com/browse/DATA-12" rel="noopener noreferrer">`, "Revenue dashboards were 45 minutes late."} {
		if !strings.Contains(page.body, s) {
			t.Errorf("incident page after the review lacks %q", s)
		}
	}
	// Rewritten: the new review replaces the old one.
	if r := p.postForm(t, review, url.Values{"cause": {"Clock skew."}, "action": {""}, "ticket": {""}}, asAlice...); r.status != http.StatusSeeOther {
		t.Fatalf("rewrite: %d\n%s", r.status, r.body)
	}
	if got, _ := st.Incident(ctx, inc.ID); got.Review == nil || got.Review.Cause != "Clock skew." || len(got.Review.Actions) != 0 {
		t.Errorf("rewritten review = %+v", got.Review)
	}
}
