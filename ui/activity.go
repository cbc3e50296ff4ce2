package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// activityView is what happens around a dataset: the jobs that write and
// read it, its data-quality checks and its freshness.
type activityView struct {
	// Explore links to the lineage explorer; empty without one.
	Explore string
	// Impact links to the impact analysis; empty without lineage.
	Impact     string
	Upstream   []linkView
	Downstream []linkView
	Producers  []jobView
	Consumers  []jobView
	Checks     []checkView
	Freshness  []freshnessView
	// Metrics is nil until a run has measured the dataset.
	Metrics *metricsView
	// Usage is how much the dataset is read (Server.addUsage).
	Usage usageView
}

// linkView is a linked dataset.
type linkView struct {
	Link, Name, Namespace string
}

// jobView is a job around the dataset.
type jobView struct {
	Name, Type, Description, Source string
	Link                            string // the job's page
	URL                             string // an exposure's link, when it has one
	// Code is the link to the job's code (Server.jobCodeURL); "" for none.
	Code string
}

// checkView is a quality check with its latest result.
type checkView struct {
	Name, Type, Column, Severity, Source string
	Status                               string // "" when it never ran
	StatusClass                          string
	Failures                             string
	Message                              string
	At                                   moment
	// History charts its recent results; nil when it never ran.
	History *historyChart
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
	job := func(j catalog.Job) jobView {
		var live []string
		for _, f := range j.Sources {
			if f.RemovedAt == nil {
				live = append(live, f.Source)
			}
		}
		return jobView{Name: j.Key.Name, Link: jobPath(j.Key), Type: j.Type, Description: j.Description, Source: strings.Join(live, ", "), URL: safeURL(j.Properties["url"])}
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

// metricsView is what runs measured of a dataset: its latest size and
// column profile, and how its row count moved.
type metricsView struct {
	At     moment
	How    string // "written by job x", "read by job x", ""
	Source string
	// Rows, Size and Files are "" when the observation did not say.
	Rows, RowsExact, Size, Files string
	Columns                      []columnMetricsView
	// Trend lists the last row counts, oldest first; Sparkline draws them.
	Trend     []trendView
	Sparkline string
}

// columnMetricsView is one column of a profile.
type columnMetricsView struct {
	Name, Nulls, Distinct string
}

// trendView is one row count of the trend.
type trendView struct {
	At     moment
	Rows   string
	Change string // "+120", "−3", "" for the first or no change
}

// trendLimit is how many row counts the trend shows.
const trendLimit = 10

// addMetrics reads what runs measured of the dataset key into v, and
// returns the row counts, newest first. A dataset never measured leaves
// v.Metrics nil.
func (s *Server) addMetrics(ctx context.Context, key catalog.Key, now time.Time, v *activityView) ([]catalog.RowCount, error) {
	latest, err := s.store.LatestMetrics(ctx, key)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	counts, err := s.store.RowCounts(ctx, key, trendLimit)
	if err != nil {
		return nil, err
	}
	m := newMetricsView(latest, counts, now)
	v.Metrics = &m
	return counts, nil
}

func newMetricsView(latest catalog.Sourced[catalog.DatasetMetrics], counts []catalog.RowCount, now time.Time) metricsView {
	l := latest.Value
	v := metricsView{At: newMoment(l.ObservedAt, now), Source: latest.Source}
	if l.Job.Name != "" {
		switch l.Direction {
		case catalog.MetricsWritten:
			v.How = "written by " + l.Job.Name
		case catalog.MetricsRead:
			v.How = "read by " + l.Job.Name
		}
	}
	if l.RowCount != nil {
		v.Rows, v.RowsExact = humanCount(*l.RowCount), strconv.FormatInt(*l.RowCount, 10)
	}
	if l.Bytes != nil {
		v.Size = humanBytes(*l.Bytes)
	}
	if l.FileCount != nil {
		v.Files = strconv.FormatInt(*l.FileCount, 10)
	}
	count := func(n *int64) string {
		if n == nil {
			return ""
		}
		return strconv.FormatInt(*n, 10)
	}
	for _, name := range slices.Sorted(maps.Keys(l.Columns)) {
		c := l.Columns[name]
		if c.NullCount == nil && c.DistinctCount == nil {
			continue
		}
		v.Columns = append(v.Columns, columnMetricsView{Name: name, Nulls: count(c.NullCount), Distinct: count(c.DistinctCount)})
	}
	var rows []int64
	for i := len(counts) - 1; i >= 0; i-- {
		c := counts[i]
		t := trendView{At: newMoment(c.ObservedAt, now), Rows: strconv.FormatInt(c.Rows, 10)}
		if n := len(rows); n > 0 && rows[n-1] != c.Rows {
			d := c.Rows - rows[n-1]
			t.Change = "+" + strconv.FormatInt(d, 10)
			if d < 0 {
				t.Change = "−" + strconv.FormatInt(-d, 10)
			}
		}
		rows = append(rows, c.Rows)
		v.Trend = append(v.Trend, t)
	}
	v.Sparkline = sparkline(rows)
	return v
}

// sparkline draws values as a line of block characters, lowest to
// highest, so that a trend reads at a glance without a chart library.
func sparkline(values []int64) string {
	if len(values) < 2 {
		return ""
	}
	const bars = "▁▂▃▄▅▆▇█"
	blocks := []rune(bars)
	lo, hi := slices.Min(values), slices.Max(values)
	var b strings.Builder
	for _, n := range values {
		i := len(blocks) / 2
		if hi > lo {
			i = int((n - lo) * int64(len(blocks)-1) / (hi - lo))
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}
