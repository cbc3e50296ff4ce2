package store_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestJobReads reads a job two sources report, merged, its runs page by
// page and by parent, and the jobs around its datasets.
func TestJobReads(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	job := catalog.JobKey{Namespace: "dbt", Name: "model.shop.big_orders"}
	orders, big := key("shop.public.orders"), key("shop.public.big_orders")
	if _, err := st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: []catalog.JobFacts{{Key: job, Type: "dbt_model", SQL: "select * from {{ ref('orders') }}",
			Inputs: []catalog.Key{orders}, Outputs: []catalog.Key{big}}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	at := func(m int) *time.Time { t := time.Date(2026, 11, 1, 5, m, 0, 0, time.UTC); return &t }
	var runs []catalog.Run
	for i, id := range []string{"r1", "r2", "r3"} {
		runs = append(runs, catalog.Run{ID: id, Job: job, State: catalog.RunComplete, StartedAt: at(i), EndedAt: at(i + 1), StateAt: *at(i + 1), ParentID: "dag"})
	}
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Runs: runs,
		Jobs: []catalog.JobUpdate{{Job: catalog.JobFacts{Key: job, Type: "openlineage", Description: "Big orders.", Inputs: []catalog.Key{key("shop.public.fx")}},
			Asserts: catalog.FacetDescription}}}); err != nil {
		t.Fatal(err)
	}

	jobs, err := st.JobsByKeys(ctx, []catalog.JobKey{job, {Namespace: "dbt", Name: "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[job] == nil {
		t.Fatalf("JobsByKeys = %v, want the one job", jobs)
	}
	j := jobs[job]
	// dbt:shop sorts before openlineage: its type wins; the description
	// only openlineage gives; the inputs of both, sorted.
	got := catalog.JobFacts{Key: j.Key, Type: j.Type, Description: j.Description, SQL: j.SQL, Inputs: j.Inputs, Outputs: j.Outputs}
	want := catalog.JobFacts{Key: job, Type: "dbt_model", Description: "Big orders.", SQL: "select * from {{ ref('orders') }}",
		Inputs: []catalog.Key{key("shop.public.fx"), orders}, Outputs: []catalog.Key{big}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged job (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"dbt:shop", "openlineage"}, j.SourceNames()); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}

	keys, err := st.FindJobs(ctx, "dbt", false, nil, 10)
	if err != nil || len(keys) != 1 || keys[0] != job {
		t.Errorf("FindJobs = %v, %v; want [%s]", keys, err, job)
	}
	if keys, err := st.FindJobs(ctx, "", false, &job, 10); err != nil || len(keys) != 0 {
		t.Errorf("FindJobs after the last = %v, %v; want none", keys, err)
	}

	latest, err := st.LatestRuns(ctx, []catalog.JobKey{job})
	if err != nil || latest[job].ID != "r3" {
		t.Errorf("LatestRuns = %v, %v; want r3", latest, err)
	}
	first := store.RunPage{Job: job, Limit: 2}
	second := store.RunPage{Job: job, Limit: 2, AfterAt: at(2).Format(time.RFC3339Nano), AfterID: "r2"}
	pages, err := st.RunPages(ctx, []store.RunPage{first, second})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []catalog.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"r3", "r2"}, ids(pages[first])); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"r1"}, ids(pages[second])); diff != "" {
		t.Errorf("second page (-want +got):\n%s", diff)
	}
	children, err := st.ChildRunsOf(ctx, []string{"dag", "r1"})
	if err != nil || len(children["dag"]) != 3 || len(children["r1"]) != 0 {
		t.Errorf("ChildRunsOf = %v, %v; want 3 runs of dag", children, err)
	}
	byID, err := st.RunsByIDs(ctx, []string{"r2", "nope"})
	if err != nil || len(byID) != 1 || byID["r2"].EndedAt == nil {
		t.Errorf("RunsByIDs = %v, %v; want r2", byID, err)
	}

	around, err := st.JobsOfDatasets(ctx, []catalog.Key{orders, big, key("shop.public.none")})
	if err != nil {
		t.Fatal(err)
	}
	wantAround := map[catalog.Key]store.JobsAround{orders: {Consumers: []catalog.JobKey{job}}, big: {Producers: []catalog.JobKey{job}}}
	if diff := cmp.Diff(wantAround, around); diff != "" {
		t.Errorf("jobs around (-want +got):\n%s", diff)
	}
}

