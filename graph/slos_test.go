package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/slo"
	"almanac/catalog/store"
	"almanac/graph"
)

// TestSLOMutations declares, changes and deletes an SLO through GraphQL:
// an owner and a write token may, a viewer, a non-owner and a read-only
// token may not (FORBIDDEN); invalid input is BAD_USER_INPUT naming the
// field; the SLO shows in Dataset.slos beside the configuration's, with
// its editor as source; each edit is in the audit log.
func TestSLOMutations(t *testing.T) {
	customers := fkey("warehouse.marts.customers")
	fixture := newEnv(t, graph.Options{})
	st := fixture.store
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	h := graph.NewHandler(graph.Options{Store: st, Tokens: tokens, SLOs: []slo.SLO{{Name: "checks pass", Dataset: customers, Source: "config",
		Origin: "almanac.yaml:3", Spec: slo.Spec{Kind: slo.Quality, Objective: 0.95, Window: 7 * 24 * time.Hour}}}})
	e := &env{url: newHTTPServer(t, tokens.Guard(auth.Middleware(auth.Chain(tokens.Authenticate, principal), h), nil)) + "/graphql", store: st, pool: fixture.pool}
	asBob := []string{"X-Test-Login", "bob@corp", "X-Test-Role", "viewer"} // a user owner of customers, per dbt
	asVic := []string{"X-Test-Login", "vic@corp", "X-Test-Role", "viewer"}
	asAlice := []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}
	asRoot := []string{"X-Test-Login", "root@corp", "X-Test-Role", "admin"}
	newToken := func(scopes []string, header []string) []string {
		t.Helper()
		r := e.post(t, `mutation($in: CreateTokenInput!) { createToken(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"name": "t" + strings.Join(scopes, ""), "scopes": scopes, "expiresAt": time.Now().Add(time.Hour).Format(time.RFC3339)}}, header...)
		var c struct{ CreateToken struct{ Secret string } }
		if err := json.Unmarshal(r.Data, &c); err != nil || c.CreateToken.Secret == "" {
			t.Fatalf("createToken: %s %+v", r.Data, r.Errors)
		}
		return []string{"Authorization", "Bearer " + c.CreateToken.Secret}
	}
	readToken, writeToken := newToken([]string{"READ"}, asBob), newToken([]string{"WRITE"}, asAlice)

	id := globalID(t, e, "warehouse.marts.customers")
	orders := globalID(t, e, "warehouse.marts.orders")
	const create = `mutation($in: SLOInput!) { createSLO(input: $in) { auditEntry { actor field before after } } }`
	fresh := map[string]any{"datasetId": id, "name": "fresh", "kind": "freshness", "maxAge": "6h", "objective": "99.5%", "window": "7d"}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	refused := []struct {
		name     string
		in       map[string]any
		header   []string
		wantCode string
		wantMsg  string
	}{
		{"anonymous", fresh, nil, graph.CodeUnauthenticated, ""},
		{"viewer", fresh, asVic, graph.CodeForbidden, ""},
		{"owner of another dataset", with(fresh, "datasetId", orders), asBob, graph.CodeForbidden, ""},
		{"read-only token", fresh, readToken, graph.CodeForbidden, "write scope"},
		{"bad objective", with(fresh, "objective", "150%"), asBob, graph.CodeBadUserInput, "input.objective: "},
		{"no max age", with(fresh, "maxAge", nil), asBob, graph.CodeBadUserInput, "input.maxAge: "},
		{"unknown updates", with(fresh, "updates", "commits"), asBob, graph.CodeBadUserInput, "input.updates: "},
		{"bad window", with(fresh, "window", "soon"), asBob, graph.CodeBadUserInput, "input.window: "},
		{"bad time zone", map[string]any{"datasetId": id, "name": "x", "kind": "on_time", "deadline": "09:00", "timeZone": "Mars/Olympus"}, asBob, graph.CodeBadUserInput, "input.timeZone: "},
		{"min above max", map[string]any{"datasetId": id, "name": "x", "kind": "volume", "min": 10, "max": 1}, asBob, graph.CodeBadUserInput, "input.min: "},
		{"unknown kind", with(fresh, "kind", "speed"), asBob, graph.CodeBadUserInput, "input.kind: "},
		{"empty name", with(fresh, "name", ""), asBob, graph.CodeBadUserInput, "input.name: "},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, create, map[string]any{"in": tt.in}, tt.header...)
			if r.code() != tt.wantCode || (tt.wantMsg != "" && !strings.Contains(r.Errors[0].Message, tt.wantMsg)) {
				t.Errorf("code %q, errors %+v; want %s with %q", r.code(), r.Errors, tt.wantCode, tt.wantMsg)
			}
		})
	}

	// Refusals are in the security log: the read-only token's use, and
	// the viewer's denied edit.
	used, err := st.AuthEvents(context.Background(), store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthTokenUsed}, FailuresOnly: true}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(used) != 1 || used[0].Actor != "bob@corp" || !strings.Contains(used[0].Detail, "write scope") {
		t.Errorf("refused token uses: %+v", used)
	}
	denied, err := st.AuthEvents(context.Background(), store.AuthEventFilter{Kinds: []catalog.AuthEventKind{catalog.AuthAccessDenied}}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(denied, func(ev catalog.AuthEvent) bool {
		return ev.Actor == "vic@corp" && strings.HasPrefix(ev.Detail, "create slo: ")
	}) {
		t.Errorf("the viewer's refused create is not in the security log: %+v", denied)
	}

	// The owner declares it; a second time is a conflict.
	r := e.post(t, create, map[string]any{"in": fresh}, asBob...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"actor":"bob@corp","field":"SLO","before":null,"after":"{`) {
		t.Fatalf("owner's create: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, create, map[string]any{"in": fresh}, asBob...); r.code() != graph.CodeConflict {
		t.Errorf("creating twice: %+v, want CONFLICT", r.Errors)
	}
	const read = `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") { slos { name kind source origin objective windowSeconds status } } }`
	want := `{"dataset":{"slos":[` +
		`{"name":"checks pass","kind":"quality","source":"config","origin":"almanac.yaml:3","objective":0.95,"windowSeconds":604800,"status":"no_data"},` +
		`{"name":"fresh","kind":"freshness","source":"user:bob@corp","origin":"declared in Almanac","objective":0.995,"windowSeconds":604800,"status":"no_data"}]}}`
	if r := e.post(t, read, nil); string(r.Data) != want {
		t.Errorf("slos:\n got %s\nwant %s", r.Data, want)
	}

	// A write token of an editor changes it; it becomes theirs.
	const update = `mutation($in: SLOInput!) { updateSLO(input: $in) { auditEntry { actor } dataset { slos { name source objective } } } }`
	r = e.post(t, update, map[string]any{"in": with(fresh, "objective", "0.9")}, writeToken...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"actor":"alice@corp"`) || !strings.Contains(string(r.Data), `{"name":"fresh","source":"user:alice@corp","objective":0.9}`) {
		t.Errorf("token's update: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, update, map[string]any{"in": with(fresh, "name", "absent")}, asAlice...); r.code() != graph.CodeNotFound {
		t.Errorf("updating an absent slo: %+v, want NOT_FOUND", r.Errors)
	}

	// Deleting: not by a viewer; by the owner; the configured one stays.
	const del = `mutation($id: ID!, $name: String!) { deleteSLO(input: {datasetId: $id, name: $name}) { auditEntry { before after } dataset { slos { name source } } } }`
	if r := e.post(t, del, map[string]any{"id": id, "name": "fresh"}, asVic...); r.code() != graph.CodeForbidden {
		t.Errorf("viewer's delete: %+v, want FORBIDDEN", r.Errors)
	}
	if r := e.post(t, del, map[string]any{"id": id, "name": "checks pass"}, asBob...); r.code() != graph.CodeNotFound {
		t.Errorf("deleting the configured slo: %+v, want NOT_FOUND", r.Errors)
	}
	r = e.post(t, del, map[string]any{"id": id, "name": "fresh"}, asBob...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"after":null},"dataset":{"slos":[{"name":"checks pass","source":"config"}]}`) {
		t.Errorf("owner's delete: %s %+v", r.Data, r.Errors)
	}

	// The audit log has the three edits.
	r = e.post(t, `{ auditLog(first: 10, filter: {fields: [SLO]}) { edges { node { actor } } } }`, nil, asRoot...)
	if string(r.Data) != `{"auditLog":{"edges":[{"node":{"actor":"bob@corp"}},{"node":{"actor":"alice@corp"}},{"node":{"actor":"bob@corp"}}]}}` {
		t.Errorf("audit log: %s %+v", r.Data, r.Errors)
	}
}

// TestAnomalies pushes ten weeks of daily row counts with one load ten
// times the usual size, and finds that load, and only it, in
// Dataset.anomalies with its expected range and method.
func TestAnomalies(t *testing.T) {
	e := newEnv(t, graph.Options{})
	customers := fkey("warehouse.marts.customers")
	base := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	spike := base.Add(-3 * 24 * time.Hour)
	p := catalog.Push{Source: "sql:x"}
	for d := 70; d >= 0; d-- {
		at := base.Add(-time.Duration(d) * 24 * time.Hour)
		rows := int64(1000 + 20*math.Sin(float64(d)*1.7))
		if at.Equal(spike) {
			rows *= 10
		}
		p.Metrics = append(p.Metrics, catalog.DatasetMetrics{Dataset: customers, ObservedAt: at, Direction: catalog.MetricsWritten, RowCount: &rows, RunID: fmt.Sprint("m", d)})
	}
	if err := e.store.ApplyPush(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") {
		anomalies { metric at observed expected expectedMin expectedMax direction method } } }`, nil)
	var d struct {
		Dataset struct {
			Anomalies []struct {
				Metric, Direction, Method                    string
				At                                           time.Time
				Observed, Expected, ExpectedMin, ExpectedMax float64
			}
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(r.Errors) > 0 {
		t.Fatalf("%s %+v: %v", r.Data, r.Errors, err)
	}
	if len(d.Dataset.Anomalies) != 1 {
		t.Fatalf("anomalies = %+v, want the spike", d.Dataset.Anomalies)
	}
	a := d.Dataset.Anomalies[0]
	if a.Metric != "row_count" || !a.At.Equal(spike) || a.Observed < 9000 || a.Direction != "above" ||
		a.ExpectedMin > a.Expected || a.Expected > a.ExpectedMax || a.ExpectedMin < 800 || a.ExpectedMax > 1200 || !strings.Contains(a.Method, "median/MAD") {
		t.Errorf("anomaly = %+v", a)
	}
	// Without history, nothing.
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") { anomalies { metric } } }`, nil)
	if string(r.Data) != `{"dataset":{"anomalies":[]}}` {
		t.Errorf("orders: %s %+v", r.Data, r.Errors)
	}
}

