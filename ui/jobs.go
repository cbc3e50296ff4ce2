package ui

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/ui/markdown"
)

// The pipeline pages: /jobs lists the jobs with how their latest run
// went; a job's page (/jobs/{ns}/{name...}) shows its run history with a
// duration chart, late and failed runs, its inputs and outputs, SQL,
// source code, parent DAG and documentation; /runs lists the newest runs
// of every job and /runs/{id} shows one (see jobrun.go).

// jobPath is the address of a job's page, built as datasetPath builds a
// dataset's.
func jobPath(k catalog.JobKey) string {
	return "/jobs" + strings.TrimPrefix(datasetPath(catalog.Key(k)), "/datasets")
}

// jobRunPath is the address of a job run's page.
func jobRunPath(id string) string { return "/runs/" + url.PathEscape(id) }

// jobsPageSize is how many jobs one page of /jobs lists.
const jobsPageSize = 50

// jobsFilter is /jobs' filters, as in its query string.
type jobsFilter struct {
	Namespace, Status, Sort string
	Page                    int
}

// query encodes the filters for a link, with the given page.
func (f jobsFilter) query(page int) string {
	q := url.Values{}
	if f.Namespace != "" {
		q.Set("namespace", f.Namespace)
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Sort != "" && f.Sort != catalog.JobSortName {
		q.Set("sort", f.Sort)
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/jobs"
	}
	return "/jobs?" + q.Encode()
}

// parseJobsFilter reads /jobs' query string; a value it does not know is
// an error naming the parameter.
func parseJobsFilter(q url.Values) (jobsFilter, error) {
	f := jobsFilter{Namespace: q.Get("namespace"), Status: q.Get("status"), Sort: q.Get("sort"), Page: 1}
	if f.Status != "" && f.Status != catalog.StatusNeverRan && !catalog.RunState(f.Status).Valid() {
		return f, invalid(fmt.Sprintf("status=%q is not a run status: use one of %s or %s.", f.Status, strings.Join(runStates(), ", "), catalog.StatusNeverRan))
	}
	if f.Sort != "" && !slices.Contains(catalog.JobSorts, f.Sort) {
		return f, invalid(fmt.Sprintf("sort=%q is not an order of the jobs: use one of %s.", f.Sort, strings.Join(catalog.JobSorts, ", ")))
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return f, invalid(fmt.Sprintf("page=%q is not a page number (1 to %d).", v, maxPage))
		}
		f.Page = n
	}
	return f, nil
}

// runStates lists the run states in the order the filters offer them.
func runStates() []string {
	return []string{string(catalog.RunComplete), string(catalog.RunFail), string(catalog.RunAbort), string(catalog.RunRunning),
		string(catalog.RunStart), string(catalog.RunOther)}
}

func options(values []string, label func(string) string, selected string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: label(v), Selected: v == selected}
	}
	return out
}

// runStatusLabel is how a run state reads on a page.
func runStatusLabel(s string) string {
	switch catalog.RunState(s) {
	case catalog.RunComplete:
		return "succeeded"
	case catalog.RunFail:
		return "failed"
	case catalog.RunAbort:
		return "aborted"
	case catalog.RunStart, catalog.RunRunning:
		return "running"
	case catalog.RunOther:
		return "other"
	}
	if s == catalog.StatusNeverRan {
		return "never ran"
	}
	return strings.ToLower(s)
}

// runStatusClass is the badge class of a run state.
func runStatusClass(s catalog.RunState) string {
	switch {
	case s == catalog.RunComplete:
		return "status-succeeded"
	case s.Failed():
		return "status-failed"
	case s == catalog.RunStart || s == catalog.RunRunning:
		return "status-running"
	}
	return "status-none"
}

var jobSortLabels = map[string]string{
	catalog.JobSortName: "name", catalog.JobSortLastRun: "last run", catalog.JobSortFailures: "failures", catalog.JobSortDuration: "duration",
}

// jobsView is /jobs.
type jobsView struct {
	Page                        page
	Filter                      jobsFilter
	Namespaces, Statuses, Sorts []option
	Rows                        []jobRowView
	Pager                       pager
	Filtered                    bool
}

// jobRowView is a job in the listing.
type jobRowView struct {
	Link, Namespace, Name, Type string
	// Status is "" for a job that never ran.
	Status, StatusClass string
	RunLink             string
	LastRun             moment
	Duration            string
	Runs, Failures      int
}

