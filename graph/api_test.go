package graph_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/search"
)

// TestNoNPlusOne counts the SQL statements of listing pages of datasets
// with their columns, owners and tags: a small constant, the same for 5
// datasets as for 50.
func TestNoNPlusOne(t *testing.T) {
	e := newEnv(t, graph.Options{})
	var many []catalog.DatasetFacts
	for i := range 60 {
		many = append(many, catalog.DatasetFacts{
			Key: fkey(fmt.Sprintf("warehouse.bulk.t%02d", i)), Platform: "postgres", Kind: catalog.KindTable,
			Columns:     []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}, {Name: "v", Ordinal: 2, Type: "text"}},
			Owners:      []catalog.Owner{{Name: fmt.Sprintf("team%d", i%3), Kind: catalog.OwnerTeam}},
			Tags:        []string{"bulk"},
			ForeignKeys: []catalog.ForeignKey{{Name: "fk", Columns: []string{"id"}, Target: fkey("warehouse.marts.customers"), TargetCol: []string{"id"}}},
		})
	}
	crawl(context.Background(), t, e.store, "postgres:bulk", many)

	const list = `query($first: Int) { datasets(first: $first) { totalCount edges { node {
		name columns { name type } owners { name kind } tags { name } } } } }`
	const deep = `query($first: Int) { datasets(first: $first) { edges { node {
		name columns { name } owners { name } tags { name }
		foreignKeys { target { name owners { name } } }
		referencedBy { from { name } }
		schemaHistory(first: 3) { edges { node { version diff { added { name } } } } } } } } }`
	tests := []struct {
		name  string
		query string
		max   int64
	}{
		// the page (1) and its datasets' facts (5)
		{"columns owners tags", list, 6},
		// plus references (1), history (1), and the foreign keys' target
		// outside the page: its id (1) and facts (5)
		{"keys and history", deep, 14},
		// the same, with the history's page size in a variable: the
		// look-ahead reads it as the resolver does
		{"history page from a variable", `query($first: Int, $h: Int = 3) { datasets(first: $first) { edges { node {
			name schemaHistory(first: $h) { edges { node { version } } } } } } }`, 7},
		// the page (1), its facts (5) and its checks (1)
		{"quality checks", `query($first: Int) { datasets(first: $first) { edges { node {
			name qualityChecks { name latest { status } } } } } }`, 7},
		// the page (1), its facts (5), the checks (1) and the results of
		// every check (1)
		{"quality results", `query($first: Int) { datasets(first: $first) { edges { node {
			name qualityChecks { name results(first: 5) { edges { node { status observed } } } } } } } }`, 8},
		// the page (1), its facts (5), the stored evaluations (1: none
		// here, no evaluator ran) and the SLO observations (4: declared
		// in facts, freshness, the jobs writing the datasets, row counts;
		// their runs are a fifth when there are any, none here)
		{"slos", `query($first: Int) { datasets(first: $first) { edges { node {
			name slos { name status budgetRemaining } } } } }`, 11},
		// the same and the days of every SLO (1)
		{"slo history", `query($first: Int) { datasets(first: $first) { edges { node {
			name slos { name history(days: 30) { day attainment } } } } } }`, 12},
		// the page (1), its facts (5) and their open incidents (1)
		{"incidents", `query($first: Int) { datasets(first: $first) { edges { node {
			name incidents(open: true) { title impact { name } } } } } }`, 7},
		// the page (1), its facts (5), the stored evaluations (1) and the
		// observations anomalies are found in (3: row counts, freshness,
		// the jobs writing the datasets; their runs are a fourth when
		// there are any, none here)
		{"anomalies", `query($first: Int) { datasets(first: $first) { edges { node {
			name anomalies { metric observed expectedMax } } } } }`, 10},
		// the page (1), its facts (5) and the freshness of both fields (1)
		{"freshness", `query($first: Int) { datasets(first: $first) { edges { node {
			name freshness { status ageSeconds } freshnessHistory(first: 3) { status } } } } }`, 7},
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
				var data struct {
					Datasets struct{ Edges []json.RawMessage }
				}
				if err := json.Unmarshal(r.Data, &data); err != nil {
					t.Fatal(err)
				}
				if len(data.Datasets.Edges) != first {
					t.Fatalf("got %d datasets, want %d", len(data.Datasets.Edges), first)
				}
				counts[first] = e.stmts.n.Load()
			}
			if counts[50] > tt.max || counts[50] != counts[5] {
				t.Errorf("statements for 5 and 50 datasets: %d and %d, want the same, at most %d", counts[5], counts[50], tt.max)
			}
			t.Logf("statements: %v", counts)
		})
	}
}

