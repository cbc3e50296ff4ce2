package slo

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/anomaly"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

const (
	day    = 24 * time.Hour
	window = 28 * day
)

// now is the evaluation time of most cases.
var now = time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)

func must(t *testing.T, loc string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// every returns the times from from (included) to to (excluded) every
// step, leaving out those for which skip says so.
func every(from, to time.Time, step time.Duration, skip func(time.Time) bool) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); t = t.Add(step) {
		if skip == nil || !skip(t) {
			out = append(out, t)
		}
	}
	return out
}

// daily returns one time a day at hh:mm local time in loc, from the day of
// from to the day of to, both included, leaving out those skip says.
func daily(from, to time.Time, loc *time.Location, hh, mm int, skip func(time.Time) bool) []time.Time {
	var out []time.Time
	y, m, d := from.In(loc).Date()
	for t := time.Date(y, m, d, hh, mm, 0, 0, loc); !t.After(to); {
		if skip == nil || !skip(t) {
			out = append(out, t)
		}
		y, m, d = t.Date()
		t = time.Date(y, m, d+1, hh, mm, 0, 0, loc)
	}
	return out
}

func onDay(y int, m time.Month, d int, loc *time.Location) func(time.Time) bool {
	return func(t time.Time) bool {
		ty, tm, td := t.In(loc).Date()
		return ty == y && tm == m && td == d
	}
}

func ptr(v float64) *float64 { return &v }

func evaluate(t *testing.T, s Spec, obs Observations, at time.Time) Report {
	t.Helper()
	r, err := Evaluate(s, obs, at)
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return r
}

// golden is one case of testdata/golden.txt.
type golden struct {
	name string
	spec Spec
	obs  Observations
	now  time.Time
}

