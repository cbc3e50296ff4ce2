// Package slo owns the arithmetic of service level objectives on data:
// given what an SLO promises (a Spec) and what was observed (plain
// Observations), Evaluate says how much of the promise was kept over the
// rolling window, how much error budget is left, how fast it burns, and
// whether the SLO is ok, at risk or breached. It reads nothing and keeps
// nothing: declaring SLOs, gathering their observations from the catalog
// and keeping the reports over time belong to the caller.
//
// # Indicators
//
// Every kind of SLO counts good and total amounts of something in the
// window (now − Window, now]; the attainment is good / total:
//
//   - freshness: time. The data is fresh at an instant when its newest
//     update at or before that instant is at most MaxAge old. Good and
//     total are minutes. Time before the first known update is not
//     counted (nothing is known of it), so the caller passes the newest
//     update before the window with the ones in it; a gap between updates
//     longer than MaxAge counts as stale from MaxAge after the update.
//   - on_time: deadlines. Each deadline of the schedule (a daily "HH:MM"
//     or a cron expression, in an IANA time zone) that passed in the
//     window is met when an update landed in (deadline − Lookback,
//     deadline], or since the previous deadline when Lookback is 0.
//     Deadlines before the first known update are not counted. Daylight
//     saving: a deadline that does not exist on a spring-forward day
//     (02:30 in Europe/Berlin) is moved forward by the gap (03:30 local);
//     one that exists twice on a fall-back day is the earlier (02:30
//     summer time), as RFC 5545 and JavaScript's Temporal resolve them.
//   - quality: check results. A result passes or not (warn, fail and
//     error are all failures); skipped ones are not counted.
//   - volume: observed values (row counts). Good when within [Min, Max];
//     with neither set, within the range learned from the observations
//     before it (see package anomaly), and observations without enough
//     history for one are not counted, so the caller passes eight weeks
//     before the window too.
//   - pipeline: runs, placed at their start. Good when the run succeeded
//     within MaxDuration (any duration when 0). A run still going counts
//     as bad once it has run longer than MaxDuration, and not before.
//
// A window with nothing to count is "no data", which is neither met nor
// breached. Evaluation is a pure function of its inputs: observations
// that arrive late (a crawl that ran after the fact) change the result of
// evaluating again, as they should.
//
// # Error budget and burn rate
//
// The error budget is what the objective allows to be bad: (1 −
// Objective) × total, in the indicator's unit; Report.Remaining is what
// is left of it after the bad amount, and RemainingFraction that as a
// share of the budget. The burn rate over a span is the share of bad in
// that span divided by (1 − Objective): 1 spends the budget exactly over
// the window. Following the multiwindow, multi-burn-rate alerts of
// Google's SRE workbook (chapter 5), scaled from its 30-day window to
// Spec.Window, three alerts are computed: fast (14.4× over Window/720 and
// its twelfth, i.e. 1 h and 5 min of 30 days: 2 % of the budget in an
// hour), slow (6× over Window/120 and its twelfth: 6 h and 30 min) and
// ticket (1× over Window/10 and its twelfth: 3 days and 6 h). An alert
// fires when both its long and its short span burn at least at its rate.
//
// The status is no_data without anything counted, breached when the
// attainment is below the objective, at_risk when an alert fires or less
// than a quarter of the budget is left, and ok otherwise.
package slo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "time/tzdata" // deadlines need every IANA zone, wherever Almanac runs

	"almanac/catalog"
	"almanac/catalog/anomaly"
)

// Kind is what an SLO is about.
type Kind string

// Kinds of SLO.
const (
	Freshness Kind = "freshness" // the data is never older than MaxAge
	OnTime    Kind = "on_time"   // the data is updated by each deadline
	Quality   Kind = "quality"   // the checks pass
	Volume    Kind = "volume"    // the row count is within the expected range
	Pipeline  Kind = "pipeline"  // the job's runs succeed within MaxDuration
)

