// Package anomaly learns what a dataset's volume and freshness usually
// are, and flags the observations outside that: a load ten times the
// usual size, a load of nothing, a table that has not been updated for
// twice its usual wait. It is pure arithmetic on plain series; reading the
// series from the catalog and keeping the verdicts is the caller's.
//
// # Method
//
// Each observation is judged against a baseline learned from the
// observations before it (never after: a verdict is what would have been
// said at the time), within Params.History (default 8 weeks). The
// baseline is a robust seasonal decomposition with the day of the week
// (in Params.Location) as the season:
//
//  1. Values are modelled as log(1+v) when Params.Log is set (volumes),
//     so that deviations are relative and a weekly pattern of "Mondays
//     are three times Sundays" is one offset; waits between updates are
//     modelled in hours as they are.
//  2. A running median over a centred week (±3.5 days) follows the level
//     and the trend; the seasonal offset of each weekday is the median of
//     its observations' deviations from that running median. A weekday
//     needs two such observations (in weeks wholly within the history)
//     before its observations are judged; one on which nothing was ever
//     observed is judged as any day.
//  3. The deseasonalised values get a robust trend: the median of the
//     changes between the medians of consecutive weeks, which a level
//     shift (changing one of them) does not tilt.
//  4. The level is the median of the last Params.Recent (7) deseasonalised
//     values, each carried to the judged time along the trend: it follows
//     a level shift within about half that many observations, and a
//     single outlier among them does not move it.
//  5. The expected value is level + the offset of the judged time's
//     weekday; the spread is the median absolute deviation of the
//     residuals (value − running median − offset) scaled by 1.4826 (a
//     standard deviation for normal noise), at least Params.MinScale.
//  6. The expected range is expected ± Params.K (4) spreads, transformed
//     back; an observation outside it (on the sides Params.Sides watches)
//     is an anomaly.
//
// Medians rather than means make the baseline robust to the outliers it
// is meant to find: past anomalies in the history barely move it.
//
// # Limits
//
//   - No verdict without history: fewer than Params.MinPoints (10)
//     observations, or spanning less than Params.MinSpan (14 days), give
//     no baseline, and a weekday needs two observations in full weeks for
//     its own offset. A new dataset is silent for about three weeks.
//   - One observation per load is assumed, about daily; finer series
//     should be aggregated first (at most Params.MaxPoints of the newest
//     observations are learned from).
//   - Seasons are days of the week only: monthly or yearly patterns (month
//     end, holidays) look like anomalies.
//   - A level shift is flagged for the first few observations after it,
//     until the level follows (about Recent/2 of them); after that it is
//     the new normal. A slow drift (a few per cent a day) is learned as
//     trend and never flagged; a steep one (≥ 10 % a day) is.
//   - Noise much smaller than MinScale is not learned: deviations smaller
//     than K×MinScale are never flagged (±8 % of a volume, one hour of a
//     wait, with the defaults).
//
// The precision and recall on synthetic series with known anomalies are
// measured by BenchmarkDetect and held by TestDetectSynthetic.
package anomaly

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Point is one observation of a series: a row count, a byte size, the
// wait before an update.
type Point struct {
	At    time.Time
	Value float64
}

// Side says which deviations count as anomalies.
type Side int

// Sides.
const (
	Both  Side = iota // above or below the expected range
	Above             // above only (a late load, a wait too long)
	Below             // below only
)

// Params tunes the baseline. The zero value of a field means its default;
// DefaultVolume and DefaultFreshness return the defaults in full.
type Params struct {
	// Location is where days of the week are days; nil means UTC.
	Location *time.Location
	// History is how far back the baseline learns (default 8 weeks).
	History time.Duration
	// MinPoints is the fewest earlier observations in History that give
	// a baseline (default 10).
	MinPoints int
	// MinSpan is the least time the history must span (default 14 days).
	MinSpan time.Duration
	// MaxPoints caps the observations learned from, the newest kept
	// (default 400).
	MaxPoints int
	// Recent is how many of the newest observations the level is the
	// median of (default 7).
	Recent int
	// K is the half-width of the expected range in spreads (default 4).
	K float64
	// MinScale is the least spread, in the modelled unit: with Log, 0.02
	// is about 2 % (default 0.02).
	MinScale float64
	// Log models log(1+v) instead of v: relative deviations, for values
	// that are never negative.
	Log bool
	// Sides says which deviations are anomalies (default Both).
	Sides Side
}

// DefaultVolume returns the parameters for row counts and sizes: relative
// deviations, either way.
func DefaultVolume() Params { return Params{Log: true, Sides: Both}.withDefaults() }