// TestPagination walks the datasets page by page and checks that the
// pages add up to the whole list, in order, with the right total.
func TestPagination(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `query($after: String, $filter: DatasetFilter) { datasets(first: 2, after: $after, filter: $filter) {
		totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Datasets struct {
			TotalCount int
			Edges      []struct{ Node struct{ Name string } }
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	tests := []struct {
		filter map[string]any
		want   []string
	}{
		{nil, []string{"warehouse.finance.revenue", "warehouse.marts.big_orders", "warehouse.marts.customers", "warehouse.marts.orders"}},
		{map[string]any{"includeRemoved": true}, []string{"warehouse.finance.revenue", "warehouse.marts.big_orders", "warehouse.marts.customers", "warehouse.marts.orders", "warehouse.staging.stg_orders"}},
		{map[string]any{"tag": "core"}, []string{"warehouse.marts.customers", "warehouse.marts.orders"}},
		{map[string]any{"owner": "analytics_owner", "kind": "table"}, []string{"warehouse.marts.customers", "warehouse.marts.orders"}},
		{map[string]any{"source": "dbt:analytics", "prefix": "warehouse.marts.c"}, []string{"warehouse.marts.customers"}},
		{map[string]any{"kind": "partitioned"}, []string{"warehouse.finance.revenue"}},
		{map[string]any{"namespace": "nowhere"}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.filter), func(t *testing.T) {
			var (
				got   []string
				after *string
			)
			for range 10 {
				r := e.post(t, q, map[string]any{"after": after, "filter": tt.filter})
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				var p page
				if err := json.Unmarshal(r.Data, &p); err != nil {
					t.Fatal(err)
				}
				if p.Datasets.TotalCount != len(tt.want) {
					t.Errorf("totalCount = %d, want %d", p.Datasets.TotalCount, len(tt.want))
				}
				for _, e := range p.Datasets.Edges {
					got = append(got, e.Node.Name)
				}
				if !p.Datasets.PageInfo.HasNextPage {
					break
				}
				after = p.Datasets.PageInfo.EndCursor
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("datasets over all pages (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEditAuthorization sends the same mutation as different principals.
func TestEditAuthorization(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	const m = `mutation($id: ID!) { addTag(input: {datasetId: $id, tag: "reviewed"}) { auditEntry { actor after } dataset { tags { name source } } } }`
	customers := globalID(t, e, "warehouse.marts.customers")
	tests := []struct {
		name        string
		login, role string
		id          string
		wantCode    string
	}{
		{"anonymous", "", "", customers, graph.CodeUnauthenticated},
		{"viewer", "vic@corp", "viewer", customers, graph.CodeForbidden},
		{"unknown dataset", "alice@corp", "editor", "RGF0YXNldDo5OTk5", graph.CodeNotFound},
		{"not a dataset ID", "alice@corp", "editor", "Q3Jhd2xSdW46MQ", graph.CodeBadUserInput},
		{"garbage ID", "alice@corp", "editor", "%%%", graph.CodeBadUserInput},
		{"owner", "bob@corp", "viewer", customers, ""},
		{"editor", "alice@corp", "editor", customers, ""}, // already tagged by bob: no entry
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, m, map[string]any{"id": tt.id}, "X-Test-Login", tt.login, "X-Test-Role", tt.role)
			if r.code() != tt.wantCode {
				t.Fatalf("code = %q, want %q (errors %+v)", r.code(), tt.wantCode, r.Errors)
			}
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200", r.Status)
			}
		})
	}
	r := e.post(t, `{ auditLog(first: 10) { edges { node { actor field after } } } }`, nil, "X-Test-Login", "root@corp", "X-Test-Role", "admin")
	want := `{"auditLog":{"edges":[{"node":{"actor":"bob@corp","field":"TAG","after":"reviewed"}},` +
		`{"node":{"actor":"alice@corp","field":"OWNER","after":"user:alice@corp (steward)"}},` +
		`{"node":{"actor":"alice@corp","field":"TAG","after":"finance"}},` +
		`{"node":{"actor":"alice@corp","field":"COLUMN_DESCRIPTION","after":"Order total in EUR, tax included."}},` +
		`{"node":{"actor":"alice@corp","field":"DESCRIPTION","after":"Every order placed in the web shop, one row each."}}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" {
		t.Errorf("audit log after the mutations (-want +got):\n%s", diff)
	}
}

func globalID(t *testing.T, e *env, name string) string {
	t.Helper()
	r := e.post(t, `query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { id } }`, map[string]any{"ns": fixtureNS, "name": name})
	var data struct{ Dataset struct{ ID string } }
	if err := json.Unmarshal(r.Data, &data); err != nil || data.Dataset.ID == "" {
		t.Fatalf("no id for %s: %s %+v", name, r.Data, r.Errors)
	}
	return data.Dataset.ID
}

// TestBadInput sends malformed and abusive requests: each gets the
// standard GraphQL error shape with a message naming the problem, never a
// 500, and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, graph.Options{}, auth.Dev("dev@example.com"))
	customers := globalID(t, e, "warehouse.marts.customers")
	deep := "{ datasets { edges { node { " + strings.Repeat("foreignKeys { target { ", 7) + "name" + strings.Repeat(" } }", 7) + " } } } }"
	huge := `{ datasets(first: 500) { edges { node { schemaHistory(first: 100) { edges { node { columns { name } } } } } } } }`
	big := append([]byte(`{"query": "{ sources { name } }", "variables": {"pad": "`), bytes.Repeat([]byte("x"), 1<<20)...)
	big = append(big, `"}}`...)
	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"syntax error", req(`{ datasets { edges { node { name } }`, nil), 422, "GRAPHQL_PARSE_FAILED", "Expected Name, found <EOF>"},
		{"unknown field", req(`{ datasets { edges { node { nosuch } } } }`, nil), 422, "GRAPHQL_VALIDATION_FAILED", `Cannot query field "nosuch" on type "Dataset"`},
		{"wrong variable type", req(`query($n: Int) { datasets(first: $n) { totalCount } }`, map[string]any{"n": "ten"}), 422, "GRAPHQL_VALIDATION_FAILED", "cannot use string as Int"},
		{"missing variable", req(`mutation($id: ID!) { addTag(input: {datasetId: $id, tag: "x"}) { auditEntry { id } } }`, nil), 422, "GRAPHQL_VALIDATION_FAILED", "must be defined"},
		{"too deep", req(deep, nil), 422, "DEPTH_LIMIT_EXCEEDED", "more than the limit of 15"},
		{"too complex", req(huge, nil), 422, "COMPLEXITY_LIMIT_EXCEEDED", "exceeds the limit of 5000"},
		{"page too large", req(`{ datasets(first: 501) { totalCount } }`, nil), 200, graph.CodeBadUserInput, "first must be between 0 and 500"},
		{"bad cursor", req(`{ datasets(after: "nope") { totalCount } }`, nil), 200, graph.CodeBadUserInput, `invalid cursor "nope"`},
		{"dataset by nothing", req(`{ dataset { name } }`, nil), 200, graph.CodeBadUserInput, "give either id, or namespace and name"},
		{"crawled tag", req(`mutation($id: ID!) { removeTag(input: {datasetId: $id, tag: "core"}) { auditEntry { id } } }`, map[string]any{"id": customers}),
			200, graph.CodeBadUserInput, `tag "core" of postgres://warehouse.demo:5432/warehouse.marts.customers comes from dbt:analytics; remove it there`},
		{"bad tag", req(`mutation($id: ID!) { addTag(input: {datasetId: $id, tag: " spaced "}) { auditEntry { id } } }`, map[string]any{"id": customers}),
			200, graph.CodeBadUserInput, "leading or trailing spaces"},
		{"unknown column", req(`mutation($id: ID!) { setColumnDescription(input: {datasetId: $id, column: "nope", description: "x"}) { auditEntry { id } } }`, map[string]any{"id": customers}),
			200, graph.CodeNotFound, `has no column "nope"`},
		{"not JSON", []byte(`{"query": `), 400, "BAD_REQUEST", "json request body could not be decoded"},
		{"body over 1 MiB", big, 413, "REQUEST_TOO_LARGE", "request body larger than 1048576 bytes"},
	}
	before := auditCount(t, e)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.postRaw(t, tt.body)
			if r.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", r.Status, tt.wantStatus)
			}
			if len(r.Errors) == 0 {
				t.Fatalf("no errors; data %s", r.Data)
			}
			if r.code() != tt.wantCode {
				t.Errorf("code = %q, want %q", r.code(), tt.wantCode)
			}
			if !strings.Contains(r.Errors[0].Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", r.Errors[0].Message, tt.wantMsg)
			}
		})
	}
	if after := auditCount(t, e); after != before {
		t.Errorf("bad requests changed the audit log: %d entries, was %d", after, before)
	}
}