// Spec is what an SLO promises: the share of good (Objective) over a
// rolling window, and what good means for its kind. Fields of other
// kinds are ignored.
type Spec struct {
	Kind Kind
	// Objective is the share of good promised, 0 < Objective < 1: 0.99
	// for 99 %. (100 % leaves no error budget at all.)
	Objective float64
	// Window is the rolling window the objective holds over, e.g. 28
	// days.
	Window time.Duration

	// MaxAge is how old the data may get (freshness).
	MaxAge time.Duration

	// Deadline is when the data must be updated by (on_time): "09:00"
	// every day, or a five-field cron expression of the deadlines
	// ("0 9 * * 1-5": 09:00 on weekdays) or a descriptor (@daily,
	// @weekly...), in TimeZone.
	Deadline string
	// TimeZone is the IANA zone of Deadline (and of the days of
	// Report.Intervals), e.g. "Europe/Berlin"; "" is UTC.
	TimeZone string
	// Lookback is how long before a deadline an update counts for it
	// (on_time); 0 means since the previous deadline.
	Lookback time.Duration
	// AfterNominal, instead of Deadline, makes an on_time SLO's deadlines
	// those of the runs themselves (an Airflow SLA): each data interval
	// of the jobs writing the data (a run's nominal end time, Airflow's
	// data_interval_end) must be delivered by a run that succeeded
	// within AfterNominal of it. Intervals are known from the runs'
	// nominal times; one that no run covers, between known ones or after
	// the newest at the same period, is missed. See onTimeNominal.
	AfterNominal time.Duration

	// Min and Max bound the expected values (volume); with neither set,
	// the range is learned from history (see package anomaly).
	Min, Max *float64

	// MaxDuration is the longest a successful run may take (pipeline); 0
	// accepts any duration.
	MaxDuration time.Duration

	// Updates names which observations are the data's updates
	// (freshness, on_time); "" (UpdatesDefault) takes freshness
	// observations of any source and completed runs.
	Updates UpdateSource
}

// UpdateSource names where the updates of a freshness or on-time SLO come
// from.
type UpdateSource string

// Sources of updates.
const (
	// UpdatesDefault is freshness observations of any source (dbt source
	// freshness, Delta commits) and completed runs writing the data.
	UpdatesDefault UpdateSource = ""
	// UpdatesDeltaCommits is the commits a Delta crawler found in the
	// table's log (freshness observations of delta:* sources).
	UpdatesDeltaCommits UpdateSource = "delta_commits"
	// UpdatesCrawlChanges is the crawls that found the dataset created or
	// changed (its columns, row count, size or other facts), by the time
	// they recorded it.
	UpdatesCrawlChanges UpdateSource = "crawl_changes"
	// UpdatesRuns is the runs of the jobs writing the dataset that
	// completed (OpenLineage COMPLETE events, dbt runs).
	UpdatesRuns UpdateSource = "runs"
	// UpdatesSourceFreshness is dbt source freshness's max_loaded_at
	// (freshness observations of sources other than Delta).
	UpdatesSourceFreshness UpdateSource = "source_freshness"
)

// updateSources are the valid values of Spec.Updates but the default.
var updateSources = []UpdateSource{UpdatesDeltaCommits, UpdatesCrawlChanges, UpdatesRuns, UpdatesSourceFreshness}

// Validate reports a spec that cannot be evaluated, naming the field.
func (s Spec) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("slo: "+format+": %w", append(args, catalog.ErrInvalid)...)
	}
	switch {
	case math.IsNaN(s.Objective) || s.Objective <= 0 || s.Objective >= 1:
		if s.Objective == 1 {
			return bad("objective 100 %% leaves no error budget; promise less, such as 99.9 %%")
		}
		return bad("objective %v: want a share between 0 and 1, such as 0.99 for 99 %%", s.Objective)
	case s.Window <= 0:
		return bad("window %v: want a positive duration, such as 28 days", s.Window)
	}
	switch s.Kind {
	case Freshness:
		if s.MaxAge <= 0 {
			return bad("freshness: max age %v: want a positive duration", s.MaxAge)
		}
	case OnTime:
		switch {
		case s.AfterNominal < 0:
			return bad("on_time: after nominal %v: want a positive duration", s.AfterNominal)
		case s.AfterNominal > 0 && s.Deadline != "":
			return bad("on_time: a deadline %q and a time after the runs' nominal times (%v): want one of them", s.Deadline, s.AfterNominal)
		case s.AfterNominal > 0 && s.Updates != UpdatesDefault:
			return bad("on_time: updates %q: deadlines after the runs' nominal times count runs only", s.Updates)
		case s.AfterNominal == 0 && s.Deadline == "":
			return bad("on_time: no deadline: want \"HH:MM\" or a cron expression, or a time after the runs' nominal times (after_nominal)")
		case s.AfterNominal == 0:
			if _, err := parseSchedule(s.Deadline, s.TimeZone); err != nil {
				return err
			}
		}
		if s.Lookback < 0 {
			return bad("on_time: lookback %v: want 0 or a positive duration", s.Lookback)
		}
	case Quality:
	case Volume:
		if s.Min != nil && s.Max != nil && *s.Min > *s.Max {
			return bad("volume: min %v is above max %v", *s.Min, *s.Max)
		}
	case Pipeline:
		if s.MaxDuration < 0 {
			return bad("pipeline: max duration %v: want 0 or a positive duration", s.MaxDuration)
		}
	default:
		return bad("unknown kind %q (want freshness, on_time, quality, volume or pipeline)", s.Kind)
	}
	if _, err := location(s.TimeZone); err != nil {
		return bad("unknown time zone %q", s.TimeZone)
	}
	if s.Updates != UpdatesDefault {
		if s.Kind != Freshness && s.Kind != OnTime {
			return bad("updates %q: only freshness and on_time SLOs count updates", s.Updates)
		}
		if !slices.Contains(updateSources, s.Updates) {
			return bad("updates %q: want delta_commits, crawl_changes, runs or source_freshness", s.Updates)
		}
	}
	return nil
}

