package incident_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/incident"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkDetectAfterCrawl measures the detector's catch-up after a
// crawl of 10,000 datasets with 50,000 checks, 1 in 50 failing (1,000
// incidents to open), the target being ≤ 2 s, and after the next
// crawl, in which every check passes (1,000 to resolve). The crawls are
// not timed.
func BenchmarkDetectAfterCrawl(b *testing.B) {
	const datasets, checksPer, failEvery = 10000, 5, 50
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		pool, _ := pgtest.NewDB(b)
		st := store.New(pool)
		at := time.Now().Add(-time.Hour)
		var h catalog.Harvest
		for i := range datasets {
			key := catalog.Key{Namespace: wh, Name: fmt.Sprintf("db.s.t%05d", i)}
			h.Datasets = append(h.Datasets, catalog.DatasetFacts{Key: key, Platform: "postgres", Kind: catalog.KindTable,
				Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}}})
			for c := range checksPer {
				name := fmt.Sprintf("test.t%05d.c%d", i, c)
				h.Checks = append(h.Checks, catalog.QualityCheck{Dataset: key, Name: name, Type: "not_null", Severity: "error"})
				status := catalog.QualityPass
				if (i*checksPer+c)%failEvery == 0 {
					status = catalog.QualityFail
				}
				h.Results = append(h.Results, catalog.QualityResult{Check: name, Dataset: key, Status: status, StartedAt: at, RunID: "inv-1"})
			}
		}
		if _, err := st.Crawl(ctx, "dbt:bench", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			b.Fatal(err)
		}
		det := incident.New(st, incident.Config{})
		b.StartTimer()
		start := time.Now()
		if err := det.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/catch-up")
		b.StopTimer()
		yes := true
		open, err := st.Incidents(ctx, store.IncidentFilter{Open: &yes, Limit: 5000})
		if err != nil || len(open) != datasets*checksPer/failEvery {
			b.Fatalf("%d open incidents (%v), want %d", len(open), err, datasets*checksPer/failEvery)
		}
		// Every check passes again: the recovery resolves them all.
		for i := range h.Results {
			h.Results[i].Status, h.Results[i].StartedAt, h.Results[i].RunID = catalog.QualityPass, at.Add(time.Minute), "inv-2"
		}
		if _, err := st.Crawl(ctx, "dbt:bench", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		if err := det.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/recovery")
		b.StopTimer()
		if open, err := st.Incidents(ctx, store.IncidentFilter{Open: &yes}); err != nil || len(open) != 0 {
			b.Fatalf("%d open incidents after the recovery (%v)", len(open), err)
		}
		b.StartTimer()
	}
}

// BenchmarkSweep measures one sweep over 10,000 jobs, each writing its
// own dataset, with five completed runs of five minutes and a run still
// running: 1 in 5 started an hour before (2,000 late, their incidents
// opened by the first sweep), the others three minutes before; a second
// sweep an interval later finds nothing new. Nothing else is timed.
func BenchmarkSweep(b *testing.B) {
	const datasets, lateEvery = 10000, 5
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		pool, _ := pgtest.NewDB(b)
		st := store.New(pool)
		now := time.Now().Truncate(time.Second)
		var h catalog.Harvest
		for i := range datasets {
			key := catalog.Key{Namespace: wh, Name: fmt.Sprintf("db.s.t%05d", i)}
			jk := catalog.JobKey{Namespace: "dbt", Name: fmt.Sprintf("model.t%05d", i)}
			h.Datasets = append(h.Datasets, catalog.DatasetFacts{Key: key, Platform: "postgres", Kind: catalog.KindTable})
			h.Jobs = append(h.Jobs, catalog.JobFacts{Key: jk, Type: catalog.JobDBTModel, Outputs: []catalog.Key{key}})
			for r := range 5 {
				start := now.Add(-time.Duration(r+2) * 2 * time.Hour)
				end := start.Add(5 * time.Minute)
				h.Runs = append(h.Runs, catalog.Run{ID: fmt.Sprintf("run-%05d-%d", i, r), Job: jk, State: catalog.RunComplete, StateAt: end, StartedAt: &start, EndedAt: &end})
			}
			start := now.Add(-3 * time.Minute)
			if i%lateEvery == 0 {
				start = now.Add(-time.Hour)
			}
			h.Runs = append(h.Runs, catalog.Run{ID: fmt.Sprintf("run-%05d-now", i), Job: jk, State: catalog.RunRunning, StateAt: start, StartedAt: &start})
		}
		if _, err := st.Crawl(ctx, "dbt:bench", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			b.Fatal(err)
		}
		clock := now
		det := incident.New(st, incident.Config{Now: func() time.Time { return clock }})
		b.StartTimer()
		start := time.Now()
		if swept, err := det.Sweep(ctx); err != nil || !swept {
			b.Fatalf("sweep: %v, %v", swept, err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/sweep")
		b.StopTimer()
		yes := true
		open, err := st.Incidents(ctx, store.IncidentFilter{Open: &yes, Limit: 5000})
		if err != nil || len(open) != datasets/lateEvery {
			b.Fatalf("%d open incidents (%v), want %d", len(open), err, datasets/lateEvery)
		}
		clock = clock.Add(incident.DefaultSweepEvery)
		b.StartTimer()
		start = time.Now()
		if swept, err := det.Sweep(ctx); err != nil || !swept {
			b.Fatalf("second sweep: %v, %v", swept, err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/sweep-again")
		b.StopTimer()
		if open, err := st.Incidents(ctx, store.IncidentFilter{Open: &yes, Limit: 5000}); err != nil || len(open) != datasets/lateEvery {
			b.Fatalf("%d open incidents after the second sweep (%v)", len(open), err)
		}
		b.StartTimer()
	}
}