func newJobsView(f jobsFilter, namespaces []string, jobs []catalog.JobSummary, total int, now time.Time) jobsView {
	v := jobsView{
		Page:       page{Title: "Jobs", Section: "jobs"},
		Filter:     f,
		Namespaces: options(namespaces, func(s string) string { return s }, f.Namespace),
		Statuses:   options(append(runStates(), catalog.StatusNeverRan), runStatusLabel, f.Status),
		Sorts:      options(catalog.JobSorts, func(s string) string { return jobSortLabels[s] }, cmp.Or(f.Sort, catalog.JobSortName)),
		Filtered:   f.Namespace != "" || f.Status != "",
	}
	for _, j := range jobs {
		row := jobRowView{Link: jobPath(j.Key), Namespace: j.Key.Namespace, Name: j.Key.Name, Type: j.Type, Runs: j.Runs, Failures: j.Failures}
		if r := j.Latest; r != nil {
			row.Status, row.StatusClass = runStatusLabel(string(r.State)), runStatusClass(r.State)
			row.RunLink, row.LastRun, row.Duration = jobRunPath(r.ID), newMoment(r.StateAt, now), humanDuration(r.Duration())
		}
		v.Rows = append(v.Rows, row)
	}
	v.Pager = pager{Total: total, Page: f.Page, Pages: max((total+jobsPageSize-1)/jobsPageSize, 1)}
	if len(jobs) > 0 {
		v.Pager.From = (f.Page-1)*jobsPageSize + 1
		v.Pager.To = v.Pager.From + len(jobs) - 1
	}
	if f.Page > 1 {
		v.Pager.Prev = f.query(min(f.Page-1, v.Pager.Pages))
	}
	if f.Page < v.Pager.Pages {
		v.Pager.Next = f.query(f.Page + 1)
	}
	return v
}

