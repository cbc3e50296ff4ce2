package ui

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

// benchLineageDatasets is the size of the explorer benchmark's graph.
const benchLineageDatasets = 100_000

// BenchmarkLineageExplorer measures the explorer's latency at depth 3,
// over HTTP, in a lineage graph of 100,000 datasets: a tree of 8 × 8 × 8
// tables below one source (its farthest branches grouped, and every node
// drawn with draw=all), a wide fan (a dataset read by 300 jobs, each
// writing a table that 3 more jobs read), a job writing 600 tables, and
// the list that replaces a drawing grouping cannot shrink. The rest of
// the graph is chains of tables, each feeding the next three.
func BenchmarkLineageExplorer(b *testing.B) {
	pool, _ := pgtest.NewDB(b)
	g := lineage.NewGraph()
	jobs := append(lineageTree("tree", 8, false), lineageTree("cross", 8, true)...)
	key := func(name string) catalog.Key { return catalog.Key{Namespace: warehouseNS, Name: name} }
	id := int64(100_000)
	job := func(name string, in []catalog.Key, out ...catalog.Key) {
		id++
		jobs = append(jobs, catalog.JobEdges{ID: id, Key: catalog.JobKey{Namespace: "bench", Name: name}, Inputs: in, Outputs: out})
	}
	hub := key("warehouse.fan.hub")
	for i := range 300 {
		mid := key(fmt.Sprintf("warehouse.fan.r%03d", i))
		job(fmt.Sprintf("read_%03d", i), []catalog.Key{hub}, mid)
		for j := range 3 {
			job(fmt.Sprintf("next_%03d_%d", i, j), []catalog.Key{mid}, key(fmt.Sprintf("warehouse.fan.r%03d_%d", i, j)))
		}
	}
	split := key("warehouse.split.events")
	var parts []catalog.Key
	for i := range 600 {
		parts = append(parts, key(fmt.Sprintf("warehouse.split.part_%03d", i)))
	}
	job("split_events", []catalog.Key{split}, parts...)
	datasets := 2*584 + 1 + 300 + 900 + 1 + 600
	for i := range benchLineageDatasets - datasets {
		next := []catalog.Key{}
		for _, off := range []int{1, 7, 13} {
			if i+off < benchLineageDatasets-datasets {
				next = append(next, key(fmt.Sprintf("warehouse.chain.t%06d", i+off)))
			}
		}
		if len(next) > 0 {
			job(fmt.Sprintf("chain_%06d", i), []catalog.Key{key(fmt.Sprintf("warehouse.chain.t%06d", i))}, next...)
		}
	}
	g.SetJobs(jobs)
	nd, nj := g.Size()
	b.Logf("graph: %d datasets, %d jobs", nd, nj)
	// Every dataset the benchmark draws is in the catalog, with ten
	// columns and an owner, so that its node facts are read as on a real
	// catalog (the chains' other datasets are only in the graph).
	st := store.New(pool)
	var facts []catalog.DatasetFacts
	seen := map[catalog.Key]bool{}
	for _, j := range jobs {
		if n := j.Key.Name; strings.HasPrefix(n, "chain_") && (n < "chain_049990" || n > "chain_050013") {
			continue
		}
		for _, k := range append(slices.Clone(j.Inputs), j.Outputs...) {
			if seen[k] {
				continue
			}
			seen[k] = true
			f := catalog.DatasetFacts{Key: k, Platform: "postgres", Kind: catalog.KindTable,
				Owners: []catalog.Owner{{Name: "analytics", Kind: catalog.OwnerTeam}}}
			for c := range 10 {
				f.Columns = append(f.Columns, catalog.Column{Name: fmt.Sprintf("c%d", c), Ordinal: c + 1, Type: "text"})
			}
			facts = append(facts, f)
		}
	}
	if _, err := st.Crawl(b.Context(), "postgres:bench", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: facts}, nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("catalog: %d datasets", len(facts))
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Lineage: g})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	at3 := lineageState{Depth: 3, Direction: "both"}
	all := at3
	all.All = true
	for _, bm := range []struct{ name, path string }{
		{"tree-8x8x8-grouped", at3.url(treeKey("tree", ""))},
		{"tree-8x8x8-all", all.url(treeKey("tree", ""))},
		{"fan-300x3", at3.url(hub)},
		{"outputs-600", at3.url(split)},
		{"list", at3.url(treeKey("cross", ""))},
		{"chain", at3.url(key("warehouse.chain.t050000"))},
	} {
		b.Run(bm.name, func(b *testing.B) {
			get := func() string {
				resp, err := http.Get(ts.URL + bm.path)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: status %d, %v", bm.path, resp.StatusCode, err)
				}
				return string(body)
			}
			page := get() // start Graphviz, warm the connection
			var lat []time.Duration
			for b.Loop() {
				for range 40 {
					t0 := time.Now()
					get()
					lat = append(lat, time.Since(t0))
				}
			}
			slices.Sort(lat)
			q := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(float64(len(page))/1024, "page-KiB")
			// A group or a fan's table is one node of the drawing.
			b.ReportMetric(float64(strings.Count(page, `class="node`)), "drawn")
			if !strings.Contains(page, "analytics") {
				b.Fatalf("GET %s: no node says its owner: the node facts were not read", bm.path)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