func req(query string, vars map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		panic(err)
	}
	return b
}

func auditCount(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInternalErrorsLeakNothing breaks the database under a query: the
// client sees a generic INTERNAL error, the log has the cause.
func TestInternalErrorsLeakNothing(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, graph.Options{Logger: newLogger(&logs)})
	if _, err := e.pool.Exec(context.Background(), `ALTER TABLE audit_log RENAME TO audit_log_gone`); err != nil {
		t.Fatal(err)
	}
	r := e.post(t, `{ auditLog(datasetId: "RGF0YXNldDox") { edges { node { id } } } }`, nil)
	if r.Status != 200 || r.code() != graph.CodeInternal {
		t.Fatalf("status %d code %q, want 200 INTERNAL: %+v", r.Status, r.code(), r.Errors)
	}
	if diff := cmp.Diff("internal error", r.Errors[0].Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "audit_log") {
		t.Errorf("the log lacks the cause:\n%s", logs.String())
	}
}

// TestTimeout holds a lock the query waits for, longer than the request's
// time limit: the error says so, with code TIMEOUT rather than a 500.
func TestTimeout(t *testing.T) {
	e := newEnv(t, graph.Options{Timeout: 300 * time.Millisecond})
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // only releases the lock
	if _, err := tx.Exec(ctx, `LOCK TABLE crawl_runs IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.post(t, `{ crawlRuns { edges { node { id } } } }`, nil)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("request took %s despite a 300ms limit", took)
	}
	if r.Status != 200 || r.code() != graph.CodeTimeout {
		t.Errorf("status %d code %q, want 200 TIMEOUT: %+v", r.Status, r.code(), r.Errors)
	}
}

// TestGraphiQLAndGET checks that a browser gets GraphiQL and any other GET
// runs the query in the URL.
func TestGraphiQLAndGET(t *testing.T) {
	e := newEnv(t, graph.Options{})
	req, err := http.NewRequest(http.MethodGet, e.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(page.String(), "graphiql") {
		t.Errorf("GET with Accept text/html: status %d, %s, body without GraphiQL:\n%.300s", res.StatusCode, res.Header.Get("Content-Type"), page.String())
	}

	req, err = http.NewRequest(http.MethodGet, e.url+"?query="+url.QueryEscape(`{ tags { edges { node { name datasetCount } } } }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, req)
	want := `{"tags":{"edges":[{"node":{"name":"core","datasetCount":2}},{"node":{"name":"finance","datasetCount":1}},{"node":{"name":"pii","datasetCount":1}}]}}`
	if diff := cmp.Diff(want, string(r.Data)); diff != "" || r.Status != 200 {
		t.Errorf("GET query: status %d (-want +got):\n%s", r.Status, diff)
	}

	// A mutation over GET is refused: GET must not change anything.
	req, err = http.NewRequest(http.MethodGet, e.url+"?query="+url.QueryEscape(`mutation { addTag(input: {datasetId: "RGF0YXNldDox", tag: "x"}) { auditEntry { id } } }`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, req); len(r.Errors) == 0 || r.Status == 500 {
		t.Errorf("mutation over GET: status %d, errors %+v", r.Status, r.Errors)
	}
}

// TestPersistedQueries sends a query by its hash alone: unknown at first,
// known once sent in full.
func TestPersistedQueries(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `{ sources { name } }`
	sum := sha256.Sum256([]byte(q))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	body := func(withQuery bool) []byte {
		m := map[string]any{"extensions": ext}
		if withQuery {
			m["query"] = q
		}
		b, _ := json.Marshal(m)
		return b
	}
	const want = `{"sources":[{"name":"dbt:analytics"},{"name":"postgres:demo"}]}`
	steps := []struct {
		name      string
		withQuery bool
		wantData  string
		wantError string
	}{
		{"hash only, unknown", false, "", "PersistedQueryNotFound"},
		{"hash and query", true, want, ""},
		{"hash only, known", false, want, ""},
	}
	for _, s := range steps {
		r := e.postRaw(t, body(s.withQuery))
		gotErr := ""
		if len(r.Errors) > 0 {
			gotErr = r.Errors[0].Message
		}
		if gotErr != s.wantError || (s.wantData != "" && string(r.Data) != s.wantData) {
			t.Errorf("%s: data %s, error %q; want %s, %q", s.name, r.Data, gotErr, s.wantData, s.wantError)
		}
	}
}

// TestNode fetches objects by global ID.
func TestNode(t *testing.T) {
	e := newEnv(t, graph.Options{})
	customers := globalID(t, e, "warehouse.marts.customers")
	const q = `query($id: ID!) { node(id: $id) { __typename id ... on Dataset { name } ... on CrawlRun { source status } } }`
	tests := []struct {
		id, want string
	}{
		{customers, `{"node":{"__typename":"Dataset","id":"` + customers + `","name":"warehouse.marts.customers"}}`},
		{"Q3Jhd2xSdW46MQ", `{"node":{"__typename":"CrawlRun","id":"Q3Jhd2xSdW46MQ","source":"postgres:demo","status":"SUCCEEDED"}}`},
		{"RGF0YXNldDo5OTk5", `{"node":null}`},
	}
	for _, tt := range tests {
		r := e.post(t, q, map[string]any{"id": tt.id})
		if diff := cmp.Diff(tt.want, string(r.Data)); diff != "" || len(r.Errors) > 0 {
			t.Errorf("node(%s) (-want +got):\n%s\nerrors %+v", tt.id, diff, r.Errors)
		}
	}
}

// TestSearchReadsPostgresOnlyForDatasets checks that a search answered by
// the index alone runs no SQL, and one that asks for the hits' datasets
// reads them in one batch.
func TestSearchReadsPostgresOnlyForDatasets(t *testing.T) {
	e := newEnv(t, graph.Options{})
	tests := []struct {
		name  string
		query string
		max   int64
	}{
		{"index fields", `{ search(query: "orders") { totalCount facets { key } edges { node { namespace name kind owners tags matched nameHighlight } } } }`, 0},
		{"datasets", `{ search(query: "orders") { edges { node { name dataset { description columns { name } owners { name } } } } } }`, 5},
		{"datasets with checks and references", `{ search(query: "orders") { edges { node { name dataset { owners { name } qualityChecks { name } referencedBy { from { name } } } } } } }`, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.stmts.n.Store(0)
			r := e.post(t, tt.query, nil)
			if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "warehouse.marts.orders") {
				t.Fatalf("errors %+v, data %s", r.Errors, r.Data)
			}
			if n := e.stmts.n.Load(); n > tt.max {
				t.Errorf("%d statements, want at most %d", n, tt.max)
			}
		})
	}
}

