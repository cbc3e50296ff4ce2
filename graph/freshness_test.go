package graph_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/graph"
)

// TestFreshness reads dbt source freshness through the API: the latest
// observation, the history newest first, null and empty for a dataset
// never measured, and a page size out of range as a bad request.
func TestFreshness(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `query($name: String!, $first: Int) { dataset(namespace: "postgres://warehouse.demo:5432", name: $name) {
		freshness { status ageSeconds runId }
		freshnessHistory(first: $first) { status observedAt maxLoadedAt ageSeconds warnAfter errorAfter criteria message runId source } } }`
	tests := []struct {
		name  string
		first any
		want  string
	}{
		{"warehouse.marts.orders", nil, `{"dataset":{"freshness":{"status":"warn","ageSeconds":50400,"runId":"run-1"},"freshnessHistory":[` +
			`{"status":"warn","observedAt":"2026-11-01T06:00:00Z","maxLoadedAt":"2026-10-31T16:00:00Z","ageSeconds":50400,"warnAfter":"12 hour","errorAfter":"1 day","criteria":"filter: status \u003c\u003e 'test'","message":"","runId":"run-1","source":"dbt:analytics"},` +
			`{"status":"pass","observedAt":"2026-10-31T06:00:00Z","maxLoadedAt":"2026-10-31T04:00:00Z","ageSeconds":7200,"warnAfter":"12 hour","errorAfter":"1 day","criteria":"","message":"","runId":"run-0","source":"dbt:analytics"}]}}`},
		{"warehouse.marts.orders", 1, `{"dataset":{"freshness":{"status":"warn","ageSeconds":50400,"runId":"run-1"},"freshnessHistory":[` +
			`{"status":"warn","observedAt":"2026-11-01T06:00:00Z","maxLoadedAt":"2026-10-31T16:00:00Z","ageSeconds":50400,"warnAfter":"12 hour","errorAfter":"1 day","criteria":"filter: status \u003c\u003e 'test'","message":"","runId":"run-1","source":"dbt:analytics"}]}}`},
		{"warehouse.marts.customers", nil, `{"dataset":{"freshness":null,"freshnessHistory":[]}}`},
	}
	for _, tt := range tests {
		r := e.post(t, q, map[string]any{"name": tt.name, "first": tt.first})
		if len(r.Errors) > 0 {
			t.Fatalf("%s: errors %+v", tt.name, r.Errors)
		}
		if diff := cmp.Diff(tt.want, string(r.Data)); diff != "" {
			t.Errorf("%s, first %v (-want +got):\n%s", tt.name, tt.first, diff)
		}
	}
	if r := e.post(t, q, map[string]any{"name": "warehouse.marts.orders", "first": -1}); r.code() != "BAD_USER_INPUT" {
		t.Errorf("first -1: code %q, errors %+v; want BAD_USER_INPUT", r.code(), r.Errors)
	}
}
