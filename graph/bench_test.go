package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
)

const (
	benchDatasets = 100_000
	benchPages    = 200 // datasets with 50 columns, owners, tags and 12 schema versions
)

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

	srv := newBenchServer(b, pool)
	e := &env{url: srv}
	b.Run("dataset", func(b *testing.B) {
		measure(b, 2000, func(i int) {
			r := e.post(b, benchDatasetPage, map[string]any{"ns": fixtureNS, "name": fmt.Sprintf("bench.s%03d.t%06d", i%benchPages%500, i%benchPages)})
			if len(r.Errors) > 0 || len(r.Data) < 5000 {
				b.Fatalf("errors %+v, data %.200s", r.Errors, r.Data)
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

func newBenchServer(b *testing.B, pool *pgxpool.Pool) string {
	h := graph.NewHandler(graph.Options{Store: store.New(pool)})
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
	var lat []time.Duration
	for b.Loop() {
		for i := range requests {
			t0 := time.Now()
			request(i)
			lat = append(lat, time.Since(t0))
		}
	}
	slices.Sort(lat)
	ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
