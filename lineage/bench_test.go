package lineage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

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
// rather than exploding.
var benchOffsets = []int{1, 7, 13}

func benchName(i int) string { return fmt.Sprintf("wh.s.t%06d", i%benchDatasets) }

// benchShape is one graph of BenchmarkTraversal: benchDatasets datasets
// and benchEdges edges between them, by dataset index.
type benchShape struct {
	name  string // sub-benchmark name
	ns    string // namespace of its datasets
	edges [][2]int32
}

// narrowEdges links dataset i to i+1, i+7 and i+13 (benchOffsets, around
// the end). The reach grows slowly: depth 10 reaches about 100 datasets,
// the same from every start.
func narrowEdges() [][2]int32 {
	edges := make([][2]int32, 0, benchEdges)
	for i := range benchDatasets {
		for _, off := range benchOffsets {
			edges = append(edges, [2]int32{int32(i), int32((i + off) % benchDatasets)})
		}
	}
	return edges
}

// wideLayers are the sizes of the layers of wideEdges, from raw tables to
// the last exports: wide at the source, narrowing toward the marts.
var wideLayers = []int{16000, 13000, 12000, 11000, 10000, 9000, 8000, 7000, 5500, 4000, 2500, 2000}

// wideHubs is how many datasets at the start of a layer are hubs, and
// wideHubOutputs how many datasets each of them feeds besides its three.
var wideHubs = map[int]int{0: 6, 2: 3, 4: 3}

const wideHubOutputs = 500

// wideEdges is a layered warehouse: the 100,000 datasets of wideLayers in
// 12 layers (raw → staging → intermediate → marts → exports), and every
// dataset but those of the last layer feeds 3 datasets of later layers,
// drawn with a seeded PRNG:
//   - the first is dataset k mod n of the next layer (of n datasets), so
//     that every dataset past the first layer has an input;
//   - the other two are in the next layer (70%), two layers on (20%) or
//     three (10%), skewed toward the first datasets of their layer (index
//     ⌊n·u²⌋ for a uniform u), which become the popular core models that
//     many datasets read (up to about 250 inputs);
//   - the hubs (wideHubs: six raw tables such as events or users, six
//     shared dimensions in staging) feed wideHubOutputs more datasets
//     anywhere in the next three layers.
//
// That is 3 × 98,000 + 12 × 500 = 300,000 edges. Reach grows about
// threefold per hop until it meets the popular models and the hubs: for
// uniform random starts, depth 3 reaches 40 datasets at the median and
// depth 10 about 1,600 at the median, 12,000 at p90 and 25,000 at p99
// (the starts near the exports reach little).
func wideEdges() [][2]int32 {
	rng := rand.New(rand.NewPCG(5, 6))
	first := make([]int, len(wideLayers)+1)
	for l, n := range wideLayers {
		first[l+1] = first[l] + n
	}
	last := len(wideLayers) - 1
	pick := func(l int) int32 {
		u := rng.Float64()
		return int32(first[l] + int(float64(wideLayers[l])*u*u))
	}
	layer := func(l int) int {
		switch r := rng.IntN(10); {
		case r == 9:
			return min(l+3, last)
		case r >= 7:
			return min(l+2, last)
		}
		return l + 1
	}
	edges := make([][2]int32, 0, benchEdges)
	var outs []int32
	for l := range last {
		for k := range wideLayers[l] {
			d := int32(first[l] + k)
			outs = outs[:0]
			add := func(o int32) {
				if !slices.Contains(outs, o) {
					outs = append(outs, o)
					edges = append(edges, [2]int32{d, o})
				}
			}
			add(int32(first[l+1] + k%wideLayers[l+1]))
			for len(outs) < 3 {
				add(pick(layer(l)))
			}
			if k < wideHubs[l] {
				lo, hi := first[l+1], first[min(l+4, last+1)]
				for len(outs) < 3+wideHubOutputs {
					add(int32(lo + rng.IntN(hi-lo)))
				}
			}
		}
	}
	return edges
}

// Sample counts of BenchmarkTraversal: the same starts, in the same order,
// for every method (a method takes the first of them).
const (
	memorySamples = 2000
	cteSamples    = 200
	cteSamples10  = 100 // at depth 10
	pathSamples10 = 10  // UNION ALL at depth 10, which enumerates paths
	// cteTimeout ends one CTE query, counted as a timeout rather than a
	// failure; cteBudget stops sampling a method once its samples took
	// that long, so that path enumeration cannot hold the run for long.
	cteTimeout = 30 * time.Second
	cteBudget  = time.Minute
)

