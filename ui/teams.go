package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
)

// Team pages: /teams lists every owning team; /teams/{team} is one team's
// datasets and figures; /teams/{team}/report its health report of a week
// or month as a page, CSV or JSON; /teams/{team}/status its data status
// page. A team is an owner of kind team, which is also the name of the
// identity provider's group whose members may edit its datasets. The
// figures are the store's aggregates (store.TeamFigures and friends).

// teamPath is the address of team's page.
func teamPath(team string) string { return "/teams/" + url.PathEscape(team) }

// Defaults and bounds of the team page's parameters.
const (
	defaultStaleDays = 30
	maxStaleDays     = 3650
	trendDays        = 30
	teamSLOsShown    = 200
	staleShown       = 20
)

// teamRow is a team in the list of teams.
type teamRow struct {
	Name, Link    string
	Datasets      int
	Coverage      string // "67 %" of datasets described
	OpenIncidents int
	// Yours says the reader is in the team's identity-provider group.
	Yours bool
}

// teamsView is /teams.
type teamsView struct {
	Page  page
	Teams []teamRow
}

// serveTeams serves /teams: every owning team, and the reader's own
// groups first.
func (s *Server) serveTeams(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.store.Teams(r.Context())
	if err != nil {
		return err
	}
	p := auth.PrincipalFrom(r.Context())
	v := teamsView{Page: page{Title: "Teams", Section: "teams"}}
	for _, t := range ts {
		v.Teams = append(v.Teams, teamRow{Name: t.Team, Link: teamPath(t.Team), Datasets: t.Datasets,
			Coverage: percentOf(t.Described, t.Datasets), OpenIncidents: t.OpenIncidents, Yours: p.InGroup(t.Team)})
	}
	slices.SortStableFunc(v.Teams, func(a, b teamRow) int {
		switch {
		case a.Yours == b.Yours:
			return 0
		case a.Yours:
			return -1
		}
		return 1
	})
	return s.render(w, r, teamsPage(v))
}

// percentOf says n of total as a whole percentage, "–" of nothing.
func percentOf(n, total int) string {
	if total == 0 {
		return "–"
	}
	return strconv.Itoa(int(math.Floor(float64(n)*100/float64(total)))) + " %"
}

// figureView is one headline figure of a team.
type figureView struct {
	Label, Value, Detail string
	Link                 string
	Class                string
}

// sloStatusView is an SLO of a team's dataset as last judged.
type sloStatusView struct {
	Dataset     catalog.Key
	DatasetLink string
	Name        string
	Source      string
	Status      string // "at risk"
	StatusClass string // "status-breached"
	Attainment  string
	Objective   string
	Summary     string
	Evaluated   moment
}

// teamView is a team's page.
type teamView struct {
	Page      page
	Team      string
	Links     teamLinks
	Figures   []figureView
	Datasets  []datasetRow
	Pager     pager
	Incidents []incidentView
	Stale     []datasetRow
	StaleDays int
	// StaleTotal counts the stale datasets; Stale shows the first of
	// them.
	StaleTotal int
	StaleMore  string
	// SLOs are the team's SLOs not met or without data.
	SLOs                   []sloStatusView
	Checks, RowCount, Size chart
	ChecksTable            []trendRow
	TrendFrom, TrendTo     string
}

// trendRow is a day of the trend table beside the charts.
type trendRow struct {
	Day             string
	RowCount, Size  string
	Results, Failed int
	FailedShare     string
}

// teamLinks are the addresses of a team's pages.
type teamLinks struct {
	Page, Status, Week, Month, WeekCSV, MonthCSV, WeekJSON, MonthJSON, Listing string
}

func newTeamLinks(team string) teamLinks {
	p := teamPath(team)
	return teamLinks{Page: p, Status: p + "/status",
		Week: p + "/report?period=week", Month: p + "/report?period=month",
		WeekCSV: p + "/report?period=week&format=csv", MonthCSV: p + "/report?period=month&format=csv",
		WeekJSON: p + "/report?period=week&format=json", MonthJSON: p + "/report?period=month&format=json",
		Listing: listFilter{Team: team}.query(1)}
}