func goldenCases(t *testing.T) []golden {
	berlin, newYork := must(t, "Europe/Berlin"), must(t, "America/New_York")
	hourly := every(now.Add(-40*day), now, time.Hour, nil)
	gapFrom := now.Add(-18 * day)
	gap := every(now.Add(-40*day), now, time.Hour, func(t time.Time) bool {
		return t.After(gapFrom) && t.Before(gapFrom.Add(10*time.Hour))
	})
	fresh := func(objective float64) Spec {
		return Spec{Kind: Freshness, Objective: objective, Window: window, MaxAge: 2 * time.Hour}
	}
	withUpdate := func(u []time.Time, extra ...time.Time) []time.Time {
		return append(append([]time.Time{}, u...), extra...)
	}
	at9 := Spec{Kind: OnTime, Objective: 0.95, Window: window, Deadline: "09:00"}
	missing := onDay(2025, 3, 20, time.UTC)
	// The update of 20 March lands at 09:30, half an hour late, and the
	// one of 21 March never.
	late930 := withUpdate(daily(now.Add(-40*day), now, time.UTC, 8, 0, func(t time.Time) bool {
		return missing(t) || onDay(2025, 3, 21, time.UTC)(t)
	}), time.Date(2025, 3, 20, 9, 30, 0, 0, time.UTC))
	berlin0230 := Spec{Kind: OnTime, Objective: 0.9, Window: 7 * day, Deadline: "02:30", TimeZone: "Europe/Berlin", Lookback: 6 * time.Hour}
	springBerlin := time.Date(2025, 4, 2, 12, 0, 0, 0, time.UTC)
	fallBerlin := time.Date(2025, 10, 29, 12, 0, 0, 0, time.UTC)
	// Updates at 02:00 local, but on the day of the change at a time of
	// the case's.
	springDays := daily(springBerlin.Add(-10*day), springBerlin, berlin, 2, 0, onDay(2025, 3, 30, berlin))
	fallDays := daily(fallBerlin.Add(-10*day), fallBerlin, berlin, 2, 0, onDay(2025, 10, 26, berlin))
	nyWeekdays := Spec{Kind: OnTime, Objective: 0.95, Window: 14 * day, Deadline: "0 9 * * 1-5", TimeZone: "America/New_York", Lookback: 12 * time.Hour}
	nySpring := time.Date(2025, 3, 14, 20, 0, 0, 0, time.UTC)
	nyFall := time.Date(2025, 11, 7, 20, 0, 0, 0, time.UTC)
	ny0230 := Spec{Kind: OnTime, Objective: 0.9, Window: 7 * day, Deadline: "02:30", TimeZone: "America/New_York", Lookback: 4 * time.Hour}

	var results []Result
	for i, at := range every(now.Add(-30*day).Add(10*time.Minute), now.Add(time.Nanosecond), 10*time.Minute, nil) {
		st := catalog.QualityPass
		if !at.Before(now.Add(-50 * time.Minute)) {
			st = catalog.QualityFail
		}
		if i%100 == 0 {
			st = catalog.QualitySkipped
		}
		results = append(results, Result{At: at, Status: st})
	}
	var counts []anomaly.Point
	for i, at := range daily(now.Add(-90*day), now, time.UTC, 3, 0, nil) {
		v := 1000.0
		if at.Weekday() == time.Saturday || at.Weekday() == time.Sunday {
			v = 300
		}
		v *= 1 + 0.02*math.Sin(float64(i))
		if at.Equal(time.Date(2025, 3, 20, 3, 0, 0, 0, time.UTC)) {
			v *= 5
		}
		counts = append(counts, anomaly.Point{At: at, Value: v})
	}
	var runs []Run
	for _, start := range daily(now.Add(-29*day), now, time.UTC, 1, 0, nil) {
		r := Run{Start: start, End: start.Add(40 * time.Minute), Succeeded: true}
		switch start.Day() {
		case 10:
			r.Succeeded = false
		case 15:
			r.End = start.Add(3 * time.Hour)
		}
		runs = append(runs, r)
	}
	runs = append(runs, Run{Start: now.Add(-3 * time.Hour)}, Run{Start: now.Add(-30 * time.Minute)})

	// An Airflow task with sla=timedelta(hours=2) on a daily DAG: each
	// run processes the data interval of the day before (nominal start
	// and end at midnight UTC) and is due 02:00. The run of 10 March
	// ends 03:00 (late), 15 March has no run (missing), on 18 March a
	// failed try is followed by a retry that ends 01:50 (on time); the
	// rest end 00:50. A run without nominal times is not counted.
	sla2h := Spec{Kind: OnTime, Objective: 0.9, Window: window, AfterNominal: 2 * time.Hour}
	airflow := func(until time.Time) []Run {
		var out []Run
		for end := now.Add(-40 * day).Truncate(day); !end.After(until); end = end.Add(day) {
			r := Run{Start: end.Add(10 * time.Minute), End: end.Add(50 * time.Minute), Succeeded: true, NominalStart: end.Add(-day), NominalEnd: end}
			switch end.Format("01-02") {
			case "03-10":
				r.End = end.Add(3 * time.Hour)
			case "03-15":
				continue
			case "03-18":
				out = append(out, Run{Start: r.Start, End: r.End, NominalStart: r.NominalStart, NominalEnd: r.NominalEnd})
				r.Start, r.End = end.Add(time.Hour), end.Add(110*time.Minute)
			}
			out = append(out, r)
		}
		return append(out, Run{Start: now.Add(-5 * time.Hour), End: now.Add(-4 * time.Hour), Succeeded: true})
	}

	return []golden{
		{"freshness: hourly updates", fresh(0.99), Observations{Updates: hourly}, now},
		{"freshness: a 10-hour gap, objective 99 %", fresh(0.99), Observations{Updates: gap}, now},
		{"freshness: a 10-hour gap, objective 98 %", fresh(0.98), Observations{Updates: gap}, now},
		{"freshness: stale for the last hour", fresh(0.99), Observations{Updates: every(now.Add(-40*day), now.Add(-3*time.Hour+time.Minute), time.Hour, nil)}, now},
		{"freshness: no data", fresh(0.99), Observations{}, now},
		{"freshness: known for the last week only", fresh(0.99), Observations{Updates: every(now.Add(-7*day), now, time.Hour, nil)}, now},
		{"on_time: daily 09:00 UTC, one day missing", at9, Observations{Updates: daily(now.Add(-40*day), now, time.UTC, 8, 0, missing)}, now},
		{"on_time: the missing update arrives late in the catalog", at9, Observations{Updates: withUpdate(daily(now.Add(-40*day), now, time.UTC, 8, 0, missing), time.Date(2025, 3, 20, 8, 30, 0, 0, time.UTC))}, now},
		{"on_time: delivered 09:30, counted for the next deadline", at9, Observations{Updates: late930}, now},
		{"on_time: delivered 09:30, lookback 12h", Spec{Kind: OnTime, Objective: 0.95, Window: window, Deadline: "09:00", Lookback: 12 * time.Hour},
			Observations{Updates: late930}, now},
		{"on_time: no data", at9, Observations{}, now},
		{"on_time: Berlin 02:30, spring forward, 03:20 CEST meets the 03:30 deadline", berlin0230,
			Observations{Updates: withUpdate(springDays, time.Date(2025, 3, 30, 1, 20, 0, 0, time.UTC))}, springBerlin},
		{"on_time: Berlin 02:30, spring forward, 03:40 CEST is late", berlin0230,
			Observations{Updates: withUpdate(springDays, time.Date(2025, 3, 30, 1, 40, 0, 0, time.UTC))}, springBerlin},
		{"on_time: Berlin 02:30, fall back, 02:20 CEST meets the first 02:30", berlin0230,
			Observations{Updates: withUpdate(fallDays, time.Date(2025, 10, 26, 0, 20, 0, 0, time.UTC))}, fallBerlin},
		{"on_time: Berlin 02:30, fall back, 02:20 CET (the second) is late", berlin0230,
			Observations{Updates: withUpdate(fallDays, time.Date(2025, 10, 26, 1, 20, 0, 0, time.UTC))}, fallBerlin},
		{"on_time: New York 09:00 weekdays, spring forward", nyWeekdays,
			Observations{Updates: daily(nySpring.Add(-20*day), nySpring, newYork, 8, 45, nil)}, nySpring},
		{"on_time: New York 09:00 weekdays, fall back", nyWeekdays,
			Observations{Updates: daily(nyFall.Add(-20*day), nyFall, newYork, 8, 45, nil)}, nyFall},
		{"on_time: New York 02:30, spring forward, 03:15 EDT meets the 03:30 deadline", ny0230,
			Observations{Updates: withUpdate(daily(nySpring.Add(-10*day), nySpring, newYork, 2, 15, onDay(2025, 3, 9, newYork)), time.Date(2025, 3, 9, 7, 15, 0, 0, time.UTC))},
			nySpring},
		{"on_time: New York 02:30, spring forward, 03:45 EDT is late", ny0230,
			Observations{Updates: withUpdate(daily(nySpring.Add(-10*day), nySpring, newYork, 2, 15, onDay(2025, 3, 9, newYork)), time.Date(2025, 3, 9, 7, 45, 0, 0, time.UTC))},
			nySpring},
		{"quality: failing for the last hour", Spec{Kind: Quality, Objective: 0.99, Window: 30 * day}, Observations{Results: results}, now},
		{"quality: only skipped results", Spec{Kind: Quality, Objective: 0.99, Window: 30 * day},
			Observations{Results: []Result{{At: now.Add(-time.Hour), Status: catalog.QualitySkipped}}}, now},
		{"volume: fixed range", Spec{Kind: Volume, Objective: 0.9, Window: window, Min: ptr(250), Max: ptr(1200)}, Observations{Values: counts}, now},
		{"volume: learned range", Spec{Kind: Volume, Objective: 0.9, Window: window}, Observations{Values: counts}, now},
		{"volume: learned range, too little history", Spec{Kind: Volume, Objective: 0.9, Window: window}, Observations{Values: counts[len(counts)-10:]}, now},
		{"pipeline: runs within 2h", Spec{Kind: Pipeline, Objective: 0.9, Window: window, MaxDuration: 2 * time.Hour}, Observations{Runs: runs}, now},
		{"on_time after nominal: Airflow SLA 2h, one late, one missing, a retry on time", sla2h, Observations{Runs: airflow(now)}, now},
		{"on_time after nominal: no run for the last 3 days", sla2h, Observations{Runs: airflow(now.Add(-3 * day))}, now},
		{"on_time after nominal: no runs", sla2h, Observations{}, now},
	}
}

