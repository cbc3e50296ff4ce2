package search

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/memory"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkRebuild builds the index from PostgreSQL, as Create and a
// rebuild do, over one warehouse of BenchmarkScale's catalog (./ui):
// 100,000 datasets of about ten columns and 100,000 jobs, ingested once
// (about a minute). "read" is the catalog read alone, as a build reads
// it (its names for the vocabulary, then the datasets whole), so that a
// build's time can be split between PostgreSQL and the index; the
// "machine" figures are every process's CPU time, PostgreSQL's included.
// Run several builds on one ingest:
//
//	go test ./search -run '^$' -bench Rebuild -benchtime 3x
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	// The garbage collector as almanac reindex sets it
	// (memory.heap_target); GOGC=100 in the environment measures Go's
	// default.
	memory.Tune(memory.DefaultHeapTarget)
	defer memory.Tune(0)
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	pgtest.IngestScale(ctx, b, pgtest.ScalePerWarehouse, func(ctx context.Context, h catalog.Harvest) (int, error) {
		run, err := st.Crawl(ctx, h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil })
		return run.Counts.Created, err
	})
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	loadAvg := func(b *testing.B) {
		if s, err := os.ReadFile("/proc/loadavg"); err == nil {
			b.Logf("load average %s", strings.Join(strings.Fields(string(s))[:3], " "))
		}
	}
	b.Run("read", func(b *testing.B) {
		x := newIndex(b.TempDir(), st, Options{})
		for b.Loop() {
			t0, cpu0, busy0 := time.Now(), cpuTime(), pgtest.MachineBusy()
			n, err := newVocabulary().learnCatalog(ctx, st)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "vocabulary-s")
			t1 := time.Now()
			if err := x.eachDataset(ctx, func(Dataset) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
			if n != 2*pgtest.ScalePerWarehouse {
				b.Fatalf("read %d datasets, want %d", n, 2*pgtest.ScalePerWarehouse)
			}
			b.ReportMetric(time.Since(t1).Seconds(), "datasets-s")
			b.ReportMetric(time.Since(t0).Seconds(), "read-s")
			b.ReportMetric((cpuTime() - cpu0).Seconds(), "read-cpu-s")
			b.ReportMetric((pgtest.MachineBusy() - busy0).Seconds(), "read-machine-s")
		}
		b.ReportMetric(0, "ns/op")
		loadAvg(b)
	})
	b.Run("build", func(b *testing.B) {
		dir := b.TempDir() + "/index"
		for b.Loop() {
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			t0, cpu0, busy0, ru0 := time.Now(), cpuTime(), pgtest.MachineBusy(), rusage()
			x, err := Create(ctx, dir, st, Options{NoCache: true})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "build-s")
			b.ReportMetric((cpuTime() - cpu0).Seconds(), "build-cpu-s")
			b.ReportMetric((pgtest.MachineBusy() - busy0).Seconds(), "build-machine-s")
			// A process's first build touches most of its heap for the
			// first time: each new page costs the kernel a fault.
			ru := rusage()
			b.ReportMetric(time.Duration(ru.Stime.Nano()-ru0.Stime.Nano()).Seconds(), "build-sys-s")
			b.ReportMetric(float64(ru.Minflt-ru0.Minflt)/1000, "faults-k")
			reportAllocs(b, &m0)
			if err := x.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(dirSize(b, dir))/(1<<20), "index-MB")
		b.ReportMetric(0, "ns/op")
		loadAvg(b)
	})
}