// teamParams are the team page's query parameters; Team is set only as
// the key of the team cache.
type teamParams struct {
	Page      int
	StaleDays int
	Team      string
}

func (p teamParams) withTeam(team string) teamParams {
	p.Team = team
	return p
}

func parseTeamParams(q url.Values) (teamParams, error) {
	p := teamParams{Page: 1, StaleDays: defaultStaleDays}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return p, invalid(fmt.Sprintf("Page must be a number from 1 to %d, not %.40q.", maxPage, v))
		}
		p.Page = n
	}
	if v := q.Get("stale_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxStaleDays {
			return p, invalid(fmt.Sprintf("Parameter stale_days must be a number of days from 1 to %d, not %.40q.", maxStaleDays, v))
		}
		p.StaleDays = n
	}
	return p, nil
}

// teamParam reads the {team} of a team page's address.
func teamParam(r *http.Request) (string, error) {
	team := r.PathValue("team")
	if err := checkParam("team", team); err != nil {
		return "", err
	}
	return team, nil
}

// serveTeam serves a team's page.
func (s *Server) serveTeam(w http.ResponseWriter, r *http.Request) error {
	team, err := teamParam(r)
	if err != nil {
		return err
	}
	params, err := parseTeamParams(r.URL.Query())
	if err != nil {
		return err
	}
	v, err := s.team(r.Context(), team, params)
	if err != nil {
		return err
	}
	return s.render(w, r, teamPage(v))
}

// teamData is what a team's page reads of the store's aggregates: the
// part the team cache keeps. Its open incidents are not part of a team
// rollup: they are read by key with each rollup read.
type teamData struct {
	store.TeamAggregates
	open []catalog.Incident
}

// teamCacheSize bounds how many team pages the cache keeps, and
// teamCacheAge how long one is kept while the change log stands still
// (incidents acknowledged or resolved by people do not move it).
const (
	teamCacheSize = 64
	teamCacheAge  = time.Minute
)

// DefaultTeamsMaxAge bounds how stale a team page's aggregates get on a
// catalog that changes all the time (see Options.TeamsMaxAge).
const DefaultTeamsMaxAge = 15 * time.Second

// teamRefreshTimeout bounds a refresh of a team page's aggregates made
// after its request was answered.
const teamRefreshTimeout = time.Minute

// teamCache keeps the aggregates of recently read team pages, as the home
// page keeps its counts. Reading the change log's position is one index
// probe; the aggregates over a team of 5,000 datasets take hundreds of
// milliseconds. An entry is exact while the change log has not moved
// since it was read, for at most teamCacheAge. Once the log has moved, an
// entry read less than maxAge ago is still served, and one refresh of it
// starts behind the response: on a catalog that changes all the time a
// team page costs a cache read, and shows the catalog as it was at most
// maxAge (and one refresh) ago. Older entries are read again before the
// page is served. A negative maxAge reads them after every change.
type teamCache struct {
	maxAge time.Duration

	mu      sync.Mutex
	entries map[teamParams]teamCacheEntry
	// refreshing are the entries being read again behind a response;
	// refreshes is how many, for tests to wait for.
	refreshing map[teamParams]bool
	refreshes  sync.WaitGroup
}

type teamCacheEntry struct {
	team string
	seq  int64
	at   time.Time
	data teamData
}

// get returns the cached data of team and params for the change log at
// seq, if any, and whether it is exact (read at seq). An inexact entry
// is within maxAge of its reading.
func (c *teamCache) get(team string, params teamParams, seq int64, now time.Time) (d teamData, exact, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[params.withTeam(team)]
	if !ok || e.team != team || now.Before(e.at) {
		return teamData{}, false, false
	}
	age := now.Sub(e.at)
	switch {
	case e.seq == seq && age < teamCacheAge:
		return e.data, true, true
	case e.seq != seq && age < c.maxAge:
		return e.data, false, true
	}
	return teamData{}, false, false
}

