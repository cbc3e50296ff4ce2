package lineage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/lineage"
)

func col(dataset, column string) lineage.ColumnID {
	return lineage.ColumnID{Dataset: k(dataset), Column: column}
}

func in(column, dataset, inputColumn, typ, subtype string) catalog.ColumnInput {
	return catalog.ColumnInput{Column: column, Input: k(dataset), InputColumn: inputColumn, Type: typ, Subtype: subtype}
}

// columnGraph is
//
//	src.id ──────────────▶ stg.id
//	src.amount ──────────▶ stg.amount ──AGG──▶ rev.total ──▶ rep_a.total ⇄ rep_b.total
//	src.status ─INDIRECT─▶ stg.amount, stg.id
//	stg.id ─INDIRECT GROUP_BY─▶ rev.total
//
// with a cycle between rep_a and rep_b.
func columnGraph() *lineage.Graph {
	g := lineage.NewGraph()
	g.SetColumnLineage([]catalog.ColumnEdges{
		{Output: k("stg"), Edges: []catalog.ColumnInput{
			in("id", "src", "id", "DIRECT", "IDENTITY"),
			in("amount", "src", "amount", "DIRECT", "IDENTITY"),
			in("amount", "src", "status", "INDIRECT", "FILTER"),
			in("id", "src", "status", "INDIRECT", "FILTER"),
		}},
		{Output: k("rev"), Edges: []catalog.ColumnInput{
			in("total", "stg", "amount", "DIRECT", "AGGREGATION"),
			in("total", "stg", "id", "INDIRECT", "GROUP_BY"),
		}},
		{Output: k("rep_a"), Edges: []catalog.ColumnInput{
			in("total", "rev", "total", "DIRECT", "IDENTITY"),
			in("total", "rep_b", "total", "DIRECT", "IDENTITY"),
		}},
		{Output: k("rep_b"), Edges: []catalog.ColumnInput{in("total", "rep_a", "total", "DIRECT", "TRANSFORMATION")}},
	})
	return g
}

// renderColumns lists a column subgraph's nodes as "dataset.column
// distance [+more]" and its edges as "from > to TYPE/SUBTYPE", sorted.
func renderColumns(s lineage.ColumnSubgraph) []string {
	var out []string
	name := func(c lineage.ColumnID) string { return c.Dataset.Name + "." + c.Column }
	for _, n := range s.Nodes {
		line := fmt.Sprintf("%s %d", name(n.ID), n.Distance)
		if n.More > 0 {
			line += fmt.Sprintf(" +%d", n.More)
		}
		out = append(out, line)
	}
	for _, e := range s.Edges {
		line := name(e.From) + " > " + name(e.To) + " " + e.Type + "/" + e.Subtype
		if e.Indirect() != (e.Type == "INDIRECT") {
			line += " (Indirect disagrees with Type)"
		}
		out = append(out, line)
	}
	if s.Truncated {
		out = append(out, "truncated")
	}
	slices.Sort(out)
	return out
}