// DefaultFreshness returns the parameters for the waits between updates,
// in hours (see Waits): absolute deviations, so that three hours late is
// as late after a weekend as after a night, only too long, and a spread
// of at least a quarter of an hour.
func DefaultFreshness() Params {
	return Params{Log: false, Sides: Above, MinScale: 0.25}.withDefaults()
}

func (p Params) withDefaults() Params {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.History <= 0 {
		p.History = 56 * 24 * time.Hour
	}
	if p.MinPoints <= 0 {
		p.MinPoints = 10
	}
	if p.MinSpan <= 0 {
		p.MinSpan = 14 * 24 * time.Hour
	}
	if p.MaxPoints <= 0 {
		p.MaxPoints = 400
	}
	if p.Recent <= 0 {
		p.Recent = 7
	}
	if p.K <= 0 {
		p.K = 4
	}
	if p.MinScale <= 0 {
		p.MinScale = 0.02
	}
	return p
}

// Expectation is what a baseline expects at one time.
type Expectation struct {
	// Expected is the most likely value; Lo and Hi bound the expected
	// range.
	Expected, Lo, Hi float64
	// Season is the weekday whose offset applied, and Seasonal whether it
	// had one of its own (else the weekday is treated as any day).
	Season   time.Weekday
	Seasonal bool
	// History is how many observations the baseline learned from.
	History int
}

// Verdict is the judgement of one observation.
type Verdict struct {
	Point
	// Known says whether there was a baseline; without one, Expectation
	// is zero and the observation is not judged.
	Known bool
	Expectation
	// Anomaly says the value is outside the expected range, on a side
	// Params.Sides watches; Above says which side.
	Anomaly bool
	Above   bool
}

// Detect judges each observation of series (in any order) against the
// baseline learned from the observations before it, and returns the
// verdicts in time order.
func Detect(series []Point, p Params) []Verdict { return DetectAfter(series, time.Time{}, p) }

// DetectAfter is Detect judging only the observations after after; the
// ones before are history only. It returns the verdicts of the
// observations judged.
func DetectAfter(series []Point, after time.Time, p Params) []Verdict {
	p = p.withDefaults()
	pts := sorted(series)
	first := upper(pts, after)
	out := make([]Verdict, 0, len(pts)-first)
	b := newBaseliner(pts, p)
	start := 0
	for i := first; i < len(pts); i++ {
		pt := pts[i]
		for start < i && pts[start].At.Before(pt.At.Add(-p.History)) {
			start++
		}
		v := Verdict{Point: pt}
		if e, ok := b.expect(start, i, pt.At, -1); ok {
			v.Known, v.Expectation = true, e
			v.Anomaly, v.Above = judge(pt.Value, e, p.Sides)
		}
		out = append(out, v)
	}
	return out
}

// upper returns the index of the first point of pts (in time order) after
// t.
func upper(pts []Point, t time.Time) int {
	i, _ := slices.BinarySearchFunc(pts, t, func(x Point, t time.Time) int {
		if x.At.After(t) {
			return 1
		}
		return -1
	})
	return i
}

// Baseline returns the expectation at t learned from the observations of
// history before t; false when there are too few.
func Baseline(history []Point, t time.Time, p Params) (Expectation, bool) {
	p = p.withDefaults()
	hist := window(sorted(history), t, p)
	return newBaseliner(hist, p).expect(0, len(hist), t, -1)
}

// Waits turns update times into the series of waits between consecutive
// updates, in hours, each at the time of the update that ended it: the
// series freshness anomalies are found in (with DefaultFreshness).
func Waits(updates []time.Time) []Point {
	u := slices.Clone(updates)
	slices.SortFunc(u, func(a, b time.Time) int { return a.Compare(b) })
	u = slices.CompactFunc(u, func(a, b time.Time) bool { return a.Equal(b) })
	out := make([]Point, 0, max(len(u)-1, 0))
	for i := 1; i < len(u); i++ {
		out = append(out, Point{At: u[i], Value: u[i].Sub(u[i-1]).Hours()})
	}
	return out
}