// locations caches the zones loaded, by name: time.LoadLocation reads and
// parses the zone's file every time.
var locations sync.Map

// location returns the IANA zone name, UTC for "".
func location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

// Observations are what SLOs are evaluated on; each kind reads its own
// field, in any order. Observations after the evaluation time are
// ignored.
type Observations struct {
	// Updates are times the data changed (freshness, on_time): Delta
	// commits, crawls that found a change, OpenLineage runs that
	// completed writing it, dbt source freshness's max_loaded_at, the
	// newest value of a timestamp column. Pass the newest one before the
	// window too.
	Updates []time.Time
	// Results are check results (quality).
	Results []Result
	// Values are observed values such as row counts (volume), with eight
	// weeks of history before the window when the range is learned.
	Values []anomaly.Point
	// Runs are the job's runs (pipeline).
	Runs []Run
}

// Result is one check result: its time and its status, one of the
// catalog.Quality* statuses.
type Result struct {
	At     time.Time
	Status string
}

// Run is one run of a job. End is zero while it runs. NominalStart and
// NominalEnd are the data interval it processes (OpenLineage's
// nominalTime facet), zero when not known.
type Run struct {
	Start, End               time.Time
	Succeeded                bool
	NominalStart, NominalEnd time.Time
}

// Status is the state of an SLO.
type Status string

// Statuses.
const (
	StatusOK       Status = "ok"
	StatusAtRisk   Status = "at_risk"
	StatusBreached Status = "breached"
	StatusNoData   Status = "no_data"
)

// AtRiskBelow is the share of the error budget below which an SLO not
// breached is at risk.
const AtRiskBelow = 0.25

// Report is the evaluation of one SLO at one time.
type Report struct {
	Status Status
	// Summary says the status in words, for people.
	Summary string
	// WindowStart and WindowEnd bound the window (WindowStart excluded).
	WindowStart, WindowEnd time.Time
	// Unit is what Good, Total, Budget, Spent and Remaining count:
	// "minutes", "deadlines", "results", "observations" or "runs".
	Unit string
	// Good and Total are the amounts counted in the window.
	Good, Total float64
	// Attainment is Good / Total, 0 without data.
	Attainment float64
	// Budget is the bad amount the objective allows: (1 − Objective) ×
	// Total. Spent is the bad amount, Total − Good; Remaining is Budget −
	// Spent, negative when the objective is missed.
	Budget, Spent, Remaining float64
	// RemainingFraction is Remaining / Budget: 1 untouched, 0 spent,
	// below 0 overspent; 1 without data.
	RemainingFraction float64
	// Burns are the burn-rate alerts: fast, slow and ticket.
	Burns []Burn
	// Intervals are the window's days (midnight to midnight in
	// Spec.TimeZone), the first and last cut to the window.
	Intervals []Interval
}

