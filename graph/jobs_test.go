package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/graph"
)

// addBulkJobs adds 60 jobs in namespace "bulk", each writing its own
// dataset (warehouse.bulk.outNN) from orders, with two runs each, the newer one started by a
// run of the fixture's DAG.
func addBulkJobs(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	var jobs []catalog.JobFacts
	var runs []catalog.Run
	var outs []catalog.DatasetFacts
	start := time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC)
	for i := range 60 {
		k := catalog.JobKey{Namespace: "bulk", Name: fmt.Sprintf("job%02d", i)}
		jobs = append(jobs, catalog.JobFacts{Key: k, Type: "spark_application",
			Inputs: []catalog.Key{fkey("warehouse.marts.orders")}, Outputs: []catalog.Key{fkey(fmt.Sprintf("warehouse.bulk.out%02d", i))}})
		outs = append(outs, catalog.DatasetFacts{Key: fkey(fmt.Sprintf("warehouse.bulk.out%02d", i)), Platform: "postgres", Kind: catalog.KindTable,
			Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}}})
		for n := range 2 {
			s, end := start.Add(time.Duration(n)*time.Hour), start.Add(time.Duration(n)*time.Hour+time.Minute)
			r := catalog.Run{ID: fmt.Sprintf("bulk-%02d-%d", i, n), Job: k, State: catalog.RunComplete, StartedAt: &s, EndedAt: &end, StateAt: end}
			if n == 1 {
				r.ParentID, r.ParentJob = "8c6d0b1e-0002-4000-8000-000000000001", dagJob
			}
			runs = append(runs, r)
		}
	}
	crawl(ctx, t, e.store, "postgres:bulk", outs)
	if _, err := e.store.Crawl(ctx, "spark:bulk", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: jobs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Runs: runs}); err != nil {
		t.Fatal(err)
	}
}

// TestJobsNoNPlusOne counts the SQL statements of listing jobs with their
// inputs, latest runs and the runs' parents, and of datasets with the jobs
// around them: a small constant, the same for 5 items as for 50.
func TestJobsNoNPlusOne(t *testing.T) {
	e := newEnv(t, graph.Options{})
	addBulkJobs(t, e)
	tests := []struct {
		name, query, list string
		max               int64
	}{
		// the page (1), its jobs (1) and their latest runs (1)
		{"latest runs", `query($first: Int) { jobs(namespace: "bulk", first: $first) { edges { node {
			name type inputs { name } latestRun { id state durationSeconds } } } } }`, "jobs", 3},
		// the page (1), its jobs (1), their latest runs (1) and pages of
		// runs (1), the inputs' datasets: their ids (1) and facts (5), and
		// the runs' parent (1), its job (1) and its children (1)
		{"runs and datasets", `query($first: Int) { jobs(namespace: "bulk", first: $first) { edges { node {
			name inputs { dataset { name } } latestRun { job { name } parent { id job { name } children { id } } }
			runs(first: 2) { edges { node { id state } } } } } } }`, "jobs", 13},
		// the page (1), its jobs (1) and their pages of runs (1), the
		// page size in a variable
		{"runs page from a variable", `query($first: Int, $runs: Int = 2) { jobs(namespace: "bulk", first: $first) { edges { node {
			name runs(first: $runs) { edges { node { id } } } } } } }`, "jobs", 3},
		// the job listing (1), its jobs (1) and their inputs' datasets:
		// their ids (1) and facts (5)
		{"job summaries", `query($first: Int) { jobSummaries(namespace: "bulk", first: $first) { edges { node {
			name runs failures latestRun { state } job { name description inputs { dataset { name } } } } } } }`, "jobSummaries", 8},
		// runs (1) and their jobs (1)
		{"recent runs", `query($first: Int) { recentRuns(first: $first) { edges { node { id state job { name type } } } } }`, "recentRuns", 2},
		// the page (1), its facts (5), the jobs around them (1), the jobs
		// (1) and their latest runs (1)
		{"producers", `query($first: Int) { datasets(filter: {prefix: "warehouse.bulk."}, first: $first) { edges { node {
			name producers { name latestRun { state } } consumers { name } } } } }`, "datasets", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counts := map[int]int64{}
			for _, first := range []int{5, 50} {
				e.stmts.n.Store(0)
				r := e.post(t, tt.query, map[string]any{"first": first})
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				var data map[string]struct{ Edges []json.RawMessage }
				if err := json.Unmarshal(r.Data, &data); err != nil {
					t.Fatal(err)
				}
				if got := len(data[tt.list].Edges); got != first {
					t.Fatalf("got %d %s, want %d", got, tt.list, first)
				}
				counts[first] = e.stmts.n.Load()
			}
			if counts[50] > tt.max || counts[50] != counts[5] {
				t.Errorf("statements for 5 and 50 items: %d and %d, want the same, at most %d", counts[5], counts[50], tt.max)
			}
			t.Logf("statements: %v", counts)
		})
	}
}

