package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/sloreport"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/search"
)

// benchPortalPages datasets of the portal benchmark have 50 columns,
// owners, tags and a dbt description besides the warehouse's.
const benchPortalPages = 200

// benchPortalDatasets is the size of the portal benchmark's catalog:
// 10,000 datasets, or ALMANAC_BENCH_DATASETS (at least benchPortalPages).
var benchPortalDatasets = func() int {
	if n, err := strconv.Atoi(os.Getenv("ALMANAC_BENCH_DATASETS")); err == nil && n >= benchPortalPages {
		return n
	}
	return 10_000
}()

// BenchmarkPortal measures the latency of the home page (first page, a
// later page of a kind filter, the health order), of a dataset page with
// 50 columns from two sources, of the impact CSV of 10,100 downstream
// datasets, and of the search page (uncached: no query twice), over
// HTTP.
func BenchmarkPortal(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	var pg, dbt []catalog.DatasetFacts
	for i := range benchPortalDatasets {
		k := catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("bench.s%03d.t%06d", i%100, i)}
		f := catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable, Description: fmt.Sprintf("Table %d.", i)}
		if i%10 == 0 {
			f.Kind = catalog.KindView
		}
		ncols := 5
		if i < benchPortalPages {
			ncols = 50
			f.Owners = []catalog.Owner{{Name: "team" + strconv.Itoa(i%7), Kind: catalog.OwnerTeam}, {Name: "owner_role", Kind: catalog.OwnerRole}}
			f.Tags = []string{"bench", fmt.Sprintf("tier%d", i%3)}
			doc := catalog.DatasetFacts{Key: k, Platform: "dbt", Kind: catalog.KindModel, Description: fmt.Sprintf("Model %d, documented.", i)}
			for c := range ncols {
				doc.Columns = append(doc.Columns, catalog.Column{Name: fmt.Sprintf("c%02d", c), Description: "Documented column."})
			}
			dbt = append(dbt, doc)
		}
		for c := range ncols {
			f.Columns = append(f.Columns, catalog.Column{Name: fmt.Sprintf("c%02d", c), Ordinal: c + 1, Type: "text", Nullable: c > 0})
		}
		pg = append(pg, f)
	}
	for src, facts := range map[string][]catalog.DatasetFacts{"postgres:bench": pg, "dbt:bench": dbt} {
		if _, err := st.Crawl(ctx, src, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: facts}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	// Lineage for the impact export: the first dataset feeds 100 jobs of
	// 100 outputs each, 10,000 datasets downstream at depth 2.
	g := lineage.NewGraph()
	bk := func(i int) catalog.Key {
		return catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("bench.s%03d.t%06d", i%100, i)}
	}
	var edges []catalog.JobEdges
	first := catalog.JobEdges{ID: 1, Key: catalog.JobKey{Namespace: "bench", Name: "fan"}, Inputs: []catalog.Key{bk(0)}}
	for i := 1; i <= 100; i++ {
		first.Outputs = append(first.Outputs, bk(i))
		j := catalog.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "bench", Name: fmt.Sprintf("job%03d", i)}, Inputs: []catalog.Key{bk(i)}}
		for o := range 100 {
			j.Outputs = append(j.Outputs, catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("bench.down.d%03d_%03d", i, o)})
		}
		edges = append(edges, j)
	}
	g.SetJobs(append(edges, first))
	idx, err := search.Create(ctx, b.TempDir(), st, search.Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { idx.Close() })
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Lineage: g, Search: idx})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	get := func(path string) {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
		}
	}
	for _, bm := range []struct {
		name string
		path func(i int) string
	}{
		{"home", func(int) string { return "/" }},
		{"home-kind-page-3", func(int) string { return "/?kind=view&page=3" }},
		{"home-sort-health", func(int) string { return "/?sort=health" }},
		{"impact-csv-10k", func(int) string { return impactPath(bk(0)) + "?format=csv" }},
		// Uncached: a different table number each time, matching that
		// table in each of the 100 schemas' names and descriptions.
		{"search", func(i int) string { return fmt.Sprintf("/search?q=table+%d", i*37%benchPortalDatasets) }},
		{"search-facet", func(i int) string { return fmt.Sprintf("/search?q=t%06d+kind:view", i*37%benchPortalDatasets) }},
		{"dataset", func(i int) string {
			return datasetPath(catalog.Key{Namespace: warehouseNS, Name: fmt.Sprintf("bench.s%03d.t%06d", i%benchPortalPages%100, i%benchPortalPages)})
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if strings.HasPrefix(bm.name, "search") {
				// A query the page cannot run would measure its error.
				resp, err := http.Get(ts.URL + bm.path(1))
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(body), "result-count") || strings.Contains(string(body), "search-error") {
					b.Fatalf("GET %s: no results", bm.path(1))
				}
			}
			for i := range 20 { // warm the connections
				get(bm.path(i))
			}
			var lat []time.Duration
			for b.Loop() {
				for i := range 300 {
					t0 := time.Now()
					get(bm.path(i))
					lat = append(lat, time.Since(t0))
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

// BenchmarkDatasetQuality measures the latency of a dataset page with 50
// checks of 90 daily results each, a quality SLO and a harvested
// freshness SLO over 90 days of freshness observations, over HTTP.
func BenchmarkDatasetQuality(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	k := catalog.Key{Namespace: warehouseNS, Name: "bench.public.orders"}
	f := catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable}
	for c := range 20 {
		f.Columns = append(f.Columns, catalog.Column{Name: fmt.Sprintf("c%02d", c), Ordinal: c + 1, Type: "text"})
	}
	now := time.Now()
	var fresh []catalog.FreshnessObservation
	for d := range 90 {
		at := now.Add(-time.Duration(d) * 24 * time.Hour)
		loaded := at.Add(-time.Hour)
		fresh = append(fresh, catalog.FreshnessObservation{Dataset: k, ObservedAt: at, MaxLoadedAt: &loaded,
			Status: catalog.FreshnessPass, WarnAfter: "12 hour", ErrorAfter: "1 day"})
	}
	if _, err := st.Crawl(ctx, "postgres:bench", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{f}, Freshness: fresh}, nil
	}); err != nil {
		b.Fatal(err)
	}
	p := catalog.Push{Source: "sql:bench"}
	for c := range 50 {
		name := fmt.Sprintf("check_%02d", c)
		p.Checks = append(p.Checks, catalog.QualityCheck{Dataset: k, Name: name, Type: "not_null", Column: fmt.Sprintf("c%02d", c%20)})
		for d := range 90 {
			status := catalog.QualityPass
			if (c+d)%17 == 0 {
				status = catalog.QualityFail
			}
			p.Results = append(p.Results, catalog.QualityResult{Check: name, Dataset: k, Status: status, Observed: strconv.Itoa(d % 5),
				StartedAt: now.Add(-time.Duration(d) * 24 * time.Hour), RunID: fmt.Sprintf("r%02d", d)})
		}
	}
	if err := st.ApplyPush(ctx, p); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	declared := []slo.SLO{{Name: "checks", Dataset: k, Source: "config",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.95, Window: 28 * 24 * time.Hour}}}
	// The evaluator that follows the change log in `serve` stores the
	// SLO reports and anomalies the page reads (ALMANAC_BENCH_LIVE=1
	// leaves it out: the page evaluates on every view, as before).
	if os.Getenv("ALMANAC_BENCH_LIVE") == "" {
		if err := sloreport.New(st, sloreport.Config{SLOs: declared}).CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		if e, err := st.Evaluations(ctx, []catalog.Key{k}, declared, time.Now()); err != nil || !e[k].Stored {
			b.Fatalf("the page would not read a stored evaluation (%v)", err)
		}
	}
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), SLOs: declared})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	path := ts.URL + datasetPath(k)
	get := func() {
		resp, err := http.Get(path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
		}
	}
	for range 20 {
		get()
	}
	var lat []time.Duration
	cpu0 := processCPU()
	for b.Loop() {
		for range 200 {
			t0 := time.Now()
			get()
			lat = append(lat, time.Since(t0))
		}
	}
	// The server's CPU per page (this process's, the client's small
	// share included; PostgreSQL's not): a figure the machine's load
	// does not inflate as it does the latencies.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(len(lat)), "cpu-ms/page")
	reportPercentiles(b, lat)
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
