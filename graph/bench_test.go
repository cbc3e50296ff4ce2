package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/search"
)

// benchPages datasets have 50 columns, owners, tags and 12 schema versions.
const benchPages = 200

// benchDatasets is the size of the benchmark's catalog: 100,000 datasets,
// or ALMANAC_BENCH_DATASETS (at least benchPages) for a quick run.
var benchDatasets = func() int {
	if n, err := strconv.Atoi(os.Getenv("ALMANAC_BENCH_DATASETS")); err == nil && n >= benchPages {
		return n
	}
	return 100_000
}()

// benchFacts generates the catalog of the benchmark: benchDatasets tables
// of 5 columns, of which the first benchPages have 50 columns, owners and
// tags; version v renames one column of those.
func benchFacts(v int) []catalog.DatasetFacts {
	out := make([]catalog.DatasetFacts, 0, benchDatasets)
	for i := range benchDatasets {
		f := catalog.DatasetFacts{
			Key:      catalog.Key{Namespace: fixtureNS, Name: fmt.Sprintf("bench.s%03d.t%06d", i%500, i)},
			Platform: "postgres", Kind: catalog.KindTable, Description: fmt.Sprintf("Table %d.", i),
			RowEstimate: ptr(int64(i * 10)),
		}
		ncols := 5
		if i < benchPages {
			ncols = 50
			f.Owners = []catalog.Owner{{Name: "team" + fmt.Sprint(i%7), Kind: catalog.OwnerTeam, Type: "technical"}, {Name: "owner_role", Kind: catalog.OwnerRole}}
			f.Tags = []string{"bench", fmt.Sprintf("tier%d", i%3)}
		}
		for c := range ncols {
			name := fmt.Sprintf("c%02d", c)
			if i < benchPages && c == 1 && v > 0 {
				name = fmt.Sprintf("c01_v%d", v)
			}
			f.Columns = append(f.Columns, catalog.Column{Name: name, Ordinal: c + 1, Type: "text", Nullable: c > 0, Description: "Column " + name + "."})
		}
		out = append(out, f)
	}
	return out
}

const benchDatasetPage = `query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) {
	id namespace name platform kind description descriptionSource rowEstimate sizeBytes
	columns { name ordinal type nullable default primaryKey typeSource description descriptionSource }
	owners { name kind type source } tags { name source }
	schemaHistory(first: 10) { edges { node { version source recordedAt diff { added { name } removed { name } renamed { from to } } } } }
	updatedAt } }`

// benchSearch asks for what the index returns; benchSearchDatasets also
// for the hits' datasets, which reads PostgreSQL.
const (
	benchSearch = `query($q: String!) { search(query: $q, first: 20) { totalCount
	facets { key values { value count } } edges { node { namespace name kind owners tags matched
	nameHighlight descriptionHighlight columns { name highlight } } } } }`
	benchSearchDatasets = `query($q: String!) { search(query: $q, first: 20) { totalCount
	facets { key values { value count } } edges { node { matched nameHighlight columns { name highlight }
	dataset { namespace name kind description owners { name } tags { name } } } } } }`
)

const benchListing = `{ datasets(first: 50, filter: {tag: "bench"}) { totalCount edges { node {
	name description columns { name type } owners { name } tags { name } } } } }`

