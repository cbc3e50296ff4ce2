package ui

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"almanac/catalog"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// checkHistoryLimit is how many results of each check the dataset page
// charts.
const checkHistoryLimit = 30

// Health levels of a dataset, worst last. Each has words: the colour is
// never the only sign.
const (
	healthUnknown = "unknown"
	healthGood    = "good"
	healthWarn    = "warn"
	healthBad     = "bad"
)

// healthView is the summary at the top of a dataset's page: its failing
// checks, its freshness and its SLOs, and the worst of them.
type healthView struct {
	Level string // healthGood, healthWarn, healthBad or healthUnknown
	// Label says the level in words: "Healthy", "Needs attention",
	// "Failing", "No quality data".
	Label string
	Items []healthItem
}

// healthItem is one line of the summary.
type healthItem struct {
	Level string
	// What is "Checks", "Freshness" or "SLOs"; Text says how it stands.
	What, Text string
	// Link points at the section with the details.
	Link string
}

var healthLabels = map[string]string{
	healthUnknown: "No quality data",
	healthGood:    "Healthy",
	healthWarn:    "Needs attention",
	healthBad:     "Failing",
}

func healthRank(level string) int {
	return slices.Index([]string{healthUnknown, healthGood, healthWarn, healthBad}, level)
}

// newHealthView sums up the checks (with their latest results), the
// newest freshness observation and the SLO reports.
func newHealthView(checks []catalog.SourceCheck, fresh []catalog.Sourced[catalog.FreshnessObservation], slos []store.SLOReport, now time.Time) healthView {
	var v healthView
	var failing, warning, ran []string
	for _, c := range checks {
		if c.RemovedAt != nil || c.Latest == nil {
			continue
		}
		ran = append(ran, c.Name)
		switch c.Latest.Status {
		case catalog.QualityFail, catalog.QualityError:
			if c.Severity == "warn" {
				warning = append(warning, c.Name)
			} else {
				failing = append(failing, c.Name)
			}
		case catalog.QualityWarn:
			warning = append(warning, c.Name)
		}
	}
	if len(ran) > 0 {
		it := healthItem{What: "Checks", Link: "#quality-heading"}
		switch {
		case len(failing) > 0:
			it.Level = healthBad
			it.Text = fmt.Sprintf("%d of %d failing: %s", len(failing), len(ran), listSome(failing, 3))
			if len(warning) > 0 {
				it.Text += fmt.Sprintf("; %d warning", len(warning))
			}
		case len(warning) > 0:
			it.Level = healthWarn
			it.Text = fmt.Sprintf("%d of %d warning: %s", len(warning), len(ran), listSome(warning, 3))
		default:
			it.Level = healthGood
			it.Text = fmt.Sprintf("all %d passing", len(ran))
		}
		v.Items = append(v.Items, it)
	}
	if len(fresh) > 0 {
		f := fresh[0].Value
		it := healthItem{What: "Freshness", Link: "#freshness-heading"}
		switch f.Status {
		case catalog.FreshnessPass:
			it.Level = healthGood
		case catalog.FreshnessWarn:
			it.Level = healthWarn
		default:
			it.Level = healthBad
		}
		it.Text = f.Status
		if f.MaxLoadedAt != nil {
			it.Text += ": newest data loaded " + ago(now.Sub(*f.MaxLoadedAt)) + " when checked " + ago(now.Sub(f.ObservedAt))
		}
		v.Items = append(v.Items, it)
	}
	if len(slos) > 0 {
		it := healthItem{What: "SLOs", Link: "#slo-heading", Level: healthGood}
		counts := map[string]int{}
		for _, r := range slos {
			st := string(r.Report.Status)
			if r.Err != nil {
				st = "error"
			}
			counts[st]++
			switch st {
			case string(slo.StatusBreached), "error":
				it.Level = healthBad
			case string(slo.StatusAtRisk):
				if it.Level != healthBad {
					it.Level = healthWarn
				}
			}
		}
		var parts []string
		for _, st := range []string{string(slo.StatusBreached), "error", string(slo.StatusAtRisk), string(slo.StatusOK), string(slo.StatusNoData)} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[st], strings.ReplaceAll(st, "_", " ")))
			}
		}
		if counts[string(slo.StatusNoData)] == len(slos) {
			it.Level = healthUnknown
		}
		it.Text = strings.Join(parts, ", ")
		v.Items = append(v.Items, it)
	}
	v.Level = healthUnknown
	for _, it := range v.Items {
		if healthRank(it.Level) > healthRank(v.Level) {
			v.Level = it.Level
		}
	}
	v.Label = healthLabels[v.Level]
	return v
}

