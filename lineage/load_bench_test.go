package lineage_test

import (
	"context"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

// BenchmarkLoadGraph measures what start-up spends on lineage (99 % of
// BenchmarkScale's start-up): Follower.Load of pgtest's scale catalog of
// 100,000 datasets and 100,000 jobs reading three datasets each. It
// reports the load's elapsed time, the process's CPU time (PostgreSQL's
// is apart), its allocations, and the heap the loaded graph holds.
// Building the catalog takes a minute or two and is not measured.
func BenchmarkLoadGraph(b *testing.B) {
	const n = pgtest.ScalePerWarehouse
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	pgtest.IngestScale(ctx, b, n, func(ctx context.Context, h catalog.Harvest) (int, error) {
		run, err := st.Crawl(ctx, h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil })
		return run.Counts.Created, err
	})
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	var (
		g        *lineage.Graph
		cpu      time.Duration
		heapMB   float64
		measured int
	)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		g = nil
		b.StopTimer()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		cpu0 := processCPU()
		g = lineage.NewGraph()
		if err := lineage.NewFollower(st, g, nil).Load(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU() - cpu0
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heapMB += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		measured++
		b.StartTimer()
	}
	if d, j := g.Size(); d != n || j != n {
		b.Fatalf("lineage graph of %d datasets and %d jobs, want %d of each", d, j, n)
	}
	b.ReportMetric(cpu.Seconds()/float64(measured), "cpu-s/op")
	b.ReportMetric(heapMB/float64(measured), "graph-MB")
	if s, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average %s", strings.Join(strings.Fields(string(s))[:3], " "))
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
