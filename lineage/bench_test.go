package lineage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

const (
	benchDatasets = 100_000
	benchEdges    = 300_000
)

// benchOffsets link dataset i to i+1, i+7 and i+13: every dataset has
// three downstream neighbours, and the reach grows polynomially with depth
// as in a real warehouse rather than exploding.
var benchOffsets = []int{1, 7, 13}

func benchName(i int) string { return fmt.Sprintf("wh.s.t%06d", i%benchDatasets) }

// BenchmarkTraversal compares the in-memory graph with a recursive CTE
// over job_io on 100,000 datasets and 300,000 edges (one job per edge),
// both walking downstream to the same depth from the same random starts.
func BenchmarkTraversal(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	jobs := make([]catalog.Job, 0, benchEdges)
	for i := range benchDatasets {
		for _, off := range benchOffsets {
			jobs = append(jobs, catalog.Job{
				Key:     catalog.JobKey{Namespace: "bench", Name: fmt.Sprintf("j%06d_%d", i, off)},
				Type:    "task",
				Inputs:  []catalog.Key{{Namespace: ns, Name: benchName(i)}},
				Outputs: []catalog.Key{{Namespace: ns, Name: benchName(i + off)}},
			})
		}
	}
	start := time.Now()
	if _, err := st.Crawl(ctx, "bench", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: jobs}, nil
	}); err != nil {
		b.Fatal(err)
	}
	jobs = nil
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("ingest of %d jobs: %v", len(jobs), time.Since(start))
	start = time.Now()
	f := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := f.Load(ctx); err != nil {
		b.Fatal(err)
	}
	nd, nj := f.Graph().Size()
	b.Logf("graph load: %v (%d datasets, %d jobs)", time.Since(start), nd, nj)

	rng := rand.New(rand.NewPCG(1, 2))
	for _, depth := range []int{1, 3, 10} {
		b.Run(fmt.Sprintf("memory/depth=%d", depth), func(b *testing.B) {
			// Start from a collected heap: the setup allocated the 300,000
			// jobs of the harvest.
			runtime.GC()
			lat := make([]time.Duration, 0, 2000)
			reach := 0
			for b.Loop() {
				lat = lat[:0]
				for range 2000 {
					k := catalog.Key{Namespace: ns, Name: benchName(rng.IntN(benchDatasets))}
					t0 := time.Now()
					s, err := f.Graph().Traverse(lineage.Query{Start: k, Direction: lineage.Downstream, Depth: depth, MaxNodes: 1 << 20})
					lat = append(lat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					reach = len(s.Nodes)
				}
			}
			report(b, lat)
			b.ReportMetric(float64(reach), "nodes")
		})
		b.Run(fmt.Sprintf("postgres-cte/depth=%d", depth), func(b *testing.B) {
			samples := 200
			if depth == 10 {
				samples = 40
			}
			lat := make([]time.Duration, 0, samples)
			reach := 0
			for b.Loop() {
				lat = lat[:0]
				for range samples {
					name := benchName(rng.IntN(benchDatasets))
					t0 := time.Now()
					err := pool.QueryRow(ctx, `
						WITH RECURSIVE down(namespace, name, depth) AS (
							SELECT $1::text, $2::text, 0
							UNION
							SELECT o.namespace, o.name, d.depth + 1
							FROM down d
							JOIN job_io i ON i.namespace = d.namespace AND i.name = d.name AND i.direction = 'in'
							JOIN job_io o ON o.job_id = i.job_id AND o.source = i.source AND o.direction = 'out'
							WHERE d.depth < $3
						)
						SELECT count(DISTINCT (namespace, name)) FROM down`, ns, name, depth).Scan(&reach)
					lat = append(lat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			report(b, lat)
			b.ReportMetric(float64(reach), "datasets")
		})
	}
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// benchColumns is how many columns with lineage each dataset of
// BenchmarkColumnTraversal has.
const benchColumns = 10

// BenchmarkColumnTraversal walks the column layer of a graph of 100,000
// datasets with ten lineage columns each: column c of dataset i+1 is
// column c of dataset i (IDENTITY), column c of i+7 is computed from
// column c+1 of i (TRANSFORMATION), and every column of i+13 is filtered
// on column 0 of i (INDIRECT), so that each column has three downstream
// edges like the datasets of BenchmarkTraversal. The graph is built in
// memory: loading it is BenchmarkTraversal's subject, not this one's.
func BenchmarkColumnTraversal(b *testing.B) {
	start := time.Now()
	g := lineage.NewGraph()
	cols := make([]string, benchColumns)
	for c := range cols {
		cols[c] = fmt.Sprintf("c%d", c)
	}
	batch := make([]lineage.ColumnEdges, 0, 1000)
	for i := range benchDatasets {
		out := lineage.ColumnEdges{Output: catalog.Key{Namespace: ns, Name: benchName(i)}}
		from := func(off int) catalog.Key {
			return catalog.Key{Namespace: ns, Name: benchName(i - off + benchDatasets)}
		}
		for c := range benchColumns {
			out.Edges = append(out.Edges,
				lineage.ColumnInput{Column: cols[c], Input: from(1), InputColumn: cols[c], Type: "DIRECT", Subtype: "IDENTITY"},
				lineage.ColumnInput{Column: cols[c], Input: from(7), InputColumn: cols[(c+1)%benchColumns], Type: "DIRECT", Subtype: "TRANSFORMATION"},
				lineage.ColumnInput{Column: cols[c], Input: from(13), InputColumn: cols[0], Type: "INDIRECT", Subtype: "FILTER"},
			)
		}
		batch = append(batch, out)
		if len(batch) == cap(batch) {
			g.SetColumnLineage(batch)
			batch = batch[:0]
		}
	}
	g.SetColumnLineage(batch)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	nc, ne := g.ColumnSize()
	b.Logf("column graph build: %v (%d columns, %d edges, %d MiB heap)", time.Since(start), nc, ne, ms.HeapAlloc>>20)

	rng := rand.New(rand.NewPCG(3, 4))
	for _, depth := range []int{1, 3, 10} {
		for _, direct := range []bool{false, true} {
			name := fmt.Sprintf("depth=%d", depth)
			if direct {
				name += "/direct-only"
			}
			b.Run(name, func(b *testing.B) {
				lat := make([]time.Duration, 0, 2000)
				reach := 0
				for b.Loop() {
					lat = lat[:0]
					for range 2000 {
						c := lineage.ColumnID{Dataset: catalog.Key{Namespace: ns, Name: benchName(rng.IntN(benchDatasets))}, Column: cols[rng.IntN(benchColumns)]}
						t0 := time.Now()
						s, err := g.TraverseColumns(lineage.ColumnQuery{Start: c, Direction: lineage.Downstream, Depth: depth, MaxNodes: 1 << 20, DirectOnly: direct})
						lat = append(lat, time.Since(t0))
						if err != nil {
							b.Fatal(err)
						}
						reach = len(s.Nodes)
					}
				}
				report(b, lat)
				b.ReportMetric(float64(reach), "nodes")
			})
		}
	}
}
