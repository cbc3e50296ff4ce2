package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// This file generates series with known anomalies and scores the
// detector on them.

// event is one injected anomaly: a verdict flagging an observation at a
// time in [From, To] detects it.
type event struct {
	Kind     string
	From, To time.Time
}

// synthetic is a generated series with the anomalies injected in it.
type synthetic struct {
	Series []Point
	Events []event
}

var day0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // a Monday

const (
	day     = 24 * time.Hour
	days    = 364
	warmup  = 35 // days without anomalies, for the baseline to learn
	spacing = 12 // days between anomalies, at least
)

// volumeSeries generates a year of daily loads: a level between 10⁴ and
// 10⁷ rows, a weekly pattern (weekends lighter, or no load at all), a
// trend between −0.2 % and +0.6 % a day and log-normal noise of 2 to 8 %,
// with spikes (×2.5–6), drops (×0.1–0.45), empty loads, level shifts
// (×1.8–3 or ×0.3–0.55, for good) and steep drifts (−15 % a day for six
// days) injected at random days after a warm-up.
func volumeSeries(r *rand.Rand) synthetic {
	level := math.Pow(10, 4+3*r.Float64())
	weekend := 0.2 + 0.8*r.Float64()
	var pattern [7]float64
	for d := range pattern {
		pattern[d] = 1 + 0.1*(r.Float64()-0.5)
	}
	pattern[time.Saturday] *= weekend
	pattern[time.Sunday] *= weekend
	weekdaysOnly := r.Float64() < 0.3
	growth := -0.002 + 0.008*r.Float64()
	noise := 0.02 + 0.06*r.Float64()
	loadAt := time.Duration(1+r.IntN(6)) * time.Hour

	var s synthetic
	shift := 1.0
	next := warmup + r.IntN(spacing)
	kinds := []string{"spike", "drop", "empty", "shift", "drift"}
	kind := ""
	var drift int // days of drift left
	for d := range days {
		at := day0.Add(time.Duration(d)*day + loadAt + time.Duration(r.NormFloat64()*float64(10*time.Minute)))
		wd := at.Weekday()
		if weekdaysOnly && (wd == time.Saturday || wd == time.Sunday) {
			if d == next {
				next++
			}
			continue
		}
		if drift > 0 {
			shift *= 0.85
			drift--
		}
		v := level * math.Pow(1+growth, float64(d)) * pattern[wd] * shift * math.Exp(noise*r.NormFloat64())
		if d == next {
			kind = kinds[r.IntN(len(kinds))]
			ev := event{Kind: kind, From: at, To: at}
			switch kind {
			case "spike":
				v *= 2.5 + 3.5*r.Float64()
			case "drop":
				v *= 0.1 + 0.35*r.Float64()
			case "empty":
				v = 0
			case "shift":
				f := 1.8 + 1.2*r.Float64()
				if r.IntN(2) == 0 {
					f = 0.3 + 0.25*r.Float64()
				}
				shift *= f
				v *= f
				ev.To = at.Add(7 * day)
			case "drift":
				drift = 5
				shift *= 0.85
				v *= 0.85
				ev.To = at.Add(12 * day)
			}
			s.Events = append(s.Events, ev)
			next = d + spacing + r.IntN(spacing)
		}
		s.Series = append(s.Series, Point{At: at, Value: math.Round(v)})
	}
	return s
}

// freshnessSeries generates a year of daily updates at a fixed local hour
// (in Europe/Berlin, across two DST changes) with 5 to 20 minutes of
// jitter, every day or on weekdays only, with late loads (3–9 hours) and
// missing loads injected. The series is of waits (see Waits); an anomaly
// is detected when the wait ending at the late load, or at the first load
// after the missing one, is flagged.
func freshnessSeries(r *rand.Rand, loc *time.Location) synthetic {
	hour := 1 + r.IntN(8)
	jitter := time.Duration(5+r.IntN(16)) * time.Minute
	weekdaysOnly := r.Float64() < 0.4
	var updates []time.Time
	var s synthetic
	next := warmup + r.IntN(spacing)
	missing := false
	for d := range days {
		date := day0.AddDate(0, 0, d)
		at := time.Date(date.Year(), date.Month(), date.Day(), hour, 0, 0, 0, loc).Add(time.Duration(r.NormFloat64() * float64(jitter)))
		if wd := at.Weekday(); weekdaysOnly && (wd == time.Saturday || wd == time.Sunday) {
			if d == next {
				next++
			}
			continue
		}
		if missing {
			s.Events = append(s.Events, event{Kind: "missing", From: at, To: at})
			missing = false
		}
		if d == next {
			next = d + spacing + r.IntN(spacing)
			if r.IntN(2) == 0 {
				missing = true
				continue
			}
			at = at.Add(3*time.Hour + time.Duration(r.Float64()*float64(6*time.Hour)))
			s.Events = append(s.Events, event{Kind: "late", From: at, To: at})
		}
		updates = append(updates, at)
	}
	s.Series = Waits(updates)
	return s
}