func TestTraverseColumns(t *testing.T) {
	g := columnGraph()
	tests := []struct {
		name string
		q    lineage.ColumnQuery
		want []string
	}{
		{"default: one hop each way, indirect included", lineage.ColumnQuery{Start: col("stg", "amount")}, []string{
			"src.amount -1", "src.status -1", "stg.amount 0", "rev.total 1 +1",
			"src.amount > stg.amount DIRECT/IDENTITY", "src.status > stg.amount INDIRECT/FILTER", "stg.amount > rev.total DIRECT/AGGREGATION",
		}},
		{"direct only", lineage.ColumnQuery{Start: col("stg", "amount"), DirectOnly: true}, []string{
			"src.amount -1", "stg.amount 0", "rev.total 1 +1",
			"src.amount > stg.amount DIRECT/IDENTITY", "stg.amount > rev.total DIRECT/AGGREGATION",
		}},
		{"downstream through the cycle", lineage.ColumnQuery{Start: col("rev", "total"), Direction: lineage.Downstream, Depth: 10}, []string{
			"rev.total 0", "rep_a.total 1", "rep_b.total 2",
			"rev.total > rep_a.total DIRECT/IDENTITY", "rep_a.total > rep_b.total DIRECT/TRANSFORMATION", "rep_b.total > rep_a.total DIRECT/IDENTITY",
		}},
		{"upstream, depth 2: the edge of the depth counts what is beyond", lineage.ColumnQuery{Start: col("rep_a", "total"), Direction: lineage.Upstream, Depth: 2}, []string{
			"rep_a.total 0", "rev.total -1", "rep_b.total -1", "stg.amount -2 +2", "stg.id -2 +2",
			"rev.total > rep_a.total DIRECT/IDENTITY", "rep_b.total > rep_a.total DIRECT/IDENTITY",
			"rep_a.total > rep_b.total DIRECT/TRANSFORMATION",
			"stg.amount > rev.total DIRECT/AGGREGATION", "stg.id > rev.total INDIRECT/GROUP_BY",
		}},
		{"node cap", lineage.ColumnQuery{Start: col("stg", "amount"), MaxNodes: 2}, []string{
			// stg.amount and src.amount fill the cap: src.status upstream
			// and rev.total downstream are left out.
			"stg.amount 0 +2", "src.amount -1", "src.amount > stg.amount DIRECT/IDENTITY", "truncated",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := g.TraverseColumns(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if s.Start != tt.q.Start {
				t.Errorf("start = %v, want %v", s.Start, tt.q.Start)
			}
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, renderColumns(s)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, c := range []lineage.ColumnID{col("nope", "id"), col("stg", "nope")} {
		if _, err := g.TraverseColumns(lineage.ColumnQuery{Start: c}); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("start %s: %v, want ErrNotFound", c, err)
		}
	}
	if n, e := g.ColumnSize(); n != 8 || e != 9 {
		t.Errorf("ColumnSize() = %d columns, %d edges; want 8, 9", n, e)
	}
}

func TestColumnsDownstreamAndPath(t *testing.T) {
	g := columnGraph()
	levels, err := g.ColumnsDownstream(col("src", "status"), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]lineage.ColumnID{
		{col("stg", "amount"), col("stg", "id")},
		{col("rev", "total")},
		{col("rep_a", "total")},
		{col("rep_b", "total")},
	}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("downstream of src.status (-want +got):\n%s", diff)
	}
	if levels, _ := g.ColumnsDownstream(col("src", "status"), 0, true); len(levels) != 0 {
		t.Errorf("direct only, src.status reaches %v, want nothing", levels)
	}
	if levels, _ := g.ColumnsDownstream(col("src", "status"), 2, false); len(levels) != 2 {
		t.Errorf("depth 2 gave %d levels, want 2", len(levels))
	}

	path, err := g.ColumnPath(col("src", "id"), col("rep_b", "total"), false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range path {
		got = append(got, s.Column.Dataset.Name+"."+s.Column.Column+" "+s.Type+"/"+s.Subtype)
	}
	wantPath := []string{"src.id DIRECT/IDENTITY", "stg.id INDIRECT/GROUP_BY", "rev.total DIRECT/IDENTITY", "rep_a.total DIRECT/TRANSFORMATION", "rep_b.total /"}
	if diff := cmp.Diff(wantPath, got); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if _, err := g.ColumnPath(col("src", "id"), col("rep_b", "total"), true); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("direct-only path through a GROUP_BY: %v, want ErrNotFound", err)
	}
}

// TestSetColumnLineageReplaces checks that new lineage of an output drops
// its old edges from both ends.
func TestSetColumnLineageReplaces(t *testing.T) {
	g := columnGraph()
	g.SetColumnLineage([]catalog.ColumnEdges{{Output: k("stg"), Edges: []catalog.ColumnInput{in("amount", "src", "amount", "DIRECT", "IDENTITY")}}})
	if levels, _ := g.ColumnsDownstream(col("src", "status"), 0, false); len(levels) != 0 {
		t.Errorf("src.status still reaches %v", levels)
	}
	if levels, _ := g.ColumnsDownstream(col("src", "id"), 0, false); len(levels) != 0 {
		t.Errorf("src.id still reaches %v", levels)
	}
	g.SetColumnLineage([]catalog.ColumnEdges{{Output: k("rev")}})
	s, err := g.TraverseColumns(lineage.ColumnQuery{Start: col("stg", "amount"), Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"src.amount -1", "src.amount > stg.amount DIRECT/IDENTITY", "stg.amount 0"}, renderColumns(s)); diff != "" {
		t.Errorf("after dropping rev's lineage (-want +got):\n%s", diff)
	}
	if _, e := g.ColumnSize(); e != 4 {
		t.Errorf("%d edges, want 4 (stg 1, rep_a 2, rep_b 1)", e)
	}
}

// TestFollowColumns checks that the column layer follows the change log:
// pushed column lineage, then different lineage for the same output, then
// a crawl that drops the view and one that brings it back.
func TestFollowColumns(t *testing.T) {
	ctx := context.Background()
	st, f := setup(t)
	push := func(rows ...catalog.ColumnLineage) {
		t.Helper()
		if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, ColumnLineage: rows}); err != nil {
			t.Fatal(err)
		}
		if err := f.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	upstream := func(c lineage.ColumnID) []string {
		t.Helper()
		s, err := f.Graph().TraverseColumns(lineage.ColumnQuery{Start: c, Direction: lineage.Upstream})
		if err != nil {
			t.Fatal(err)
		}
		return renderColumns(s)
	}
	cl := func(out, outCol, input, inCol, typ string) catalog.ColumnLineage {
		return catalog.ColumnLineage{Output: k(out), Column: outCol, Input: k(input), InputColumn: inCol, Type: typ, Subtype: "IDENTITY"}
	}

	push(cl("d", "id", "b", "id", "DIRECT"), cl("d", "id", "b", "flag", "INDIRECT"))
	want := []string{"b.flag -1", "b.id -1", "d.id 0", "b.flag > d.id INDIRECT/IDENTITY", "b.id > d.id DIRECT/IDENTITY"}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), upstream(col("d", "id"))); diff != "" {
		t.Errorf("after the first push (-want +got):\n%s", diff)
	}

	push(cl("d", "id", "x", "key", "DIRECT"))
	want = []string{"d.id 0", "x.key -1", "x.key > d.id DIRECT/IDENTITY"}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), upstream(col("d", "id"))); diff != "" {
		t.Errorf("after the second push (-want +got):\n%s", diff)
	}
	if levels, _ := f.Graph().ColumnsDownstream(col("b", "id"), 0, false); len(levels) != 0 {
		t.Errorf("the old edge from b.id is still there: %v", levels)
	}

	// Owners of impacted columns come from their datasets (d is alice's).
	impact, err := f.ColumnImpact(ctx, col("x", "key"), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	wantImpact := []lineage.ColumnImpactLevel{{Distance: 1, Columns: []lineage.ImpactedColumn{
		{ID: col("d", "id"), Owners: []catalog.Owner{{Name: "alice", Kind: catalog.OwnerUser, Type: "technical"}}},
	}}}
	if diff := cmp.Diff(wantImpact, impact); diff != "" {
		t.Errorf("column impact (-want +got):\n%s", diff)
	}

	// The crawl of source "test" reports c's column lineage, then drops c.
	crawlColumns := func(datasets []catalog.DatasetFacts, rows ...catalog.ColumnLineage) {
		t.Helper()
		h := catalog.Harvest{Datasets: datasets, ColumnLineage: rows, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "c"}}}
		if _, err := st.Crawl(ctx, "test", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
		if err := f.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	withC := []catalog.DatasetFacts{{Key: k("c"), Kind: catalog.KindView}}
	crawlColumns(withC, cl("c", "v", "b", "id", "DIRECT"))
	want = []string{"b.id -1", "c.v 0", "b.id > c.v DIRECT/IDENTITY"}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), upstream(col("c", "v"))); diff != "" {
		t.Errorf("after the crawl (-want +got):\n%s", diff)
	}
	crawlColumns(nil)
	if diff := cmp.Diff([]string{"c.v 0"}, upstream(col("c", "v"))); diff != "" {
		t.Errorf("after c was dropped (-want +got):\n%s", diff)
	}
	crawlColumns(withC, cl("c", "v", "b", "id", "DIRECT"))
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), upstream(col("c", "v"))); diff != "" {
		t.Errorf("after c came back (-want +got):\n%s", diff)
	}

	// A fresh load sees what the follower built.
	g := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := g.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if n, e := g.Graph().ColumnSize(); e != 2 || n != 4 {
		t.Errorf("loaded %d columns and %d edges, want 4 and 2 (x.key > d.id, b.id > c.v)", n, e)
	}
}

