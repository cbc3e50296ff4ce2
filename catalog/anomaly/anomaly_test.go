package anomaly

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// weekly returns n daily points from day0 at 03:00 with the value of the
// weekday's pattern times growth per day.
func weekly(n int, pattern [7]float64, growth float64) []Point {
	var pts []Point
	for d := range n {
		at := day0.Add(time.Duration(d)*day + 3*time.Hour)
		pts = append(pts, Point{At: at, Value: pattern[at.Weekday()] * math.Pow(1+growth, float64(d))})
	}
	return pts
}

var workweek = [7]float64{time.Sunday: 100, time.Monday: 1000, time.Tuesday: 1000, time.Wednesday: 1000,
	time.Thursday: 1000, time.Friday: 1000, time.Saturday: 200}

// TestBaselineSeasonal: on a noiseless weekly pattern the expectation of
// each weekday is its value, within the least spread.
func TestBaselineSeasonal(t *testing.T) {
	hist := weekly(56, workweek, 0)
	for d := range 7 {
		at := day0.Add(time.Duration(56+d)*day + 3*time.Hour)
		e, ok := Baseline(hist, at, DefaultVolume())
		if !ok {
			t.Fatalf("no baseline at %v", at)
		}
		want := workweek[at.Weekday()]
		if math.Abs(e.Expected-want) > 1e-6*want || !e.Seasonal || e.Season != at.Weekday() {
			t.Errorf("%s: expected %.2f (seasonal %v, %s), want %.0f", at.Weekday(), e.Expected, e.Seasonal, e.Season, want)
		}
		// ±K spreads of at least MinScale, relative.
		if e.Lo > want*0.93 || e.Lo < want*0.88 || e.Hi < want*1.08 || e.Hi > want*1.13 {
			t.Errorf("%s: range [%.1f, %.1f] for %.0f, want about ±8–12 %%", at.Weekday(), e.Lo, e.Hi, want)
		}
	}
}

// TestBaselineTrend: a steady growth of 1 % a day is learned, not flagged.
func TestBaselineTrend(t *testing.T) {
	series := weekly(120, workweek, 0.01)
	for _, v := range Detect(series, DefaultVolume()) {
		if v.Anomaly {
			t.Errorf("%s: %.0f flagged, expected %.0f [%.0f, %.0f]", v.At.Format(time.DateOnly), v.Value, v.Expected, v.Lo, v.Hi)
		}
	}
	hist := series[:100]
	at := series[100].At
	e, _ := Baseline(hist, at, DefaultVolume())
	if want := series[100].Value; math.Abs(e.Expected-want) > 0.01*want {
		t.Errorf("expected %.1f after a trend, want %.1f", e.Expected, want)
	}
}

// TestNoBaseline: too little history gives no verdict.
func TestNoBaseline(t *testing.T) {
	series := weekly(30, workweek, 0)
	verdicts := Detect(series, DefaultVolume())
	first := -1
	for i, v := range verdicts {
		if v.Known {
			first = i
			break
		}
	}
	// Every weekday needs two observations in full weeks: 2 weeks of
	// history plus half a week of margin, and the second of its kind.
	if first < 14 || first > 22 {
		t.Errorf("first verdict at observation %d, want after two to three weeks", first)
	}
	if _, ok := Baseline(series[:9], series[9].At, DefaultVolume()); ok {
		t.Error("a baseline from 9 observations")
	}
}

// TestLevelShift: after a lasting shift, a few observations are flagged
// and then the new level is the norm.
func TestLevelShift(t *testing.T) {
	series := weekly(120, workweek, 0)
	for i := 80; i < len(series); i++ {
		series[i].Value *= 3
	}
	var flagged []int
	for i, v := range Detect(series, DefaultVolume()) {
		if v.Anomaly {
			flagged = append(flagged, i)
		}
	}
	if diff := cmp.Diff([]int{80, 81, 82, 83}, flagged); diff != "" {
		t.Errorf("flagged observations (-want +got):\n%s", diff)
	}
}

// TestOutlierIgnored: a spike is flagged and does not disturb the
// verdicts after it.
func TestOutlierIgnored(t *testing.T) {
	series := weekly(100, workweek, 0)
	series[70].Value *= 10
	series[71].Value = 0
	for i, v := range Detect(series, DefaultVolume()) {
		if v.Anomaly != (i == 70 || i == 71) {
			t.Errorf("observation %d (%.0f): anomaly %v", i, v.Value, v.Anomaly)
		}
		if i == 70 && !v.Above || i == 71 && v.Above {
			t.Errorf("observation %d: above %v", i, v.Above)
		}
	}
}

func TestWaits(t *testing.T) {
	at := func(h int) time.Time { return day0.Add(time.Duration(h) * time.Hour) }
	got := Waits([]time.Time{at(30), at(6), at(6), at(54)})
	want := []Point{{At: at(30), Value: 24}, {At: at(54), Value: 24}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Waits (-want +got):\n%s", diff)
	}
	if got := Waits([]time.Time{at(1)}); len(got) != 0 {
		t.Errorf("Waits of one update = %v", got)
	}
}

// TestOverdue: a weekday pipeline loading at 06:00 is overdue on a
// Tuesday at noon without a load, and not on a Saturday or a Sunday.
func TestOverdue(t *testing.T) {
	var updates []time.Time
	for d := range 70 {
		at := day0.Add(time.Duration(d)*day + 6*time.Hour) // day0 is a Monday
		if wd := at.Weekday(); wd != time.Saturday && wd != time.Sunday {
			updates = append(updates, at)
		}
	}
	last := updates[len(updates)-1] // a Friday
	if last.Weekday() != time.Friday {
		t.Fatalf("last update on %s", last.Weekday())
	}
	for _, tc := range []struct {
		now     time.Time
		overdue bool
	}{
		{last.Add(30 * time.Hour), false},                // Saturday noon: Mondays are 72 h
		{last.Add(54 * time.Hour), false},                // Sunday noon
		{last.Add(72*time.Hour + 30*time.Minute), false}, // Monday 06:30
		{last.Add(78 * time.Hour), true},                 // Monday noon
	} {
		v, ok := Overdue(updates, tc.now, DefaultFreshness())
		if !ok {
			t.Fatalf("%v: no baseline", tc.now)
		}
		if v.Anomaly != tc.overdue {
			t.Errorf("%s %s: overdue %v after %.1f h (expected %.1f, up to %.1f), want %v",
				tc.now.Weekday(), tc.now.Format("15:04"), v.Anomaly, v.Value, v.Expected, v.Hi, tc.overdue)
		}
	}
	// Updates after now are not known yet.
	v, _ := Overdue(append(updates, last.Add(80*time.Hour)), last.Add(78*time.Hour), DefaultFreshness())
	if !v.Anomaly {
		t.Error("an update after now counted")
	}
	if _, ok := Overdue(updates[:1], last, DefaultFreshness()); ok {
		t.Error("overdue judged from one update")
	}
}

// TestDetectAfter: judging only the newest observations says what judging
// all says of them.
func TestDetectAfter(t *testing.T) {
	series := weekly(90, workweek, 0.005)
	series[80].Value *= 4
	all := Detect(series, DefaultVolume())
	tail := DetectAfter(series, series[59].At, DefaultVolume())
	if diff := cmp.Diff(all[60:], tail); diff != "" {
		t.Errorf("DetectAfter (-Detect +DetectAfter):\n%s", diff)
	}
	if !tail[20].Anomaly {
		t.Error("the spike is not flagged")
	}
}