// Burn is one multiwindow burn-rate alert.
type Burn struct {
	// Name is "fast", "slow" or "ticket"; Severity "page" or "ticket".
	Name, Severity string
	// Long and Short are the spans the rate is measured over, ending at
	// the evaluation time.
	Long, Short time.Duration
	// Threshold is the burn rate at which the alert fires.
	Threshold float64
	// LongRate and ShortRate are the burn rates over Long and Short; 0
	// when nothing was counted in them (LongTotal, ShortTotal).
	LongRate, ShortRate   float64
	LongTotal, ShortTotal float64
	// Firing says both rates reached Threshold.
	Firing bool
}

// Interval is the good and total amounts of one span of the window.
type Interval struct {
	Start, End  time.Time
	Good, Total float64
}

// alerts are the SRE workbook's multiwindow, multi-burn-rate alerts: the
// long span as a share of the window, the rate (the share of the budget
// spent in the long span, times the window over the span).
var alerts = []struct {
	name, severity string
	share          float64 // long span / window
	rate           float64
}{
	{"fast", "page", 1.0 / 720, 14.4}, // 2 % of the budget in 1 h of 30 days
	{"slow", "page", 1.0 / 120, 6},    // 5 % in 6 h
	{"ticket", "ticket", 1.0 / 10, 1}, // 10 % in 3 days
}

// indicator counts the good and total amounts in (from, to].
type indicator interface {
	count(from, to time.Time) (good, total float64)
}

// Evaluate evaluates s over obs at now. It fails only on an invalid spec.
func Evaluate(s Spec, obs Observations, now time.Time) (Report, error) {
	if err := s.Validate(); err != nil {
		return Report{}, err
	}
	start := now.Add(-s.Window)
	loc, _ := location(s.TimeZone)
	ind, unit, err := s.indicator(obs, start, now, loc)
	if err != nil {
		return Report{}, err
	}
	r := Report{WindowStart: start, WindowEnd: now, Unit: unit, RemainingFraction: 1}
	r.Good, r.Total = ind.count(start, now)
	for _, a := range alerts {
		long := time.Duration(float64(s.Window) * a.share)
		b := Burn{Name: a.name, Severity: a.severity, Long: long, Short: long / 12, Threshold: a.rate}
		b.LongRate, b.LongTotal = burnRate(ind, now.Add(-b.Long), now, s.Objective)
		b.ShortRate, b.ShortTotal = burnRate(ind, now.Add(-b.Short), now, s.Objective)
		b.Firing = b.LongTotal > 0 && b.ShortTotal > 0 && b.LongRate >= a.rate && b.ShortRate >= a.rate
		r.Burns = append(r.Burns, b)
	}
	r.Intervals = intervals(ind, start, now, loc)
	if r.Total > 0 {
		r.Attainment = r.Good / r.Total
		r.Budget = (1 - s.Objective) * r.Total
		r.Spent = r.Total - r.Good
		r.Remaining = r.Budget - r.Spent
		r.RemainingFraction = r.Remaining / r.Budget
	}
	r.Status, r.Summary = status(s, r)
	return r, nil
}

// burnRate returns the burn rate over (from, to] and the total counted.
func burnRate(ind indicator, from, to time.Time, objective float64) (rate, total float64) {
	good, total := ind.count(from, to)
	if total == 0 {
		return 0, 0
	}
	return (total - good) / total / (1 - objective), total
}

// intervals cuts (start, end] at the midnights of loc.
func intervals(ind indicator, start, end time.Time, loc *time.Location) []Interval {
	var out []Interval
	from := start
	for from.Before(end) {
		y, m, d := from.In(loc).Date()
		to := resolve(time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC), loc)
		if !to.After(from) { // a midnight that repeats; never loop
			to = from.Add(24 * time.Hour)
		}
		to = minTime(to, end)
		good, total := ind.count(from, to)
		out = append(out, Interval{Start: from, End: to, Good: good, Total: total})
		from = to
	}
	return out
}

