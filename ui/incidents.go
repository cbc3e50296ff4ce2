package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
)

// Incidents show in three places: a banner for each open incident on its
// dataset's page, with plain forms to acknowledge and resolve it for
// those who may (catalog.CanHandleIncident); the incident's own page with
// its impact, timeline and review; and /incidents, the data status page:
// what is broken now and what was resolved recently, for everyone or one
// team (?team=). The forms post to /incidents/{id}/acknowledge and
// /resolve and redirect back (Post/Redirect/Get); the middleware's
// cross-origin protection covers them as it does every form.

// recentlyResolved is how far back the status page lists resolved
// incidents.
const recentlyResolved = 7 * 24 * time.Hour

// incidentView is an incident as the pages show it.
type incidentView struct {
	ID             int64
	Link           string
	Title          string
	Detail         string
	Severity       string
	Cause          string // "check failed"
	CauseKey       string
	State          string
	Dataset        catalog.Key
	DatasetLink    string
	Opened         moment
	OpenedBy       string
	Acknowledged   moment
	AcknowledgedBy string
	Resolved       moment
	ResolvedBy     string
	Resolution     string
	Impact         []impactedView
	// ImpactOwners are the distinct owners of the impacted datasets.
	ImpactOwners []string
	// ImpactSummary is "3 downstream datasets of 2 owners".
	ImpactSummary string
	Review        *catalog.IncidentReview
	Timeline      []incidentEventView
	// Can says the reader may acknowledge and resolve it: the forms show.
	Can bool
	// Login is where an anonymous reader logs in to handle it.
	Login                                          string
	AcknowledgeAction, ResolveAction, ReviewAction string
	// TicketURL opens a new issue about it in the configured issue
	// tracker; "" when none is configured.
	TicketURL string
}

// impactedView is a dataset downstream of an incident.
type impactedView struct {
	Name, Namespace, Link string
	Distance              int
	Owners                []string
}

// incidentEventView is an entry of an incident's timeline.
type incidentEventView struct {
	At    moment
	Kind  string
	Actor string
	Note  string
}

func incidentPath(id int64) string { return "/incidents/" + strconv.FormatInt(id, 10) }

func newIncidentView(i catalog.Incident, now time.Time) incidentView {
	v := incidentView{
		ID: i.ID, Link: incidentPath(i.ID), Title: i.Title, Detail: i.Detail, Severity: string(i.Severity),
		Cause: strings.ReplaceAll(string(i.Cause), "_", " "), CauseKey: i.CauseKey, State: i.State(),
		Dataset: i.Dataset, DatasetLink: datasetPath(i.Dataset),
		Opened: newMoment(i.OpenedAt, now), OpenedBy: i.OpenedBy,
		AcknowledgedBy: i.AcknowledgedBy, ResolvedBy: i.ResolvedBy, Resolution: i.Resolution, Review: i.Review,
		AcknowledgeAction: incidentPath(i.ID) + "/acknowledge", ResolveAction: incidentPath(i.ID) + "/resolve",
		ReviewAction: incidentPath(i.ID) + "/review",
	}
	if i.AcknowledgedAt != nil {
		v.Acknowledged = newMoment(*i.AcknowledgedAt, now)
	}
	if i.ResolvedAt != nil {
		v.Resolved = newMoment(*i.ResolvedAt, now)
	}
	seen := map[string]bool{}
	for _, d := range i.Impact {
		iv := impactedView{Name: d.Dataset.Name, Namespace: d.Dataset.Namespace, Link: datasetPath(d.Dataset), Distance: d.Distance}
		for _, o := range d.Owners {
			iv.Owners = append(iv.Owners, o.Name)
			if !seen[o.Name] {
				seen[o.Name] = true
				v.ImpactOwners = append(v.ImpactOwners, o.Name)
			}
		}
		v.Impact = append(v.Impact, iv)
	}
	v.ImpactSummary = plural(len(v.Impact), "downstream dataset")
	if len(v.ImpactOwners) > 0 {
		v.ImpactSummary += " of " + plural(len(v.ImpactOwners), "owner")
	}
	return v
}

// withPermission says whether reader p may handle the incidents of d.
func (s *Server) withPermission(v *incidentView, p catalog.Principal, d catalog.Dataset, back string) {
	v.Can = catalog.CanHandleIncident(p, d)
	if p.Anonymous() {
		v.Login = s.loginLink(back)
	}
}

// pastIncidentsShown is how many resolved incidents a dataset page lists.
const pastIncidentsShown = 10

// incidentViews are the open incidents of dataset d for the reader of its
// page, and its latest resolved ones, read in one statement.
func (s *Server) incidentViews(ctx context.Context, d catalog.Dataset, now time.Time) (open, past []incidentView, err error) {
	m, err := s.store.IncidentsOf(ctx, []catalog.Key{d.Key}, false, 50)
	if err != nil {
		return nil, nil, err
	}
	p := auth.PrincipalFrom(ctx)
	for _, i := range m[d.Key] {
		v := newIncidentView(i, now)
		switch {
		case i.Open():
			s.withPermission(&v, p, d, datasetPath(d.Key))
			open = append(open, v)
		case len(past) < pastIncidentsShown:
			past = append(past, v)
		}
	}
	return open, past, nil
}

// incidentsView is the data status page.
type incidentsView struct {
	Page     page
	Team     string
	Open     []incidentView
	Resolved []incidentView
	Since    string
}

