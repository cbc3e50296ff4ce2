package lineage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

const ns = "postgres://wh:5432"

func k(name string) catalog.Key { return catalog.Key{Namespace: ns, Name: name} }

func jb(name string, in, out []string) catalog.JobFacts {
	j := catalog.JobFacts{Key: catalog.JobKey{Namespace: "airflow", Name: name}, Type: "task"}
	for _, n := range in {
		j.Inputs = append(j.Inputs, k(n))
	}
	for _, n := range out {
		j.Outputs = append(j.Outputs, k(n))
	}
	return j
}

// crawl ingests jobs as a complete crawl of source "test", with owners on
// some datasets.
func crawl(t *testing.T, st *store.Store, jobs ...catalog.JobFacts) {
	t.Helper()
	h := catalog.Harvest{Jobs: jobs, Scopes: []catalog.Scope{{Namespace: "airflow"}}}
	h.Datasets = []catalog.DatasetFacts{
		{Key: k("c"), Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}},
		{Key: k("d"), Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "alice", Kind: catalog.OwnerUser, Type: "technical"}}},
	}
	if _, err := st.Crawl(context.Background(), "test", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
}

// a → j1 → b → j2 → c → j3 → a (a cycle); b → j4 → d; x → j5 → b.
var base = []catalog.JobFacts{
	jb("j1", []string{"a"}, []string{"b"}),
	jb("j2", []string{"b"}, []string{"c"}),
	jb("j3", []string{"c"}, []string{"a"}),
	jb("j4", []string{"b"}, []string{"d"}),
	jb("j5", []string{"x"}, []string{"b"}),
}

func setup(t *testing.T) (*store.Store, *lineage.Follower) {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl(t, st, base...)
	f := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, f
}

// render lists a subgraph's nodes as "id distance [+more]" and its edges.
func render(s lineage.Subgraph) []string {
	var out []string
	for _, n := range s.Nodes {
		line := fmt.Sprintf("%s:%s %d", n.ID.Kind, n.ID.Name, n.Distance)
		if n.More > 0 {
			line += fmt.Sprintf(" +%d", n.More)
		}
		out = append(out, line)
	}
	for _, e := range s.Edges {
		out = append(out, e.From.Name+" > "+e.To.Name)
	}
	slices.Sort(out)
	return out
}