func (c *teamCache) put(team string, params teamParams, seq int64, now time.Time, d teamData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[teamParams]teamCacheEntry{}
	}
	key := params.withTeam(team)
	if e, ok := c.entries[key]; ok && e.seq > seq {
		return // a newer read landed first
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= teamCacheSize {
		var oldest teamParams
		first := true
		for k, e := range c.entries {
			if first || e.at.Before(c.entries[oldest].at) {
				oldest, first = k, false
			}
		}
		delete(c.entries, oldest)
	}
	c.entries[key] = teamCacheEntry{team: team, seq: seq, at: now, data: d}
}

// refresh runs read behind the response unless a refresh of the same
// page is running already.
func (c *teamCache) refresh(team string, params teamParams, read func()) {
	key := params.withTeam(team)
	c.mu.Lock()
	if c.refreshing[key] {
		c.mu.Unlock()
		return
	}
	if c.refreshing == nil {
		c.refreshing = map[teamParams]bool{}
	}
	c.refreshing[key] = true
	c.refreshes.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.refreshes.Done()
		defer func() {
			c.mu.Lock()
			delete(c.refreshing, key)
			c.mu.Unlock()
		}()
		read()
	}()
}

// readTeam reads a team's aggregates, from the cache when the catalog has
// not changed since or they are recent enough (see teamCache).
func (s *Server) readTeam(ctx context.Context, team string, params teamParams, now time.Time) (teamData, error) {
	seq, err := s.store.LastChangeSeq(ctx)
	if err != nil {
		return teamData{}, err
	}
	if d, exact, ok := s.teams.get(team, params, seq, now); ok {
		if !exact {
			s.teams.refresh(team, params, func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teamRefreshTimeout)
				defer cancel()
				// The clock of the refresh is its own: the entry is as
				// old as its reading.
				if _, err := s.readTeamFresh(ctx, team, params, seq, s.now()); err != nil && s.log != nil {
					s.log.WarnContext(ctx, "team page not refreshed", "team", team, "err", err)
				}
			})
		}
		return d, nil
	}
	return s.readTeamFresh(ctx, team, params, seq, now)
}

// readTeamFresh reads a team's aggregates from its rollup when it has the
// default parameters and its rollup is recent enough (see
// teamRollupServed), else from the store's aggregates, and caches them.
func (s *Server) readTeamFresh(ctx context.Context, team string, params teamParams, seq int64, now time.Time) (teamData, error) {
	if params == defaultTeamParams {
		r, err := s.store.TeamRollup(ctx, team)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
		case err != nil:
			return teamData{}, err
		case s.teamRollupServed(r, seq, now):
			d := teamData{TeamAggregates: r.TeamAggregates}
			if d.open, err = s.readOpenIncidents(ctx, team); err != nil {
				return teamData{}, err
			}
			s.teams.put(team, params, r.ChangeSeq, r.ComputedAt, d)
			return d, nil
		}
	}
	return s.readTeamNow(ctx, team, params, seq, now)
}

// readTeamNow reads a team's aggregates from the store, as of the change
// log at seq or later, and caches them. The reads run at once, each on
// its own connection.
func (s *Server) readTeamNow(ctx context.Context, team string, params teamParams, seq int64, now time.Time) (teamData, error) {
	var (
		d       teamData
		g, gctx = errgroup.WithContext(ctx)
	)
	g.Go(func() (err error) {
		d.TeamAggregates, err = s.readAggregates(gctx, team, params, now, 0)
		return err
	})
	g.Go(func() (err error) {
		d.open, err = s.readOpenIncidents(gctx, team)
		return err
	})
	if err := g.Wait(); err != nil {
		return teamData{}, err
	}
	s.teams.put(team, params, seq, now, d)
	return d, nil
}

