package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/graph"
)

// TestIncidents reads incidents on a dataset and across the catalog (by
// team, paged), and acknowledges and resolves one as different
// principals: only editors and the dataset's owners may.
func TestIncidents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, graph.Options{}, principal)
	open := func(key catalog.Key, cause string) int64 {
		inc, _, err := e.store.OpenIncident(ctx, catalog.NewIncident{Dataset: key, Cause: catalog.CauseCheckFailed, CauseKey: cause,
			Severity: catalog.SeverityError, Title: "check " + cause + " fails", By: catalog.ActorAlmanac,
			Impact: []catalog.ImpactedDataset{{Dataset: fkey("warehouse.finance.revenue"), Distance: 1,
				Owners: []catalog.Owner{{Name: "finance_owner", Kind: catalog.OwnerRole}}}}})
		if err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	open(fkey("warehouse.marts.orders"), "not_null_orders_id")
	open(fkey("warehouse.marts.orders"), "unique_orders_id")
	open(fkey("warehouse.marts.customers"), "unique_customers_email")

	r := e.post(t, `{ dataset(namespace: "`+fixtureNS+`", name: "warehouse.marts.customers") {
		incidents(open: true) { title cause severity state impact { name distance owners { name } dataset { name } } } } }`, nil)
	want := `{"dataset":{"incidents":[{"title":"check unique_customers_email fails","cause":"CHECK_FAILED","severity":"ERROR","state":"OPEN",` +
		`"impact":[{"name":"warehouse.finance.revenue","distance":1,"owners":[{"name":"finance_owner"}],"dataset":{"name":"warehouse.finance.revenue"}}]}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" || len(r.Errors) > 0 {
		t.Fatalf("dataset incidents (-want +got):\n%s %+v", diff, r.Errors)
	}

	// Orders is the payments team's: two incidents, one per page.
	const list = `query($after: String) { incidents(filter: {open: true, team: "payments"}, first: 1, after: $after) {
		edges { node { id title name } } pageInfo { hasNextPage endCursor } } }`
	var titles []string
	var ids []string
	after := ""
	for range 3 {
		var page struct {
			Incidents struct {
				Edges []struct {
					Node struct{ ID, Title, Name string }
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		e.decode(t, e.post(t, list, map[string]any{"after": after}), &page)
		for _, ed := range page.Incidents.Edges {
			titles = append(titles, ed.Node.Title)
			ids = append(ids, ed.Node.ID)
		}
		if !page.Incidents.PageInfo.HasNextPage {
			break
		}
		after = page.Incidents.PageInfo.EndCursor
	}
	if diff := cmp.Diff([]string{"check unique_orders_id fails", "check not_null_orders_id fails"}, titles); diff != "" {
		t.Fatalf("payments' open incidents over pages (-want +got):\n%s", diff)
	}

	// customers is owned by bob@corp (a user owner) and no team.
	var cust struct {
		Incidents struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	e.decode(t, e.post(t, `{ incidents(filter: {namespace: "`+fixtureNS+`", name: "warehouse.marts.customers"}) { edges { node { id } } } }`, nil), &cust)
	custID := cust.Incidents.Edges[0].Node.ID

	const ack = `mutation($id: ID!) { acknowledgeIncident(id: $id, note: "on it") { state acknowledgedBy } }`
	const resolve = `mutation($id: ID!) { resolveIncident(id: $id, note: "deduplicated the emails") { state resolvedBy resolution timeline { kind actor note } } }`
	tests := []struct {
		name, query, id, login, role, wantCode string
	}{
		{"anonymous", ack, custID, "", "", graph.CodeUnauthenticated},
		{"viewer", ack, custID, "vic@corp", "viewer", graph.CodeForbidden},
		{"viewer of another's dataset", resolve, ids[0], "bob@corp", "viewer", graph.CodeForbidden},
		{"not an incident ID", ack, globalID(t, e, "warehouse.marts.customers"), "alice@corp", "editor", graph.CodeBadUserInput},
		{"editor", ack, ids[0], "alice@corp", "editor", ""},
		{"again", ack, ids[0], "alice@corp", "editor", graph.CodeConflict},
		{"owner", resolve, custID, "bob@corp", "viewer", ""},
		{"resolved already", resolve, custID, "alice@corp", "editor", graph.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, tt.query, map[string]any{"id": tt.id}, "X-Test-Login", tt.login, "X-Test-Role", tt.role)
			if r.code() != tt.wantCode || r.Status != http.StatusOK {
				t.Fatalf("code = %q (status %d), want %q (errors %+v)", r.code(), r.Status, tt.wantCode, r.Errors)
			}
		})
	}
	r = e.post(t, `query($id: ID!) { incident(id: $id) { state resolvedBy resolution timeline { kind actor note } } }`, map[string]any{"id": custID})
	want = `{"incident":{"state":"RESOLVED","resolvedBy":"bob@corp","resolution":"deduplicated the emails",` +
		`"timeline":[{"kind":"OPENED","actor":"almanac","note":""},{"kind":"RESOLVED","actor":"bob@corp","note":"deduplicated the emails"}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("resolved incident (-want +got):\n%s", diff)
	}

	// A review with a ticket; one whose ticket is not a link is refused.
	const review = `mutation($id: ID!, $t: String!) { setIncidentReview(id: $id, review: {cause: "a duplicate import",
		actions: [{action: "unique index on email", ticket: $t}]}) { review { cause by actions { action ticket } } } }`
	r = e.post(t, review, map[string]any{"id": custID, "t": "ftp://x"}, "X-Test-Login", "bob@corp", "X-Test-Role", "viewer")
	if r.code() != graph.CodeBadUserInput {
		t.Errorf("ftp ticket: code %q, want %s (%+v)", r.code(), graph.CodeBadUserInput, r.Errors)
	}
	r = e.post(t, review, map[string]any{"id": custID, "t": "https://jira.corp/browse/DATA-7"}, "X-Test-Login", "bob@corp", "X-Test-Role", "viewer")
	want = `{"setIncidentReview":{"review":{"cause":"a duplicate import","by":"bob@corp","actions":[{"action":"unique index on email","ticket":"https://jira.corp/browse/DATA-7"}]}}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("review (-want +got):\n%s %+v", diff, r.Errors)
	}
}

// decode unmarshals a response's data into v, failing on errors.
func (e *env) decode(t *testing.T, r response, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("%s: %v", r.Data, err)
	}
}

// TestIncidentTimelinesNoNPlusOne counts the SQL statements of listing
// incidents with their timelines: the same for 5 incidents as for 50,
// the timelines read in one statement.
func TestIncidentTimelinesNoNPlusOne(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, graph.Options{}, principal)
	for i := range 50 {
		if _, _, err := e.store.OpenIncident(ctx, catalog.NewIncident{Dataset: fkey("warehouse.marts.orders"), Cause: catalog.CauseCheckFailed,
			CauseKey: fmt.Sprintf("check_%02d", i), Severity: catalog.SeverityError, Title: "check fails", By: catalog.ActorAlmanac}); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[int]int64{}
	for _, first := range []int{5, 50} {
		e.stmts.n.Store(0)
		var page struct {
			Incidents struct {
				Edges []struct {
					Node struct {
						Timeline []struct{ Kind, Actor string }
					}
				}
			}
		}
		e.decode(t, e.post(t, `query($first: Int) { incidents(first: $first) { edges { node { timeline { kind actor } } } } }`,
			map[string]any{"first": first}), &page)
		if len(page.Incidents.Edges) != first {
			t.Fatalf("got %d incidents, want %d", len(page.Incidents.Edges), first)
		}
		for _, ed := range page.Incidents.Edges {
			if len(ed.Node.Timeline) != 1 || ed.Node.Timeline[0].Kind != "OPENED" || ed.Node.Timeline[0].Actor != "almanac" {
				t.Fatalf("timeline %+v, want its opening by almanac", ed.Node.Timeline)
			}
		}
		counts[first] = e.stmts.n.Load()
	}
	if counts[50] != counts[5] {
		t.Errorf("statements for 5 and 50 incidents with timelines: %d and %d, want the same", counts[5], counts[50])
	}
	t.Logf("statements: %v", counts)
}