func TestTraverse(t *testing.T) {
	_, f := setup(t)
	tests := []struct {
		name string
		q    lineage.Query
		want []string
	}{
		{"default: one hop each way", lineage.Query{Start: k("b")}, []string{
			"a > j1", "b > j2", "b > j4", "j1 > b", "j2 > c", "j4 > d", "j5 > b", "x > j5",
			"dataset:a -1 +1", "dataset:b 0", "dataset:c 1 +1", "dataset:d 1", "dataset:x -1",
			"job:j1 0", "job:j2 0", "job:j4 0", "job:j5 0",
		}},
		{"downstream through the cycle", lineage.Query{Start: k("b"), Direction: lineage.Downstream, Depth: 10}, []string{
			"a > j1", "b > j2", "b > j4", "c > j3", "j1 > b", "j2 > c", "j3 > a", "j4 > d",
			"dataset:a 2", "dataset:b 0", "dataset:c 1", "dataset:d 1",
			"job:j1 2", "job:j2 0", "job:j3 1", "job:j4 0",
		}},
		{"node cap", lineage.Query{Start: k("b"), Direction: lineage.Downstream, MaxNodes: 3}, []string{
			// b, j2 and c fill the cap: b has one job more (j4), c one
			// beyond the depth (j3).
			"b > j2", "j2 > c", "dataset:b 0 +1", "dataset:c 1 +1", "job:j2 0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := f.Graph().Traverse(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			got := render(s)
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := f.Graph().Traverse(lineage.Query{Start: k("nope")}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown start: %v, want ErrNotFound", err)
	}
	if !f.Graph().HasDataset(k("b")) || f.Graph().HasDataset(k("nope")) {
		t.Errorf("HasDataset(b), HasDataset(nope) = %v, %v; want true, false", f.Graph().HasDataset(k("b")), f.Graph().HasDataset(k("nope")))
	}
}

func TestPathAndImpact(t *testing.T) {
	_, f := setup(t)
	path, err := f.Graph().Path(k("x"), k("c"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range path {
		got = append(got, s.Dataset.Name+" "+s.Job.Name)
	}
	if diff := cmp.Diff([]string{"x j5", "b j2", "c "}, got); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if _, err := f.Graph().Path(k("d"), k("x")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("path against the flow: %v, want ErrNotFound", err)
	}
	levels, err := f.Impact(context.Background(), k("x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []lineage.ImpactLevel{
		{Distance: 1, Datasets: []lineage.Impacted{{Key: k("b")}}},
		{Distance: 2, Datasets: []lineage.Impacted{
			{Key: k("c"), Owners: []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}},
			{Key: k("d"), Owners: []catalog.Owner{{Name: "alice", Kind: catalog.OwnerUser, Type: "technical"}}},
		}},
		{Distance: 3, Datasets: []lineage.Impacted{{Key: k("a")}}},
	}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("impact (-want +got):\n%s", diff)
	}
	// Several at once, as incidents ask: a dataset with nothing
	// downstream (d) or that no job touches is absent.
	many, err := f.ImpactMany(context.Background(), []catalog.Key{k("x"), k("d"), k("nowhere")})
	if err != nil {
		t.Fatal(err)
	}
	finance := []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}}
	alice := []catalog.Owner{{Name: "alice", Kind: catalog.OwnerUser, Type: "technical"}}
	wantMany := map[catalog.Key][]catalog.ImpactedDataset{
		k("x"): {{Dataset: k("b"), Distance: 1}, {Dataset: k("c"), Distance: 2, Owners: finance}, {Dataset: k("d"), Distance: 2, Owners: alice}, {Dataset: k("a"), Distance: 3}},
	}
	if diff := cmp.Diff(wantMany, many); diff != "" {
		t.Errorf("impact of several (-want +got):\n%s", diff)
	}
}

// TestFollow checks that the graph follows the change log: a new job, a
// changed one and a removed one.
func TestFollow(t *testing.T) {
	st, f := setup(t)
	next := slices.Clone(base[:3]) // j4 and j5 removed
	next[1] = jb("j2", []string{"b"}, []string{"c", "e"})
	next = append(next, jb("j6", []string{"e"}, []string{"f"}))
	crawl(t, st, next...)
	if err := f.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	levels, err := f.Graph().Downstream(k("b"), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]catalog.Key{{k("c"), k("e")}, {k("a"), k("f")}}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("downstream of b after the change (-want +got):\n%s", diff)
	}
	if _, jobs := f.Graph().Size(); jobs != 4 {
		t.Errorf("%d jobs, want 4", jobs)
	}
}

// TestTraverseDiamond checks that a job reached from several datasets of
// one frontier is followed once: every edge appears once, in each
// direction and both, and a capped job's "more" is counted once.
func TestTraverseDiamond(t *testing.T) {
	// s → j0 → a, b; a, b → j1 → c, d.
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "x", Name: "j0"}, Inputs: []catalog.Key{k("s")}, Outputs: []catalog.Key{k("a"), k("b")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "x", Name: "j1"}, Inputs: []catalog.Key{k("a"), k("b")}, Outputs: []catalog.Key{k("c"), k("d")}},
	})
	for _, tt := range []struct {
		q     lineage.Query
		edges int
	}{
		{lineage.Query{Start: k("s"), Direction: lineage.Downstream, Depth: 3}, 7},
		{lineage.Query{Start: k("c"), Direction: lineage.Upstream, Depth: 3}, 6}, // not j1 → d
		{lineage.Query{Start: k("a"), Direction: lineage.Both, Depth: 3}, 5},     // s → j0 → a → j1 → c, d
	} {
		q := tt.q
		sub, err := g.Traverse(q)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[lineage.Edge]bool{}
		for _, e := range sub.Edges {
			if seen[e] {
				t.Errorf("%v from %s: edge %s → %s twice", q.Direction, q.Start.Name, e.From, e.To)
			}
			seen[e] = true
		}
		if len(seen) != tt.edges {
			t.Errorf("%v from %s: %d edges, want %d", q.Direction, q.Start.Name, len(seen), tt.edges)
		}
	}
	// Capped at 5 nodes: s, j0, a, b, j1; j1's outputs c and d left out.
	sub, err := g.Traverse(lineage.Query{Start: k("s"), Direction: lineage.Downstream, Depth: 3, MaxNodes: 5})
	if err != nil {
		t.Fatal(err)
	}
	j1 := slices.IndexFunc(sub.Nodes, func(n lineage.Node) bool { return n.ID.Name == "j1" })
	if j1 < 0 || sub.Nodes[j1].More != 2 || !sub.Truncated {
		t.Errorf("capped at 5: nodes %+v, truncated %v; want j1 with 2 more, truncated", sub.Nodes, sub.Truncated)
	}
}

