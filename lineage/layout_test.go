package lineage_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/lineage"
)

func TestSVG(t *testing.T) {
	_, f := setup(t)
	sub, err := f.Graph().Traverse(lineage.Query{Start: k("b"), Depth: 2})
	if err != nil {
		t.Fatal(err)
	}
	path := map[lineage.NodeID]bool{lineage.DatasetID(k("b")): true, lineage.JobID(catalog.JobKey{Namespace: "airflow", Name: "j2"}): true, lineage.DatasetID(k("c")): true}
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{
		Href:      func(n lineage.NodeID) string { return "/lineage/" + n.Namespace + "/" + n.Name },
		Highlight: path,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", `id="dataset:` + ns + `:b"`, `href="/lineage/` + ns + `/d"`, ">j4<", "#d97706"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("svg lacks %q", want)
		}
	}
}

// BenchmarkSVG lays out a 200-node subgraph.
func BenchmarkSVG(b *testing.B) {
	g := lineage.NewGraph()
	var jobs []lineage.JobEdges
	for i := range 100 {
		jobs = append(jobs, lineage.JobEdges{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "b", Name: fmt.Sprint("j", i)},
			Inputs: []catalog.Key{k(fmt.Sprint("t", i/3))}, Outputs: []catalog.Key{k(fmt.Sprint("t", i+1))}})
	}
	g.SetJobs(jobs)
	sub, err := g.Traverse(lineage.Query{Start: k("t0"), Direction: lineage.Downstream, Depth: 50})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lineage.SVG(ctx, sub, lineage.SVGOptions{}) // start Graphviz
	var total time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := lineage.SVG(ctx, sub, lineage.SVGOptions{}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
	}
	b.ReportMetric(float64(len(sub.Nodes)), "nodes")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/svg")
}