// render writes a report for the golden file.
func render(b *strings.Builder, g golden, r Report) {
	fmt.Fprintf(b, "== %s\n", g.name)
	fmt.Fprintf(b, "status: %s\nsummary: %s\n", r.Status, r.Summary)
	fmt.Fprintf(b, "window: (%s, %s]\n", r.WindowStart.Format(time.RFC3339), r.WindowEnd.Format(time.RFC3339))
	fmt.Fprintf(b, "good %s of %s %s; attainment %s\n", num(r.Good), num(r.Total), r.Unit, num(r.Attainment))
	fmt.Fprintf(b, "budget %s, spent %s, remaining %s (%s)\n", num(r.Budget), num(r.Spent), num(r.Remaining), percent(r.RemainingFraction))
	for _, x := range r.Burns {
		fmt.Fprintf(b, "burn %-6s %-6s ≥%-4s long %-10s %s×(%s) short %-9s %s×(%s) firing %v\n", x.Name, x.Severity, num(x.Threshold),
			words(x.Long), num(x.LongRate), num(x.LongTotal), words(x.Short), num(x.ShortRate), num(x.ShortTotal), x.Firing)
	}
	loc, _ := time.LoadLocation(g.spec.TimeZone)
	b.WriteString("days:")
	for _, iv := range r.Intervals {
		if iv.Good == iv.Total {
			fmt.Fprintf(b, " %s %s", iv.Start.In(loc).Format("01-02"), num(iv.Total))
		} else {
			fmt.Fprintf(b, " %s %s/%s", iv.Start.In(loc).Format("01-02"), num(iv.Good), num(iv.Total))
		}
	}
	b.WriteString("\n\n")
}