// readOpenIncidents reads the open incidents a team's page lists.
func (s *Server) readOpenIncidents(ctx context.Context, team string) ([]catalog.Incident, error) {
	yes := true
	return s.store.Incidents(ctx, store.IncidentFilter{Open: &yes, Team: team, Limit: 50})
}

// readAggregates reads a team's aggregates at now from the store, at most
// limit reads at a time (0: all five at once, each on its own
// connection).
func (s *Server) readAggregates(ctx context.Context, team string, params teamParams, now time.Time, limit int) (store.TeamAggregates, error) {
	var (
		a          store.TeamAggregates
		staleSince = now.AddDate(0, 0, -params.StaleDays)
		to         = now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
		g, gctx    = errgroup.WithContext(ctx)
	)
	if limit > 0 {
		g.SetLimit(limit)
	}
	g.Go(func() (err error) {
		if a.Figures, err = s.store.TeamFigures(gctx, team, staleSince); err != nil {
			return withMessage(err, fmt.Sprintf("No live dataset is owned by a team %q.", team))
		}
		return nil
	})
	g.Go(func() (err error) {
		a.Datasets, a.Total, err = s.store.TeamDatasets(gctx, team, (params.Page-1)*pageSize, pageSize)
		return err
	})
	g.Go(func() (err error) {
		a.Stale, a.StaleTotal, err = s.store.StaleDatasets(gctx, team, staleSince, 0, staleShown)
		return err
	})
	g.Go(func() (err error) {
		a.SLOs, err = s.store.TeamSLOStatuses(gctx, team, teamSLOsShown)
		return err
	})
	g.Go(func() (err error) {
		a.Trends, err = s.store.TeamTrends(gctx, team, to.AddDate(0, 0, -trendDays), to)
		return err
	})
	if err := g.Wait(); err != nil {
		return store.TeamAggregates{}, err
	}
	return a, nil
}

// team reads what a team's page shows.
func (s *Server) team(ctx context.Context, team string, params teamParams) (teamView, error) {
	now := s.now()
	d, err := s.readTeam(ctx, team, params, now)
	if err != nil {
		return teamView{}, err
	}
	v := teamView{Page: page{Title: "Team " + team, Section: "teams"}, Team: team, Links: newTeamLinks(team), StaleDays: params.StaleDays}
	v.Figures = teamFigureViews(d.Figures, v.Links, params.StaleDays)

	all := append(slices.Clone(d.Datasets), d.Stale...)
	slices.Sort(all)
	ds, err := s.store.DatasetsByIDs(ctx, slices.Compact(all))
	if err != nil {
		return teamView{}, err
	}
	byID := make(map[int64]catalog.Dataset, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
	}
	var keys []catalog.Key
	for _, id := range d.Datasets {
		if d, ok := byID[id]; ok {
			v.Datasets = append(v.Datasets, newDatasetRow(d))
			keys = append(keys, d.Key)
		}
	}
	for _, id := range d.Stale {
		if d, ok := byID[id]; ok {
			v.Stale = append(v.Stale, newDatasetRow(d))
		}
	}
	v.StaleTotal = d.StaleTotal
	if d.StaleTotal > len(v.Stale) {
		v.StaleMore = fmt.Sprintf("and %d more", d.StaleTotal-len(v.Stale))
	}
	v.Pager = newTeamPager(team, params, d.Total, len(v.Datasets))
	badges, err := s.healthBadges(ctx, keys)
	if err != nil {
		return teamView{}, err
	}
	for i := range v.Datasets {
		v.Datasets[i].Health = badges[keys[i]]
	}
	for _, i := range d.open {
		v.Incidents = append(v.Incidents, newIncidentView(i, now))
	}
	for _, st := range d.SLOs {
		if st.Status == "ok" {
			break // ordered: the rest are met
		}
		v.SLOs = append(v.SLOs, newSLOStatusView(st, now))
	}
	if len(d.Trends.Checks) > 0 {
		v.TrendFrom, v.TrendTo = d.Trends.Checks[0].Day.Format(time.DateOnly), d.Trends.Checks[len(d.Trends.Checks)-1].Day.Format(time.DateOnly)
	}
	v.Checks, v.RowCount, v.Size, v.ChecksTable = teamCharts(d.Trends)
	return v, nil
}

