package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// TestJobSummariesAndRecentRuns lists jobs with their latest run and
// failure count, filtered, ordered and paged; the newest runs of every
// job, by state and page; and what one run measured of its datasets.
func TestJobSummariesAndRecentRuns(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	load, report, idle := catalog.JobKey{Namespace: "airflow", Name: "load"}, catalog.JobKey{Namespace: "airflow", Name: "report"}, catalog.JobKey{Namespace: "spark", Name: "idle"}
	orders := key("shop.public.orders")
	at := func(h int) *time.Time { t := time.Date(2026, 11, 1, h, 0, 0, 0, time.UTC); return &t }
	run := func(id string, job catalog.JobKey, state catalog.RunState, start, end int) catalog.Run {
		return catalog.Run{ID: id, Job: job, State: state, StartedAt: at(start), EndedAt: at(end), StateAt: *at(end)}
	}
	rows := int64(42)
	push := catalog.Push{Source: catalog.SourceOpenLineage,
		Jobs: []catalog.JobUpdate{
			{Job: catalog.JobFacts{Key: load, Type: "airflow_task", Outputs: []catalog.Key{orders}}},
			{Job: catalog.JobFacts{Key: report, Type: "airflow_task", Inputs: []catalog.Key{orders}}},
			{Job: catalog.JobFacts{Key: idle, Type: "spark_application"}},
		},
		Runs: []catalog.Run{
			run("l1", load, catalog.RunComplete, 1, 2), run("l2", load, catalog.RunFail, 3, 4), run("l3", load, catalog.RunFail, 5, 9),
			run("r1", report, catalog.RunComplete, 6, 7),
		},
		Metrics: []catalog.DatasetMetrics{{Dataset: orders, ObservedAt: *at(9), Direction: catalog.MetricsWritten, RunID: "l3", Job: load, RowCount: &rows}},
	}
	if err := st.ApplyPush(ctx, push); err != nil {
		t.Fatal(err)
	}
	names := func(js []catalog.JobSummary) []string {
		var out []string
		for _, j := range js {
			s := j.Key.Name
			if j.Latest != nil {
				s += ":" + j.Latest.ID
			}
			out = append(out, s)
		}
		return out
	}
	for _, c := range []struct {
		f     catalog.JobFilter
		want  []string
		total int
	}{
		{catalog.JobFilter{}, []string{"load:l3", "report:r1", "idle"}, 3},
		{catalog.JobFilter{Namespace: "spark"}, []string{"idle"}, 1},
		{catalog.JobFilter{Status: "FAIL"}, []string{"load:l3"}, 1},
		{catalog.JobFilter{Status: catalog.StatusNeverRan}, []string{"idle"}, 1},
		{catalog.JobFilter{Sort: catalog.JobSortLastRun}, []string{"load:l3", "report:r1", "idle"}, 3},
		{catalog.JobFilter{Sort: catalog.JobSortDuration}, []string{"load:l3", "report:r1", "idle"}, 3},
		{catalog.JobFilter{Sort: catalog.JobSortFailures, Limit: 1, Offset: 1}, []string{"report:r1"}, 3}, // ties by namespace and name
	} {
		got, total, err := st.JobSummaries(ctx, c.f)
		if err != nil {
			t.Fatalf("%+v: %v", c.f, err)
		}
		if diff := cmp.Diff(c.want, names(got)); diff != "" || total != c.total {
			t.Errorf("%+v: total %d, want %d (-want +got):\n%s", c.f, total, c.total, diff)
		}
	}
	all, _, err := st.JobSummaries(ctx, catalog.JobFilter{Namespace: "airflow"})
	if err != nil {
		t.Fatal(err)
	}
	if all[0].Runs != 3 || all[0].Failures != 2 || all[0].Type != "airflow_task" || all[0].Latest.Duration() != 4*time.Hour {
		t.Errorf("load: %+v, want 3 runs, 2 failures, the latest taking 4h", all[0])
	}
	if _, _, err := st.JobSummaries(ctx, catalog.JobFilter{Sort: "size"}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("an unknown order: %v, want ErrInvalid", err)
	}

	ids := func(rs []catalog.Run) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	runs, err := st.RecentRuns(ctx, "", time.Time{}, "", 2)
	if err != nil || !cmp.Equal([]string{"l3", "r1"}, ids(runs)) {
		t.Errorf("RecentRuns = %v, %v; want l3, r1", ids(runs), err)
	}
	runs, err = st.RecentRuns(ctx, "", runs[1].StateAt, runs[1].ID, 2)
	if err != nil || !cmp.Equal([]string{"l2", "l1"}, ids(runs)) {
		t.Errorf("RecentRuns' second page = %v, %v; want l2, l1", ids(runs), err)
	}
	runs, err = st.RecentRuns(ctx, catalog.RunFail, time.Time{}, "", 10)
	if err != nil || !cmp.Equal([]string{"l3", "l2"}, ids(runs)) {
		t.Errorf("failed RecentRuns = %v, %v; want l3, l2", ids(runs), err)
	}

	ms, err := st.RunMetrics(ctx, "l3")
	if err != nil || len(ms) != 1 || ms[0].Dataset != orders || *ms[0].RowCount != 42 {
		t.Errorf("RunMetrics = %+v, %v; want 42 rows written to orders", ms, err)
	}
}
