package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// runsPageSize is how many runs one page of /runs lists.
const runsPageSize = 50

// runsView is /runs: the newest runs of every job.
type runsView struct {
	Page     page
	Status   string
	Statuses []option
	Runs     []jobRunRowView
	// Older is the next page; "" at the end. Newer is the first page,
	// on a later one.
	Older, Newer string
}

// runsQuery is /runs' address with status and the page after the run
// (at, id).
func runsQuery(status string, at time.Time, id string) string {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if id != "" {
		q.Set("before", at.Format(time.RFC3339Nano))
		q.Set("after", id)
	}
	if len(q) == 0 {
		return "/runs"
	}
	return "/runs?" + q.Encode()
}

// serveRuns serves /runs, filtered by ?status= and paged by ?before= and
// ?after=, the state time and id of the last run of the previous page.
func (s *Server) serveRuns(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	status := q.Get("status")
	if status != "" && !catalog.RunState(status).Valid() {
		return invalid(fmt.Sprintf("status=%q is not a run status: use one of %v.", status, runStates()))
	}
	var at time.Time
	afterID := q.Get("after")
	if b := q.Get("before"); b != "" || afterID != "" {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, b); err != nil || afterID == "" {
			return invalid(fmt.Sprintf("before=%q and after=%q: give both, a time (RFC 3339) and a run id, as the page's own links do.", b, afterID))
		}
	}
	runs, err := s.store.RecentRuns(r.Context(), catalog.RunState(status), at, afterID, runsPageSize)
	if err != nil {
		return err
	}
	now := s.now()
	v := runsView{Page: page{Title: "Runs", Section: "jobs"}, Status: status,
		Statuses: options(runStates(), runStatusLabel, status)}
	for _, run := range runs {
		v.Runs = append(v.Runs, newJobRunRow(run, 0, false, now))
	}
	if len(runs) == runsPageSize {
		last := runs[len(runs)-1]
		v.Older = runsQuery(status, last.StateAt, last.ID)
	}
	if afterID != "" {
		v.Newer = runsQuery(status, time.Time{}, "")
	}
	return s.render(w, r, runsPage(v))
}

// jobRunView is the page of one run of a job.
type jobRunView struct {
	Page     page
	Run      jobRunRowView
	JobKey   catalog.JobKey
	Ended    moment
	Nominal  string
	Parent   *parentView
	Children []jobRunRowView
	// Changed are the datasets the run wrote, with what it measured of
	// them; Read those it read.
	Changed, Read []runDatasetView
	// Median is the job's usual duration, for comparison; "" when not
	// known.
	Median   string
	LateRule string
}

// runDatasetView is a dataset a run read or wrote.
type runDatasetView struct {
	linkView
	Rows, Size, Files string
	Columns           int
}

// serveJobOrCrawlRun serves /runs/{id}: the run of a job with that id
// (OpenLineage run ids are UUIDs) or else, for a number, the crawl run
// with that number.
func (s *Server) serveJobOrCrawlRun(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ctx := r.Context()
	got, err := s.store.RunsByIDs(ctx, []string{id})
	if err != nil {
		return err
	}
	run, ok := got[id]
	if !ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			return s.serveRun(w, r)
		}
		return notFound(fmt.Sprintf("There is no run %s.", id))
	}
	now := s.now()
	recent, err := s.store.RunDurations(ctx, run.Job, jobHistoryRuns)
	if err != nil {
		return err
	}
	threshold, judged := catalog.LateThreshold(recent)
	v := jobRunView{Page: page{Title: "Run of " + run.Job.Name, Section: "jobs"}, Run: newJobRunRow(run, threshold, judged, now), JobKey: run.Job,
		LateRule: lateRule(threshold, judged)}
	if run.EndedAt != nil {
		v.Ended = newMoment(*run.EndedAt, now)
	}
	if run.NominalStart != nil {
		v.Nominal = run.NominalStart.UTC().Format("2006-01-02 15:04 UTC")
		if run.NominalEnd != nil {
			v.Nominal += " to " + run.NominalEnd.UTC().Format("2006-01-02 15:04 UTC")
		}
	}
	var ds []time.Duration
	for _, o := range recent {
		if d := o.Duration(); o.State == catalog.RunComplete && d > 0 {
			ds = append(ds, d)
		}
	}
	v.Median = humanDuration(catalog.Median(ds))
	if run.ParentID != "" {
		p, err := s.parentView(ctx, run)
		if err != nil {
			return err
		}
		v.Parent = &p
	}
	children, err := s.store.ChildRunsOf(ctx, []string{run.ID})
	if err != nil {
		return err
	}
	for _, c := range children[run.ID] {
		v.Children = append(v.Children, newJobRunRow(c, 0, false, now))
	}
	// What the run measured, then the job's other outputs and inputs,
	// which it changed or read without saying how much.
	ms, err := s.store.RunMetrics(ctx, run.ID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, m := range ms {
		d := runDatasetView{linkView: linkView{datasetPath(m.Dataset), m.Dataset.Name, m.Dataset.Namespace}, Columns: len(m.Columns)}
		if m.RowCount != nil {
			d.Rows = humanCount(*m.RowCount)
		}
		if m.Bytes != nil {
			d.Size = humanBytes(*m.Bytes)
		}
		if m.FileCount != nil {
			d.Files = strconv.FormatInt(*m.FileCount, 10)
		}
		seen[m.Direction+" "+m.Dataset.String()] = true
		if m.Direction == catalog.MetricsWritten {
			v.Changed = append(v.Changed, d)
		} else if m.Direction == catalog.MetricsRead {
			v.Read = append(v.Read, d)
		}
	}
	jobs, err := s.store.JobsByKeys(ctx, []catalog.JobKey{run.Job})
	if err != nil {
		return err
	}
	if j := jobs[run.Job]; j != nil && !run.State.Failed() {
		for _, k := range j.Outputs {
			if !seen[catalog.MetricsWritten+" "+k.String()] {
				v.Changed = append(v.Changed, runDatasetView{linkView: linkView{datasetPath(k), k.Name, k.Namespace}})
			}
		}
	}
	if j := jobs[run.Job]; j != nil {
		for _, k := range j.Inputs {
			if !seen[catalog.MetricsRead+" "+k.String()] {
				v.Read = append(v.Read, runDatasetView{linkView: linkView{datasetPath(k), k.Name, k.Namespace}})
			}
		}
	}
	return s.render(w, r, jobRunPage(v))
}

// shortID shortens a run id (a UUID) to its first group, for a table; the
// whole id is in the link's title.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i >= 8 {
		return id[:i]
	}
	return id
}