func num(x float64) string {
	s := fmt.Sprintf("%.4f", x)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// TestGolden evaluates fixed observation series and compares the reports
// with testdata/golden.txt (go test -update rewrites it). The cases with
// hand-checked numbers are also in TestArithmetic.
func TestGolden(t *testing.T) {
	var b strings.Builder
	for _, g := range goldenCases(t) {
		render(&b, g, evaluate(t, g.spec, g.obs, g.now))
	}
	got := b.String()
	const file = "testdata/golden.txt"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("reports differ from %s (-want +got):\n%s", file, diff)
	}
}

// TestArithmetic checks numbers worked out by hand.
func TestArithmetic(t *testing.T) {
	cases := map[string]golden{}
	for _, g := range goldenCases(t) {
		cases[g.name] = g
	}
	type numbers struct {
		Status                  Status
		Good, Total, Attainment float64
		Budget, Spent           float64
		Remaining, Fraction     float64
	}
	round := func(x float64) float64 { return math.Round(x*1e6) / 1e6 }
	for _, tc := range []struct {
		name string
		want numbers
	}{
		// 28 days are 40320 minutes; the gap leaves the data stale for 8
		// hours, 480 minutes. The budget at 99 % is 403.2 minutes.
		{"freshness: a 10-hour gap, objective 99 %", numbers{StatusBreached, 39840, 40320, 39840.0 / 40320, 403.2, 480, -76.8, -76.8 / 403.2}},
		// At 98 % the budget is 806.4 minutes, 326.4 (40.5 %) left.
		{"freshness: a 10-hour gap, objective 98 %", numbers{StatusOK, 39840, 40320, 39840.0 / 40320, 806.4, 480, 326.4, 326.4 / 806.4}},
		// The last update was 3h ago: stale for an hour.
		{"freshness: stale for the last hour", numbers{StatusAtRisk, 40260, 40320, 40260.0 / 40320, 403.2, 60, 343.2, 343.2 / 403.2}},
		{"freshness: no data", numbers{StatusNoData, 0, 0, 0, 0, 0, 0, 1}},
		{"freshness: known for the last week only", numbers{StatusOK, 10080, 10080, 1, 100.8, 0, 100.8, 1}},
		// 28 deadlines, one missed: 1.4 deadlines of budget, 0.4 left.
		{"on_time: daily 09:00 UTC, one day missing", numbers{StatusOK, 27, 28, 27.0 / 28, 1.4, 1, 0.4, 0.4 / 1.4}},
		{"on_time: the missing update arrives late in the catalog", numbers{StatusOK, 28, 28, 1, 1.4, 0, 1.4, 1}},
		{"on_time: delivered 09:30, counted for the next deadline", numbers{StatusOK, 27, 28, 27.0 / 28, 1.4, 1, 0.4, 0.4 / 1.4}},
		{"on_time: delivered 09:30, lookback 12h", numbers{StatusBreached, 26, 28, 26.0 / 28, 1.4, 2, -0.6, -0.6 / 1.4}},
		// 30 days of a result every 10 minutes: 4320, 44 skipped; the
		// last 6 (the last hour) failed.
		{"quality: failing for the last hour", numbers{StatusAtRisk, 4270, 4276, 4270.0 / 4276, 42.76, 6, 36.76, 36.76 / 42.76}},
		// 28 daily runs in the window and one running for 3 h, 29: one
		// failed, one took 3 h, and the running one is over 2 h, 3 bad;
		// the one started 30 minutes ago is not known yet.
		{"pipeline: runs within 2h", numbers{StatusBreached, 26, 29, 26.0 / 29, 2.9, 3, -0.1, -0.1 / 2.9}},
		// Deadlines at 02:00 of 4 to 31 March: 28, of which 10 March
		// (late) and 15 March (missing) are missed; 2.8 of budget.
		{"on_time after nominal: Airflow SLA 2h, one late, one missing, a retry on time", numbers{StatusOK, 26, 28, 26.0 / 28, 2.8, 2, 0.8, 0.8 / 2.8}},
		// The last run delivered 28 March: 29 to 31 March missed too.
		{"on_time after nominal: no run for the last 3 days", numbers{StatusBreached, 23, 28, 23.0 / 28, 2.8, 5, -2.2, -2.2 / 2.8}},
		{"on_time after nominal: no runs", numbers{StatusNoData, 0, 0, 0, 0, 0, 0, 1}},
	} {
		g, ok := cases[tc.name]
		if !ok {
			t.Fatalf("no case %q", tc.name)
		}
		r := evaluate(t, g.spec, g.obs, g.now)
		got := numbers{r.Status, round(r.Good), round(r.Total), round(r.Attainment), round(r.Budget), round(r.Spent), round(r.Remaining), round(r.RemainingFraction)}
		want := tc.want
		want.Attainment, want.Budget, want.Remaining, want.Fraction = round(want.Attainment), round(want.Budget), round(want.Remaining), round(want.Fraction)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s\nsummary: %s", tc.name, diff, r.Summary)
		}
	}
}