// traversalCTEs are the recursive CTEs over job_io that BenchmarkTraversal
// compares with the in-memory graph. Each counts the datasets downstream
// of ($1, $2) to $3 hops, the start included.
var traversalCTEs = []struct{ name, sql string }{
	// UNION drops repeated (dataset, depth) rows as it goes: each dataset
	// is expanded at most once per depth.
	{"postgres-cte", `
		WITH RECURSIVE down(namespace, name, depth) AS (
			SELECT $1::text, $2::text, 0
			UNION
			SELECT o.namespace, o.name, d.depth + 1
			FROM down d
			JOIN job_io i ON i.namespace = d.namespace AND i.name = d.name AND i.direction = 'in'
			JOIN job_io o ON o.job_id = i.job_id AND o.source = i.source AND o.direction = 'out'
			WHERE d.depth < $3
		)
		SELECT count(DISTINCT (namespace, name)) FROM down`},
	// UNION ALL with a depth bound and DISTINCT at the end, as users
	// usually write it (Marquez's lineage query is of this kind): one row
	// per path, so the work grows with the number of paths.
	{"postgres-cte-unionall", `
		WITH RECURSIVE down(namespace, name, depth) AS (
			SELECT $1::text, $2::text, 0
			UNION ALL
			SELECT o.namespace, o.name, d.depth + 1
			FROM down d
			JOIN job_io i ON i.namespace = d.namespace AND i.name = d.name AND i.direction = 'in'
			JOIN job_io o ON o.job_id = i.job_id AND o.source = i.source AND o.direction = 'out'
			WHERE d.depth < $3
		)
		SELECT count(*) FROM (SELECT DISTINCT namespace, name FROM down) reached`},
}

