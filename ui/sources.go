package ui

import (
	"fmt"
	"net/http"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// recentRuns is how many runs the sources page lists.
const recentRuns = 25

// sourcesView is the sources page: every source with its last crawl, and
// the latest runs of all of them.
type sourcesView struct {
	Page    page
	Sources []sourceRow
	Runs    []runRow
}

// sourceRow is a source with its last run.
type sourceRow struct {
	Name      string
	Type      string
	Namespace string
	Schedule  string
	LastRun   *runRow
}

// runRow is a crawl run in a list.
type runRow struct {
	URL      string
	ID       int64
	Source   string
	Status   string
	Started  moment
	Duration string
	Counts   catalog.CrawlCounts
	Errors   int
	// Progress is how far a running crawl has come; nil once it ended.
	Progress *runProgress
}

// runProgress is how far a running crawl has come, as recorded by
// whichever replica runs it.
type runProgress struct {
	// Done of Total datasets ingested; Total 0 while the source is read.
	Done, Total int
	Text        string
}

func newRunProgress(r catalog.CrawlRun) *runProgress {
	if r.Status != catalog.CrawlRunning {
		return nil
	}
	p := &runProgress{Done: r.Counts.Seen, Total: r.Counts.Total}
	if p.Total == 0 {
		p.Text = "reading the source"
	} else {
		p.Text = fmt.Sprintf("%d of %d datasets ingested", p.Done, p.Total)
	}
	return p
}

func newSourceRow(src store.Source, now time.Time) sourceRow {
	row := sourceRow{Name: src.Name, Type: src.Type, Namespace: src.Namespace, Schedule: src.Schedule}
	if src.LastRun != nil {
		r := newRunRow(*src.LastRun, now)
		row.LastRun = &r
	}
	return row
}

func newRunRow(r catalog.CrawlRun, now time.Time) runRow {
	return runRow{
		URL:      runPath(r.ID),
		ID:       r.ID,
		Source:   r.Source,
		Status:   string(r.Status),
		Started:  newMoment(r.StartedAt, now),
		Duration: humanDuration(r.Duration()),
		Counts:   r.Counts,
		Errors:   len(r.Errors),
		Progress: newRunProgress(r),
	}
}

// newSourcesView builds the sources page.
func newSourcesView(sources []store.Source, runs []catalog.CrawlRun, now time.Time) sourcesView {
	v := sourcesView{Page: page{Title: "Sources", Section: "sources"}}
	for _, src := range sources {
		v.Sources = append(v.Sources, newSourceRow(src, now))
	}
	for _, r := range runs {
		v.Runs = append(v.Runs, newRunRow(r, now))
	}
	return v
}

// serveSources serves the sources page.
func (s *Server) serveSources(w http.ResponseWriter, r *http.Request) error {
	sources, err := s.store.Sources(r.Context())
	if err != nil {
		return err
	}
	runs, err := s.store.CrawlRuns(r.Context(), "", 0, recentRuns)
	if err != nil {
		return err
	}
	return s.render(w, r, sourcesPage(newSourcesView(sources, runs, s.now())))
}