// serveJobs serves /jobs.
func (s *Server) serveJobs(w http.ResponseWriter, r *http.Request) error {
	f, err := parseJobsFilter(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	jobs, total, err := s.store.JobSummaries(ctx, catalog.JobFilter{Namespace: f.Namespace, Status: f.Status, Sort: f.Sort,
		Offset: (f.Page - 1) * jobsPageSize, Limit: jobsPageSize})
	if err != nil {
		return err
	}
	nss, err := s.store.JobNamespaces(ctx)
	if err != nil {
		return err
	}
	return s.render(w, r, jobsPage(newJobsView(f, nss, jobs, total, s.now())))
}

// jobHistoryRuns is how many runs a job's page charts and judges lateness
// by; jobRunsPageSize how many its history table lists at a time.
const (
	jobHistoryRuns  = 100
	jobRunsPageSize = 25
	// childRunsLookback is how many of a job's last runs its page looks
	// through for the runs they started.
	childRunsLookback = 10
)

// jobPageView is a job's page.
type jobPageView struct {
	Page      page
	Key       catalog.JobKey
	Type      string
	Sources   string
	Removed   bool
	DocHTML   markdown.HTML
	SQL       string
	Compiled  string
	Code      *catalog.SourceCode
	CodeURL   string // Code.URL when it is http(s)
	Inputs    []linkView
	Outputs   []linkView
	Parent    *parentView
	Latest    *jobRunRowView
	Chart     durationChart
	LateRule  string
	Runs      []jobRunRowView
	OlderRuns string // the next page of the history; "" at its end
	NewerRuns string // its first page, on a later one
	// Children are the runs that the run ChildrenOf started.
	Children                 []jobRunRowView
	ChildrenOf, ChildrenOfID string
	Lineage                  string
}

// parentView is the run that started a run: an Airflow task's DAG run.
type parentView struct {
	RunLink, RunID string
	JobLink, Job   string
	// Known says the parent run is recorded, so that its link leads to
	// a page.
	Known bool
}

// jobRunRowView is a run in a list.
type jobRunRowView struct {
	ID, Link            string
	JobLink, Job        string
	Status, StatusClass string
	At                  moment
	Started             moment
	Duration            string
	Late                bool
	Failed              bool
	Error               string
}

// RowClass marks a failed or late run's row.
func (r jobRunRowView) RowClass() string {
	switch {
	case r.Failed:
		return "run-failed"
	case r.Late:
		return "run-late"
	}
	return ""
}

func newJobRunRow(r catalog.Run, threshold time.Duration, judged bool, now time.Time) jobRunRowView {
	row := jobRunRowView{ID: r.ID, Link: jobRunPath(r.ID), JobLink: jobPath(r.Job), Job: r.Job.Name,
		Status: runStatusLabel(string(r.State)), StatusClass: runStatusClass(r.State), At: newMoment(r.StateAt, now),
		Duration: humanDuration(r.Duration()), Failed: r.State.Failed(), Error: r.ErrorMessage}
	if r.StartedAt != nil {
		row.Started = newMoment(*r.StartedAt, now)
	}
	row.Late = judged && r.State.Terminal() && r.Duration() > threshold
	return row
}

// lateRule says in words which runs of a job are late, for its page.
func lateRule(threshold time.Duration, judged bool) string {
	if !judged {
		return fmt.Sprintf("Runs are judged late once the job has %d successful runs with a known duration.", catalog.LateMinRuns)
	}
	return fmt.Sprintf("Late: took longer than %s, %s× the median duration of its successful runs (and at least %s more).",
		humanDuration(threshold), strconv.FormatFloat(catalog.LateFactor, 'f', -1, 64), humanDuration(catalog.LateMargin))
}

// durationChart draws the duration of a job's runs, oldest left: one bar
// per run, its height by duration, its class by outcome (and lateness), a
// line at the median; each bar's title says the run in words.
type durationChart struct {
	Width, Height int
	Bars          []historyBar
	// MedianY is the median line's height; -1 without one.
	MedianY int
	Summary string
}

const (
	durationBarWidth = 10
	durationBarGap   = 3
	durationHeight   = 80
)

// newDurationChart charts runs, newest first as the store returns them.
func newDurationChart(runs []catalog.Run, threshold time.Duration, judged bool) durationChart {
	c := durationChart{Height: durationHeight, MedianY: -1}
	if len(runs) == 0 {
		return c
	}
	var longest time.Duration
	var ok []time.Duration
	for _, r := range runs {
		longest = max(longest, r.Duration())
		if d := r.Duration(); r.State == catalog.RunComplete && d > 0 {
			ok = append(ok, d)
		}
	}
	n := len(runs)
	c.Width = n*(durationBarWidth+durationBarGap) - durationBarGap
	y := func(d time.Duration) int {
		if longest <= 0 {
			return durationHeight
		}
		return durationHeight - int(math.Round(float64(d)/float64(longest)*float64(durationHeight-4)))
	}
	counts := map[string]int{}
	for i, r := range runs {
		class, what := "r-pass", "succeeded"
		switch {
		case r.State.Failed():
			class, what = "r-fail", runStatusLabel(string(r.State))
		case !r.State.Terminal():
			class, what = "r-skipped", "running"
		}
		d := r.Duration()
		if judged && r.State.Terminal() && d > threshold {
			class, what = class+" r-late", what+", late"
		}
		counts[what]++
		top := y(d)
		if d <= 0 {
			top = durationHeight - 4 // a stub: no duration known yet
		}
		title := what + ", " + r.StateAt.UTC().Format("2006-01-02 15:04 UTC")
		if hd := humanDuration(d); hd != "" {
			title += ", took " + hd
		}
		c.Bars = append(c.Bars, historyBar{X: (n - 1 - i) * (durationBarWidth + durationBarGap), Y: top, W: durationBarWidth, H: durationHeight - top,
			Class: class, Title: title})
	}
	if len(ok) > 0 {
		c.MedianY = y(catalog.Median(ok))
	}
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range counts {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, strconv.Itoa(counts[k])+" "+k)
	}
	c.Summary = "Duration of the last " + plural(n, "run") + ", oldest first: " + strings.Join(parts, ", ")
	if len(ok) > 0 {
		c.Summary += "; median " + humanDuration(catalog.Median(ok))
	}
	return c
}

// jobFromPath reads the job key of a job page's address.
func jobFromPath(r *http.Request) (catalog.JobKey, error) {
	k := catalog.JobKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := k.Validate(); err != nil {
		return k, invalid(fmt.Sprintf("%q is not a job: %s.", k.String(), strings.TrimSuffix(err.Error(), ": "+catalog.ErrInvalid.Error())))
	}
	return k, nil
}