// score counts, over the verdicts of many series: flags within an event's
// window (true) and outside any (false), events detected, and events.
type score struct {
	TrueFlags, FalseFlags int
	Detected, Events      int
	// ByKind counts detected and injected events of each kind.
	ByKind map[string][2]int
}

func (s *score) add(syn synthetic, verdicts []Verdict) {
	if s.ByKind == nil {
		s.ByKind = map[string][2]int{}
	}
	detected := make([]bool, len(syn.Events))
	for _, v := range verdicts {
		if !v.Anomaly {
			continue
		}
		i := slices.IndexFunc(syn.Events, func(e event) bool { return !v.At.Before(e.From) && !v.At.After(e.To) })
		if i < 0 {
			s.FalseFlags++
			continue
		}
		s.TrueFlags++
		detected[i] = true
	}
	for i, e := range syn.Events {
		k := s.ByKind[e.Kind]
		k[1]++
		if detected[i] {
			k[0]++
			s.Detected++
		}
		s.ByKind[e.Kind] = k
		s.Events++
	}
}

// Precision is the share of flags that are within an anomaly's window.
func (s score) Precision() float64 {
	return float64(s.TrueFlags) / float64(max(s.TrueFlags+s.FalseFlags, 1))
}

// Recall is the share of anomalies flagged at least once.
func (s score) Recall() float64 { return float64(s.Detected) / float64(max(s.Events, 1)) }

func (s score) String() string {
	kinds := ""
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s.ByKind {
			if !yield(k) {
				return
			}
		}
	}) {
		kinds += fmt.Sprintf(" %s %d/%d", k, s.ByKind[k][0], s.ByKind[k][1])
	}
	return fmt.Sprintf("precision %.3f (%d of %d flags), recall %.3f (%d of %d anomalies;%s)",
		s.Precision(), s.TrueFlags, s.TrueFlags+s.FalseFlags, s.Recall(), s.Detected, s.Events, kinds)
}

// syntheticScores generates n volume and n freshness series from seed and
// scores Detect on them.
func syntheticScores(t testing.TB, n int, seed uint64) (volume, freshness score) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	fp := DefaultFreshness()
	fp.Location = berlin
	for range n {
		v := volumeSeries(r)
		volume.add(v, Detect(v.Series, DefaultVolume()))
		f := freshnessSeries(r, berlin)
		freshness.add(f, Detect(f.Series, fp))
	}
	return volume, freshness
}

// TestDetectSynthetic holds the detector to floors of precision and
// recall on synthetic series with known anomalies, so that a change that
// makes it worse fails.
func TestDetectSynthetic(t *testing.T) {
	volume, freshness := syntheticScores(t, 40, 1)
	t.Logf("volume: %v", volume)
	t.Logf("freshness: %v", freshness)
	for _, c := range []struct {
		name              string
		s                 score
		precision, recall float64
	}{
		{"volume", volume, 0.93, 0.95},
		{"freshness", freshness, 0.97, 0.97},
	} {
		if c.s.Events < 100 {
			t.Errorf("%s: only %d anomalies injected", c.name, c.s.Events)
		}
		if c.s.Precision() < c.precision || c.s.Recall() < c.recall {
			t.Errorf("%s: %v; want precision ≥ %.2f and recall ≥ %.2f", c.name, c.s, c.precision, c.recall)
		}
	}
}

// BenchmarkDetect scores the detector on synthetic series (100 of each
// kind, a year each) and reports precision and recall with the time.
func BenchmarkDetect(b *testing.B) {
	var volume, freshness score
	for i := 0; i < b.N; i++ {
		volume, freshness = syntheticScores(b, 100, 2)
	}
	b.ReportMetric(volume.Precision(), "volume-precision")
	b.ReportMetric(volume.Recall(), "volume-recall")
	b.ReportMetric(freshness.Precision(), "freshness-precision")
	b.ReportMetric(freshness.Recall(), "freshness-recall")
	b.Logf("volume: %v", volume)
	b.Logf("freshness: %v", freshness)
}
