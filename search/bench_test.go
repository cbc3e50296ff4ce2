package search

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/memory"
	"almanac/catalog/pgtest"
)

// The benchmark corpus: 100,000 generated datasets with 1,000,000 columns
// (ALMANAC_BENCH_DATASETS scales it down for a quick run). Words follow a
// Zipf distribution over a vocabulary of common warehouse words and
// generated ones, so that some queries match tens of thousands of
// datasets and most match few, as in a real catalog.

func benchSize() int {
	if s := os.Getenv("ALMANAC_BENCH_DATASETS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

var commonWords = strings.Fields(`order customer product payment invoice revenue account user session event
	item line shipment refund campaign channel price amount status date daily monthly total count id
	created updated country region store warehouse inventory stock supplier vendor employee team ticket
	support subscription plan trial churn cohort funnel click page visit device app web mobile email
	address phone name code type category brand sku cart checkout discount coupon tax currency rate
	ledger journal balance budget forecast target metric score model feature label prediction`)

// benchWords is commonWords followed by generated pseudo-words.
var benchWords = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	syll := strings.Fields("ka lo mi nu pe ra si to vu ze bar cor dan fel gim hol jun kes lim mor nat pol quin ros tam ul ver wes")
	seen := map[string]bool{}
	words := slices.Clone(commonWords)
	for _, w := range words {
		seen[w] = true
	}
	for len(words) < 5000 {
		n := 2 + r.IntN(2)
		var b strings.Builder
		for range n {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	return words
}()

type wordPicker struct{ z *rand.Zipf }

func newPicker(r *rand.Rand) wordPicker {
	return wordPicker{rand.NewZipf(r, 1.1, 2, uint64(len(benchWords)-1))}
}

func (p wordPicker) word() string { return benchWords[p.z.Uint64()] }

func (p wordPicker) words(n int, sep string) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = p.word()
	}
	return strings.Join(ws, sep)
}

var (
	benchPlatforms = []string{"postgres", "snowflake", "bigquery", "delta", "dbt"}
	benchKinds     = []catalog.Kind{catalog.KindTable, catalog.KindView, catalog.KindMaterializedView, catalog.KindModel, catalog.KindFile}
)

// genDataset generates dataset i, the same on every call.
func genDataset(i int) Dataset {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	p := newPicker(r)
	schema := "s" + strconv.Itoa(r.IntN(50)) + "_" + benchWords[r.IntN(40)]
	name := fmt.Sprintf("db%d.%s.%s_%d", r.IntN(5), schema, p.words(1+r.IntN(3), "_"), i)
	d := Dataset{
		ID:        int64(i + 1),
		Key:       catalog.Key{Namespace: "postgres://wh" + strconv.Itoa(r.IntN(3)) + ":5432", Name: name},
		Platform:  benchPlatforms[r.IntN(len(benchPlatforms))],
		Kind:      benchKinds[r.IntN(len(benchKinds))],
		UpdatedAt: corpusNow.Add(-time.Duration(r.IntN(200*24)) * time.Hour),
		Consumers: r.IntN(4),
	}
	if r.IntN(2) == 0 {
		d.Description = "The " + p.words(8+r.IntN(8), " ") + "."
	}
	if r.IntN(10) < 7 {
		d.Owners = []string{"team_" + strconv.Itoa(r.IntN(200))}
	}
	for range r.IntN(3) {
		if t := "tag_" + strconv.Itoa(r.IntN(50)); !slices.Contains(d.Tags, t) {
			d.Tags = append(d.Tags, t)
		}
	}
	ncols := 5 + r.IntN(11) // 5..15, 10 on average
	seen := map[string]bool{}
	for c := 0; c < ncols; c++ {
		col := catalog.Column{Name: p.words(1+r.IntN(2), "_"), Ordinal: c + 1}
		if seen[col.Name] {
			col.Name += "_" + strconv.Itoa(c)
		}
		seen[col.Name] = true
		if r.IntN(5) == 0 {
			col.Description = p.words(4+r.IntN(6), " ")
		}
		d.Columns = append(d.Columns, col)
	}
	return d
}

// benchQueries are 1,000 one- and two-word queries, drawn like the words
// of the corpus: many common words, a long tail.
var benchQueries = func() []string {
	r := rand.New(rand.NewPCG(42, 42))
	p := newPicker(r)
	qs := make([]string, 1000)
	for i := range qs {
		qs[i] = p.words(1+i%2, " ")
	}
	return qs
}()

// dirSize is the size of the files under dir, in bytes.
func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	ru := rusage()
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusage is the process's resource usage so far; zero where it cannot be
// read.
func rusage() syscall.Rusage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru
}

// reportAllocs reports what the process allocated since m0 was read, and
// how many times it collected: they drive the garbage collector's share
// of the CPU time, and do not vary with the machine's load.
func reportAllocs(b *testing.B, m0 *runtime.MemStats) {
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), "alloc-MB")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/1e6, "mallocs-M")
	b.ReportMetric(float64(m1.NumGC-m0.NumGC), "gcs")
}

func rssMB() float64 { return procStatusMB("VmRSS:") }