// Overdue judges the wait since the last of updates at now against the
// waits before it (see Waits): the verdict's Value is the hours since the
// last update, and Anomaly says it is already longer than expected. The
// expectation is the one of now's weekday, or, when no update ever
// landed on that weekday (a pipeline that skips weekends), of the next
// weekday on which one did: a Saturday is not overdue for a load that
// comes on Mondays. False when there is no baseline.
func Overdue(updates []time.Time, now time.Time, p Params) (Verdict, bool) {
	p = p.withDefaults()
	var past []time.Time
	for _, u := range updates {
		if !u.After(now) {
			past = append(past, u)
		}
	}
	waits := Waits(past)
	if len(waits) == 0 {
		return Verdict{}, false
	}
	last := waits[len(waits)-1].At
	v := Verdict{Point: Point{At: now, Value: now.Sub(last).Hours()}}
	hist := window(waits, now, p)
	var landed [7]bool
	for _, w := range hist {
		landed[w.At.In(p.Location).Weekday()] = true
	}
	season := now.In(p.Location).Weekday()
	for i := 0; i < 7 && !landed[season]; i++ {
		season = (season + 1) % 7
	}
	e, ok := newBaseliner(hist, p).expect(0, len(hist), now, int(season))
	if !ok {
		return v, false
	}
	v.Known, v.Expectation = true, e
	v.Anomaly = v.Value > e.Hi
	v.Above = v.Anomaly
	return v, true
}

func judge(v float64, e Expectation, sides Side) (anomaly, above bool) {
	switch {
	case v > e.Hi && sides != Below:
		return true, true
	case v < e.Lo && sides != Above:
		return true, false
	}
	return false, false
}

// sorted returns the points in time order, without those at a time
// already taken (the first is kept) or with a value that is not a number.
func sorted(series []Point) []Point {
	pts := make([]Point, 0, len(series))
	for _, p := range series {
		if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
			pts = append(pts, p)
		}
	}
	slices.SortStableFunc(pts, func(a, b Point) int { return a.At.Compare(b.At) })
	return slices.CompactFunc(pts, func(a, b Point) bool { return a.At.Equal(b.At) })
}

// window returns the points of pts (in time order) within p.History
// before t.
func window(pts []Point, t time.Time, p Params) []Point {
	lo, _ := slices.BinarySearchFunc(pts, t.Add(-p.History), func(x Point, t time.Time) int { return x.At.Compare(t) })
	hi, _ := slices.BinarySearchFunc(pts, t, func(x Point, t time.Time) int { return x.At.Compare(t) })
	return pts[lo:hi]
}

// robustSD is the factor making the median absolute deviation a standard
// deviation for normally distributed noise.
const robustSD = 1.4826

const halfWeek = 84 * time.Hour

// baseliner computes baselines from parts of a series, reusing its
// buffers.
type baseliner struct {
	p  Params
	ts []int64   // Unix nanoseconds of each point of the series
	y  []float64 // modelled value of each point
	wd []int8    // weekday of each point

	dev, z, scratch, weeks []float64
	full                   []bool
}

func newBaseliner(pts []Point, p Params) *baseliner {
	b := &baseliner{p: p, ts: make([]int64, len(pts)), y: make([]float64, len(pts)), wd: make([]int8, len(pts))}
	for i, pt := range pts {
		b.ts[i] = pt.At.UnixNano()
		b.y[i] = forward(pt.Value, p.Log)
		b.wd[i] = int8(pt.At.In(p.Location).Weekday())
	}
	return b
}