// indicator returns the indicator of s's kind over obs, for counts within
// (start, now], and its unit.
func (s Spec) indicator(obs Observations, start, now time.Time, loc *time.Location) (indicator, string, error) {
	switch s.Kind {
	case Freshness:
		return newFreshness(obs.Updates, s.MaxAge, now), "minutes", nil
	case OnTime:
		if s.AfterNominal > 0 {
			return onTimeNominal(obs.Runs, s.AfterNominal, start, now), "deadlines", nil
		}
		sch, err := parseSchedule(s.Deadline, s.TimeZone)
		if err != nil {
			return nil, "", err
		}
		return onTime(sch, obs.Updates, s.Lookback, start, now), "deadlines", nil
	case Quality:
		e := newEvents(len(obs.Results))
		for _, r := range obs.Results {
			if r.Status != catalog.QualitySkipped && !r.At.After(now) && r.At.After(start) {
				e.add(r.At, r.Status == catalog.QualityPass)
			}
		}
		return e.done(), "results", nil
	case Volume:
		return volume(s, obs.Values, start, now, loc), "observations", nil
	case Pipeline:
		e := newEvents(len(obs.Runs))
		for _, r := range obs.Runs {
			if !r.Start.After(start) || r.Start.After(now) {
				continue
			}
			switch running := r.End.IsZero() || r.End.After(now); {
			case running && s.MaxDuration > 0 && now.Sub(r.Start) > s.MaxDuration:
				e.add(r.Start, false)
			case running:
				// Not known yet.
			default:
				e.add(r.Start, r.Succeeded && (s.MaxDuration == 0 || r.End.Sub(r.Start) <= s.MaxDuration))
			}
		}
		return e.done(), "runs", nil
	}
	return nil, "", fmt.Errorf("slo: unknown kind %q: %w", s.Kind, catalog.ErrInvalid)
}

// volume judges each observed value in the window: within [Min, Max], or
// within the range learned from the values before it.
func volume(s Spec, values []anomaly.Point, start, now time.Time, loc *time.Location) indicator {
	e := newEvents(len(values))
	if s.Min != nil || s.Max != nil {
		for _, v := range values {
			if v.At.After(start) && !v.At.After(now) {
				e.add(v.At, (s.Min == nil || v.Value >= *s.Min) && (s.Max == nil || v.Value <= *s.Max))
			}
		}
		return e.done()
	}
	var past []anomaly.Point
	for _, v := range values {
		if !v.At.After(now) {
			past = append(past, v)
		}
	}
	p := anomaly.DefaultVolume()
	p.Location = loc
	for _, v := range anomaly.DetectAfter(past, start, p) {
		if v.Known {
			e.add(v.At, !v.Anomaly)
		}
	}
	return e.done()
}

// eventList is an indicator of events at times, each good or bad.
type eventList struct {
	at   []int64 // Unix nanoseconds, in order once done
	ok   []bool
	good []float64 // good[i] counts the good events before the i-th
}

// newEvents returns an event list with room for n events.
func newEvents(n int) *eventList {
	return &eventList{at: make([]int64, 0, n), ok: make([]bool, 0, n)}
}

func (e *eventList) add(at time.Time, good bool) {
	e.at = append(e.at, at.UnixNano())
	e.ok = append(e.ok, good)
}

// done sorts the events, if they are not in order, and sums them up for
// count.
func (e *eventList) done() *eventList {
	if !slices.IsSorted(e.at) {
		type ev struct {
			at int64
			ok bool
		}
		evs := make([]ev, len(e.at))
		for i := range evs {
			evs[i] = ev{e.at[i], e.ok[i]}
		}
		slices.SortStableFunc(evs, func(a, b ev) int { return cmp.Compare(a.at, b.at) })
		for i, x := range evs {
			e.at[i], e.ok[i] = x.at, x.ok
		}
	}
	e.good = make([]float64, len(e.at)+1)
	for i, ok := range e.ok {
		e.good[i+1] = e.good[i]
		if ok {
			e.good[i+1]++
		}
	}
	return e
}

func (e *eventList) count(from, to time.Time) (good, total float64) {
	f, t := from.UnixNano(), to.UnixNano()
	i, _ := slices.BinarySearch(e.at, f+1) // the first after from
	j, _ := slices.BinarySearch(e.at, t+1)
	if j <= i {
		return 0, 0
	}
	return e.good[j] - e.good[i], float64(j - i)
}

// upper returns the index of the first time in ts (sorted) after t.
func upper(ts []time.Time, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, t, func(x, t time.Time) int {
		if x.After(t) {
			return 1
		}
		return -1
	})
	return i
}

// freshness is the freshness indicator: minutes during which the newest
// update was at most maxAge old.
type freshness struct {
	updates []time.Time
	maxAge  time.Duration
}