// peakRSSMB is the most memory the process has held, in MB.
func peakRSSMB() float64 { return procStatusMB("VmHWM:") }

// procStatusMB reads a size in kB from /proc/self/status, in MB.
func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// latencies runs every query once with the given number of concurrent
// clients and reports p50, p99 and throughput, and the p50 and p99 of the
// queries' own CPU time (cpu-p50-ms, cpu-p99-ms), which the machine's
// load does not inflate.
func latencies(b *testing.B, clients int, run func(q string) error) (p50, p99 time.Duration) {
	b.Helper()
	var (
		mu   sync.Mutex
		all  []time.Duration
		cpus []time.Duration
		errs []error
	)
	start := time.Now()
	for range b.N {
		next := make(chan string)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				// A query runs on its goroutine's thread: that thread's
				// CPU time is its latency without the waits for a core.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				for q := range next {
					t, c := time.Now(), threadCPU()
					err := run(q)
					d, c := time.Since(t), threadCPU()-c
					mu.Lock()
					all = append(all, d)
					cpus = append(cpus, c)
					if err != nil {
						errs = append(errs, fmt.Errorf("%q: %w", q, err))
					}
					mu.Unlock()
				}
			})
		}
		for _, q := range benchQueries {
			next <- q
		}
		close(next)
		wg.Wait()
	}
	elapsed := time.Since(start)
	if len(errs) > 0 {
		b.Fatalf("%d queries failed, first: %v", len(errs), errs[0])
	}
	slices.Sort(all)
	p50, p99 = all[len(all)*50/100], all[len(all)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
	slices.Sort(cpus)
	b.ReportMetric(float64(cpus[len(cpus)*50/100].Microseconds())/1000, "cpu-p50-ms")
	b.ReportMetric(float64(cpus[len(cpus)*99/100].Microseconds())/1000, "cpu-p99-ms")
	return p50, p99
}

// threadCPU is the CPU time the calling thread has used, user and system:
// on a shared machine, a query's CPU time is what its latency would be
// on a quiet one (less what the garbage collector's own workers do).
// (getrusage's RUSAGE_THREAD counts in scheduler ticks here, too coarse
// for a query of a millisecond; the thread's CPU clock counts in ns.)
func threadCPU() time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, e := syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// BenchmarkSearch builds the index of the generated corpus, loads the same
// data into PostgreSQL with a full-text index, and runs the same 1,000
// queries on both (top 20 with facet counts), with 1 and 2 clients. Run it
// with make bench, or:
//
//	go test ./search -run '^$' -bench Search -benchtime 1x
func BenchmarkSearch(b *testing.B) {
	// The garbage collector as almanac sets it (memory.heap_target);
	// GOGC=100 in the environment measures Go's default.
	memory.Tune(memory.DefaultHeapTarget)
	defer memory.Tune(0)
	n := benchSize()
	dir := b.TempDir() + "/index"
	gen := func(yield func(Dataset) error) error {
		for i := range n {
			if err := yield(genDataset(i)); err != nil {
				return err
			}
		}
		return nil
	}
	var x *Index
	b.Run("build", func(b *testing.B) {
		for range b.N {
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start, cpu := time.Now(), cpuTime()
			built, err := Build(dir, gen, Options{})
			if err != nil {
				b.Fatal(err)
			}
			elapsed, cpu := time.Since(start), cpuTime()-cpu
			reportAllocs(b, &m0)
			if err := built.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(elapsed.Seconds(), "build-s")
			b.ReportMetric(float64(dirSize(b, dir))/(1<<20), "index-MB")
			// CPU time too: on a shared machine it varies less than the
			// elapsed time.
			b.ReportMetric(cpu.Seconds(), "build-cpu-s")
			b.ReportMetric(peakRSSMB(), "peak-rss-MB")
		}
		b.ReportMetric(float64(n), "datasets")
	})
	runtime.GC()
	debug.FreeOSMemory()
	before := rssMB()
	idx, err := openDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	x = newIndex(dir, nil, Options{Now: func() time.Time { return corpusNow }})
	x.idx = idx
	if err := x.loadLexicon(idx); err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	search := func(q string) error {
		pq, err := Parse(q)
		if err != nil {
			return err
		}
		_, err = x.Search(ctx, Request{Query: pq, Limit: 20})
		return err
	}
	// Warm up: the first queries fault in the segment files.
	for _, q := range benchQueries[:100] {
		if err := search(q); err != nil {
			b.Fatal(err)
		}
	}
	// The index alone, every query run in full.
	raw := newIndex(dir, nil, Options{Now: func() time.Time { return corpusNow }, NoCache: true})
	raw.idx, raw.lex = idx, x.lex
	for _, clients := range []int{1, 2} {
		b.Run(fmt.Sprintf("bleve-nocache/clients=%d", clients), func(b *testing.B) {
			// The build's garbage is collected first, so that its
			// collection is not counted as the queries' CPU time.
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu := cpuTime()
			latencies(b, clients, func(q string) error {
				pq, err := Parse(q)
				if err != nil {
					return err
				}
				_, err = raw.Search(ctx, Request{Query: pq, Limit: 20})
				return err
			})
			queries := float64(b.N * len(benchQueries))
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/queries, "cpu-ms/query")
			// Allocations per query do not vary with the machine's load,
			// and drive the collector's share of the CPU time.
			runtime.ReadMemStats(&m1)
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/1024/queries, "alloc-KB/query")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/queries, "mallocs/query")
		})
	}
	// With the result cache, as the server runs: popular queries repeat.
	var bleveP99 [3]time.Duration
	for _, clients := range []int{1, 2} {
		b.Run(fmt.Sprintf("bleve/clients=%d", clients), func(b *testing.B) {
			_, bleveP99[clients] = latencies(b, clients, search)
			b.ReportMetric(rssMB(), "rss-MB")
			b.ReportMetric(before, "rss-before-open-MB")
		})
	}

	// The same data and queries on PostgreSQL full-text search, in a
	// sub-benchmark of its own so that -bench can leave its load out.
	b.Run("postgres", func(b *testing.B) {
		pool, _ := pgtest.NewDB(b)
		loadStart := time.Now()
		if err := loadPostgres(ctx, pool, n); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d datasets into PostgreSQL in %v", n, time.Since(loadStart))
		pg := func(q string) error { return pgSearch(ctx, pool, q) }
		for _, q := range benchQueries[:100] {
			if err := pg(q); err != nil {
				b.Fatal(err)
			}
		}
		for _, clients := range []int{1, 2} {
			b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
				_, p99 := latencies(b, clients, pg)
				if bleveP99[clients] > 0 {
					b.ReportMetric(float64(p99)/float64(bleveP99[clients]), "p99-pg/bleve")
				}
			})
		}
	})
}