// TestListsWithoutResolversMarshalInline checks that lists whose selection
// resolves nothing concurrently (a search's hits, facets and columns) are
// marshalled without a goroutine per element, while a selection that needs
// the loaders keeps gqlgen's concurrent marshalling.
func TestListsWithoutResolversMarshalInline(t *testing.T) {
	e := newEnv(t, graph.Options{})
	// created returns the goroutines a request started, the least of five
	// (other goroutines of the process only add), and its hits.
	created := func(query string) (least uint64, hits int) {
		t.Helper()
		sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		least = math.MaxUint64
		for range 5 {
			metrics.Read(sample)
			before := sample[0].Value.Uint64()
			r := e.post(t, query, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("errors %+v", r.Errors)
			}
			metrics.Read(sample)
			least = min(least, sample[0].Value.Uint64()-before)
			hits = strings.Count(string(r.Data), `"name":"warehouse.`)
		}
		return least, hits
	}
	n, hits := created(`{ search(query: "warehouse") { totalCount facets { key values { value count } }
		edges { node { name owners tags nameHighlight columns { name highlight } } } } }`)
	if hits < 3 || n > 4 {
		t.Errorf("a search without datasets (%d hits) started %d goroutines, want at most 4 (the HTTP round trip's)", hits, n)
	}
	// Each hit's dataset resolves owners and tags concurrently: a goroutine
	// per hit for the list, and one per dataset for its second field.
	n, hits = created(`{ search(query: "warehouse") { edges { node { name dataset { owners { name } tags { name } } } } } }`)
	if hits < 3 || n < uint64(2*hits) {
		t.Errorf("a search with datasets' owners and tags (%d hits) started %d goroutines, want at least %d: the loaders are no longer called concurrently", hits, n, 2*hits)
	}
}