// BenchmarkTraversal compares the in-memory graph with recursive CTEs over
// job_io, walking downstream to depth 1, 3 and 10 from the same random
// starts, on two graphs of 100,000 datasets and 300,000 edges (one job
// per edge): narrowEdges and wideEdges. Both are in one database and one
// graph, under their own namespaces: a traversal never leaves its own.
//
// Each sub-benchmark reports the latency's p50 and p99, and the median
// and p99 of the number of datasets reached (the start included): "nodes"
// for the graph is the median with its jobs too. The graph's latency
// includes building the whole Subgraph, nodes and edges, uncapped. A CTE
// query that exceeds cteTimeout counts as a timeout at that latency, so
// its percentiles are then lower bounds.
func BenchmarkTraversal(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	shapes := []benchShape{
		{name: "narrow", ns: ns, edges: narrowEdges()},
		{name: "wide", ns: "postgres://mart:5432", edges: wideEdges()},
	}
	start := time.Now()
	for _, sh := range shapes {
		source := "bench-" + sh.name
		jobs := make([]catalog.JobFacts, len(sh.edges))
		for i, e := range sh.edges {
			jobs[i] = catalog.JobFacts{
				Key:     catalog.JobKey{Namespace: source, Name: fmt.Sprintf("j%06d", i)},
				Type:    "task",
				Inputs:  []catalog.Key{{Namespace: sh.ns, Name: benchName(int(e[0]))}},
				Outputs: []catalog.Key{{Namespace: sh.ns, Name: benchName(int(e[1]))}},
			}
		}
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Jobs: jobs}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("ingest of %d shapes of %d jobs: %v", len(shapes), benchEdges, time.Since(start))
	start = time.Now()
	f := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := f.Load(ctx); err != nil {
		b.Fatal(err)
	}
	nd, nj := f.Graph().Size()
	b.Logf("graph load: %v (%d datasets, %d jobs)", time.Since(start), nd, nj)

	// One connection for the CTEs, with the timeout.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT set_config('statement_timeout', $1, false)", fmt.Sprint(cteTimeout.Milliseconds())); err != nil {
		b.Fatal(err)
	}
	defer func() { _, _ = conn.Exec(ctx, "RESET statement_timeout") }()

	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range shapes {
		starts := make([]catalog.Key, memorySamples)
		for i := range starts {
			starts[i] = catalog.Key{Namespace: sh.ns, Name: benchName(rng.IntN(benchDatasets))}
		}
		for _, depth := range []int{1, 3, 10} {
			b.Run(fmt.Sprintf("%s/memory/depth=%d", sh.name, depth), func(b *testing.B) {
				// Start from a collected heap: the setup allocated the
				// jobs of the harvests.
				runtime.GC()
				lat := make([]time.Duration, len(starts))
				datasets, nodes := make([]int, len(starts)), make([]int, len(starts))
				truncated := 0
				for b.Loop() {
					truncated = 0
					for i, k := range starts {
						t0 := time.Now()
						s, err := f.Graph().Traverse(lineage.Query{Start: k, Direction: lineage.Downstream, Depth: depth, MaxNodes: 1 << 21})
						lat[i] = time.Since(t0)
						if err != nil {
							b.Fatal(err)
						}
						if s.Truncated {
							truncated++
						}
						nodes[i], datasets[i] = len(s.Nodes), 0
						for _, n := range s.Nodes {
							if n.ID.Kind == lineage.DatasetNode {
								datasets[i]++
							}
						}
					}
				}
				report(b, lat)
				reportReach(b, datasets)
				b.ReportMetric(median(nodes), "nodes")
				b.ReportMetric(float64(truncated), "truncated")
			})
			// What the API and the explorer ask for: the subgraph capped at
			// lineage.DefaultMaxNodes, with "N more" on the nodes cut off.
			b.Run(fmt.Sprintf("%s/memory-capped/depth=%d", sh.name, depth), func(b *testing.B) {
				runtime.GC()
				lat := make([]time.Duration, len(starts))
				truncated := 0
				for b.Loop() {
					truncated = 0
					for i, k := range starts {
						t0 := time.Now()
						s, err := f.Graph().Traverse(lineage.Query{Start: k, Direction: lineage.Downstream, Depth: depth})
						lat[i] = time.Since(t0)
						if err != nil {
							b.Fatal(err)
						}
						if s.Truncated {
							truncated++
						}
					}
				}
				report(b, lat)
				b.ReportMetric(float64(truncated), "truncated")
			})
			// The CTEs' question, how many datasets are downstream, answered
			// by the breadth-first search behind impact analysis
			// (Graph.Downstream), without building a subgraph.
			b.Run(fmt.Sprintf("%s/memory-reach/depth=%d", sh.name, depth), func(b *testing.B) {
				runtime.GC()
				lat := make([]time.Duration, len(starts))
				datasets := make([]int, len(starts))
				for b.Loop() {
					for i, k := range starts {
						t0 := time.Now()
						levels, err := f.Graph().Downstream(k, depth)
						lat[i] = time.Since(t0)
						if err != nil {
							b.Fatal(err)
						}
						datasets[i] = 1
						for _, l := range levels {
							datasets[i] += len(l)
						}
					}
				}
				report(b, lat)
				reportReach(b, datasets)
			})
			for _, cte := range traversalCTEs {
				b.Run(fmt.Sprintf("%s/%s/depth=%d", sh.name, cte.name, depth), func(b *testing.B) {
					n := cteSamples
					switch {
					case depth == 10 && cte.name == "postgres-cte-unionall":
						n = pathSamples10
					case depth == 10:
						n = cteSamples10
					}
					var lat []time.Duration
					var datasets []int
					timeouts := 0
					for b.Loop() {
						lat, datasets, timeouts = lat[:0], datasets[:0], 0
						var spent time.Duration
						for _, k := range starts[:n] {
							if spent > cteBudget {
								break
							}
							reach := 0
							t0 := time.Now()
							err := conn.QueryRow(ctx, cte.sql, k.Namespace, k.Name, depth).Scan(&reach)
							d := time.Since(t0)
							spent += d
							lat = append(lat, d)
							var pgErr *pgconn.PgError
							switch {
							case errors.As(err, &pgErr) && pgErr.Code == "57014": // query_canceled
								timeouts++
								continue
							case err != nil:
								b.Fatal(err)
							}
							datasets = append(datasets, reach)
						}
					}
					report(b, lat)
					reportReach(b, datasets)
					b.ReportMetric(float64(len(lat)), "samples")
					b.ReportMetric(float64(timeouts), "timeouts")
				})
			}
		}
	}
}

// reportReach reports the median and p99 of the datasets reached.
func reportReach(b *testing.B, datasets []int) {
	b.ReportMetric(median(datasets), "datasets")
	slices.Sort(datasets)
	if n := len(datasets); n > 0 {
		b.ReportMetric(float64(datasets[min(n-1, n*99/100)]), "datasets-p99")
	}
}

// median returns the middle of xs (sorting them), 0 for none.
func median(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return float64(xs[len(xs)/2])
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
	batch := make([]catalog.ColumnEdges, 0, 1000)
	for i := range benchDatasets {
		out := catalog.ColumnEdges{Output: catalog.Key{Namespace: ns, Name: benchName(i)}}
		from := func(off int) catalog.Key {
			return catalog.Key{Namespace: ns, Name: benchName(i - off + benchDatasets)}
		}
		for c := range benchColumns {
			out.Edges = append(out.Edges,
				catalog.ColumnInput{Column: cols[c], Input: from(1), InputColumn: cols[c], Type: "DIRECT", Subtype: "IDENTITY"},
				catalog.ColumnInput{Column: cols[c], Input: from(7), InputColumn: cols[(c+1)%benchColumns], Type: "DIRECT", Subtype: "TRANSFORMATION"},
				catalog.ColumnInput{Column: cols[c], Input: from(13), InputColumn: cols[0], Type: "INDIRECT", Subtype: "FILTER"},
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