// listSome lists the first n of names, then how many more.
func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// ago says a duration in rounded words: "3 hours ago".
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 48*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	}
	return plural(int(d/(24*time.Hour)), "day") + " ago"
}

// historyChart is a check's recent results as an SVG strip, oldest left:
// one bar per result, its class (and so its colour) by status, its height
// by the observed value when the check observes numbers; each bar's title
// says the result in words.
type historyChart struct {
	Width, Height int
	Bars          []historyBar
	// Summary says the history in words, for the chart's label.
	Summary string
	// LatestFailure is the newest result that did not pass; nil when all
	// did.
	LatestFailure *failureView
}

// historyBar is one result.
type historyBar struct {
	X, Y, W, H int
	Class      string // r-pass, r-warn, r-fail, r-skipped
	Title      string
}

// failureView is a check's newest failure.
type failureView struct {
	Status, StatusClass string
	At                  moment
	Message             string
}

// historyBars writes a strip's bars as templ wrote them from the
// template, `<rect class="…" x="…" y="…" width="…" height="…"><title>…</title></rect>`,
// in one write: a dataset page of 50 checks draws 1,500 bars, and
// resolving each attribute through templ was a third of the page's CPU.
func historyBars(bars []historyBar) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		buf := make([]byte, 0, 128*len(bars))
		for _, b := range bars {
			buf = append(buf, `<rect class="`...)
			buf = append(buf, templ.EscapeString(b.Class)...)
			buf = append(buf, `" x="`...)
			buf = strconv.AppendInt(buf, int64(b.X), 10)
			buf = append(buf, `" y="`...)
			buf = strconv.AppendInt(buf, int64(b.Y), 10)
			buf = append(buf, `" width="`...)
			buf = strconv.AppendInt(buf, int64(b.W), 10)
			buf = append(buf, `" height="`...)
			buf = strconv.AppendInt(buf, int64(b.H), 10)
			buf = append(buf, `"><title>`...)
			buf = append(buf, templ.EscapeString(b.Title)...)
			buf = append(buf, `</title></rect>`...)
		}
		_, err := w.Write(buf)
		return err
	})
}

const (
	barWidth  = 6
	barGap    = 2
	barHeight = 24
)

