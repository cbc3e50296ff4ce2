package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
