package catalog

import (
	"testing"
	"time"
)

func TestLateThreshold(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	run := func(state RunState, d time.Duration) Run {
		end := at.Add(d)
		return Run{State: state, StartedAt: &at, EndedAt: &end}
	}
	m := time.Minute
	for _, c := range []struct {
		name   string
		runs   []Run
		want   time.Duration
		judged bool
	}{
		{"too few", []Run{run(RunComplete, 5*m), run(RunComplete, 5*m), run(RunFail, m)}, 0, false},
		// Median 10m: 1.5× is 15m, above median + 1m.
		{"factor", []Run{run(RunComplete, 10*m), run(RunComplete, 9*m), run(RunComplete, 30*m), run(RunFail, m), run(RunStart, 0)}, 15 * m, true},
		// Median 20s: 1.5× is 30s, below median + 1m.
		{"margin", []Run{run(RunComplete, 20*time.Second), run(RunComplete, 20*time.Second), run(RunComplete, 40*time.Second), run(RunComplete, 10*time.Second)}, 80 * time.Second, true},
	} {
		got, judged := LateThreshold(c.runs)
		if got != c.want || judged != c.judged {
			t.Errorf("%s: LateThreshold = %v, %v; want %v, %v", c.name, got, judged, c.want, c.judged)
		}
	}
}