// loadPostgres loads the generated corpus into a table with a weighted
// tsvector (name A, columns B, descriptions C) and a GIN index.
func loadPostgres(ctx context.Context, pool *pgxpool.Pool, n int) error {
	_, err := pool.Exec(ctx, `
		CREATE TABLE bench_datasets (
			id bigint PRIMARY KEY, name text, namespace text, platform text, kind text, schema text,
			owners text[], tags text[], name_words text, column_words text, descriptions text,
			tsv tsvector GENERATED ALWAYS AS (
				setweight(to_tsvector('english', name_words), 'A') ||
				setweight(to_tsvector('english', column_words), 'B') ||
				setweight(to_tsvector('english', descriptions), 'C')) STORED)`)
	if err != nil {
		return err
	}
	i := 0
	_, err = pool.CopyFrom(ctx, pgx.Identifier{"bench_datasets"},
		[]string{"id", "name", "namespace", "platform", "kind", "schema", "owners", "tags", "name_words", "column_words", "descriptions"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			d := genDataset(i)
			i++
			var colWords, descs []string
			for _, c := range d.Columns {
				colWords = append(colWords, strings.Join(terms(names, c.Name), " "))
				if c.Description != "" {
					descs = append(descs, c.Description)
				}
			}
			if d.Description != "" {
				descs = append(descs, d.Description)
			}
			owners, tags := d.Owners, d.Tags
			if owners == nil {
				owners = []string{}
			}
			if tags == nil {
				tags = []string{}
			}
			return []any{d.ID, d.Key.Name, d.Key.Namespace, d.Platform, string(d.Kind), schemaOf(d.Key.Name), owners, tags,
				strings.Join(terms(names, d.Key.Name), " "), strings.Join(colWords, " "), strings.Join(descs, " ")}, nil
		}))
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `CREATE INDEX bench_datasets_tsv ON bench_datasets USING gin (tsv); ANALYZE bench_datasets`)
	return err
}

// pgSearch is the PostgreSQL equivalent of a search: the top 20 by
// ts_rank and the counts of the five facets over every match, in one
// statement.
func pgSearch(ctx context.Context, pool *pgxpool.Pool, q string) error {
	rows, err := pool.Query(ctx, `
		WITH m AS MATERIALIZED (
			SELECT id, name, platform, kind, schema, owners, tags, ts_rank(tsv, q) AS rank
			FROM bench_datasets, plainto_tsquery('english', $1) q
			WHERE tsv @@ q
		)
		SELECT 'hit', name, rank::bigint FROM (SELECT name, rank FROM m ORDER BY rank DESC, id LIMIT 20) top
		UNION ALL (SELECT 'platform', platform, count(*) FROM m GROUP BY platform ORDER BY 3 DESC LIMIT 10)
		UNION ALL (SELECT 'kind', kind, count(*) FROM m GROUP BY kind ORDER BY 3 DESC LIMIT 10)
		UNION ALL (SELECT 'schema', schema, count(*) FROM m GROUP BY schema ORDER BY 3 DESC LIMIT 10)
		UNION ALL (SELECT 'owner', o, count(*) FROM m, unnest(owners) o GROUP BY o ORDER BY 3 DESC LIMIT 10)
		UNION ALL (SELECT 'tag', t, count(*) FROM m, unnest(tags) t GROUP BY t ORDER BY 3 DESC LIMIT 10)
		UNION ALL SELECT 'total', '', count(*) FROM m`, q)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	rows.Close()
	return rows.Err()
}
