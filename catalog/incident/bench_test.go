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
