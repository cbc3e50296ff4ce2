package openlineage_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestUsageFromRuns pushes fixed events (three runs of a job reading
// orders in the last 30 days and one long before, one run of a job
// reading orders and customers) and checks what the store counts: the
// jobs reading each dataset and their runs in the window, and the
// popularity it stores.
func TestUsageFromRuns(t *testing.T) {
	ctx := t.Context()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	now := time.Now().UTC()
	event := func(job, runID string, at time.Time, inputs ...string) openlineage.Event {
		t.Helper()
		var ins string
		for i, in := range inputs {
			if i > 0 {
				ins += ","
			}
			ins += fmt.Sprintf(`{"namespace": "postgres://wh:5432", "name": %q}`, in)
		}
		ev, err := openlineage.Decode(fmt.Appendf(nil, `{
			"eventType": "COMPLETE", "eventTime": %q,
			"producer": "https://example.com/test", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
			"run": {"runId": %q},
			"job": {"namespace": "airflow", "name": %q},
			"inputs": [%s],
			"outputs": [{"namespace": "postgres://wh:5432", "name": "wh.public.%s_out"}]}`,
			at.Format(time.RFC3339), runID, job, ins, job))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	day := 24 * time.Hour
	events := []openlineage.Event{
		event("daily_revenue", "01934a57-0000-7000-8000-000000000001", now.Add(-40*day), "wh.public.orders"),
		event("daily_revenue", "01934a57-0000-7000-8000-000000000002", now.Add(-3*day), "wh.public.orders"),
		event("daily_revenue", "01934a57-0000-7000-8000-000000000003", now.Add(-2*day), "wh.public.orders"),
		event("daily_revenue", "01934a57-0000-7000-8000-000000000004", now.Add(-1*day), "wh.public.orders"),
		event("churn", "01934a57-0000-7000-8000-000000000005", now.Add(-1*day), "wh.public.orders", "wh.public.customers"),
	}
	push, errs := openlineage.Derive(events)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPush(ctx, push); err != nil {
		t.Fatal(err)
	}
	key := func(name string) catalog.Key {
		return catalog.Key{Namespace: "postgres://wh:5432", Name: "wh.public." + name}
	}
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key("orders"), key("customers"), key("churn_out")})
	if err != nil {
		t.Fatal(err)
	}
	usage, err := st.UsageOf(ctx, []int64{ids[key("orders")], ids[key("customers")], ids[key("churn_out")]}, now)
	if err != nil {
		t.Fatal(err)
	}
	job := func(name string, runs int64) catalog.JobUsage {
		return catalog.JobUsage{Job: catalog.JobKey{Namespace: "airflow", Name: name}, Runs: runs}
	}
	for _, tc := range []struct {
		name string
		want catalog.Usage
	}{
		{"orders", catalog.Usage{Window: catalog.UsageWindow, Jobs: 2, Runs: 4, TopJobs: []catalog.JobUsage{job("daily_revenue", 3), job("churn", 1)}}},
		{"customers", catalog.Usage{Window: catalog.UsageWindow, Jobs: 1, Runs: 1, TopJobs: []catalog.JobUsage{job("churn", 1)}}},
		{"churn_out", catalog.Usage{Window: catalog.UsageWindow}},
	} {
		got := usage[ids[key(tc.name)]]
		tc.want.Score = catalog.Popularity(tc.want.Jobs, tc.want.Runs, 0)
		if tc.want.Score == 0 {
			got.ScoredFor = time.Time{}
		} else if got.ScoredFor.IsZero() {
			t.Errorf("%s: popularity never computed", tc.name)
		}
		got.ScoredFor = time.Time{}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s usage (-want +got):\n%s", tc.name, diff)
		}
	}
}