// serveIncidents serves /incidents: open incidents and those resolved in
// the last week, of every dataset or of one team's.
func (s *Server) serveIncidents(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	team := strings.TrimSpace(r.URL.Query().Get("team"))
	now := s.now()
	yes := true
	open, err := s.store.Incidents(ctx, store.IncidentFilter{Open: &yes, Team: team, Limit: 500})
	if err != nil {
		return err
	}
	no := false
	resolved, err := s.store.Incidents(ctx, store.IncidentFilter{Open: &no, Team: team, ResolvedSince: now.Add(-recentlyResolved), Limit: 200})
	if err != nil {
		return err
	}
	title := "Data status"
	if team != "" {
		title += " of " + team
	}
	v := incidentsView{Page: page{Title: title, Section: "incidents"}, Team: team, Since: "7 days"}
	for _, i := range open {
		v.Open = append(v.Open, newIncidentView(i, now))
	}
	for _, i := range resolved {
		v.Resolved = append(v.Resolved, newIncidentView(i, now))
	}
	return s.render(w, r, incidentsPage(v))
}

// incidentID reads the {id} of an incident's address.
func incidentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound(fmt.Sprintf("%q is not an incident number.", r.PathValue("id")))
	}
	return id, nil
}

// serveIncident serves an incident's page.
func (s *Server) serveIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := s.store.Incident(ctx, id)
	if err != nil {
		return withMessage(err, fmt.Sprintf("There is no incident %d.", id))
	}
	events, err := s.store.IncidentEvents(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	v := newIncidentView(inc, now)
	for _, e := range events {
		v.Timeline = append(v.Timeline, incidentEventView{At: newMoment(e.At, now), Kind: string(e.Kind), Actor: e.Actor, Note: e.Note})
	}
	d := catalog.Dataset{Key: inc.Dataset}
	if found, err := s.store.FindDataset(ctx, inc.Dataset); err != nil {
		return err
	} else if found != 0 {
		ds, err := s.store.DatasetsByIDs(ctx, []int64{found})
		if err != nil {
			return err
		}
		if len(ds) == 1 {
			d = ds[0]
		}
	}
	s.withPermission(&v, auth.PrincipalFrom(ctx), d, incidentPath(id))
	v.TicketURL = s.links.IssueURL(inc, s.siteURL(r)+incidentPath(id))
	return s.render(w, r, incidentPage(page{Title: "Incident " + strconv.FormatInt(id, 10) + ": " + inc.Title, Section: "incidents"}, v))
}

// postAcknowledge acknowledges an incident as the reader.
func (s *Server) postAcknowledge(w http.ResponseWriter, r *http.Request) error {
	return s.changeIncident(w, r, s.store.AcknowledgeIncident)
}

// postResolve resolves an incident as the reader, with the note posted.
func (s *Server) postResolve(w http.ResponseWriter, r *http.Request) error {
	return s.changeIncident(w, r, s.store.ResolveIncident)
}

// reviewActions is how many follow-up actions the review form offers
// beyond those the review has.
const reviewActions = 3

// postReview writes (or rewrites) an incident's post-incident review as
// the reader: its cause, impact and follow-up actions with their tickets
// (the form's action and ticket fields, paired in order; blank pairs
// left out). Refusals show the error page with the reason.
func (s *Server) postReview(w http.ResponseWriter, r *http.Request) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid(fmt.Sprintf("The form could not be read (at most %d KiB): %v.", maxFormBytes>>10, err))
	}
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return withMessage(fmt.Errorf("incident %d: %w", id, catalog.ErrUnauthenticated), "Reviewing an incident needs a login.")
	}
	review := catalog.IncidentReview{Cause: formText(r, "cause"), Impact: formText(r, "impact")}
	actions, tickets := r.PostForm["action"], r.PostForm["ticket"]
	if len(actions) != len(tickets) {
		return invalid("The review form's actions and tickets do not pair up: send one ticket field (blank if none) per action.")
	}
	for i, a := range actions {
		a, t := strings.TrimSpace(a), strings.TrimSpace(tickets[i])
		if a == "" && t == "" {
			continue
		}
		review.Actions = append(review.Actions, catalog.FollowUpAction{Action: a, Ticket: t})
	}
	if _, err := s.store.SetIncidentReview(ctx, p, id, review); err != nil {
		return withMessage(err, refusalMessage(err))
	}
	http.Redirect(w, r, incidentPath(id)+"#review", http.StatusSeeOther)
	return nil
}

// reviewRows are the follow-up actions the review form shows: the
// review's own, then reviewActions blank ones.
func reviewRows(r *catalog.IncidentReview) []catalog.FollowUpAction {
	var rows []catalog.FollowUpAction
	if r != nil {
		rows = append(rows, r.Actions...)
	}
	return append(rows, make([]catalog.FollowUpAction, reviewActions)...)
}

// changeIncident reads an incident form and applies change as the reader,
// then redirects to where the form was (the dataset page, or the
// incident's). Refusals show the error page: who may not (401, 403), an
// incident already acknowledged or resolved (409).
func (s *Server) changeIncident(w http.ResponseWriter, r *http.Request, change func(context.Context, catalog.Principal, int64, string) (catalog.Incident, error)) error {
	id, err := incidentID(r)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return invalid(fmt.Sprintf("The form could not be read (at most %d KiB): %v.", maxFormBytes>>10, err))
	}
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	if p.Anonymous() {
		return withMessage(fmt.Errorf("incident %d: %w", id, catalog.ErrUnauthenticated), "Handling an incident needs a login.")
	}
	inc, err := change(ctx, p, id, formText(r, "note"))
	if err != nil {
		return withMessage(err, refusalMessage(err))
	}
	back := incidentPath(id)
	if r.PostForm.Get("back") == "dataset" {
		back = datasetPath(inc.Dataset) + "#incident-" + url.PathEscape(strconv.FormatInt(id, 10))
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
