package lineage_test

import (
	"context"
	"fmt"
	"html"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/lineage"
)

// treeJobs is a tree of fan × fan × … tables (levels deep) below
// tree.source, one job per table writing its fan children, named like a
// warehouse's: tree.l1_3, tree.l2_3_5…
func treeJobs(fan, levels int) []catalog.JobEdges {
	var jobs []catalog.JobEdges
	var grow func(parent string, level int)
	grow = func(parent string, level int) {
		if level > levels {
			return
		}
		j := catalog.JobEdges{ID: int64(len(jobs) + 1), Key: catalog.JobKey{Namespace: "airflow", Name: "build_" + strings.TrimPrefix(parent, "tree.")}, Inputs: []catalog.Key{k(parent)}}
		jobs = append(jobs, catalog.JobEdges{})
		at := len(jobs) - 1
		suffix := strings.TrimPrefix(strings.TrimPrefix(parent, "tree.source"), "tree.l")
		for i := range fan {
			name := fmt.Sprintf("tree.l%d%s_%d", level, strings.TrimPrefix(suffix, fmt.Sprint(level-1)), i+1)
			j.Outputs = append(j.Outputs, k(name))
			grow(name, level+1)
		}
		jobs[at] = j
	}
	grow("tree.source", 1)
	return jobs
}

func treeGraph(tb testing.TB, fan, levels, depth int) lineage.Subgraph {
	g := lineage.NewGraph()
	g.SetJobs(treeJobs(fan, levels))
	sub, err := g.Traverse(lineage.Query{Start: k("tree.source"), Direction: lineage.Both, Depth: depth})
	if err != nil {
		tb.Fatal(err)
	}
	return sub
}

func jobID(name string) lineage.NodeID {
	return lineage.JobID(catalog.JobKey{Namespace: "airflow", Name: name})
}