// TestSearchCommonWords checks that search reports the words it matched
// only where they are rare, and when no dataset had every word.
func TestSearchCommonWords(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	h := catalog.Harvest{}
	for i := range 1050 { // above search's floor of 1,000 datasets
		h.Datasets = append(h.Datasets, catalog.DatasetFacts{
			Key: catalog.Key{Namespace: fixtureNS, Name: fmt.Sprintf("bulk.s.t%04d", i)}, Platform: "postgres",
			Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "ledger", Ordinal: 1, Type: "text"}},
		})
	}
	h.Datasets = append(h.Datasets, catalog.DatasetFacts{Key: catalog.Key{Namespace: fixtureNS, Name: "bulk.s.ledger_summary"}, Platform: "postgres", Kind: catalog.KindTable})
	if _, err := st.Crawl(t.Context(), "postgres:bulk", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	e := &env{url: newHTTPServer(t, graph.NewHandler(graph.Options{Store: st, Search: idx})) + "/graphql"}
	for q, want := range map[string]string{
		"ledger":  `{"search":{"totalCount":1,"commonWords":["ledger"],"partial":null}}`,
		"summary": `{"search":{"totalCount":1,"commonWords":[],"partial":null}}`,
		// No dataset has both: those with one, and the words.
		"summary zebra": `{"search":{"totalCount":1,"commonWords":[],"partial":{"words":["summary","zebra"],"matched":1}}}`,
	} {
		r := e.post(t, `query($q: String!) { search(query: $q) { totalCount commonWords partial { words matched } } }`, map[string]any{"q": q})
		if len(r.Errors) > 0 || string(r.Data) != want {
			t.Errorf("%q: errors %+v, data %s, want %s", q, r.Errors, r.Data, want)
		}
	}
}

