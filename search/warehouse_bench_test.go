package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
)

// BenchmarkSearchWarehouse runs BenchmarkScale's search stage (./ui) on
// an index built straight from the scale catalog's datasets and jobs
// (pgtest.WarehouseHarvest, pgtest.ScaleJobs), without PostgreSQL: its
// four query shapes match about 7,500 datasets a query in a warehouse of
// 100,000 and ten times as many in ten warehouses, every match scored and
// counted into the facets. ALMANAC_BENCH_WAREHOUSES sets how many
// warehouses (1; 10 is BenchmarkScale's million); ALMANAC_BENCH_INDEX
// names a directory to keep the index in and to reuse on the next run
// (a million datasets take minutes to index):
//
//	go test ./search -run '^$' -bench BenchmarkSearchWarehouse -benchtime 1x
func BenchmarkSearchWarehouse(b *testing.B) {
	warehouses := 1
	if s := os.Getenv("ALMANAC_BENCH_WAREHOUSES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("ALMANAC_BENCH_WAREHOUSES=%q: want a positive number", s)
		}
		warehouses = n
	}
	n := warehouses * pgtest.ScalePerWarehouse
	dir := os.Getenv("ALMANAC_BENCH_INDEX")
	if dir == "" {
		dir = b.TempDir() + "/index"
	}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	if _, err := os.Stat(dir + "/index_meta.json"); err != nil {
		t0, cpu := time.Now(), cpuTime()
		built, err := Build(dir, func(yield func(Dataset) error) error { return scaleDatasets(n, now, yield) }, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := built.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d datasets and %d jobs in %v (%v CPU)", n, n, time.Since(t0), cpuTime()-cpu)
	}
	idx, err := openDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	x := newIndex(dir, nil, Options{Now: func() time.Time { return now }, NoCache: true})
	x.idx = idx
	if err := x.loadLexicon(idx); err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	queries := scaleQueries(1000)
	search := func(q string) (int, error) {
		pq, err := Parse(q)
		if err != nil {
			return 0, err
		}
		res, err := x.Search(ctx, Request{Query: pq, Limit: 20})
		return res.Total, err
	}
	for _, q := range queries[:100] { // fault in the segments, read the facet table
		if _, err := search(q); err != nil {
			b.Fatal(err)
		}
	}
	for shape, name := range []string{"all", "table", "schema-table", "words", "parent-column"} {
		b.Run(name, func(b *testing.B) {
			qs := queries
			if shape > 0 {
				qs = nil
				for i := shape - 1; i < len(queries); i += 4 {
					qs = append(qs, queries[i])
				}
			}
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			var lat, qcpu []time.Duration
			hits := 0
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := cpuTime()
			for b.Loop() {
				for _, q := range qs {
					t0, c0 := time.Now(), threadCPU()
					total, err := search(q)
					if err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t0))
					qcpu = append(qcpu, threadCPU()-c0)
					if total == 0 {
						b.Fatalf("%q: no hits", q)
					}
					hits += total
				}
			}
			cpu = cpuTime() - cpu
			runtime.ReadMemStats(&m1)
			slices.Sort(lat)
			b.ReportMetric(float64(hits)/float64(len(lat)), "hits")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(len(lat)), "cpu-ms/query")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			// Each query's own CPU time: its latency on a quiet machine.
			slices.Sort(qcpu)
			b.ReportMetric(float64(qcpu[len(qcpu)/2].Microseconds())/1000, "cpu-p50-ms")
			b.ReportMetric(float64(qcpu[len(qcpu)*99/100].Microseconds())/1000, "cpu-p99-ms")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/1024/float64(len(lat)), "alloc-KB/query")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(len(lat)), "mallocs/query")
		})
	}
	if s, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average %s", s)
	}
}

// scaleQueries are BenchmarkScale's search queries: a table name (one
// table of every schema), a schema and a table, words of the comments of
// one table in ten, a column name of a fifth of the tables with a
// comment's words, in turn.
func scaleQueries(n int) []string {
	rng := rand.New(rand.NewPCG(1, 1))
	qs := make([]string, n)
	for i := range qs {
		t, s := rng.IntN(pgtest.ScaleTables), rng.IntN(pgtest.ScaleSchemas)
		qs[i] = []string{
			fmt.Sprintf("t%03d", t),
			fmt.Sprintf("s%03d t%03d", s, t),
			fmt.Sprintf("table %d schema %d", t/10*10, s),
			fmt.Sprintf("parent column %d", 1+rng.IntN(pgtest.ScaleColumns-1)),
		}[i%4]
	}
	return qs
}

// scaleDatasets yields the scale catalog of n datasets (whole
// warehouses) and its jobs as the store would load them for the index:
// one owner, the columns' names and comments, a consumer for every table
// a foreign key refers to.
func scaleDatasets(n int, now time.Time, yield func(Dataset) error) error {
	id := int64(0)
	for w := range n / pgtest.ScalePerWarehouse {
		ns := pgtest.ScaleKey(w * pgtest.ScalePerWarehouse).Namespace
		h := pgtest.WarehouseHarvest(fmt.Sprintf("postgres:wh%02d", w), ns, pgtest.ScaleDatabase,
			pgtest.ScaleSchemas, pgtest.ScaleTables, pgtest.ScaleColumns)
		consumers := map[catalog.Key]int{}
		for _, f := range h.Datasets {
			for _, fk := range f.ForeignKeys {
				consumers[fk.Target]++
			}
		}
		for _, f := range h.Datasets {
			id++
			d := Dataset{ID: id, Key: f.Key, Platform: f.Platform, Kind: f.Kind, Description: f.Description,
				UpdatedAt: now, Consumers: consumers[f.Key]}
			for _, c := range f.Columns {
				d.Columns = append(d.Columns, catalog.Column{Name: c.Name, Description: c.Description})
			}
			for _, o := range f.Owners {
				d.Owners = append(d.Owners, o.Name)
			}
			if err := yield(d); err != nil {
				return err
			}
		}
		for j, jf := range pgtest.ScaleJobs(w, n) {
			job := catalog.Job{ID: int64(w*pgtest.ScalePerWarehouse + j + 1), Key: jf.Key, Type: jf.Type, UpdatedAt: now}
			if err := yield(FromJob(job)); err != nil {
				return err
			}
		}
	}
	return nil
}
