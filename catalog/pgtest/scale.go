package pgtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
)

// The scale catalog (BenchmarkScale in ./ui, BenchmarkLoadGraph in
// ./lineage) is made of warehouses of ScaleSchemas × ScaleTables tables
// of ScaleColumns columns, as WarehouseHarvest generates them (100,000
// datasets and 1,020,000 columns each), every dataset the output of one
// job reading three others: a million datasets are ten warehouses, ten
// million columns and three million lineage edges.
const (
	ScaleSchemas      = 100
	ScaleTables       = 1000
	ScaleColumns      = 10
	ScalePerWarehouse = ScaleSchemas * ScaleTables
	ScaleDatabase     = "warehouse"
)

// ScaleKey is dataset i of a scale catalog: table i of warehouse
// i / ScalePerWarehouse, each warehouse its own namespace.
func ScaleKey(i int) catalog.Key {
	w, r := i/ScalePerWarehouse, i%ScalePerWarehouse
	return catalog.Key{
		Namespace: fmt.Sprintf("postgres://wh%02d:5432", w),
		Name:      fmt.Sprintf("%s.s%03d.t%03d", ScaleDatabase, r/ScaleTables, r%ScaleTables),
	}
}

// ScaleJobs are the jobs of warehouse w in a scale catalog of n datasets:
// the job writing dataset i reads i-1, i-7 and i-13 (around the
// catalog's end), so that each dataset feeds three, and depth 10
// downstream reaches about a hundred datasets from anywhere
// (BenchmarkTraversal's narrow graph).
func ScaleJobs(w, n int) []catalog.JobFacts {
	jobs := make([]catalog.JobFacts, 0, ScalePerWarehouse)
	for i := w * ScalePerWarehouse; i < (w+1)*ScalePerWarehouse; i++ {
		j := catalog.JobFacts{Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprintf("load_%07d", i)}, Type: "task",
			Outputs: []catalog.Key{ScaleKey(i)}}
		for _, off := range []int{1, 7, 13} {
			j.Inputs = append(j.Inputs, ScaleKey((i-off+n)%n))
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// ScaleCrawl ingests one harvest as a crawl of its source (the store's
// Crawl; pgtest does not import the store) and returns how many datasets
// it created.
type ScaleCrawl func(ctx context.Context, h catalog.Harvest) (created int, err error)

// IngestScale fills an empty catalog with the scale catalog of n
// datasets (a multiple of ScalePerWarehouse) through crawl: per
// warehouse, a crawl of its datasets (source postgres:whNN) and one of
// its jobs (airflow:whNN). It returns the time spent on each kind.
func IngestScale(ctx context.Context, tb testing.TB, n int, crawl ScaleCrawl) (datasets, jobs time.Duration) {
	tb.Helper()
	for w := range n / ScalePerWarehouse {
		t0 := time.Now()
		ns := ScaleKey(w * ScalePerWarehouse).Namespace
		h := WarehouseHarvest(fmt.Sprintf("postgres:wh%02d", w), ns, ScaleDatabase, ScaleSchemas, ScaleTables, ScaleColumns)
		created, err := crawl(ctx, h)
		if err != nil {
			tb.Fatal(err)
		}
		if created != ScalePerWarehouse {
			tb.Fatalf("warehouse %d: %d datasets created, want %d", w, created, ScalePerWarehouse)
		}
		datasets += time.Since(t0)
		t0 = time.Now()
		if _, err := crawl(ctx, catalog.Harvest{Source: fmt.Sprintf("airflow:wh%02d", w), Jobs: ScaleJobs(w, n)}); err != nil {
			tb.Fatal(err)
		}
		jobs += time.Since(t0)
		tb.Logf("warehouse %d of %d: datasets %s, jobs %s", w+1, n/ScalePerWarehouse, datasets.Round(time.Second), jobs.Round(time.Second))
	}
	return datasets, jobs
}

// MachineBusy is the CPU time all the machine's processors have spent
// busy since boot (user, nice, system, interrupts), from /proc/stat; 0
// where that cannot be read. A benchmark's share of it includes
// PostgreSQL's work, which the process's own CPU time leaves out.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7} { // user nice system irq softirq
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	// The kernel counts in USER_HZ, 100 a second on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond
}