func newFreshness(updates []time.Time, maxAge time.Duration, now time.Time) *freshness {
	u := make([]time.Time, 0, len(updates))
	for _, t := range updates {
		if !t.After(now) {
			u = append(u, t)
		}
	}
	slices.SortFunc(u, func(a, b time.Time) int { return a.Compare(b) })
	u = slices.CompactFunc(u, func(a, b time.Time) bool { return a.Equal(b) })
	return &freshness{updates: u, maxAge: maxAge}
}

func (f *freshness) count(from, to time.Time) (good, total float64) {
	u := f.updates
	if len(u) == 0 || !u[0].Before(to) {
		return 0, 0
	}
	// Each update i is the newest from u[i] until u[i+1].
	i := max(upper(u, from)-1, 0)
	var g, t time.Duration
	for ; i < len(u) && u[i].Before(to); i++ {
		segStart := maxTime(u[i], from)
		segEnd := to
		if i+1 < len(u) && u[i+1].Before(to) {
			segEnd = u[i+1]
		}
		if !segEnd.After(segStart) {
			continue
		}
		t += segEnd.Sub(segStart)
		if fresh := minTime(segEnd, u[i].Add(f.maxAge)); fresh.After(segStart) {
			g += fresh.Sub(segStart)
		}
	}
	return g.Minutes(), t.Minutes()
}

// status returns the status of r and its summary in words.
func status(s Spec, r Report) (Status, string) {
	window := words(s.Window)
	if r.Total == 0 {
		return StatusNoData, fmt.Sprintf("no data in the last %s: %s", window, nothing[s.Kind])
	}
	kept := fmt.Sprintf("%s %s over the last %s", percent(r.Attainment), good(s), window)
	if r.Attainment < s.Objective {
		return StatusBreached, fmt.Sprintf("%s, below the objective of %s: the error budget is spent (%s used)",
			kept, percent(s.Objective), percent(r.Spent/r.Budget))
	}
	kept += fmt.Sprintf(" (objective %s); %s of the error budget left", percent(s.Objective), percent(r.RemainingFraction))
	for _, b := range r.Burns {
		if b.Firing {
			return StatusAtRisk, fmt.Sprintf("%s, but it burns %s× as fast as the objective allows over the last %s (%s burn)",
				kept, strconv.FormatFloat(b.LongRate, 'f', 1, 64), words(b.Long), b.Name)
		}
	}
	if r.RemainingFraction < AtRiskBelow {
		return StatusAtRisk, kept + ", less than " + percent(AtRiskBelow)
	}
	return StatusOK, kept
}

var nothing = map[Kind]string{
	Freshness: "no update is known",
	OnTime:    "no update is known, or no deadline passed",
	Quality:   "no check result",
	Volume:    "no observation, or too little history to learn the expected range",
	Pipeline:  "no finished run",
}

func good(s Spec) string {
	switch s.Kind {
	case Freshness:
		return "of the time fresh (updated within " + words(s.MaxAge) + ")"
	case OnTime:
		if s.AfterNominal > 0 {
			return "of data intervals delivered within " + words(s.AfterNominal) + " of their end"
		}
		return "of deadlines met"
	case Quality:
		return "of check results passed"
	case Volume:
		return "of observations within the expected range"
	case Pipeline:
		if s.MaxDuration > 0 {
			return "of runs succeeded within " + words(s.MaxDuration)
		}
		return "of runs succeeded"
	}
	return "good"
}

// Promise says in words what good is for s, as the portal shows it
// beside the SLO's name: "each data interval delivered within 2h after
// its nominal end", "updated by 09:00 every day (Europe/Berlin)".
func (s Spec) Promise() string {
	switch s.Kind {
	case Freshness:
		return "never older than " + words(s.MaxAge)
	case OnTime:
		if s.AfterNominal > 0 {
			return "each data interval delivered within " + words(s.AfterNominal) + " after its nominal end"
		}
		p := "updated by each deadline of " + strings.TrimSpace(s.Deadline)
		if clock.MatchString(strings.TrimSpace(s.Deadline)) {
			p = "updated by " + strings.TrimSpace(s.Deadline) + " every day"
		}
		if s.TimeZone != "" {
			p += " (" + s.TimeZone + ")"
		}
		return p
	case Quality:
		return "the checks pass"
	case Volume:
		num := func(f *float64) string { return strconv.FormatFloat(*f, 'f', -1, 64) }
		switch {
		case s.Min != nil && s.Max != nil:
			return "row count between " + num(s.Min) + " and " + num(s.Max)
		case s.Min != nil:
			return "row count at least " + num(s.Min)
		case s.Max != nil:
			return "row count at most " + num(s.Max)
		}
		return "row count within the range learned from history"
	case Pipeline:
		if s.MaxDuration > 0 {
			return "runs succeed within " + words(s.MaxDuration)
		}
		return "runs succeed"
	}
	return ""
}