// serveJob serves a job's page.
func (s *Server) serveJob(w http.ResponseWriter, r *http.Request) error {
	key, err := jobFromPath(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	jobs, err := s.store.JobsByKeys(ctx, []catalog.JobKey{key})
	if err != nil {
		return err
	}
	j := jobs[key]
	if j == nil {
		return notFound(fmt.Sprintf("There is no job %s in namespace %s.", key.Name, key.Namespace))
	}
	q := r.URL.Query()
	p := store.RunPage{Job: key, Limit: jobRunsPageSize, AfterAt: q.Get("before"), AfterID: q.Get("after")}
	if (p.AfterAt == "") != (p.AfterID == "") {
		return invalid("Give both before= (a time) and after= (a run id), or neither.")
	}
	v, err := s.jobPageView(ctx, *j, p, s.now())
	if err != nil {
		return err
	}
	return s.render(w, r, jobPage(v))
}

// jobPageView reads what a job's page shows beyond the job: its runs (the
// page p of them and the last ones for the chart) and the runs its latest
// run started.
func (s *Server) jobPageView(ctx context.Context, j catalog.Job, p store.RunPage, now time.Time) (jobPageView, error) {
	v := jobPageView{
		Page: page{Title: j.Key.Name, Section: "jobs"}, Key: j.Key, Type: j.Type, Sources: strings.Join(j.SourceNames(), ", "),
		Removed: j.RemovedAt != nil, SQL: j.SQL, Compiled: j.CompiledSQL,
	}
	if v.Compiled == v.SQL {
		v.Compiled = ""
	}
	if j.Description != "" {
		v.DocHTML = markdown.Render(j.Description)
	}
	if c, ok := j.SourceCode(); ok {
		v.Code, v.CodeURL = &c, safeURL(c.URL)
	}
	for _, k := range j.Inputs {
		v.Inputs = append(v.Inputs, linkView{datasetPath(k), k.Name, k.Namespace})
	}
	for _, k := range j.Outputs {
		v.Outputs = append(v.Outputs, linkView{datasetPath(k), k.Name, k.Namespace})
	}
	if s.lineage != nil && len(j.Outputs)+len(j.Inputs) > 0 {
		v.Lineage = lineagePath(append(slices.Clone(j.Outputs), j.Inputs...)[0])
	}
	recent, err := s.store.RunDurations(ctx, j.Key, jobHistoryRuns)
	if err != nil {
		return v, err
	}
	threshold, judged := catalog.LateThreshold(recent)
	v.LateRule = lateRule(threshold, judged)
	v.Chart = newDurationChart(recent, threshold, judged)
	pages, err := s.store.RunPages(ctx, []store.RunPage{p})
	if err != nil {
		return v, withMessage(err, "before= is not a time: give it as the page's own links do (RFC 3339).")
	}
	for _, r := range pages[p] {
		v.Runs = append(v.Runs, newJobRunRow(r, threshold, judged, now))
	}
	if rs := pages[p]; len(rs) == p.Limit {
		last := rs[len(rs)-1]
		v.OlderRuns = jobPath(j.Key) + "?" + url.Values{"before": {last.StateAt.Format(time.RFC3339Nano)}, "after": {last.ID}}.Encode() + "#runs"
	}
	if p.AfterID != "" {
		v.NewerRuns = jobPath(j.Key) + "#runs"
	}
	if len(recent) > 0 {
		latest := recent[0]
		row := newJobRunRow(latest, threshold, judged, now)
		v.Latest = &row
		if latest.ParentID != "" {
			par, err := s.parentView(ctx, latest)
			if err != nil {
				return v, err
			}
			v.Parent = &par
		}
		// The tasks of a DAG: the runs that the newest of its last runs
		// with any started (the newest may not have started its tasks
		// yet).
		ids := make([]string, 0, childRunsLookback)
		for _, r := range recent[:min(len(recent), childRunsLookback)] {
			ids = append(ids, r.ID)
		}
		children, err := s.store.ChildRunsOf(ctx, ids)
		if err != nil {
			return v, err
		}
		for _, id := range ids {
			if cs := children[id]; len(cs) > 0 {
				v.ChildrenOf = jobRunPath(id)
				v.ChildrenOfID = shortID(id)
				for _, c := range cs {
					v.Children = append(v.Children, newJobRunRow(c, 0, false, now))
				}
				break
			}
		}
	}
	return v, nil
}

// parentView reads the parent of run r.
func (s *Server) parentView(ctx context.Context, r catalog.Run) (parentView, error) {
	p := parentView{RunID: r.ParentID, RunLink: jobRunPath(r.ParentID), Job: r.ParentJob.Name}
	if r.ParentJob.Name != "" {
		p.JobLink = jobPath(r.ParentJob)
	}
	got, err := s.store.RunsByIDs(ctx, []string{r.ParentID})
	if err != nil {
		return p, err
	}
	_, p.Known = got[r.ParentID]
	return p, nil
}
