package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/extlink"
	"almanac/graph"
)

var asAlice = []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}

type changePage struct {
	Changes struct {
		Edges []struct {
			Cursor string
			Node   struct {
				Seq       int64
				Entity    string
				Kind      string
				Name      string
				Source    string
				Actor     *string
				Changes   []struct{ Field, Column, Before, After *string }
				Dataset   *struct{ Name string }
				Namespace string
			}
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
}

const changesQuery = `query($after: String, $entity: ChangeEntity, $kind: [ChangeKind!], $first: Int) {
  changes(after: $after, entity: $entity, kind: $kind, first: $first) {
    edges { cursor node { seq entity kind namespace name source actor changes { field column before after } dataset { name } } }
    pageInfo { hasNextPage endCursor }
  }
}`

func (e *env) changes(t *testing.T, vars map[string]any, header ...string) changePage {
	t.Helper()
	r := e.post(t, changesQuery, vars, header...)
	if len(r.Errors) > 0 {
		t.Fatalf("changes %v: %+v", vars, r.Errors)
	}
	var p changePage
	if err := json.Unmarshal(r.Data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChangesQuery pages through the change feed and checks that the
// pages hold every change of the log once, in order, each saying what
// changed before and after and who changed it, and that a page past the
// end keeps the cursor.
func TestChangesQuery(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	id := globalID(t, e, "warehouse.marts.customers")
	for _, m := range []string{
		`mutation($id: ID!) { setDatasetDescription(input: {datasetId: $id, description: "Paying customers."}) { auditEntry { id } } }`,
		`mutation($id: ID!) { addTag(input: {datasetId: $id, tag: "gold"}) { auditEntry { id } } }`,
		`mutation($id: ID!) { addDatasetLink(input: {datasetId: $id, title: "Runbook", url: "https://wiki.example.com/runbook"}) { auditEntry { field after } } }`,
	} {
		if r := e.post(t, m, map[string]any{"id": id}, asAlice...); len(r.Errors) > 0 {
			t.Fatalf("%s: %+v", m, r.Errors)
		}
	}
	want, err := e.store.ChangeFeed(t.Context(), 0, catalog.ChangeFilter{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	var after any
	for pages := 0; ; pages++ {
		p := e.changes(t, map[string]any{"after": after, "first": 7})
		for _, edge := range p.Changes.Edges {
			got = append(got, edge.Node.Seq)
		}
		if !p.Changes.PageInfo.HasNextPage {
			// A page past the end is empty and keeps the cursor.
			end := *p.Changes.PageInfo.EndCursor
			q := e.changes(t, map[string]any{"after": end})
			if len(q.Changes.Edges) != 0 || q.Changes.PageInfo.EndCursor == nil || *q.Changes.PageInfo.EndCursor != end {
				t.Errorf("page past the end: %+v, want empty with endCursor %s", q.Changes, end)
			}
			break
		}
		after = *p.Changes.PageInfo.EndCursor
	}
	var wantSeqs []int64
	for _, c := range want {
		wantSeqs = append(wantSeqs, c.Seq)
	}
	if diff := cmp.Diff(wantSeqs, got); diff != "" {
		t.Errorf("sequences over all pages (-want +got):\n%s", diff)
	}

	// The last three changes are alice's, with their content.
	p := e.changes(t, map[string]any{"after": catalog.ChangeCursor(wantSeqs[len(wantSeqs)-4]), "entity": "DATASET", "kind": "UPDATED"})
	type row struct{ Kind, Name, Source, Actor, Field, Before, After, Dataset string }
	var rows []row
	s := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	for _, edge := range p.Changes.Edges {
		n := edge.Node
		if len(n.Changes) != 1 || n.Dataset == nil {
			t.Fatalf("change %+v: want one field change and its dataset", n)
		}
		rows = append(rows, row{n.Kind, n.Name, n.Source, s(n.Actor), s(n.Changes[0].Field), s(n.Changes[0].Before), s(n.Changes[0].After), n.Dataset.Name})
	}
	wantRows := []row{
		{"UPDATED", "warehouse.marts.customers", "user:alice@corp", "alice@corp", "DESCRIPTION", "Customers who ordered at least once (dbt).", "Paying customers.", "warehouse.marts.customers"},
		{"UPDATED", "warehouse.marts.customers", "user:alice@corp", "alice@corp", "TAG", "<nil>", "gold", "warehouse.marts.customers"},
		{"UPDATED", "warehouse.marts.customers", "user:alice@corp", "alice@corp", "LINK", "<nil>", "Runbook <https://wiki.example.com/runbook>", "warehouse.marts.customers"},
	}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("alice's changes (-want +got):\n%s", diff)
	}

	// Filters that select nothing, and bad cursors.
	if p := e.changes(t, map[string]any{"entity": "RUN", "kind": []string{"SCHEMA_CHANGED"}}); len(p.Changes.Edges) != 0 {
		t.Errorf("runs with schema changes: %+v, want none", p.Changes.Edges)
	}
	for _, bad := range []string{"zzz", "bjotMQ", catalog.ChangeCursor(1) + "x"} {
		if r := e.post(t, changesQuery, map[string]any{"after": bad}); r.code() != graph.CodeBadUserInput || !strings.Contains(r.Errors[0].Message, "invalid change cursor") {
			t.Errorf("cursor %q: %+v, want BAD_USER_INPUT naming the cursor", bad, r.Errors)
		}
	}
	if r := e.post(t, changesQuery, map[string]any{"first": 100000}); r.code() != graph.CodeBadUserInput {
		t.Errorf("first 100000: %+v, want BAD_USER_INPUT", r.Errors)
	}
}

// TestDatasetLinks adds and removes links through GraphQL: owners and
// editors may, viewers may not; javascript:, data: and over-long values
// are refused naming what; the dataset shows its links and its wiki page.
func TestDatasetLinks(t *testing.T) {
	e := newEnv(t, graph.Options{Links: extlink.Templates{
		Wiki: extlink.MustParse("https://wiki.example.com/display/DATA/{name}", extlink.WikiPlaceholders),
	}}, principal)
	id := globalID(t, e, "warehouse.marts.customers")
	const add = `mutation($id: ID!, $title: String!, $url: String!) { addDatasetLink(input: {datasetId: $id, title: $title, url: $url}) { auditEntry { field before after } dataset { links { title url addedBy } } } }`
	for _, tc := range []struct {
		name, title, url string
		header           []string
		code, msg        string
	}{
		{"javascript", "x", "javascript:alert(document.cookie)", asAlice, graph.CodeBadUserInput, "only http and https"},
		{"data", "x", "data:text/html;base64,PHNjcmlwdD4=", asAlice, graph.CodeBadUserInput, "only http and https"},
		{"scheme-relative", "x", "//evil.example.com", asAlice, graph.CodeBadUserInput, "only http and https"},
		{"long url", "x", "https://example.com/" + strings.Repeat("a", 3000), asAlice, graph.CodeBadUserInput, "at most 2048"},
		{"long title", strings.Repeat("t", 300), "https://example.com/", asAlice, graph.CodeBadUserInput, "at most 200"},
		{"template braces are text", "{{.Secret}}", "https://example.com/{{.x}}", asAlice, "", ""},
		{"viewer", "Runbook", "https://wiki.example.com/runbook", []string{"X-Test-Login", "vic@corp", "X-Test-Role", "viewer"}, graph.CodeForbidden, ""},
		{"anonymous", "Runbook", "https://wiki.example.com/runbook", nil, graph.CodeUnauthenticated, ""},
		{"owner", "Runbook", "https://wiki.example.com/runbook", []string{"X-Test-Login", "bob@corp", "X-Test-Role", "viewer"}, "", ""},
	} {
		r := e.post(t, add, map[string]any{"id": id, "title": tc.title, "url": tc.url}, tc.header...)
		if r.code() != tc.code || (tc.msg != "" && !strings.Contains(r.Errors[0].Message, tc.msg)) {
			t.Errorf("%s: %+v, want code %q saying %q", tc.name, r.Errors, tc.code, tc.msg)
		}
	}
	r := e.post(t, `query($id: ID!) { node(id: $id) { ... on Dataset { documentationUrl links { title url addedBy } } } }`, map[string]any{"id": id})
	var data struct {
		Node struct {
			DocumentationURL string
			Links            []struct{ Title, URL, AddedBy string }
		}
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		t.Fatal(err)
	}
	wantLinks := []struct{ Title, URL, AddedBy string }{
		{"{{.Secret}}", "https://example.com/{{.x}}", "alice@corp"},
		{"Runbook", "https://wiki.example.com/runbook", "bob@corp"},
	}
	if diff := cmp.Diff(wantLinks, data.Node.Links); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	if want := "https://wiki.example.com/display/DATA/warehouse.marts.customers"; data.Node.DocumentationURL != want {
		t.Errorf("documentationUrl %q, want %q", data.Node.DocumentationURL, want)
	}
	const remove = `mutation($id: ID!, $url: String!) { removeDatasetLink(input: {datasetId: $id, url: $url}) { auditEntry { field before } dataset { links { url } } } }`
	r = e.post(t, remove, map[string]any{"id": id, "url": "https://wiki.example.com/runbook"}, asAlice...)
	if len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"before":"Runbook \u003chttps://wiki.example.com/runbook\u003e"`) || strings.Contains(string(r.Data), `"url":"https://wiki.example.com/runbook"`) {
		t.Errorf("remove: %s %+v", r.Data, r.Errors)
	}
	if r := e.post(t, remove, map[string]any{"id": id, "url": "https://nope.example.com/"}, asAlice...); r.code() != graph.CodeNotFound {
		t.Errorf("remove an unknown link: %+v, want NOT_FOUND", r.Errors)
	}
}

// TestJobCodeURL checks Job.codeUrl: the sourceCodeLocation when it is an
// http(s) link, else the code host's page for the job's path, else null.
func TestJobCodeURL(t *testing.T) {
	e := newEnv(t, graph.Options{Links: extlink.Templates{
		Code: extlink.MustParse("https://github.com/acme/dbt/blob/main/{path}", extlink.CodePlaceholders),
	}}, principal)
	jobs := []catalog.JobFacts{
		{Key: catalog.JobKey{Namespace: "airflow", Name: "load"}, Type: "airflow_task",
			Properties: map[string]string{"sourceCodeLocation": "https://git.example.com/etl/dags/load.py"}},
		{Key: catalog.JobKey{Namespace: "dbt2", Name: "model.x"}, Type: "dbt_model",
			Properties: map[string]string{"path": "models/x y.sql", "sourceCodeLocation": "javascript:alert(1)"}},
	}
	if _, err := e.store.Crawl(t.Context(), "openlineage", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: jobs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, `{
		a: job(namespace: "airflow", name: "load") { codeUrl }
		b: job(namespace: "dbt2", name: "model.x") { codeUrl }
		c: job(namespace: "dbt", name: "model.analytics.orders") { codeUrl }
	}`, nil)
	want := `{"a":{"codeUrl":"https://git.example.com/etl/dags/load.py"},"b":{"codeUrl":"https://github.com/acme/dbt/blob/main/models/x%20y.sql"},"c":{"codeUrl":null}}`
	if len(r.Errors) > 0 || string(r.Data) != want {
		t.Errorf("codeUrl: %s %+v, want %s", r.Data, r.Errors, want)
	}
}
