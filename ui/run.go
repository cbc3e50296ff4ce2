package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"almanac/catalog"
)

// runView is the page of one crawl run.
type runView struct {
	Page     page
	ID       int64
	Source   string
	Status   string
	Started  moment
	Finished moment
	Running  bool
	Duration string
	Counts   []stat
	Errors   []catalog.CrawlError
}

// newRunView builds a crawl run's page.
func newRunView(r catalog.CrawlRun, now time.Time) runView {
	v := runView{
		Page:     page{Title: fmt.Sprintf("Run #%d of %s", r.ID, r.Source), Section: "sources"},
		ID:       r.ID,
		Source:   r.Source,
		Status:   string(r.Status),
		Started:  newMoment(r.StartedAt, now),
		Running:  r.FinishedAt == nil,
		Duration: humanDuration(r.Duration()),
		Errors:   r.Errors,
	}
	if r.FinishedAt != nil {
		v.Finished = newMoment(*r.FinishedAt, now)
	}
	c := r.Counts
	for _, n := range []struct {
		label string
		n     int
	}{
		{"Seen", c.Seen}, {"Created", c.Created}, {"Updated", c.Updated}, {"Unchanged", c.Unchanged},
		{"Removed", c.Removed}, {"Restored", c.Restored}, {"Columns", c.Columns},
	} {
		v.Counts = append(v.Counts, stat{Label: n.label, Value: strconv.Itoa(n.n)})
	}
	return v
}

// serveRun serves the page of one crawl run.
func (s *Server) serveRun(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return invalid(fmt.Sprintf("%q is not a crawl run number.", raw))
	}
	run, err := s.store.CrawlRun(r.Context(), id)
	if err != nil {
		return withMessage(err, fmt.Sprintf("There is no crawl run #%d.", id))
	}
	return s.render(w, r, runPage(newRunView(run, s.now())))
}
