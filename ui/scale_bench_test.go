package ui

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/memory"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/lineage/olapi"
	"almanac/search"
)

// The catalog of BenchmarkScale is pgtest's scale catalog (see
// pgtest.IngestScale): warehouses of 100,000 datasets, each the output of
// one job reading three others.
const (
	scaleSchemas  = pgtest.ScaleSchemas
	scaleTables   = pgtest.ScaleTables
	scaleColumns  = pgtest.ScaleColumns
	scalePerWH    = pgtest.ScalePerWarehouse
	scaleDatabase = pgtest.ScaleDatabase
)

// scaleSizes are the catalog sizes BenchmarkScale measures: 100,000
// datasets, or the comma-separated list of ALMANAC_BENCH_SCALE (each a
// multiple of 100,000; `make bench-1m` sets 100000,1000000).
func scaleSizes(b *testing.B) []int {
	s := os.Getenv("ALMANAC_BENCH_SCALE")
	if s == "" {
		return []int{scalePerWH}
	}
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n%scalePerWH != 0 {
			b.Fatalf("ALMANAC_BENCH_SCALE=%q: want multiples of %d separated by commas", s, scalePerWH)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func scaleKey(i int) catalog.Key { return pgtest.ScaleKey(i) }

// BenchmarkScale measures one node with a catalog of 100,000 datasets
// and, with ALMANAC_BENCH_SCALE, larger ones (see scaleSizes): ingest,
// search index build, start-up as `almanac serve` does it, search,
// dataset page, capped lineage traversal, OpenLineage ingest and the
// process's memory. Each size's catalog is one database, built by the
// first sub-benchmark and used by the others, dropped at the end.
//
// The datasets are not crawled from PostgreSQL tables (a million tables
// would take hours to create): the harvests are pgtest.WarehouseHarvest,
// what the crawler reads from them, ingested by the store as a crawl.
func BenchmarkScale(b *testing.B) {
	// The garbage collector as almanac sets it (memory.heap_target);
	// GOGC=100 in the environment measures Go's default.
	memory.Tune(memory.DefaultHeapTarget)
	defer memory.Tune(0)
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("datasets=%d", n), func(b *testing.B) { benchScale(b, n) })
	}
}