// teamCharts draws a team's trends: check results with their failures
// per day, and row count and size at the end of each day.
func teamCharts(tr store.TeamTrends) (checks, rows, size chart, table []trendRow) {
	var cp, rp, sp []chartPoint
	results, failed := 0, 0
	for i, c := range tr.Checks {
		day := c.Day.Format(time.DateOnly)
		cp = append(cp, chartPoint{Label: day, Value: float64(c.Results), Part: float64(c.Failed)})
		sz := tr.Sizes[i]
		rp = append(rp, chartPoint{Label: day, Value: float64(sz.RowCount)})
		sp = append(sp, chartPoint{Label: day, Value: float64(sz.Bytes)})
		results, failed = results+c.Results, failed+c.Failed
		table = append(table, trendRow{Day: day, Results: c.Results, Failed: c.Failed, FailedShare: percentOf(c.Failed, c.Results),
			RowCount: humanCount(sz.RowCount), Size: humanBytes(sz.Bytes)})
	}
	checks = newBarChart("Check results per day", fmt.Sprintf("%s, of which %d failed or erred, over %d days.",
		plural(results, "check result"), failed, len(cp)), cp,
		func(p chartPoint) string { return fmt.Sprintf("%d results, %d failed", int(p.Value), int(p.Part)) })
	last := func(ps []chartPoint) float64 {
		if len(ps) == 0 {
			return 0
		}
		return ps[len(ps)-1].Value
	}
	rows = newLineChart("Rows", "Rows of the team's datasets at the end of each day, "+humanCount(int64(last(rp)))+" now.", rp,
		func(f float64) string { return humanCount(int64(f)) })
	size = newLineChart("Storage", "Storage of the team's datasets at the end of each day, "+humanBytes(int64(last(sp)))+" now.", sp,
		func(f float64) string { return humanBytes(int64(f)) })
	return checks, rows, size, table
}

// teamFigureViews are a team's headline figures.
func teamFigureViews(f store.TeamFigures, links teamLinks, staleDays int) []figureView {
	judged := f.SLOs - f.SLOsNoData
	slo := figureView{Label: "SLO attainment", Value: "–", Detail: "no SLO with data"}
	if judged > 0 {
		slo.Value = percentOf(f.SLOsMet+f.SLOsAtRisk, judged)
		slo.Detail = fmt.Sprintf("%d of %d SLOs met, %d breached, %d at risk", f.SLOsMet+f.SLOsAtRisk, judged, f.SLOsBreached, f.SLOsAtRisk)
		if f.SLOsNoData > 0 {
			slo.Detail += fmt.Sprintf(", %d without data", f.SLOsNoData)
		}
		if f.SLOsBreached > 0 {
			slo.Class = "stat-attention"
		}
	}
	inc := figureView{Label: "Open incidents", Value: strconv.Itoa(f.OpenIncidents), Link: links.Status, Detail: "on the status page"}
	if f.OpenIncidents > 0 {
		inc.Class = "stat-attention"
	}
	return []figureView{
		{Label: "Datasets", Value: strconv.Itoa(f.Datasets), Link: links.Listing, Detail: "owned"},
		{Label: "Datasets described", Value: percentOf(f.Described, f.Datasets), Detail: fmt.Sprintf("%d of %d", f.Described, f.Datasets)},
		{Label: "Columns described", Value: percentOf(f.DescribedColumns, f.Columns), Detail: fmt.Sprintf("%d of %d", f.DescribedColumns, f.Columns)},
		slo,
		inc,
		{Label: "Stale", Value: strconv.Itoa(f.Stale), Link: "#stale", Detail: fmt.Sprintf("untouched for %s", plural(staleDays, "day"))},
		{Label: "Rows", Value: humanCount(f.RowCount), Detail: "newest counts"},
		{Label: "Storage", Value: humanBytes(f.Bytes), Detail: "newest sizes"},
	}
}