// BenchmarkGraphQL measures, over HTTP, the latency of the dataset-page
// query (a dataset, its 50 columns, owners, tags and last 10 schema
// versions) and of a 50-dataset listing, in a catalog of 100,000 datasets.
// Target: dataset query p99 ≤ 10 ms.
func BenchmarkGraphQL(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	start := time.Now()
	if _, err := st.Crawl(ctx, "postgres:bench", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: benchFacts(0)}, nil
	}); err != nil {
		b.Fatal(err)
	}
	for v := 1; v <= 11; v++ {
		all := benchFacts(v)
		if _, err := st.Crawl(ctx, "postgres:bench", func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: all[:benchPages]}, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d datasets in %s", benchDatasets, time.Since(start).Round(time.Millisecond))

	idx, err := search.Open(ctx, filepath.Join(b.TempDir(), "index"), st, search.Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	b.Logf("indexed for search after %s", time.Since(start).Round(time.Millisecond))

	srv := newBenchServer(b, pool, idx)
	e := &env{url: srv}
	b.Run("dataset", func(b *testing.B) {
		measure(b, 2000, func(i int) {
			r := e.post(b, benchDatasetPage, map[string]any{"ns": fixtureNS, "name": fmt.Sprintf("bench.s%03d.t%06d", i%benchPages%500, i%benchPages)})
			if len(r.Errors) > 0 || len(r.Data) < 5000 {
				b.Fatalf("errors %+v, data %.200s", r.Errors, r.Data)
			}
		})
	})
	// The same searches straight on the index and through GraphQL over
	// HTTP, alternating, so that both see the same machine: the difference
	// of the medians is what the API adds (target: ≤ 1 ms at p50).
	queries := []string{"t000042", "c01 bench", "table 77", "tier2", "s017 column", "team3 c20"}
	b.Run("search", func(b *testing.B) {
		direct := func(i int) {
			q, err := search.Parse(queries[i%len(queries)])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := idx.Search(ctx, search.Request{Query: q, Limit: 20}); err != nil {
				b.Fatal(err)
			}
		}
		api := func(i int) {
			if r := e.post(b, benchSearch, map[string]any{"q": queries[i%len(queries)]}); len(r.Errors) > 0 {
				b.Fatalf("errors %+v", r.Errors)
			}
		}
		for i := range 50 { // warm the connections and the query cache
			direct(i)
			api(i)
		}
		var d, g latencies
		for b.Loop() {
			for i := range 600 {
				d.time(func() { direct(i) })
				g.time(func() { api(i) })
			}
		}
		d.report(b, "direct-")
		g.report(b, "graphql-")
		b.ReportMetric(g.quantile(0.5)-d.quantile(0.5), "added-p50-ms")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("search-graphql-datasets", func(b *testing.B) {
		measure(b, 600, func(i int) {
			r := e.post(b, benchSearchDatasets, map[string]any{"q": queries[i%len(queries)]})
			if len(r.Errors) > 0 {
				b.Fatalf("errors %+v", r.Errors)
			}
		})
	})
	b.Run("listing", func(b *testing.B) {
		measure(b, 500, func(int) {
			if r := e.post(b, benchListing, nil); len(r.Errors) > 0 {
				b.Fatalf("errors %+v", r.Errors)
			}
		})
	})
}

func newBenchServer(b *testing.B, pool *pgxpool.Pool, idx *search.Index) string {
	h := graph.NewHandler(graph.Options{Store: store.New(pool), Search: idx})
	mux := http.NewServeMux()
	mux.Handle("/graphql", h)
	srv := newHTTPServer(b, mux)
	return srv + "/graphql"
}

// measure runs requests requests per iteration, one after another,
// and reports the median and 99th percentile latency.
func measure(b *testing.B, requests int, request func(i int)) {
	for i := range 50 { // warm the connections and the query cache
		request(i)
	}
	var lat latencies
	for b.Loop() {
		for i := range requests {
			lat.time(func() { request(i) })
		}
	}
	lat.report(b, "")
	b.ReportMetric(0, "ns/op")
}

// latencies collects request times for percentiles.
type latencies []time.Duration

func (l *latencies) time(f func()) {
	t0 := time.Now()
	f()
	*l = append(*l, time.Since(t0))
}

// quantile returns the q-quantile in milliseconds.
func (l latencies) quantile(q float64) float64 {
	s := slices.Sorted(slices.Values(l))
	return float64(s[int(q*float64(len(s)-1))].Microseconds()) / 1000
}

// report reports the median and the 99th percentile, in milliseconds.
func (l latencies) report(b *testing.B, prefix string) {
	b.ReportMetric(l.quantile(0.50), prefix+"p50-ms")
	b.ReportMetric(l.quantile(0.99), prefix+"p99-ms")
}