// expect learns from the points [lo, hi) of the series (all before t)
// and returns the expectation at t, for the weekday season when season ≥
// 0, else t's.
func (b *baseliner) expect(lo, hi int, t time.Time, season int) (Expectation, bool) {
	p := b.p
	lo = max(lo, hi-p.MaxPoints)
	n := hi - lo
	tn := t.UnixNano()
	if n < p.MinPoints || tn-b.ts[lo] < int64(p.MinSpan) {
		return Expectation{}, false
	}
	ts, y, wd := b.ts[lo:hi], b.y[lo:hi], b.wd[lo:hi]
	// Deviations from a centred weekly running median, for the points
	// whose week lies within the history.
	const half = int64(halfWeek)
	b.dev = resize(b.dev, n)
	b.full = slices.Grow(b.full[:0], n)[:n]
	l, h := 0, 0
	for i, at := range ts {
		b.full[i] = at-half >= ts[0] && at+half < tn
		if !b.full[i] {
			continue
		}
		for ts[l] < at-half {
			l++
		}
		for h < n && ts[h] <= at+half {
			h++
		}
		// The neighbours' median, without the point itself, so that the
		// residuals are as large as the errors of a prediction.
		b.scratch = append(append(b.scratch[:0], y[l:i]...), y[i+1:h]...)
		b.dev[i] = y[i] - medianInPlace(b.scratch)
	}
	// Seasonal offsets: the median deviation of each weekday.
	var offset [7]float64
	var own [7]bool
	var seen [7]int // observations each offset is the median of
	for d := range int8(7) {
		b.scratch = b.scratch[:0]
		for i := range n {
			if b.full[i] && wd[i] == d {
				b.scratch = append(b.scratch, b.dev[i])
			}
		}
		if len(b.scratch) >= 2 {
			offset[d], own[d], seen[d] = medianInPlace(b.scratch), true, len(b.scratch)
		}
	}
	// Spread: the median absolute deviation of the residuals.
	b.scratch = b.scratch[:0]
	for i := range n {
		if b.full[i] {
			b.scratch = append(b.scratch, b.dev[i]-offset[wd[i]])
		}
	}
	scale := p.MinScale
	if len(b.scratch) >= 2 {
		m := medianInPlace(b.scratch)
		for i := range b.scratch {
			b.scratch[i] = math.Abs(b.scratch[i] - m)
		}
		scale = max(scale, robustSD*medianInPlace(b.scratch))
	}
	// Trend and level on the deseasonalised values.
	b.z = resize(b.z, n)
	for i := range n {
		b.z[i] = y[i] - offset[wd[i]]
	}
	slope := b.slope(ts) // per nanosecond
	b.scratch = b.scratch[:0]
	for i := max(n-p.Recent, 0); i < n; i++ {
		b.scratch = append(b.scratch, b.z[i]+slope*float64(tn-ts[i]))
	}
	level := medianInPlace(b.scratch)
	recent := len(b.scratch)

	if season < 0 {
		season = int(t.In(p.Location).Weekday())
	}
	if !own[season] && slices.Contains(wd, int8(season)) {
		// The weekday has a pattern of its own, not learned yet.
		return Expectation{}, false
	}
	mid := level + offset[season]
	// The prediction errs by the noise and by the errors of the level and
	// the offset, medians of few values: the variance of a median of m
	// normal values is about π/2·σ²/m.
	v := 1 + math.Pi/2/float64(recent)
	if own[season] {
		v += math.Pi / 2 / float64(seen[season])
	}
	spread := scale * math.Sqrt(v)
	return Expectation{
		Expected: backward(mid, p.Log),
		Lo:       backward(mid-p.K*spread, p.Log),
		Hi:       backward(mid+p.K*spread, p.Log),
		Season:   time.Weekday(season),
		Seasonal: own[season],
		History:  n,
	}, true
}

// slope returns the trend of b.z (the deseasonalised values of the points
// at ts) per nanosecond: the median change between the medians of
// consecutive weeks of the history, so that a level shift, which changes
// one of them, does not tilt it.
func (b *baseliner) slope(ts []int64) float64 {
	const week = int64(7 * 24 * time.Hour)
	medians := b.weeks[:0] // of each week with enough observations, NaN else
	defer func() { b.weeks = medians }()
	for i := 0; i < len(ts); {
		k := (ts[i] - ts[0]) / week
		j := i
		for j < len(ts) && (ts[j]-ts[0])/week == k {
			j++
		}
		for int64(len(medians)) < k {
			medians = append(medians, math.NaN())
		}
		m := math.NaN()
		if j-i >= 3 {
			b.scratch = append(b.scratch[:0], b.z[i:j]...)
			m = medianInPlace(b.scratch)
		}
		medians = append(medians, m)
		i = j
	}
	b.scratch = b.scratch[:0]
	for k := 1; k < len(medians); k++ {
		if !math.IsNaN(medians[k]) && !math.IsNaN(medians[k-1]) {
			b.scratch = append(b.scratch, (medians[k]-medians[k-1])/float64(week))
		}
	}
	if len(b.scratch) < 2 {
		return 0
	}
	return medianInPlace(b.scratch)
}

// medianInPlace returns the median of xs, reordering them.
func medianInPlace(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func forward(v float64, log bool) float64 {
	if log {
		return math.Log1p(max(v, 0))
	}
	return v
}

func backward(y float64, log bool) float64 {
	if log {
		return max(math.Expm1(y), 0)
	}
	return y
}

func resize(xs []float64, n int) []float64 { return slices.Grow(xs[:0], n)[:n] }

// Method says in words how p judges, for a reader of the verdicts: the
// baseline and its parameters.
func (p Params) Method() string {
	p = p.withDefaults()
	scale := "absolute"
	if p.Log {
		scale = "relative (log scale)"
	}
	sides := map[Side]string{Both: "above or below", Above: "above", Below: "below"}[p.Sides]
	return fmt.Sprintf("weekday-seasonal median/MAD baseline over %d days: %s deviations %s expected ± %g robust spreads",
		int(p.History.Hours()/24), scale, sides, p.K)
}