// wideGraph is a join of l and r into joined (columns a, b and c, c a
// literal with no input of its own), filtered on l.region: the join keys
// and the filter are dataset-wide lineage (column ""), inputs of every
// column of joined. rep.x copies joined.c.
func wideGraph() *lineage.Graph {
	g := lineage.NewGraph()
	g.SetColumnLineage([]catalog.ColumnEdges{
		{Output: k("joined"), Columns: []string{"a", "b", "c"}, Edges: []catalog.ColumnInput{
			in("a", "l", "a", "DIRECT", "IDENTITY"),
			in("b", "r", "b", "DIRECT", "IDENTITY"),
			in("", "l", "k", "INDIRECT", "JOIN"),
			in("", "r", "k", "INDIRECT", "JOIN"),
			in("", "l", "region", "INDIRECT", "FILTER"),
		}},
		{Output: k("rep"), Edges: []catalog.ColumnInput{in("x", "joined", "c", "DIRECT", "IDENTITY")}},
	})
	return g
}

// TestDatasetWideColumnLineage checks that dataset-wide inputs are inputs
// of every column of the output: upstream of any column, downstream of
// the input, in impact and in paths.
func TestDatasetWideColumnLineage(t *testing.T) {
	g := wideGraph()
	wide := func(to string) []string {
		return []string{"l.k > " + to + " INDIRECT/JOIN", "r.k > " + to + " INDIRECT/JOIN", "l.region > " + to + " INDIRECT/FILTER"}
	}
	tests := []struct {
		name string
		q    lineage.ColumnQuery
		want []string
	}{
		{"upstream of a column with inputs of its own", lineage.ColumnQuery{Start: col("joined", "a"), Direction: lineage.Upstream},
			append([]string{"joined.a 0", "l.a -1", "l.k -1", "r.k -1", "l.region -1", "l.a > joined.a DIRECT/IDENTITY"}, wide("joined.a")...)},
		{"upstream of a column with none", lineage.ColumnQuery{Start: col("joined", "c"), Direction: lineage.Upstream},
			append([]string{"joined.c 0", "l.k -1", "r.k -1", "l.region -1"}, wide("joined.c")...)},
		{"direct only leaves them out", lineage.ColumnQuery{Start: col("joined", "a"), Direction: lineage.Upstream, DirectOnly: true},
			[]string{"joined.a 0", "l.a -1", "l.a > joined.a DIRECT/IDENTITY"}},
		{"downstream of a join key: every column, and on", lineage.ColumnQuery{Start: col("l", "k"), Direction: lineage.Downstream, Depth: 2},
			[]string{"l.k 0", "joined.a 1", "joined.b 1", "joined.c 1", "rep.x 2",
				"l.k > joined.a INDIRECT/JOIN", "l.k > joined.b INDIRECT/JOIN", "l.k > joined.c INDIRECT/JOIN", "joined.c > rep.x DIRECT/IDENTITY"}},
		{"the node cap counts the columns left out", lineage.ColumnQuery{Start: col("l", "region"), Direction: lineage.Downstream, MaxNodes: 2},
			[]string{"l.region 0 +2", "joined.a 1", "l.region > joined.a INDIRECT/FILTER", "truncated"}},
		{"the whole dataset: its dataset-wide inputs", lineage.ColumnQuery{Start: col("joined", ""), Direction: lineage.Upstream},
			append([]string{"joined. 0", "l.k -1", "r.k -1", "l.region -1"}, wide("joined.")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := g.TraverseColumns(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(slices.Sorted(slices.Values(tt.want)), renderColumns(s)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	levels, err := g.ColumnsDownstream(col("l", "region"), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]lineage.ColumnID{{col("joined", "a"), col("joined", "b"), col("joined", "c")}, {col("rep", "x")}}, levels); diff != "" {
		t.Errorf("downstream of l.region (-want +got):\n%s", diff)
	}
	if levels, _ := g.ColumnsDownstream(col("l", "region"), 0, true); len(levels) != 0 {
		t.Errorf("direct only, l.region reaches %v", levels)
	}
	path, err := g.ColumnPath(col("r", "k"), col("rep", "x"), false)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range path {
		steps = append(steps, s.Column.Dataset.Name+"."+s.Column.Column+" "+s.Type+"/"+s.Subtype)
	}
	if diff := cmp.Diff([]string{"r.k INDIRECT/JOIN", "joined.c DIRECT/IDENTITY", "rep.x /"}, steps); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	// Dataset-wide lineage is held once, not once per column.
	if _, e := g.ColumnSize(); e != 6 {
		t.Errorf("%d edges, want 6", e)
	}

	// An output whose columns are unknown: the whole dataset stands for them.
	g.SetColumnLineage([]catalog.ColumnEdges{{Output: k("joined"), Edges: []catalog.ColumnInput{in("", "l", "k", "INDIRECT", "JOIN")}}})
	levels, _ = g.ColumnsDownstream(col("l", "k"), 0, false)
	if diff := cmp.Diff([][]lineage.ColumnID{{col("joined", "")}}, levels); diff != "" {
		t.Errorf("downstream of l.k into columns unknown (-want +got):\n%s", diff)
	}
	// New lineage without dataset-wide inputs drops them.
	g.SetColumnLineage([]catalog.ColumnEdges{{Output: k("joined"), Columns: []string{"a", "b", "c"}, Edges: []catalog.ColumnInput{in("a", "l", "a", "DIRECT", "IDENTITY")}}})
	if levels, _ := g.ColumnsDownstream(col("l", "k"), 0, false); len(levels) != 0 {
		t.Errorf("l.k still reaches %v", levels)
	}
	s, err := g.TraverseColumns(lineage.ColumnQuery{Start: col("joined", "a"), Direction: lineage.Upstream})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"joined.a 0", "l.a -1", "l.a > joined.a DIRECT/IDENTITY"}, renderColumns(s)); diff != "" {
		t.Errorf("upstream of joined.a after (-want +got):\n%s", diff)
	}
}

// TestFollowDatasetWideColumns checks that the follower gives the graph
// the columns a dataset-wide input applies to: the output's schema, also
// the columns without lineage of their own, and a column added later.
func TestFollowDatasetWideColumns(t *testing.T) {
	ctx := context.Background()
	st, f := setup(t)
	push := func(p catalog.Push) {
		t.Helper()
		p.Source = catalog.SourceOpenLineage
		if err := st.ApplyPush(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := f.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	schema := func(cols ...string) []catalog.DatasetUpdate {
		facts := catalog.DatasetFacts{Key: k("joined")}
		for i, c := range cols {
			facts.Columns = append(facts.Columns, catalog.Column{Name: c, Ordinal: i + 1, Type: "text", Nullable: true})
		}
		return []catalog.DatasetUpdate{{Facts: facts, Asserts: catalog.FacetSchema}}
	}
	push(catalog.Push{Datasets: schema("a", "lit"), ColumnLineage: []catalog.ColumnLineage{
		{Output: k("joined"), Column: "a", Input: k("l"), InputColumn: "a", Type: "DIRECT", Subtype: "IDENTITY"},
		{Output: k("joined"), Input: k("l"), InputColumn: "region", Type: "INDIRECT", Subtype: "FILTER"},
	}})
	impact := func() []lineage.ColumnID {
		t.Helper()
		levels, err := f.ColumnImpact(ctx, col("l", "region"), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []lineage.ColumnID
		for _, l := range levels {
			for _, c := range l.Columns {
				out = append(out, c.ID)
			}
		}
		return out
	}
	if diff := cmp.Diff([]lineage.ColumnID{col("joined", "a"), col("joined", "lit")}, impact()); diff != "" {
		t.Errorf("impact of l.region (-want +got):\n%s", diff)
	}
	s, err := f.ColumnLineage(ctx, lineage.ColumnQuery{Start: col("joined", "lit"), Direction: lineage.Upstream})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"joined.lit 0", "l.region -1", "l.region > joined.lit INDIRECT/FILTER"}, renderColumns(s)); diff != "" {
		t.Errorf("upstream of joined.lit (-want +got):\n%s", diff)
	}

	// A column added to the schema alone: the filter applies to it too.
	push(catalog.Push{Datasets: schema("a", "lit", "added")})
	if diff := cmp.Diff([]lineage.ColumnID{col("joined", "a"), col("joined", "added"), col("joined", "lit")}, impact()); diff != "" {
		t.Errorf("impact of l.region after the schema grew (-want +got):\n%s", diff)
	}
	// A fresh load agrees.
	g := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := g.Load(ctx); err != nil {
		t.Fatal(err)
	}
	levels, err := g.Graph().ColumnsDownstream(col("l", "region"), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]lineage.ColumnID{{col("joined", "a"), col("joined", "added"), col("joined", "lit")}}, levels); diff != "" {
		t.Errorf("loaded graph (-want +got):\n%s", diff)
	}
}