// TestReach checks the impact walk: jobs (an exposure without outputs
// included) before the datasets they write at each distance, every node
// once at its shortest distance, each with a path back to the start, a
// cycle ending the walk, and the depth limit.
func TestReach(t *testing.T) {
	// s → j0 → a, b; a, b → j1 → c; c → dash (no outputs); c → j2 → s (a cycle).
	jk := func(n string) catalog.JobKey { return catalog.JobKey{Namespace: "x", Name: n} }
	g := lineage.NewGraph()
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: jk("j0"), Inputs: []catalog.Key{k("s")}, Outputs: []catalog.Key{k("b"), k("a")}},
		{ID: 2, Key: jk("j1"), Inputs: []catalog.Key{k("a"), k("b")}, Outputs: []catalog.Key{k("c")}},
		{ID: 3, Key: jk("dash"), Inputs: []catalog.Key{k("c")}},
		{ID: 4, Key: jk("j2"), Inputs: []catalog.Key{k("c")}, Outputs: []catalog.Key{k("s")}},
	})
	got, err := g.Reach(k("s"), 0)
	if err != nil {
		t.Fatal(err)
	}
	job := func(n, from string, d int) lineage.Reached {
		return lineage.Reached{Kind: lineage.JobNode, Via: jk(n), From: k(from), Distance: d}
	}
	ds := func(n, via, from string, d int) lineage.Reached {
		return lineage.Reached{Kind: lineage.DatasetNode, Dataset: k(n), Via: jk(via), From: k(from), Distance: d}
	}
	want := []lineage.Reached{
		job("j0", "s", 1), ds("a", "j0", "s", 1), ds("b", "j0", "s", 1),
		job("j1", "a", 2), ds("c", "j1", "a", 2),
		job("dash", "c", 3), job("j2", "c", 3),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reach (-want +got):\n%s", diff)
	}
	got, _ = g.Reach(k("s"), 1)
	if diff := cmp.Diff(want[:3], got); diff != "" {
		t.Errorf("reach at depth 1 (-want +got):\n%s", diff)
	}
	if _, err := g.Reach(k("nowhere"), 0); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown start: %v, want ErrNotFound", err)
	}
}

// TestFollowAfterRestore: a follower whose catalog is restored
// underneath it (or fails over to a standby that lagged), whose change log
// then hands out again the sequences the follower applied, loads the
// graph again instead of skipping the changes made under them. Two cases:
// another change at the sequence applied last, and a log that ends
// before it.
func TestFollowAfterRestore(t *testing.T) {
	st, f := setup(t)
	ctx := context.Background()
	last := func() int64 {
		t.Helper()
		seq, err := st.LastChangeSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	restore := func(seq int64) { pgtest.RestoreChangeLog(t, st.Pool(), seq) }
	catchUp := func() {
		t.Helper()
		if err := f.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	downstream := func(name string) [][]catalog.Key {
		t.Helper()
		levels, err := f.Graph().Downstream(k(name), 0)
		if err != nil && !errors.Is(err, catalog.ErrNotFound) {
			t.Fatal(err)
		}
		return levels
	}

	backup := last()
	crawl(t, st, append(slices.Clone(base), jb("j6", []string{"e"}, []string{"f"}))...)
	catchUp()
	if diff := cmp.Diff([][]catalog.Key{{k("f")}}, downstream("e")); diff != "" {
		t.Fatalf("downstream of e on the original (-want +got):\n%s", diff)
	}

	// Restored to the backup; the restored catalog's own crawl drops j6
	// and adds j7, under the sequences j6 had.
	restore(backup)
	crawl(t, st, append(slices.Clone(base), jb("j7", []string{"g"}, []string{"h"}))...)
	catchUp()
	if got := downstream("e"); len(got) != 0 {
		t.Errorf("downstream of e after the restore: %v, want none (j6 is not in the restored catalog)", got)
	}
	if diff := cmp.Diff([][]catalog.Key{{k("h")}}, downstream("g")); diff != "" {
		t.Errorf("downstream of g after the restore (-want +got):\n%s", diff)
	}
	if f.Seq() != last() {
		t.Errorf("follower at %d, want %d", f.Seq(), last())
	}

	// Restored again, to before the change applied last, with no change
	// since: the follower reloads, and stands at the restored log's end.
	crawl(t, st, append(slices.Clone(base), jb("j7", []string{"g"}, []string{"h"}), jb("j8", []string{"h"}, []string{"i"}))...)
	catchUp()
	end := last() - 1
	restore(end)
	catchUp()
	if f.Seq() != end {
		t.Errorf("follower at %d after the restore, want the restored log's end %d", f.Seq(), end)
	}
}