// TestSLOAfterNominal declares an on-time SLO measured after each data
// interval's nominal end (what an Airflow SLA is harvested as) through
// createSLO, reads it back with its spec and promise, changes it with
// updateSLO, and refuses a malformed duration naming the field.
func TestSLOAfterNominal(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	asAlice := []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}
	id := globalID(t, e, "warehouse.marts.customers")
	in := map[string]any{"datasetId": id, "name": "daily within 2h", "kind": "on_time", "afterNominal": "2h", "objective": "90%"}
	const create = `mutation($in: SLOInput!) { createSLO(input: $in) { auditEntry { after } } }`
	for _, bad := range []struct{ value, msg string }{
		{"two hours", `input.afterNominal: duration "two hours"`},
		{"0s", `input.afterNominal: "0s": want a positive duration`},
	} {
		r := e.post(t, create, map[string]any{"in": map[string]any{"datasetId": id, "name": "x", "kind": "on_time", "afterNominal": bad.value}}, asAlice...)
		if r.code() != graph.CodeBadUserInput || !strings.Contains(r.Errors[0].Message, bad.msg) {
			t.Errorf("afterNominal %q: code %q, errors %+v; want BAD_USER_INPUT with %q", bad.value, r.code(), r.Errors, bad.msg)
		}
	}
	r := e.post(t, `mutation($in: SLOInput!) { createSLO(input: $in) { auditEntry { after } } }`,
		map[string]any{"in": map[string]any{"datasetId": id, "name": "both", "kind": "on_time", "afterNominal": "1h", "deadline": "09:00"}}, asAlice...)
	if r.code() != graph.CodeBadUserInput || !strings.Contains(r.Errors[0].Message, "want one of them") {
		t.Errorf("afterNominal and deadline: %+v, want BAD_USER_INPUT", r.Errors)
	}

	r = e.post(t, create, map[string]any{"in": in}, asAlice...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `\"after_nominal\":\"2h\"`) {
		t.Fatalf("create: %s %+v", r.Data, r.Errors)
	}
	const read = `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") {
		slos { name kind source objective afterNominalSeconds promise status } } }`
	want := `{"dataset":{"slos":[{"name":"daily within 2h","kind":"on_time","source":"user:alice@corp","objective":0.9,` +
		`"afterNominalSeconds":7200,"promise":"each data interval delivered within 2h after its nominal end","status":"no_data"}]}}`
	if r := e.post(t, read, nil); string(r.Data) != want || len(r.Errors) > 0 {
		t.Errorf("slos:\n got %s %+v\nwant %s", r.Data, r.Errors, want)
	}

	r = e.post(t, `mutation($in: SLOInput!) { updateSLO(input: $in) { dataset { slos { name afterNominalSeconds } } } }`,
		map[string]any{"in": map[string]any{"datasetId": id, "name": "daily within 2h", "kind": "on_time", "afterNominal": "1d6h"}}, asAlice...)
	if want := `{"updateSLO":{"dataset":{"slos":[{"name":"daily within 2h","afterNominalSeconds":108000}]}}}`; string(r.Data) != want || len(r.Errors) > 0 {
		t.Errorf("update:\n got %s %+v\nwant %s", r.Data, r.Errors, want)
	}
	// Another kind has none.
	r = e.post(t, create, map[string]any{"in": map[string]any{"datasetId": id, "name": "fresh", "kind": "freshness", "maxAge": "6h"}}, asAlice...)
	if len(r.Errors) > 0 {
		t.Fatalf("create freshness: %+v", r.Errors)
	}
	r = e.post(t, `{ dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") { slos { name afterNominalSeconds promise } } }`, nil)
	if !strings.Contains(string(r.Data), `{"name":"fresh","afterNominalSeconds":null,"promise":"never older than 6h"}`) {
		t.Errorf("freshness slo: %s %+v", r.Data, r.Errors)
	}
}
