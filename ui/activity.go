package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"almanac/catalog"
)

// activityView is what happens around a dataset: the jobs that write and
// read it, its data-quality checks and its freshness.
type activityView struct {
	// Explore links to the lineage explorer; empty without one.
	Explore    string
	Upstream   []linkView
	Downstream []linkView
	Producers  []jobView
	Consumers  []jobView
	Checks     []checkView
	Freshness  []freshnessView
}

// linkView is a linked dataset.
type linkView struct {
	Link, Name, Namespace string
}

// jobView is a job around the dataset.
type jobView struct {
	Name, Type, Description, Source string
	URL                             string // an exposure's link, when it has one
}

// checkView is a quality check with its latest result.
type checkView struct {
	Name, Type, Column, Severity, Source string
	Status                               string // "" when it never ran
	StatusClass                          string
	Failures                             string
	Message                              string
	At                                   moment
}

// freshnessView is one freshness observation.
type freshnessView struct {
	Status, StatusClass string
	At, MaxLoadedAt     moment
	Thresholds          string
	Source              string
}

func newActivityView(jobs catalog.DatasetJobs, checks []catalog.SourceCheck, fresh []catalog.Sourced[catalog.FreshnessObservation], now time.Time) activityView {
	var v activityView
	link := func(k catalog.Key) linkView { return linkView{datasetPath(k), k.Name, k.Namespace} }
	for _, k := range jobs.Upstream() {
		v.Upstream = append(v.Upstream, link(k))
	}
	for _, k := range jobs.Downstream() {
		v.Downstream = append(v.Downstream, link(k))
	}
	job := func(j catalog.SourceJob) jobView {
		return jobView{Name: j.Key.Name, Type: j.Type, Description: j.Description, Source: j.Source, URL: safeURL(j.Properties["url"])}
	}
	for _, j := range jobs.Producers {
		if j.RemovedAt == nil {
			v.Producers = append(v.Producers, job(j))
		}
	}
	for _, j := range jobs.Consumers {
		if j.RemovedAt == nil {
			v.Consumers = append(v.Consumers, job(j))
		}
	}
	for _, c := range checks {
		if c.RemovedAt != nil {
			continue
		}
		cv := checkView{Name: c.Name, Type: c.Type, Column: c.Column, Severity: c.Severity, Source: c.Source}
		if r := c.Latest; r != nil {
			cv.Status, cv.StatusClass, cv.Message = r.Status, "status-"+statusClass(r.Status), r.Message
			cv.At = newMoment(r.StartedAt, now)
			if r.Failures != nil && *r.Failures > 0 {
				cv.Failures = fmt.Sprintf("%d failing rows", *r.Failures)
			}
		}
		v.Checks = append(v.Checks, cv)
	}
	// Failing checks first: they are what a reader came for.
	slices.SortStableFunc(v.Checks, func(a, b checkView) int { return statusRank(a.Status) - statusRank(b.Status) })
	for _, f := range fresh {
		fv := freshnessView{Status: f.Value.Status, StatusClass: "status-" + statusClass(f.Value.Status), At: newMoment(f.Value.ObservedAt, now), Source: f.Source}
		if f.Value.MaxLoadedAt != nil {
			fv.MaxLoadedAt = newMoment(*f.Value.MaxLoadedAt, now)
		}
		var th []string
		if f.Value.WarnAfter != "" {
			th = append(th, "warn after "+f.Value.WarnAfter)
		}
		if f.Value.ErrorAfter != "" {
			th = append(th, "error after "+f.Value.ErrorAfter)
		}
		fv.Thresholds = strings.Join(th, ", ")
		v.Freshness = append(v.Freshness, fv)
	}
	return v
}

// statusClass maps result statuses onto the badge classes of crawl runs.
func statusClass(status string) string {
	switch status {
	case catalog.QualityPass:
		return "succeeded"
	case catalog.QualityWarn, catalog.QualitySkipped:
		return "partial"
	case "":
		return "none"
	}
	return "failed"
}

func statusRank(status string) int {
	switch statusClass(status) {
	case "failed":
		return 0
	case "partial":
		return 1
	case "succeeded":
		return 2
	}
	return 3
}

// safeURL keeps only http(s) links, so a crawled value cannot become a
// javascript: link.
func safeURL(u string) string {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}