func newSLOStatusView(st store.SLOStatus, now time.Time) sloStatusView {
	return sloStatusView{Dataset: st.Dataset, DatasetLink: datasetPath(st.Dataset), Name: st.Name, Source: st.Source,
		Status: sloStatusLabel(string(st.Status)), StatusClass: "status-" + string(st.Status),
		Attainment: strconv.FormatFloat(st.Attainment*100, 'f', 2, 64) + " %",
		Objective:  strconv.FormatFloat(st.Objective*100, 'f', -1, 64) + " %",
		Summary:    st.Summary, Evaluated: newMoment(st.EvaluatedAt, now)}
}

func sloStatusLabel(s string) string {
	switch s {
	case "at_risk":
		return "at risk"
	case "no_data":
		return "no data"
	}
	return s
}

func newTeamPager(team string, params teamParams, total, shown int) pager {
	link := func(page int) string {
		q := url.Values{}
		if page > 1 {
			q.Set("page", strconv.Itoa(page))
		}
		if params.StaleDays != defaultStaleDays {
			q.Set("stale_days", strconv.Itoa(params.StaleDays))
		}
		if len(q) == 0 {
			return teamPath(team) + "#datasets"
		}
		return teamPath(team) + "?" + q.Encode() + "#datasets"
	}
	p := pager{Total: total, Page: params.Page, Pages: max((total+pageSize-1)/pageSize, 1)}
	if shown > 0 {
		p.From = (params.Page-1)*pageSize + 1
		p.To = p.From + shown - 1
	}
	if params.Page > 1 {
		p.Prev = link(min(params.Page-1, p.Pages))
	}
	if params.Page < p.Pages {
		p.Next = link(params.Page + 1)
	}
	return p
}

// teamStatusView is a team's data status page.
type teamStatusView struct {
	Page     page
	Team     string
	Links    teamLinks
	Open     []incidentView
	Resolved []incidentView
	Since    string
	SLOs     []sloStatusView
}

// serveTeamStatus serves a team's data status page: its open incidents,
// its SLOs as last judged (not met first), and the incidents resolved in
// the last week.
func (s *Server) serveTeamStatus(w http.ResponseWriter, r *http.Request) error {
	team, err := teamParam(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	now := s.now()
	yes, no := true, false
	open, err := s.store.Incidents(ctx, store.IncidentFilter{Open: &yes, Team: team, Limit: 500})
	if err != nil {
		return err
	}
	resolved, err := s.store.Incidents(ctx, store.IncidentFilter{Open: &no, Team: team, ResolvedSince: now.Add(-recentlyResolved), Limit: 200})
	if err != nil {
		return err
	}
	statuses, err := s.store.TeamSLOStatuses(ctx, team, teamSLOsShown)
	if err != nil {
		return err
	}
	if len(open)+len(resolved)+len(statuses) == 0 {
		// A team without incidents or SLOs still has a status page if
		// it owns datasets.
		if err := s.teamExists(ctx, team); err != nil {
			return err
		}
	}
	v := teamStatusView{Page: page{Title: "Data status of " + team, Section: "teams"}, Team: team, Links: newTeamLinks(team), Since: "7 days"}
	for _, i := range open {
		v.Open = append(v.Open, newIncidentView(i, now))
	}
	for _, i := range resolved {
		v.Resolved = append(v.Resolved, newIncidentView(i, now))
	}
	for _, st := range statuses {
		v.SLOs = append(v.SLOs, newSLOStatusView(st, now))
	}
	return s.render(w, r, teamStatusPage(v))
}

// teamExists is nil if team owns a live dataset, else a not-found error
// that says so.
func (s *Server) teamExists(ctx context.Context, team string) error {
	ok, err := s.store.TeamExists(ctx, team)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(fmt.Sprintf("No live dataset is owned by a team %q.", team))
	}
	return nil
}