// percent formats a share as a percentage with up to two decimals, never
// rounding a share below 1 up to 100 %.
func percent(x float64) string {
	p := strconv.FormatFloat(x*100, 'f', 2, 64)
	if x < 1 && p == "100.00" {
		p = "99.99"
	}
	p = strings.TrimSuffix(strings.TrimRight(p, "0"), ".")
	if p == "-0" {
		p = "0"
	}
	return p + " %"
}

// words writes a duration as people say it: "28 days", "1 day 12h", "56m".
func words(d time.Duration) string {
	const day = 24 * time.Hour
	var parts []string
	if days := d / day; days > 0 {
		if days == 1 {
			parts = append(parts, "1 day")
		} else {
			parts = append(parts, fmt.Sprintf("%d days", days))
		}
		d -= days * day
	}
	if d > 0 || len(parts) == 0 {
		s := d.Round(time.Second).String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// onTimeNominal judges the deadlines of the runs' data intervals: each
// distinct nominal end N of a run (its nominal start when it has no end)
// has a deadline N + after, met when a run of that interval succeeded by
// it. The period of an interval is its nominal end minus its start; an
// interval that no run covers is missed: after a known interval, until
// the next known one starts, and after the newest, as long as its
// period goes on (a DAG paused or gone keeps missing its intervals, as
// Airflow's scheduler would have created them). A deadline is counted
// once passed, at its time, like the deadlines of a schedule. Runs
// without nominal times are not counted.
func onTimeNominal(runs []Run, after time.Duration, start, now time.Time) indicator {
	type interval struct {
		start, end time.Time
		done       time.Time // the earliest success; zero without one
	}
	byEnd := map[int64]*interval{}
	for _, r := range runs {
		end := r.NominalEnd
		if end.IsZero() {
			end = r.NominalStart
		}
		if end.IsZero() || (!r.Start.IsZero() && r.Start.After(now)) {
			continue
		}
		iv := byEnd[end.UnixNano()]
		if iv == nil {
			iv = &interval{start: r.NominalStart, end: end}
			if iv.start.IsZero() || iv.start.After(end) {
				iv.start = end
			}
			byEnd[end.UnixNano()] = iv
		}
		if r.Succeeded && !r.End.IsZero() && !r.End.After(now) && (iv.done.IsZero() || r.End.Before(iv.done)) {
			iv.done = r.End
		}
	}
	list := make([]*interval, 0, len(byEnd))
	for _, iv := range byEnd {
		list = append(list, iv)
	}
	slices.SortFunc(list, func(a, b *interval) int { return a.end.Compare(b.end) })
	e := newEvents(len(list))
	judge := func(end time.Time, done time.Time) {
		deadline := end.Add(after)
		if deadline.After(start) && !deadline.After(now) {
			e.add(deadline, !done.IsZero() && !done.After(deadline))
		}
	}
	// missed adds the intervals of period p after end that no run
	// covers, up to before (exclusive) or, without it, until now.
	missed := func(end time.Time, p time.Duration, before time.Time) {
		if p <= 0 {
			return
		}
		// Skip ahead to the window without walking years of intervals.
		if first := start.Add(-after); end.Before(first) {
			end = end.Add((first.Sub(end) / p) * p)
		}
		for next := end.Add(p); ; next = next.Add(p) {
			if !before.IsZero() && next.After(before) {
				return
			}
			if before.IsZero() && next.Add(after).After(now) {
				return
			}
			judge(next, time.Time{})
		}
	}
	for i, iv := range list {
		judge(iv.end, iv.done)
		p := iv.end.Sub(iv.start)
		if i+1 < len(list) {
			missed(iv.end, p, list[i+1].start)
		} else {
			missed(iv.end, p, time.Time{})
		}
	}
	return e.done()
}