func benchScale(b *testing.B, n int) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	dir := b.TempDir()
	var (
		idx *search.Index
		lg  *lineage.Graph
		fl  *lineage.Follower
		ts  *httptest.Server
	)
	b.Cleanup(func() {
		if ts != nil {
			ts.Close()
		}
		if idx != nil {
			idx.Close()
		}
	})
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	loadAvg := func(b *testing.B) {
		if s, err := os.ReadFile("/proc/loadavg"); err == nil {
			b.Logf("load average %s", strings.Join(strings.Fields(string(s))[:3], " "))
		}
	}

	b.Run("ingest", func(b *testing.B) {
		for b.Loop() {
			if done, err := st.LastChangeSeq(ctx); err != nil || done > 0 {
				b.Fatalf("the catalog is not empty (%d, %v): run with -benchtime 1x", done, err)
			}
			dsTime, jobTime := pgtest.IngestScale(ctx, b, n, func(ctx context.Context, h catalog.Harvest) (int, error) {
				run, err := st.Crawl(ctx, h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil })
				return run.Counts.Created, err
			})
			t0 := time.Now()
			if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(dsTime.Seconds(), "datasets-s")
			b.ReportMetric(float64(n)/dsTime.Seconds(), "datasets/s")
			b.ReportMetric(jobTime.Seconds(), "jobs-s")
			b.ReportMetric(time.Since(t0).Seconds(), "vacuum-s")
			var bytes int64
			if err := pool.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&bytes); err == nil {
				b.ReportMetric(float64(bytes)/(1<<20), "db-MB")
			}
		}
		loadAvg(b)
	})

	b.Run("index-build", func(b *testing.B) {
		for b.Loop() {
			t0, cpu0 := time.Now(), processCPU()
			x, err := search.Create(ctx, dir, st, search.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "build-s")
			b.ReportMetric((processCPU() - cpu0).Seconds(), "build-cpu-s")
			if err := x.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(dirBytes(b, dir))/(1<<20), "index-MB")
		b.ReportMetric(0, "ns/op")
		loadAvg(b)
	})

	// Start-up as serve does it before it listens: the search index
	// opened (and caught up with the change log), the lineage graph
	// loaded; then the portal built on them.
	b.Run("start-up", func(b *testing.B) {
		for b.Loop() {
			if idx != nil {
				idx.Close()
			}
			runtime.GC()
			t0 := time.Now()
			var err error
			idx, err = search.Open(ctx, dir, st, search.Options{})
			if err != nil {
				b.Fatal(err)
			}
			open := time.Since(t0)
			lg = lineage.NewGraph()
			fl = lineage.NewFollower(st, lg, nil)
			if err := fl.Load(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "start-s")
			b.ReportMetric(open.Seconds(), "index-open-s")
			b.ReportMetric((time.Since(t0) - open).Seconds(), "lineage-load-s")
		}
		if d, j := lg.Size(); d != n || j != n {
			b.Fatalf("lineage graph of %d datasets and %d jobs, want %d of each", d, j, n)
		}
		s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Search: idx, Lineage: lg,
			OpenLineage: olapi.NewReceiver(st, olapi.Config{}), Unauthenticated: true})
		if err != nil {
			b.Fatal(err)
		}
		if ts != nil {
			ts.Close()
		}
		ts = httptest.NewServer(s.Handler())
		b.ReportMetric(0, "ns/op")
		loadAvg(b)
	})
	if idx == nil || ts == nil {
		b.Fatal("no server: start-up failed")
	}

	// Searches with facet counts (every search counts them), each query
	// once so that the result cache does not answer: a table name (one
	// table of every schema), a schema and a table, words of the
	// comments of one table in ten, a column name of a fifth of the
	// tables with a comment's words.
	b.Run("search", func(b *testing.B) {
		var (
			lat    []time.Duration
			asked  []string
			m0, m1 runtime.MemStats
		)
		hits := 0
		runtime.ReadMemStats(&m0)
		cpu0 := processCPU()
		for b.Loop() {
			for i := range 1000 {
				t, s := rng.IntN(scaleTables), rng.IntN(scaleSchemas)
				q := []string{
					fmt.Sprintf("t%03d", t),
					fmt.Sprintf("s%03d t%03d", s, t),
					fmt.Sprintf("table %d schema %d", t/10*10, s),
					fmt.Sprintf("parent column %d", 1+rng.IntN(scaleColumns-1)),
				}[i%4]
				pq, err := search.Parse(q)
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				res, err := idx.Search(ctx, search.Request{Query: pq, Limit: 20})
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				asked = append(asked, q)
				if res.Total == 0 {
					b.Fatalf("%q: no hits", q)
				}
				hits += res.Total
			}
		}
		runtime.ReadMemStats(&m1)
		// The p99 of 1,000 is the 11th slowest, and the 9 distinct
		// "parent column N" each miss the cache once: say what the
		// slowest were, and how many collections ran meanwhile.
		slowest := make([]int, len(lat))
		for i := range slowest {
			slowest[i] = i
		}
		slices.SortFunc(slowest, func(i, j int) int { return cmp.Compare(lat[j], lat[i]) })
		for _, i := range slowest[:min(12, len(slowest))] {
			b.Logf("slow: %q %v (query %d)", asked[i], lat[i].Round(10*time.Microsecond), i)
		}
		b.Logf("%d garbage collections during the searches", m1.NumGC-m0.NumGC)
		b.ReportMetric(float64(hits)/float64(len(lat)), "hits")
		reportLatencies(b, lat, cpu0)
		loadAvg(b)
	})

	b.Run("dataset-page", func(b *testing.B) {
		get := func(path string) {
			resp, err := http.Get(path)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("GET %s: status %d, %v", path, resp.StatusCode, err)
			}
		}
		for range 20 { // warm the connections
			get(ts.URL + datasetPath(scaleKey(rng.IntN(n))))
		}
		// 1,000 pages, in blocks of 50 with the whole machine's busy share
		// during each: one client leaves a core idle, so a slow page in a
		// block far above half busy waited for other work on the machine.
		const pages, block = 1000, 50
		var (
			lat   []time.Duration
			share []float64 // of each block
			busy0 time.Duration
			start time.Time
		)
		cpu0 := processCPU()
		for b.Loop() {
			for i := range pages {
				if i%block == 0 {
					share = append(share, 0)
					busy0, start = pgtest.MachineBusy(), time.Now()
				}
				path := ts.URL + datasetPath(scaleKey(rng.IntN(n)))
				t0 := time.Now()
				get(path)
				lat = append(lat, time.Since(t0))
				if i%block == block-1 {
					share[len(share)-1] = (pgtest.MachineBusy() - busy0).Seconds() / time.Since(start).Seconds() / float64(runtime.NumCPU())
				}
			}
		}
		slowest := make([]int, len(lat))
		for i := range slowest {
			slowest[i] = i
		}
		slices.SortFunc(slowest, func(i, j int) int { return cmp.Compare(lat[j], lat[i]) })
		// go test prints ten lines of a benchmark's log.
		for _, i := range slowest[:min(10, len(slowest))] {
			b.Logf("slow: page %d %v, the machine %.0f %% busy during its block", i, lat[i].Round(10*time.Microsecond), 100*share[i/block])
		}
		b.ReportMetric(100*quantile(share, 0.5), "machine-busy-p50-%")
		b.ReportMetric(100*quantile(share, 1), "machine-busy-max-%")
		reportLatencies(b, lat, cpu0)
		loadAvg(b)
	})

	// What the API and the explorer ask: downstream to depth 10, capped
	// at the default number of nodes.
	b.Run("lineage-depth10", func(b *testing.B) {
		var lat []time.Duration
		nodes := 0
		cpu0 := processCPU()
		for b.Loop() {
			for range 2000 {
				q := lineage.Query{Start: scaleKey(rng.IntN(n)), Direction: lineage.Downstream, Depth: 10}
				t0 := time.Now()
				sg, err := fl.Lineage(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				nodes += len(sg.Nodes)
			}
		}
		b.ReportMetric(float64(nodes)/float64(len(lat)), "nodes")
		reportLatencies(b, lat, cpu0)
		loadAvg(b)
	})

	// OpenLineage runs posted by 8 clients (as BenchmarkIngest, whose
	// catalog starts empty), each a START and a COMPLETE of a job reading
	// one existing dataset and writing another, while the worker derives
	// them; accepted and derived events a second. As in BenchmarkIngest,
	// the index and the lineage graph do not follow meanwhile (make
	// loadtest measures the ingest of replicas that do).
	b.Run("openlineage", func(b *testing.B) {
		const clients, perClient = 8, 500
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		rc := olapi.NewReceiver(st, olapi.Config{})
		go rc.Run(rctx, 50*time.Millisecond)
		for b.Loop() {
			var wg sync.WaitGroup
			start := time.Now()
			for c := range clients {
				wg.Go(func() {
					for i := range perClient {
						typ := "START"
						if i%2 == 1 {
							typ = "COMPLETE"
						}
						in, out := scaleKey((c*perClient+i/2)*7919%n), scaleKey((c*perClient+i/2)*7919%n+1)
						ev := fmt.Appendf(nil, `{"eventType": %q, "eventTime": "2026-12-01T10:%02d:%02dZ", "producer": "bench",
							"run": {"runId": "00000000-0000-4000-8000-%06d%06d"}, "job": {"namespace": "spark", "name": "copy-%d-%d"},
							"inputs": [{"namespace": %q, "name": %q}], "outputs": [{"namespace": %q, "name": %q}]}`,
							typ, i/60%60, i%60, c, i/2, c, i/2, in.Namespace, in.Name, out.Namespace, out.Name)
						resp, err := http.Post(ts.URL+"/api/v1/lineage", "application/json", bytes.NewReader(ev))
						if err != nil {
							b.Error(err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
			}
			wg.Wait()
			accepted := time.Since(start)
			for {
				var pending int
				if err := pool.QueryRow(ctx, `SELECT count(*) FROM openlineage_events WHERE processed_at IS NULL`).Scan(&pending); err != nil {
					b.Fatal(err)
				}
				if pending == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			total := float64(clients * perClient)
			b.ReportMetric(total/accepted.Seconds(), "accepted-events/s")
			b.ReportMetric(total/time.Since(start).Seconds(), "derived-events/s")
		}
		b.ReportMetric(0, "ns/op")
		loadAvg(b)
	})

	// Memory: the process's peak (the ingest and the build ran in it
	// too), its resident size now that the server is up and has
	// answered, and the Go heap the server holds.
	b.Run("memory", func(b *testing.B) {
		for b.Loop() {
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
			b.ReportMetric(procStatusMB("VmRSS"), "rss-MB")
			b.ReportMetric(procStatusMB("VmHWM"), "peak-rss-MB")
		}
		b.ReportMetric(0, "ns/op")
	})
}

// reportLatencies reports reportPercentiles of lat and the process's
// CPU time per operation since cpu0 (the HTTP client's share included,
// PostgreSQL's not): the figure that other work on a busy machine
// inflates least.
func reportLatencies(b *testing.B, lat []time.Duration, cpu0 time.Duration) {
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(len(lat)), "cpu-ms/op")
	reportPercentiles(b, lat)
}

// reportPercentiles reports the median and 99th percentile of lat in
// ms, as the only figures of the benchmark (no ns/op).
func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// quantile is the q-quantile of a copy of v, sorted (1 gives the largest).
func quantile(v []float64, q float64) float64 {
	v = slices.Sorted(slices.Values(v))
	return v[int(q*float64(len(v)-1))]
}

// procStatusMB is a size from /proc/self/status (VmRSS, VmHWM) in MiB.
func procStatusMB(field string) float64 {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// dirBytes is the size of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