// newHistoryChart charts results, newest first as the store returns them.
func newHistoryChart(results []catalog.QualityResult, now time.Time) historyChart {
	c := historyChart{Height: barHeight}
	if len(results) == 0 {
		return c
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	numeric := true
	nums := make([]*float64, len(results))
	for i, r := range results {
		nums[i] = r.ObservedNumber()
		if f := nums[i]; f != nil {
			lo, hi = min(lo, *f), max(hi, *f)
		} else if r.Status != catalog.QualityError {
			numeric = false
		}
	}
	counts := map[string]int{}
	n := len(results)
	c.Width = n*(barWidth+barGap) - barGap
	for i, r := range results {
		counts[r.Status]++
		h := barHeight
		if f := nums[i]; numeric && f != nil && hi > lo {
			// A third of the height at the lowest value, all of it at
			// the highest: every bar stays visible.
			h = barHeight/3 + int(math.Round((*f-lo)/(hi-lo)*float64(barHeight-barHeight/3)))
		}
		title := r.Status + ", " + r.StartedAt.UTC().Format("2006-01-02 15:04 UTC")
		if r.Observed != "" {
			title += ", observed " + r.Observed
		}
		if r.Message != "" {
			title += ": " + r.Message
		}
		c.Bars = append(c.Bars, historyBar{X: (n - 1 - i) * (barWidth + barGap), Y: barHeight - h, W: barWidth, H: h,
			Class: "r-" + resultClass(r.Status), Title: title})
		if c.LatestFailure == nil && r.Status != catalog.QualityPass && r.Status != catalog.QualitySkipped {
			c.LatestFailure = &failureView{Status: r.Status, StatusClass: "status-" + statusClass(r.Status),
				At: newMoment(r.StartedAt, now), Message: r.Message}
		}
	}
	var parts []string
	for _, st := range []string{catalog.QualityPass, catalog.QualityWarn, catalog.QualityFail, catalog.QualityError, catalog.QualitySkipped} {
		if counts[st] > 0 {
			parts = append(parts, strconv.Itoa(counts[st])+" "+st)
		}
	}
	c.Summary = "Last " + plural(n, "result") + ", oldest first: " + strings.Join(parts, ", ")
	return c
}

// resultClass is the chart class of a result status.
func resultClass(status string) string {
	switch status {
	case catalog.QualityPass:
		return "pass"
	case catalog.QualityWarn:
		return "warn"
	case catalog.QualitySkipped:
		return "skipped"
	}
	return "fail"
}

// sloView is one SLO in the SLO section.
type sloView struct {
	Name, Kind, Source, Origin string
	Status, StatusClass        string
	Summary                    string
	Objective, Window          string
	Attainment                 string
	BudgetLeft                 string
	BurnFast, BurnSlow         string
	// Promise is what good is, in words: "never older than 6h", "each
	// data interval delivered within 2h after its nominal end".
	Promise string
	// Budget is the share of the error budget left, as a bar.
	Budget budgetBar
	// Days charts the window day by day: whether each day met the
	// objective.
	Days historyChart
}

// budgetBar draws the share of an error budget left: full when
// untouched, empty when spent.
type budgetBar struct {
	Width, Fill int
	Class       string
}

func newSLOViews(reports []store.SLOReport) []sloView {
	var out []sloView
	for _, r := range reports {
		s, rep := r.SLO, r.Report
		v := sloView{Name: s.Name, Kind: strings.ReplaceAll(string(s.Spec.Kind), "_", " "), Source: s.Source, Origin: s.Origin,
			Status: strings.ReplaceAll(string(rep.Status), "_", " "), Summary: rep.Summary,
			Objective: pct(s.Spec.Objective), Window: windowWords(s.Spec.Window), Promise: s.Spec.Promise()}
		switch rep.Status {
		case slo.StatusOK:
			v.StatusClass = "status-succeeded"
		case slo.StatusAtRisk:
			v.StatusClass = "status-partial"
		case slo.StatusBreached:
			v.StatusClass = "status-failed"
		default:
			v.StatusClass = "status-none"
		}
		if r.Err != nil {
			v.Status, v.StatusClass, v.Summary = "error", "status-failed", r.Err.Error()
		}
		if rep.Total > 0 {
			v.Attainment = pct(rep.Attainment)
			v.BudgetLeft = pct(rep.RemainingFraction)
		}
		for _, b := range rep.Burns {
			switch b.Name {
			case "fast":
				v.BurnFast = strconv.FormatFloat(b.LongRate, 'f', 1, 64) + "×"
			case "slow":
				v.BurnSlow = strconv.FormatFloat(b.LongRate, 'f', 1, 64) + "×"
			}
		}
		const width = 120
		left := min(max(rep.RemainingFraction, 0), 1)
		v.Budget = budgetBar{Width: width, Fill: int(math.Round(left * width)), Class: "budget-" + strings.TrimPrefix(v.StatusClass, "status-")}
		v.Days = dayChart(rep, s.Spec.Objective, s.Spec.TimeZone)
		out = append(out, v)
	}
	return out
}

// pct writes a share as a percentage with up to two decimals.
func pct(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s + " %"
}

// originSuffix is ", <origin>" after a source, or "" without one.
func originSuffix(origin string) string {
	if origin == "" {
		return ""
	}
	return ", " + origin
}

// windowWords writes a window as days when it is whole days.
func windowWords(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

// healthBadge is a listing's word on a dataset's checks and freshness.
type healthBadge struct {
	Class, Text, Title string
}

// healthBadges reads the badges of keys in one statement; a dataset
// without checks or freshness has none.
func (s *Server) healthBadges(ctx context.Context, keys []catalog.Key) (map[catalog.Key]*healthBadge, error) {
	out := map[catalog.Key]*healthBadge{}
	if len(keys) == 0 {
		return out, nil
	}
	hs, err := s.store.QualityHealths(ctx, keys)
	if err != nil {
		return nil, err
	}
	for k, h := range hs {
		out[k] = newHealthBadge(h)
	}
	return out, nil
}

// healthState is how a dataset's checks and freshness stand, the worst
// first: what its badge in listings and its node in the lineage
// explorer say.
type healthState int

const (
	healthFailing healthState = iota // a check fails
	healthStale                      // freshness in error
	healthWarning                    // a check warns
	healthLate                       // freshness warns
	healthPassing                    // checks, all passing
	healthFresh                      // no check, fresh or not judged
)

// stateOf classifies h, the worst first.
func stateOf(h store.QualityHealth) healthState {
	switch {
	case h.Failing > 0:
		return healthFailing
	case h.Freshness == catalog.FreshnessError || h.Freshness == catalog.FreshnessRuntimeError:
		return healthStale
	case h.Warning > 0:
		return healthWarning
	case h.Freshness == catalog.FreshnessWarn:
		return healthLate
	case h.Checks > 0:
		return healthPassing
	}
	return healthFresh
}

func newHealthBadge(h store.QualityHealth) *healthBadge {
	b := &healthBadge{}
	fresh := ""
	if h.Freshness != "" {
		fresh = "; freshness " + h.Freshness
	}
	switch stateOf(h) {
	case healthFailing:
		b.Class, b.Text = "status-failed", plural(h.Failing, "failing check")
	case healthStale:
		b.Class, b.Text = "status-failed", "stale"
	case healthWarning:
		b.Class, b.Text = "status-partial", plural(h.Warning, "check warning")
	case healthLate:
		b.Class, b.Text = "status-partial", "late"
	case healthPassing:
		b.Class, b.Text = "status-succeeded", "checks pass"
	default:
		b.Class, b.Text = "status-succeeded", "fresh"
	}
	if h.Checks == 0 {
		b.Title = strings.TrimPrefix(fresh, "; ")
		return b
	}
	b.Title = fmt.Sprintf("%s of %s: %d failing, %d warning%s", plural(h.Checks-h.Failing-h.Warning, "passing check"),
		strconv.Itoa(h.Checks), h.Failing, h.Warning, fresh)
	return b
}

// dayChart draws an SLO's window day by day, oldest left: a full bar for
// a day that met the objective, a red one for a day that missed it, a
// low grey one for a day with nothing counted; each bar's title says the
// day's share in words.
func dayChart(rep slo.Report, objective float64, tz string) historyChart {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	n := len(rep.Intervals)
	c := historyChart{Height: barHeight, Width: max(n*(barWidth/2+barGap)-barGap, 0)}
	var met, missed int
	for i, in := range rep.Intervals {
		b := historyBar{X: i * (barWidth/2 + barGap), W: barWidth / 2, H: barHeight}
		day := in.Start.In(loc).Format("2006-01-02")
		switch {
		case in.Total == 0:
			b.Class, b.H, b.Title = "r-skipped", barHeight/4, day+": no data"
		case in.Good/in.Total >= objective:
			met++
			b.Class, b.Title = "r-pass", fmt.Sprintf("%s: %s (%g of %g %s)", day, pct(in.Good/in.Total), in.Good, in.Total, rep.Unit)
		default:
			missed++
			b.Class, b.Title = "r-fail", fmt.Sprintf("%s: %s (%g of %g %s), below the objective", day, pct(in.Good/in.Total), in.Good, in.Total, rep.Unit)
		}
		b.Y = barHeight - b.H
		c.Bars = append(c.Bars, b)
	}
	c.Summary = fmt.Sprintf("%s of the window: %d met the objective, %d missed it, %d without data", plural(n, "day"), met, missed, n-met-missed)
	return c
}