// TestLineageJobTypeIsTheMergedOne checks that the lineage graph's job
// type follows catalog.MergeJob, as the API's does: the type of the first
// live source by name, not the smallest of its sources' types.
func TestLineageJobTypeIsTheMergedOne(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	job := catalog.JobKey{Namespace: "sched", Name: "load"}
	for src, typ := range map[string]string{"airflow:prod": "task", "spark:prod": "application"} {
		if _, err := st.Crawl(ctx, src, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Jobs: []catalog.JobFacts{{Key: job, Type: typ, Inputs: []catalog.Key{key("a")}, Outputs: []catalog.Key{key("b")}}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := st.JobsByKeys(ctx, []catalog.JobKey{job})
	if err != nil {
		t.Fatal(err)
	}
	var edges []catalog.JobEdges
	if err := st.LineageJobs(ctx, nil, func(j catalog.JobEdges) error { edges = append(edges, j); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(edges) != 1 || jobs[job] == nil || edges[0].Type != jobs[job].Type || edges[0].Type != "task" {
		t.Errorf("lineage job %+v, API job type %q; want both of type task (airflow:prod sorts first)", edges, jobs[job].Type)
	}
}

// TestLineageJobsAreMergedJobsEdges checks that LineageJobs, which reads
// the edges without merging jobs, gives each job's catalog.Job.Edges as
// JobsByKeys merges it: the union of the live sources' inputs and outputs
// once each, the type of the first live source, and no edges once no live source reports the job.
func TestLineageJobsAreMergedJobsEdges(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	jk := func(name string) catalog.JobKey { return catalog.JobKey{Namespace: "sched", Name: name} }
	keys := func(names ...string) []catalog.Key {
		var out []catalog.Key
		for _, n := range names {
			out = append(out, key(n))
		}
		return out
	}
	crawl := func(source string, h catalog.Harvest) {
		t.Helper()
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// c reports "mixed" and "gone", then no longer does.
	crawl("c:prod", catalog.Harvest{Jobs: []catalog.JobFacts{
		{Key: jk("mixed"), Type: "dag", Inputs: keys("q"), Outputs: keys("r")},
		{Key: jk("gone"), Type: "dag", Inputs: keys("q"), Outputs: keys("s")},
	}})
	crawl("c:prod", catalog.Harvest{Scopes: []catalog.Scope{{Namespace: "sched"}}})
	crawl("a:prod", catalog.Harvest{Jobs: []catalog.JobFacts{
		{Key: jk("two"), Type: "dag", Inputs: keys("y", "x"), Outputs: keys("z")},
		{Key: jk("mixed"), Type: "task", Inputs: keys("x"), Outputs: keys("z")},
		{Key: jk("bare"), Type: "task"},
	}})
	crawl("b:prod", catalog.Harvest{Jobs: []catalog.JobFacts{
		{Key: jk("two"), Type: "task", Inputs: keys("w", "y"), Outputs: keys("z", "v")},
	}})

	all := []catalog.JobKey{jk("two"), jk("mixed"), jk("gone"), jk("bare")}
	jobs, err := st.JobsByKeys(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	var want []catalog.JobEdges
	for _, k := range all {
		want = append(want, jobs[k].Edges())
	}
	slices.SortFunc(want, func(a, b catalog.JobEdges) int { return int(a.ID - b.ID) })
	if want[0].Key != jk("mixed") || want[0].Type != "task" || len(want[0].Inputs) != 1 || len(want[1].Inputs) != 0 ||
		want[2].Type != "dag" || len(want[2].Inputs) != 3 {
		t.Fatalf("the merged jobs are not the cases this test means: %+v", want)
	}
	var got []catalog.JobEdges
	if err := st.LineageJobs(ctx, nil, func(j catalog.JobEdges) error { got = append(got, j); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LineageJobs of every job (-want +got):\n%s", diff)
	}
	got = nil
	if err := st.LineageJobs(ctx, []int64{want[2].ID, want[1].ID, -1}, func(j catalog.JobEdges) error { got = append(got, j); return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.JobEdges{want[1], want[2]}, got); diff != "" {
		t.Errorf("LineageJobs of two ids and a gone one (-want +got):\n%s", diff)
	}
}

// TestLineageSize checks the lineage graph's capacity hint: nothing
// before the tables are analyzed, then the jobs, and the datasets bounded
// by the lineage rows.
func TestLineageSize(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if jobs, datasets, err := st.LineageSize(ctx); err != nil || jobs != 0 || datasets != 0 {
		t.Errorf("LineageSize of an empty catalog = %d, %d, %v; want 0, 0", jobs, datasets, err)
	}
	var facts []catalog.JobFacts
	for i := range 5 {
		facts = append(facts, catalog.JobFacts{Key: catalog.JobKey{Namespace: "sched", Name: fmt.Sprint("j", i)}, Type: "task",
			Inputs: []catalog.Key{key("in")}, Outputs: []catalog.Key{key(fmt.Sprint("out", i))}})
	}
	if _, err := st.Crawl(ctx, "sched:prod", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: facts}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE jobs, job_io, datasets"); err != nil {
		t.Fatal(err)
	}
	jobs, datasets, err := st.LineageSize(ctx)
	if err != nil || jobs != 5 || datasets < 5 || datasets > 10 {
		t.Errorf("LineageSize = %d, %d, %v; want 5 jobs and 5 to 10 datasets", jobs, datasets, err)
	}
}

// TestJobIOKeepsRowsThatStay: a job whose inputs and outputs change has
// only the rows that went deleted and those that came inserted; the rows
// that stay are not written again (their xmin is unchanged), whether a
// crawl replaces the job or OpenLineage lays a run's datasets over it.
// Rewriting them all at every event left thousands of dead row versions
// behind a job that wrote a new dataset each run.
func TestJobIOKeepsRowsThatStay(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	job := catalog.JobKey{Namespace: "airflow", Name: "etl.load"}
	a, b, c, x, y := key("s.a"), key("s.b"), key("s.c"), key("s.x"), key("s.y")
	rows := func() map[string]string {
		t.Helper()
		r, err := pool.Query(ctx, `SELECT io.source || ' ' || io.direction || ' ' || io.name, io.xmin::text
			FROM job_io io JOIN jobs j ON j.id = io.job_id WHERE j.namespace = $1 AND j.name = $2`, job.Namespace, job.Name)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		var k, xmin string
		if _, err := pgx.ForEachRow(r, []any{&k, &xmin}, func() error { out[k] = xmin; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	crawl := func(desc string, in, out []catalog.Key) {
		t.Helper()
		if _, err := st.Crawl(ctx, "airflow:etl", func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Jobs: []catalog.JobFacts{{Key: job, Type: "airflow_task", Description: desc, Inputs: in, Outputs: out}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// same checks the rows' names against want, and that the rows of
	// stay kept the xmin they had in before.
	same := func(step string, before map[string]string, want []string, stay ...string) map[string]string {
		t.Helper()
		after := rows()
		if diff := cmp.Diff(want, slices.Sorted(maps.Keys(after))); diff != "" {
			t.Errorf("%s: rows (-want +got):\n%s", step, diff)
		}
		for _, k := range stay {
			if before[k] == "" || after[k] != before[k] {
				t.Errorf("%s: row %q written again (xmin %s, was %s)", step, k, after[k], before[k])
			}
		}
		return after
	}

	crawl("Loads.", []catalog.Key{a, b}, []catalog.Key{x})
	before := same("first crawl", nil, []string{"airflow:etl in s.a", "airflow:etl in s.b", "airflow:etl out s.x"})
	crawl("Loads a and c.", []catalog.Key{a, c}, []catalog.Key{x})
	before = same("crawl again", before, []string{"airflow:etl in s.a", "airflow:etl in s.c", "airflow:etl out s.x"},
		"airflow:etl in s.a", "airflow:etl out s.x")

	push := func(out catalog.Key) {
		t.Helper()
		if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage,
			Jobs: []catalog.JobUpdate{{Job: catalog.JobFacts{Key: job, Type: "openlineage", Inputs: []catalog.Key{a}, Outputs: []catalog.Key{out}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	push(x)
	before = same("a first event", before, []string{"airflow:etl in s.a", "airflow:etl in s.c", "airflow:etl out s.x",
		"openlineage in s.a", "openlineage out s.x"}, "airflow:etl in s.a", "airflow:etl in s.c", "airflow:etl out s.x")
	push(y)
	same("an event writing another dataset", before, []string{"airflow:etl in s.a", "airflow:etl in s.c", "airflow:etl out s.x",
		"openlineage in s.a", "openlineage out s.x", "openlineage out s.y"},
		"airflow:etl in s.a", "airflow:etl in s.c", "airflow:etl out s.x", "openlineage in s.a", "openlineage out s.x")
}