// TestBurnRate checks the alerts of a 30-day window, the SRE workbook's
// own: a check failing for the last hour burns the budget 100× as fast
// as 99 % allows, over 1 h and 5 min.
func TestBurnRate(t *testing.T) {
	var g golden
	for _, c := range goldenCases(t) {
		if c.name == "quality: failing for the last hour" {
			g = c
		}
	}
	r := evaluate(t, g.spec, g.obs, g.now)
	type burn struct {
		Name                  string
		Long, Short           time.Duration
		LongRate, ShortRate   float64
		LongTotal, ShortTotal float64
		Firing                bool
	}
	var got []burn
	for _, b := range r.Burns {
		got = append(got, burn{b.Name, b.Long, b.Short, math.Round(b.LongRate*1000) / 1000, math.Round(b.ShortRate*1000) / 1000, b.LongTotal, b.ShortTotal, b.Firing})
	}
	want := []burn{
		// Results at now−50m … now: 6 in the last hour, all failed; the
		// one at now is in the last 5 minutes.
		{"fast", time.Hour, 5 * time.Minute, 100, 100, 6, 1, true},
		// 36 results in 6 h, one skipped, 6 failed: 6/35 ÷ 1 % = 17.143.
		{"slow", 6 * time.Hour, 30 * time.Minute, 17.143, 100, 35, 3, true},
		// 432 in 3 days, 5 skipped: 6/427 ÷ 1 % = 1.405.
		{"ticket", 3 * day, 6 * time.Hour, 1.405, 17.143, 427, 35, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("burns (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.Summary, "100.0× as fast as the objective allows over the last 1h (fast burn)") {
		t.Errorf("summary %q does not name the fast burn", r.Summary)
	}
}

// TestDeadlinesDST lists the deadlines around daylight-saving changes, in
// UTC.
func TestDeadlinesDST(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		deadline, tz string
		from, to     string
		want         []string
	}{
		// Berlin springs forward on 30 March 2025 at 02:00 CET: 02:30 does
		// not exist and becomes 03:30 CEST, 01:30 UTC (like 02:30 CET).
		{"02:30", "Europe/Berlin", "2025-03-28 12:00", "2025-04-01 12:00",
			[]string{"2025-03-29 01:30", "2025-03-30 01:30", "2025-03-31 00:30", "2025-04-01 00:30"}},
		// Berlin falls back on 26 October 2025 at 03:00 CEST: 02:30 is
		// shown twice, first at 00:30 UTC.
		{"02:30", "Europe/Berlin", "2025-10-24 12:00", "2025-10-28 12:00",
			[]string{"2025-10-25 00:30", "2025-10-26 00:30", "2025-10-27 01:30", "2025-10-28 01:30"}},
		{"09:00", "Europe/Berlin", "2025-03-29 00:00", "2025-03-31 00:00",
			[]string{"2025-03-29 08:00", "2025-03-30 07:00"}},
		// New York springs forward on 9 March 2025 at 02:00 EST: 02:30
		// becomes 03:30 EDT, 07:30 UTC.
		{"02:30", "America/New_York", "2025-03-07 12:00", "2025-03-10 12:00",
			[]string{"2025-03-08 07:30", "2025-03-09 07:30", "2025-03-10 06:30"}},
		// It falls back on 2 November 2025 at 02:00 EDT: 01:00–02:00 is
		// shown twice, 02:30 once (EST).
		{"02:30", "America/New_York", "2025-10-31 12:00", "2025-11-03 12:00",
			[]string{"2025-11-01 06:30", "2025-11-02 07:30", "2025-11-03 07:30"}},
		{"01:30", "America/New_York", "2025-11-01 12:00", "2025-11-03 12:00",
			[]string{"2025-11-02 05:30", "2025-11-03 06:30"}},
		{"0 9 * * 1-5", "America/New_York", "2025-03-06 12:00", "2025-03-12 12:00",
			[]string{"2025-03-06 14:00", "2025-03-07 14:00", "2025-03-10 13:00", "2025-03-11 13:00"}},
		{"0 9 * * 1-5", "America/New_York", "2025-10-30 12:00", "2025-11-04 12:00",
			[]string{"2025-10-30 13:00", "2025-10-31 13:00", "2025-11-03 14:00"}},
		// Every 30 minutes through Berlin's skipped hour: 02:00 and 02:30
		// move onto 03:00 and 03:30, which are deadlines anyway.
		{"*/30 * * * *", "Europe/Berlin", "2025-03-30 00:00", "2025-03-30 02:00",
			[]string{"2025-03-30 00:30", "2025-03-30 01:00", "2025-03-30 01:30", "2025-03-30 02:00"}},
	} {
		s, err := parseSchedule(tc.deadline, tc.tz)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range s.deadlines(utc(tc.from), utc(tc.to)) {
			got = append(got, d.UTC().Format("2006-01-02 15:04"))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q in %s from %s (-want +got):\n%s", tc.deadline, tc.tz, tc.from, diff)
		}
	}
}

// TestLateData: an evaluation is a function of what is known; the same
// evaluation with an observation that arrived since says otherwise.
func TestLateData(t *testing.T) {
	spec := Spec{Kind: Freshness, Objective: 0.99, Window: 7 * day, MaxAge: 90 * time.Minute}
	updates := every(now.Add(-8*day), now.Add(-2*time.Hour+time.Minute), time.Hour, nil)
	before := evaluate(t, spec, Observations{Updates: updates}, now)
	// The update of an hour ago was crawled only now.
	after := evaluate(t, spec, Observations{Updates: append(updates, now.Add(-time.Hour))}, now)
	if before.Status != StatusAtRisk || after.Status != StatusOK {
		t.Errorf("status %s, then %s with the late update; want at_risk, then ok\n%s\n%s", before.Status, after.Status, before.Summary, after.Summary)
	}
	if before.Spent != 30 || after.Spent != 0 {
		t.Errorf("spent %v, then %v minutes; want 30, then 0", before.Spent, after.Spent)
	}
	// Observations after the evaluation time are not used.
	future := evaluate(t, spec, Observations{Updates: append(updates, now.Add(time.Hour))}, now)
	if future.Spent != before.Spent {
		t.Errorf("an update after now changed the evaluation: spent %v, want %v", future.Spent, before.Spent)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Kind: Quality, Objective: 1, Window: day}, "objective 100 % leaves no error budget"},
		{Spec{Kind: Quality, Objective: 99, Window: day}, "objective 99: want a share between 0 and 1"},
		{Spec{Kind: Quality, Objective: 0.9}, "window 0s"},
		{Spec{Kind: "latency", Objective: 0.9, Window: day}, `unknown kind "latency"`},
		{Spec{Kind: Freshness, Objective: 0.9, Window: day}, "freshness: max age 0s"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day}, "on_time: no deadline"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "25:00"}, `deadline "25:00": want "HH:MM" or a five-field cron expression`},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "09:00", TimeZone: "Mars/Olympus"}, `unknown time zone "Mars/Olympus"`},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "CRON_TZ=UTC 0 9 * * *"}, "give the time zone as time_zone"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "@every 1h"}, "@every is an interval"},
		{Spec{Kind: Volume, Objective: 0.9, Window: day, Min: ptr(10), Max: ptr(5)}, "min 10 is above max 5"},
		{Spec{Kind: Pipeline, Objective: 0.9, Window: day, MaxDuration: -time.Hour}, "max duration -1h0m0s"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "09:00", AfterNominal: time.Hour}, "want one of them"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, AfterNominal: -time.Hour}, "after nominal -1h0m0s"},
		{Spec{Kind: OnTime, Objective: 0.9, Window: day, AfterNominal: time.Hour, Updates: UpdatesDeltaCommits}, "count runs only"},
	} {
		err := tc.spec.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want an ErrInvalid with %q", tc.spec, err, tc.want)
		}
		if _, err := Evaluate(tc.spec, Observations{}, now); err == nil {
			t.Errorf("Evaluate(%+v) succeeded", tc.spec)
		}
	}
	for _, s := range []Spec{
		{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "9:05", TimeZone: "Asia/Kolkata"},
		{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "@daily"},
		{Kind: OnTime, Objective: 0.9, Window: day, AfterNominal: 90 * time.Minute},
		{Kind: OnTime, Objective: 0.9, Window: day, Deadline: "30 6 1 * *"},
		{Kind: Volume, Objective: 0.5, Window: day, Min: ptr(1)},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v): %v", s, err)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]float64{"99.9%": 0.999, "99 %": 0.99, "0.995": 0.995, " 95% ": 0.95} {
		if got, err := ParseObjective(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("ParseObjective(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"100%", "0", "1", "ninety", "-5%", "99.9"} {
		if _, err := ParseObjective(in); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("ParseObjective(%q) = %v, want ErrInvalid", in, err)
		}
	}
	for in, want := range map[string]time.Duration{"28d": 28 * day, "4w": 28 * day, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute, "1w2d3h": 9*day + 3*time.Hour} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "28 days", "1y"} {
		if _, err := ParseDuration(in); !errors.Is(err, catalog.ErrInvalid) {
			t.Errorf("ParseDuration(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		28 * day: "28 days", day: "1 day", 56 * time.Minute: "56m", 4*time.Minute + 40*time.Second: "4m40s",
		5*time.Hour + 36*time.Minute: "5h36m", 2*day + 19*time.Hour + 12*time.Minute: "2 days 19h12m", 6 * time.Hour: "6h", 0: "0s",
	} {
		if got := words(d); got != want {
			t.Errorf("words(%v) = %q, want %q", d, got, want)
		}
	}
	for x, want := range map[float64]string{0.99: "99 %", 0.999: "99.9 %", 0.99999: "99.99 %", 1: "100 %", 0: "0 %", -0.25: "-25 %", 0.28571: "28.57 %"} {
		if got := percent(x); got != want {
			t.Errorf("percent(%v) = %q, want %q", x, got, want)
		}
	}
}

// TestIntervalsDST: the days of the report are days of the SLO's zone, 23
// and 25 hours long when the clocks change.
func TestIntervalsDST(t *testing.T) {
	at := time.Date(2025, 10, 28, 12, 0, 0, 0, time.UTC)
	spec := Spec{Kind: Freshness, Objective: 0.99, Window: 240 * day, MaxAge: 2 * time.Hour, TimeZone: "Europe/Berlin"}
	r := evaluate(t, spec, Observations{Updates: every(at.Add(-241*day), at, time.Hour, nil)}, at)
	berlin := must(t, "Europe/Berlin")
	lengths := map[string]float64{}
	for _, iv := range r.Intervals {
		lengths[iv.Start.In(berlin).Format("01-02")] = iv.Total
		if h, m, _ := iv.Start.In(berlin).Clock(); (h != 0 || m != 0) && iv.Start != r.WindowStart {
			t.Errorf("interval starts at %v, not at midnight in Berlin", iv.Start.In(berlin))
		}
	}
	for d, want := range map[string]float64{"03-29": 1440, "03-30": 1380, "03-31": 1440, "10-26": 1500, "10-27": 1440} {
		if lengths[d] != want {
			t.Errorf("%s: %v minutes, want %v", d, lengths[d], want)
		}
	}
}

func TestFromFreshnessCriteria(t *testing.T) {
	k := catalog.Key{Namespace: "pg", Name: "db.s.t"}
	for _, tc := range []struct {
		warn, err string
		ok        bool
		age       time.Duration
		name      string
	}{
		{"12 hour", "1 day", true, 24 * time.Hour, "freshness (error_after 1 day)"},
		{"30 minutes", "", true, 30 * time.Minute, "freshness (warn_after 30 minutes)"},
		{"", "", false, 0, ""},
		{"", "2 fortnight", false, 0, ""},
	} {
		s, ok := FromFreshnessCriteria("dbt:x", k, tc.warn, tc.err)
		if ok != tc.ok || s.Spec.MaxAge != tc.age || s.Name != tc.name {
			t.Errorf("FromFreshnessCriteria(%q, %q) = %+v, %v", tc.warn, tc.err, s, ok)
		}
		if ok && s.Spec.Validate() != nil {
			t.Errorf("harvested spec invalid: %v", s.Spec.Validate())
		}
	}
}

func TestDeclarationBuild(t *testing.T) {
	k := catalog.Key{Namespace: "pg", Name: "db.s.t"}
	decls, err := ParseDeclarations([]byte(`[{"name": "a", "kind": "on_time", "deadline": "0 9 * * 1-5", "time_zone": "America/New_York", "window": "4w", "objective": 0.95},
		{"name": "b", "kind": "pipeline", "max_duration": "1h"}, {"kind": "quality"}, {"name": "c", "kind": "on_time", "deadline": "25:00"},
		{"name": "d", "kind": "freshness", "max_age": "6h", "time_zone": "Mars/Olympus"}, {"name": "e", "kind": "volume", "min": "x"}]`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range decls {
		s, err := d.Build(k, "dbt:x", "here")
		if err != nil {
			got = append(got, "error "+err.Error())
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %v %v %v %s", s.Name, s.Spec.Kind, s.Spec.Objective, s.Spec.Window, s.Spec.MaxDuration, s.Source))
	}
	want := []string{
		"a on_time 0.95 672h0m0s 0s dbt:x",
		"b pipeline 0.99 672h0m0s 1h0m0s dbt:x",
		"error name: missing",
	}
	if len(got) != 6 || fmt.Sprint(got[:3]) != fmt.Sprint(want) {
		t.Errorf("built %q, want %q first", got, want)
	}
	for i, key := range []string{"deadline: ", "time_zone: ", "min: "} {
		if !strings.HasPrefix(got[3+i], "error "+key) {
			t.Errorf("%q does not name the key %s", got[3+i], key)
		}
	}
	one, err := ParseDeclarations([]byte(`{"name": "x", "kind": "freshness", "max_age": "1d"}`))
	if err != nil || len(one) != 1 || one[0].Name != "x" {
		t.Errorf("one mapping: %+v, %v", one, err)
	}
}

// TestDeclaredAfterNominal evaluates an on-time SLO after the runs'
// nominal times as people declare it (after_nominal, in the
// configuration, dbt's meta.slo or the API) on the observations of the
// harvested Airflow SLA's golden case: the reports must be the same, so
// that a declared SLA and a harvested one never disagree.
func TestDeclaredAfterNominal(t *testing.T) {
	var harvested *golden
	for _, g := range goldenCases(t) {
		if strings.HasPrefix(g.name, "on_time after nominal: Airflow SLA 2h") {
			harvested = &g
		}
	}
	if harvested == nil {
		t.Fatal("no golden case of an Airflow SLA")
	}
	ds, err := ParseDeclarations([]byte(`{"name": "each day within 2h", "kind": "on_time", "after_nominal": "2h", "objective": "90%", "window": "` +
		strconv.Itoa(int(harvested.spec.Window/(24*time.Hour))) + `d"}`))
	if err != nil {
		t.Fatal(err)
	}
	declared, err := ds[0].Build(catalog.Key{Namespace: "pg", Name: "db.s.t"}, "config", "almanac.yaml:3")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(harvested.spec, declared.Spec); diff != "" {
		t.Fatalf("declared spec (-harvested +declared):\n%s", diff)
	}
	var want, got strings.Builder
	render(&want, *harvested, evaluate(t, harvested.spec, harvested.obs, harvested.now))
	render(&got, *harvested, evaluate(t, declared.Spec, harvested.obs, harvested.now))
	golden, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(golden), want.String()) {
		t.Fatalf("the harvested case's report is not in testdata/golden.txt:\n%s", want.String())
	}
	if diff := cmp.Diff(want.String(), got.String()); diff != "" {
		t.Errorf("declared report (-harvested +declared):\n%s", diff)
	}
	if p, w := declared.Spec.Promise(), "each data interval delivered within 2h after its nominal end"; p != w {
		t.Errorf("Promise() = %q, want %q", p, w)
	}
}

func TestPromise(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Kind: Freshness, MaxAge: 6 * time.Hour}, "never older than 6h"},
		{Spec{Kind: OnTime, Deadline: "09:00", TimeZone: "Europe/Berlin"}, "updated by 09:00 every day (Europe/Berlin)"},
		{Spec{Kind: OnTime, Deadline: "0 9 * * 1-5"}, "updated by each deadline of 0 9 * * 1-5"},
		{Spec{Kind: OnTime, AfterNominal: day + 30*time.Minute}, "each data interval delivered within 1 day 30m after its nominal end"},
		{Spec{Kind: Quality}, "the checks pass"},
		{Spec{Kind: Volume, Min: ptr(10), Max: ptr(20.5)}, "row count between 10 and 20.5"},
		{Spec{Kind: Volume, Max: ptr(20)}, "row count at most 20"},
		{Spec{Kind: Volume}, "row count within the range learned from history"},
		{Spec{Kind: Pipeline, MaxDuration: time.Hour}, "runs succeed within 1h"},
		{Spec{Kind: Pipeline}, "runs succeed"},
	} {
		if got := tc.spec.Promise(); got != tc.want {
			t.Errorf("Promise(%+v) = %q, want %q", tc.spec, got, tc.want)
		}
	}
}