// TestGroups checks the grouping rule: nothing in a drawing within the
// budget; the farthest ring of branches first, all of it, until the
// drawing fits; nothing opened, kept or linked twice; fans count as one
// node; upstream as downstream.
func TestGroups(t *testing.T) {
	tree := treeGraph(t, 8, 3, 3)
	upTree := func() lineage.Subgraph {
		g := lineage.NewGraph()
		jobs := treeJobs(8, 3)
		for i := range jobs {
			jobs[i].Inputs, jobs[i].Outputs = jobs[i].Outputs, jobs[i].Inputs
		}
		g.SetJobs(jobs)
		sub, err := g.Traverse(lineage.Query{Start: k("tree.source"), Direction: lineage.Upstream, Depth: 3})
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}()
	// Each table of the second level also written by a job of the first
	// level's previous table: no branch below the start is a tree.
	twice := func() lineage.Subgraph {
		g := lineage.NewGraph()
		jobs := treeJobs(8, 2)
		for i := range 8 {
			fix := catalog.JobEdges{ID: int64(100 + i), Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprint("fix_", i+1)},
				Inputs: []catalog.Key{k(fmt.Sprint("tree.l1_", i+1))}}
			for j := range 8 {
				fix.Outputs = append(fix.Outputs, k(fmt.Sprintf("tree.l2_%d_%d", (i+1)%8+1, j+1)))
			}
			jobs = append(jobs, fix)
		}
		g.SetJobs(jobs)
		sub, err := g.Traverse(lineage.Query{Start: k("tree.source"), Direction: lineage.Downstream, Depth: 2})
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}()
	// A dataset read by 64 jobs, each writing a table that one more job
	// reads: 64 branches of 4 nodes below the start.
	readers := func() lineage.Subgraph {
		g := lineage.NewGraph()
		var jobs []catalog.JobEdges
		for i := range 64 {
			jobs = append(jobs,
				catalog.JobEdges{ID: int64(2*i + 1), Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprintf("read_%02d", i)},
					Inputs: []catalog.Key{k("hub")}, Outputs: []catalog.Key{k(fmt.Sprintf("r%02d", i))}},
				catalog.JobEdges{ID: int64(2*i + 2), Key: catalog.JobKey{Namespace: "airflow", Name: fmt.Sprintf("next_%02d", i)},
					Inputs: []catalog.Key{k(fmt.Sprintf("r%02d", i))}, Outputs: []catalog.Key{k(fmt.Sprintf("s%02d", i))}})
		}
		g.SetJobs(jobs)
		sub, err := g.Traverse(lineage.Query{Start: k("hub"), Direction: lineage.Both, Depth: 2})
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}()
	for _, tc := range []struct {
		name   string
		sub    lineage.Subgraph
		budget int
		open   []lineage.NodeID
		keep   []lineage.NodeID
		want   []string // "down|up hub: label" of each group, in order
		drawn  int
	}{
		{name: "within the budget", sub: tree, budget: 500, drawn: 500},
		{name: "8 × 8 × 8 at depth 3", sub: tree, budget: 120,
			// The ring of the second level's jobs alone leaves 176 nodes
			// (the cap cut the rest): the first level's go too.
			want: []string{
				"down " + jobID("build_l1_1").String() + ": 72 datasets, 8 jobs",
				"down " + jobID("build_l1_2").String() + ": 72 datasets, 8 jobs",
				"down " + jobID("build_l1_3").String() + ": 72 datasets, 8 jobs",
				"down " + jobID("build_l1_4").String() + ": 72 datasets, 8 jobs",
				"down " + jobID("build_l1_5").String() + ": 72 datasets, 8 jobs",
				"down " + jobID("build_l1_6").String() + ": 59 datasets, 7 jobs",
				"down " + jobID("build_l1_7").String() + ": 8 datasets",
				"down " + jobID("build_l1_8").String() + ": 8 datasets",
			}, drawn: 26},
		{name: "a budget the farthest ring meets", sub: tree, budget: 200, drawn: 176},
		{name: "one group opened", sub: tree, budget: 120, open: []lineage.NodeID{jobID("build_l1_1")}, drawn: 49},
		{name: "a leaf kept", sub: tree, budget: 120, keep: []lineage.NodeID{lineage.DatasetID(k("tree.l3_2_3_4"))}, drawn: 30},
		{name: "upstream", sub: upTree, budget: 120, drawn: 26},
		{name: "no trees", sub: twice, budget: 20, drawn: 90},
		{name: "a fan is one node", sub: outputsGraph(t, 600), budget: 10, drawn: 3},
		// The first 8 readers drawn, the other 56 grouped.
		{name: "64 readers", sub: readers, budget: 120,
			want: []string{"down " + lineage.DatasetID(k("hub")).String() + ": + 112 datasets, 112 jobs"}, drawn: 34},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, keep := map[lineage.NodeID]bool{}, map[lineage.NodeID]bool{}
			for _, id := range tc.open {
				open[id] = true
			}
			for _, id := range tc.keep {
				keep[id] = true
			}
			gs := lineage.Groups(tc.sub, lineage.GroupOptions{Budget: tc.budget, Open: open, Keep: keep})
			if got := lineage.DrawnNodes(tc.sub, gs); got != tc.drawn {
				t.Errorf("%d nodes drawn, want %d", got, tc.drawn)
			}
			var got []string
			in := map[lineage.NodeID]string{}
			for _, g := range gs {
				dir := "down"
				if g.Upstream {
					dir = "up"
				}
				got = append(got, dir+" "+g.Hub.String()+": "+g.Label())
				if g.Datasets+g.Jobs != len(g.Members) {
					t.Errorf("%s counts %d datasets and %d jobs of %d members", g.ID(), g.Datasets, g.Jobs, len(g.Members))
				}
				for _, m := range g.Members {
					if other, ok := in[m]; ok {
						t.Errorf("%s is in %s and %s", m, other, g.ID())
					}
					in[m] = g.ID()
					if m == tc.sub.Start || keep[m] || open[m] {
						t.Errorf("%s, the start, kept or opened, is in %s", m, g.ID())
					}
				}
				if open[g.Hub] {
					t.Errorf("opened %s has a group", g.Hub)
				}
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("groups (-want +got):\n%s", diff)
				}
			}
			switch tc.name {
			case "one group opened":
				// Its 8 tables drawn, their jobs' outputs grouped.
				for i := range 8 {
					if in[lineage.DatasetID(k(fmt.Sprint("tree.l2_1_", i+1)))] != "" {
						t.Errorf("tree.l2_1_%d is in a group after opening build_l1_1", i+1)
					}
				}
				if !slices.Contains(got, "down "+jobID("build_l2_1_1").String()+": 8 datasets") {
					t.Errorf("no group of build_l2_1_1's outputs: %v", got)
				}
			case "a leaf kept":
				for _, name := range []string{"tree.l1_2", "tree.l2_2_3", "tree.l3_2_3_4"} {
					if id := lineage.DatasetID(k(name)); in[id] != "" {
						t.Errorf("%s, on the way to the kept leaf, is in %s", name, in[id])
					}
				}
			case "upstream":
				if len(gs) != 8 || !gs[0].Upstream {
					t.Errorf("upstream: groups %v, want 8 upstream", got)
				}
			case "64 readers":
				for i := range 64 {
					id := lineage.DatasetID(k(fmt.Sprintf("s%02d", i)))
					if grouped := in[id] != ""; grouped != (i >= 8) {
						t.Errorf("s%02d grouped: %v, want %v", i, grouped, i >= 8)
					}
				}
				if !gs[0].Partial {
					t.Errorf("the group of 56 readers is not partial")
				}
			case "no trees":
				if len(gs) != 0 {
					t.Errorf("groups %v, want none", got)
				}
			}
		})
	}
}

// TestSVGGroups draws a group as one node beside its hub with a link
// that opens it, and leaves its members out.
func TestSVGGroups(t *testing.T) {
	sub := treeGraph(t, 8, 3, 3)
	gs := lineage.Groups(sub, lineage.GroupOptions{Budget: lineage.DefaultGroupBudget})
	svg, err := lineage.SVG(context.Background(), sub, lineage.SVGOptions{Groups: gs, Open: func(g lineage.Group) string { return "/x?open=" + g.Hub.Name }})
	if err != nil {
		t.Fatal(err)
	}
	s := html.UnescapeString(string(svg))
	id := "group:down:" + jobID("build_l1_1").String()
	for _, want := range []string{`<g id="` + id + `" class="node group">`, `id="a_open:` + id + `"`, `href="/x?open=build_l1_1"`,
		">⊞ 72 datasets, 8 jobs<", ">named tree.…<"} {
		if !strings.Contains(s, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if n := strings.Count(s, `class="node group"`); n != 8 {
		t.Errorf("%d groups drawn, want 8", n)
	}
	if n := strings.Count(s, `class="node"`); n != 18 {
		t.Errorf("%d other nodes drawn, want 18", n)
	}
	if strings.Contains(s, `"dataset:`+ns+`:tree.l2_1_1"`) {
		t.Errorf("a member of a group is drawn")
	}
	aspect, _ := svgLayout(t, svg)
	if aspect < 0.8 {
		t.Errorf("width/height %.2f, want the drawing wider than tall", aspect)
	}
}
