package graph_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/graph"
)

// TestJobSummaries reads the job listing through the API: filtered by
// latest-run status, ordered by failures, paged, with the job itself
// from the loaders; and recent runs of every job, of one state, paged.
func TestJobSummaries(t *testing.T) {
	e := newEnv(t, graph.Options{})
	type summaries struct {
		JobSummaries struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
			Edges []struct {
				Node struct {
					Namespace, Name, Type string
					Runs, Failures        int
					LatestRun             *struct{ State string }
					Job                   struct{ Name string }
				}
			}
		}
	}
	const q = `query($status: JobStatus, $order: JobSummaryOrder, $first: Int, $after: String, $ns: String) {
		jobSummaries(namespace: $ns, status: $status, orderBy: $order, first: $first, after: $after) {
			totalCount pageInfo { hasNextPage endCursor }
			edges { node { namespace name type runs failures latestRun { state } job { name } } } } }`
	list := func(vars map[string]any) (out []string, s summaries) {
		t.Helper()
		e.decode(t, e.post(t, q, vars), &s)
		for _, ed := range s.JobSummaries.Edges {
			n := ed.Node
			state := "-"
			if n.LatestRun != nil {
				state = n.LatestRun.State
			}
			if n.Job.Name != n.Name {
				t.Errorf("summary %s has job %s", n.Name, n.Job.Name)
			}
			out = append(out, n.Name+" "+n.Type+" "+state+" "+itoa(n.Runs)+"/"+itoa(n.Failures))
		}
		return out, s
	}
	all, s := list(map[string]any{"ns": "ALL"})
	if len(all) != 0 || s.JobSummaries.TotalCount != 0 {
		t.Errorf("jobs of namespace ALL: %q", all)
	}
	got, s := list(map[string]any{"status": "FAIL", "order": "FAILURES"})
	want := []string{"analytics_daily airflow_dag FAIL 2/1", "model.analytics.revenue dbt_model FAIL 2/1"}
	if diff := cmp.Diff(want, got); diff != "" || s.JobSummaries.TotalCount != 2 {
		t.Errorf("jobs whose latest run failed, %d in all (-want +got):\n%s", s.JobSummaries.TotalCount, diff)
	}
	// Paged one at a time, the same jobs.
	var paged []string
	var after any
	for range 5 {
		got, s := list(map[string]any{"status": "FAIL", "order": "FAILURES", "first": 1, "after": after})
		paged = append(paged, got...)
		if !s.JobSummaries.PageInfo.HasNextPage {
			break
		}
		after = s.JobSummaries.PageInfo.EndCursor
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		t.Errorf("paged (-want +got):\n%s", diff)
	}
	if r := e.post(t, `{ jobSummaries(first: -1) { totalCount } }`, nil); len(r.Errors) == 0 {
		t.Errorf("first -1: %+v", r)
	}

	type runs struct {
		RecentRuns struct {
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
			Edges []struct {
				Node struct {
					ID    string
					State string
					Job   struct{ Name string }
				}
			}
		}
	}
	const rq = `query($state: RunState, $first: Int, $after: String) { recentRuns(state: $state, first: $first, after: $after) {
		pageInfo { hasNextPage endCursor } edges { node { id state job { name } } } } }`
	var r runs
	e.decode(t, e.post(t, rq, map[string]any{"state": "FAIL"}), &r)
	var failed []string
	for _, ed := range r.RecentRuns.Edges {
		failed = append(failed, ed.Node.Job.Name+" "+ed.Node.State)
	}
	if diff := cmp.Diff([]string{"analytics_daily FAIL", "model.analytics.revenue FAIL"}, failed); diff != "" {
		t.Errorf("recent failed runs (-want +got):\n%s", diff)
	}
	// Every run, two at a time: six runs, newest first (by the time of
	// their last state change), none twice.
	var ids []string
	after = nil
	for range 10 {
		var r runs
		e.decode(t, e.post(t, rq, map[string]any{"first": 2, "after": after}), &r)
		for _, ed := range r.RecentRuns.Edges {
			ids = append(ids, ed.Node.ID)
		}
		if !r.RecentRuns.PageInfo.HasNextPage {
			break
		}
		after = r.RecentRuns.PageInfo.EndCursor
	}
	want = []string{"8c6d0b1e-0002-4000-8000-000000000001", "8c6d0b1e-0002-4000-8000-000000000003", "8c6d0b1e-0002-4000-8000-000000000002",
		"8c6d0b1e-0001-4000-8000-000000000001", "8c6d0b1e-0001-4000-8000-000000000003", "8c6d0b1e-0001-4000-8000-000000000002"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("recent runs, paged (-want +got):\n%s", diff)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