// TestJobRuns pages through a job's runs and reads jobs and runs that
// are not there.
func TestJobRuns(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const runs = `query($after: String) { job(namespace: "dbt", name: "model.analytics.orders") {
		runs(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`
	type page struct {
		Job struct {
			Runs struct {
				Edges    []struct{ Node struct{ ID string } }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
	}
	var ids []string
	var after any
	for range 3 {
		r := e.post(t, runs, map[string]any{"after": after})
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		var p page
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Job.Runs.Edges {
			ids = append(ids, e.Node.ID)
		}
		if !p.Job.Runs.PageInfo.HasNextPage {
			break
		}
		after = *p.Job.Runs.PageInfo.EndCursor
	}
	want := []string{"8c6d0b1e-0002-4000-8000-000000000002", "8c6d0b1e-0001-4000-8000-000000000002"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("runs page by page, newest first (-want +got):\n%s", diff)
	}

	// Unknown jobs and runs are null; a bad cursor is the client's error.
	for _, tt := range []struct{ query, want, code string }{
		{`{ job(namespace: "dbt", name: "nope") { name } }`, `{"job":null}`, ""},
		{`{ run(id: "nope") { id } }`, `{"run":null}`, ""},
		{`{ run(id: "8c6d0b1e-0001-4000-8000-000000000001") { parent { id } parentId children { job { name } } } }`,
			`{"run":{"parent":null,"parentId":null,"children":[{"job":{"name":"model.analytics.orders"}},{"job":{"name":"model.analytics.revenue"}}]}}`, ""},
		{`{ job(namespace: "dbt", name: "model.analytics.orders") { runs(after: "bad") { edges { cursor } } } }`, `{"job":null}`, "BAD_USER_INPUT"},
		{`{ job(namespace: "dbt", name: "model.analytics.orders") { runs(first: 501) { edges { cursor } } } }`, `{"job":null}`, "BAD_USER_INPUT"},
	} {
		r := e.post(t, tt.query, nil)
		if r.code() != tt.code {
			t.Errorf("%s: code %q, want %q: %+v", tt.query, r.code(), tt.code, r.Errors)
		}
		if got := strings.Join(strings.Fields(string(r.Data)), ""); got != tt.want {
			t.Errorf("%s: data %s, want %s", tt.query, got, tt.want)
		}
	}
}

// TestLineageWithoutEdges reads the lineage of a dataset the catalog
// holds but no job reads or writes: itself alone, nothing impacted, not
// an error that would null the whole response. Only a dataset the catalog
// does not hold is NOT_FOUND.
func TestLineageWithoutEdges(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const query = `query($name: String!, $column: String!) {
		dataset(namespace: "postgres://warehouse.demo:5432", name: $name) { name }
		lineage(namespace: "postgres://warehouse.demo:5432", name: $name, depth: 3) { start nodes { id kind distance more dataset { name } } edges { from } truncated }
		impact(namespace: "postgres://warehouse.demo:5432", name: $name) { distance }
		columnLineage(namespace: "postgres://warehouse.demo:5432", name: $name, column: $column) { start nodes { id column } edges { from } }
		columnImpact(namespace: "postgres://warehouse.demo:5432", name: $name, column: $column) { distance }
	}`
	for _, column := range []string{"", "amount"} {
		r := e.post(t, query, map[string]any{"name": "warehouse.marts.big_orders", "column": column})
		if len(r.Errors) > 0 {
			t.Fatalf("column %q: errors: %+v", column, r.Errors)
		}
		id := "dataset:postgres://warehouse.demo:5432:warehouse.marts.big_orders"
		want := `{"dataset":{"name":"warehouse.marts.big_orders"},` +
			`"lineage":{"start":"` + id + `","nodes":[{"id":"` + id + `","kind":"dataset","distance":0,"more":0,"dataset":{"name":"warehouse.marts.big_orders"}}],"edges":[],"truncated":false},` +
			`"impact":[],` +
			`"columnLineage":{"start":"datasetField:postgres://warehouse.demo:5432:warehouse.marts.big_orders:` + column + `","nodes":[{"id":"datasetField:postgres://warehouse.demo:5432:warehouse.marts.big_orders:` + column + `","column":"` + column + `"}],"edges":[]},` +
			`"columnImpact":[]}`
		if got := strings.Join(strings.Fields(string(r.Data)), ""); got != want {
			t.Errorf("column %q:\n got %s\nwant %s", column, got, want)
		}
	}
	for _, tt := range []struct{ name, column string }{
		{"warehouse.marts.nope", ""},
		{"warehouse.marts.big_orders", "nope"}, // a column the dataset lacks
	} {
		queries := []string{
			`query($name: String!, $column: String!) { columnLineage(namespace: "postgres://warehouse.demo:5432", name: $name, column: $column) { start } }`,
			`query($name: String!, $column: String!) { columnImpact(namespace: "postgres://warehouse.demo:5432", name: $name, column: $column) { distance } }`,
		}
		if tt.column == "" {
			queries = append(queries,
				`query($name: String!) { lineage(namespace: "postgres://warehouse.demo:5432", name: $name) { start } }`,
				`query($name: String!) { impact(namespace: "postgres://warehouse.demo:5432", name: $name) { distance } }`)
		}
		for _, q := range queries {
			vars := map[string]any{"name": tt.name}
			if strings.Contains(q, "$column") {
				vars["column"] = tt.column
			}
			if r := e.post(t, q, vars); r.code() != "NOT_FOUND" {
				t.Errorf("%s of %s.%s: code %q, want NOT_FOUND: %+v", q, tt.name, tt.column, r.code(), r.Errors)
			}
		}
	}
}
