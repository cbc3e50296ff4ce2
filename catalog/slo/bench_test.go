package slo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/anomaly"
)

// benchSLOs returns n SLOs, a fifth of each kind, with 28 days of
// observations each (and the history a learned volume range needs):
// hourly updates, daily deliveries, a check result every 30 minutes,
// daily row counts and hourly runs, every series of its own.
func benchSLOs(n int, at time.Time) ([]Spec, []Observations) {
	r := rand.New(rand.NewPCG(7, 7))
	zones := []string{"", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney"}
	specs := make([]Spec, n)
	obs := make([]Observations, n)
	start := at.Add(-window)
	for i := range n {
		s := Spec{Objective: 0.99, Window: window}
		var o Observations
		switch i % 5 {
		case 0:
			s.Kind, s.MaxAge = Freshness, 2*time.Hour
			for t := start.Add(-time.Hour); !t.After(at); t = t.Add(time.Hour) {
				if r.IntN(50) > 0 {
					o.Updates = append(o.Updates, t.Add(time.Duration(r.IntN(600))*time.Second))
				}
			}
		case 1:
			s.Kind, s.Deadline, s.TimeZone = OnTime, fmt.Sprintf("%02d:%02d", 6+r.IntN(4), 15*r.IntN(4)), zones[i/5%len(zones)]
			if i%10 == 1 {
				s.Deadline = "0 9 * * 1-5"
			}
			for t := start.Add(-day); !t.After(at); t = t.Add(day) {
				o.Updates = append(o.Updates, t.Add(time.Duration(r.IntN(86400))*time.Second))
			}
		case 2:
			s.Kind = Quality
			for t := start; !t.After(at); t = t.Add(30 * time.Minute) {
				st := catalog.QualityPass
				if r.IntN(200) == 0 {
					st = catalog.QualityFail
				}
				o.Results = append(o.Results, Result{At: t, Status: st})
			}
		case 3:
			s.Kind = Volume
			if i%10 == 3 {
				s.Min, s.Max = ptr(500), ptr(2000)
			}
			for t := start.Add(-8 * 7 * day); !t.After(at); t = t.Add(day) {
				o.Values = append(o.Values, anomaly.Point{At: t, Value: 1000 * math.Exp(0.05*r.NormFloat64())})
			}
		case 4:
			s.Kind, s.MaxDuration = Pipeline, 45*time.Minute
			for t := start; !t.After(at); t = t.Add(time.Hour) {
				d := time.Duration(20+r.IntN(30)) * time.Minute
				o.Runs = append(o.Runs, Run{Start: t, End: t.Add(d), Succeeded: r.IntN(100) > 0})
			}
		}
		specs[i], obs[i] = s, o
	}
	return specs, obs
}

// BenchmarkEvaluateSLOs evaluates 10,000 SLOs over 28 days of
// observations each; the target is at most 5 seconds in all.
func BenchmarkEvaluateSLOs(b *testing.B) {
	const n = 10000
	at := time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)
	specs, obs := benchSLOs(n, at)
	statuses := map[Status]int{}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		clear(statuses)
		for i := range specs {
			r, err := Evaluate(specs[i], obs[i], at)
			if err != nil {
				b.Fatal(err)
			}
			statuses[r.Status]++
		}
	}
	elapsed := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(elapsed.Seconds(), "s/10k-SLOs")
	b.Logf("%d SLOs in %v: %v", n, elapsed.Round(time.Millisecond), statuses)
}