// TestAuditLogAccess reads the audit log as different principals: one
// dataset's history is open to anyone, the whole catalog's only to
// admins, and the filter and cursors narrow and page it.
func TestAuditLogAccess(t *testing.T) {
	e := newEnv(t, graph.Options{}, principal)
	admin := []string{"X-Test-Login", "root@corp", "X-Test-Role", "admin"}
	const whole = `query($f: AuditFilter, $after: String) { auditLog(filter: $f, first: 2, after: $after) {
		edges { node { field } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		AuditLog struct {
			Edges []struct {
				Node struct{ Field string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	read := func(t *testing.T, r response) page {
		t.Helper()
		if len(r.Errors) > 0 {
			t.Fatalf("errors %+v", r.Errors)
		}
		var p page
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fields := func(p page) []string {
		var out []string
		for _, e := range p.AuditLog.Edges {
			out = append(out, e.Node.Field)
		}
		return out
	}

	for _, tt := range []struct {
		name     string
		header   []string
		wantCode string
	}{
		{"anonymous", nil, graph.CodeUnauthenticated},
		{"viewer", []string{"X-Test-Login", "vic@corp", "X-Test-Role", "viewer"}, graph.CodeForbidden},
		{"editor", []string{"X-Test-Login", "alice@corp", "X-Test-Role", "editor"}, graph.CodeForbidden},
		{"admin", admin, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, whole, nil, tt.header...)
			if r.code() != tt.wantCode {
				t.Fatalf("whole log: code %q, want %q (%+v)", r.code(), tt.wantCode, r.Errors)
			}
			// One dataset's history is open to all.
			r = e.post(t, `{ auditLog(namespace: "`+fixtureNS+`", name: "warehouse.marts.orders") { edges { node { actor } } } }`, nil, tt.header...)
			if len(r.Errors) > 0 || !strings.Contains(string(r.Data), "alice@corp") {
				t.Errorf("history of orders: %s %+v", r.Data, r.Errors)
			}
		})
	}

	// Two pages of two, then the last of none.
	p1 := read(t, e.post(t, whole, nil, admin...))
	p2 := read(t, e.post(t, whole, map[string]any{"after": p1.AuditLog.PageInfo.EndCursor}, admin...))
	if diff := cmp.Diff([]string{"OWNER", "TAG", "COLUMN_DESCRIPTION", "DESCRIPTION"}, append(fields(p1), fields(p2)...)); diff != "" {
		t.Errorf("two pages (-want +got):\n%s", diff)
	}
	if !p1.AuditLog.PageInfo.HasNextPage || p2.AuditLog.PageInfo.HasNextPage {
		t.Errorf("hasNextPage: %v then %v, want true then false", p1.AuditLog.PageInfo.HasNextPage, p2.AuditLog.PageInfo.HasNextPage)
	}
	filtered := read(t, e.post(t, whole, map[string]any{"f": map[string]any{
		"actor": "ALICE@corp", "fields": []string{"TAG", "DESCRIPTION"}, "dataset": "orders", "since": "2000-01-01T00:00:00Z",
	}}, admin...))
	if diff := cmp.Diff([]string{"TAG", "DESCRIPTION"}, fields(filtered)); diff != "" {
		t.Errorf("filtered (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		name, query string
		vars        map[string]any
		wantCode    string
		wantMsg     string
	}{
		{"until before since", whole, map[string]any{"f": map[string]any{"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}},
			graph.CodeBadUserInput, "since (2026-03-02T00:00:00Z) must be before until"},
		{"bad cursor", whole, map[string]any{"after": "bjox"}, graph.CodeBadUserInput, "invalid cursor"},
		{"id and name", `{ auditLog(datasetId: "RGF0YXNldDox", name: "x") { edges { cursor } } }`, nil, graph.CodeBadUserInput, "give either datasetId"},
		{"unknown dataset", `{ auditLog(namespace: "x", name: "y") { edges { cursor } } }`, nil, graph.CodeNotFound, "no dataset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, tt.query, tt.vars, admin...)
			if r.code() != tt.wantCode || len(r.Errors) == 0 || !strings.Contains(r.Errors[0].Message, tt.wantMsg) {
				t.Errorf("code %q errors %+v, want %s with %q", r.code(), r.Errors, tt.wantCode, tt.wantMsg)
			}
		})
	}
}
