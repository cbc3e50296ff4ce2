package graph_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/auth"
	"almanac/graph"
)

// fanOut is a query of n fragments, each spreading the next one twice:
// some 60 bytes a fragment, expanding to 2ⁿ fields.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("query { datasets { ...F0 } }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on DatasetConnection { totalCount", i)
		if i < n-1 {
			fmt.Fprintf(&b, " ...F%d ...F%d", i+1, i+1)
		}
		b.WriteString(" }")
	}
	return b.String()
}

// TestFragmentFanOut sends a 2 KB query whose fragments expand it to
// billions of fields: it is refused at once by its expanded size, counted
// without expanding it. Walking the expansion, as the depth and complexity
// checks once did, took minutes of CPU.
func TestFragmentFanOut(t *testing.T) {
	e := newEnv(t, graph.Options{})
	q := fanOut(31)
	start := time.Now()
	r := e.post(t, q, nil)
	took := time.Since(start)
	if took > time.Second {
		t.Errorf("a %d-byte query took %s to refuse", len(q), took)
	}
	if r.Status != http.StatusUnprocessableEntity || r.code() != "QUERY_TOO_LARGE" {
		t.Fatalf("status %d code %q, want 422 QUERY_TOO_LARGE: %+v", r.Status, r.code(), r.Errors)
	}
	const want = "operation expands to 2147483648 fields, more than the limit of 10000"
	if diff := cmp.Diff(want, r.Errors[0].Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}

	// Far larger expansions are refused as quickly, without overflowing.
	r = e.post(t, fanOut(100), nil)
	if r.code() != "QUERY_TOO_LARGE" || !strings.Contains(r.Errors[0].Message, "more than the limit of 10000") {
		t.Errorf("2¹⁰⁰ fields: status %d, errors %+v", r.Status, r.Errors)
	}
}

// TestFragmentsStillWork runs queries that use fragments as clients do,
// one spread in several places, and one nested as deep as the limit
// allows: they are answered.
func TestFragmentsStillWork(t *testing.T) {
	e := newEnv(t, graph.Options{})
	tests := []struct {
		name, query, want string
	}{
		{
			"shared fragment",
			`query {
				a: dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") { ...D foreignKeys { target { ...D } } }
				b: dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.customers") { ...D }
			}
			fragment D on Dataset { name ...Cols }
			fragment Cols on Dataset { columns { name } }`,
			`{"a":{"name":"warehouse.marts.orders","columns":[{"name":"id"},{"name":"customer_id"},{"name":"amount"},{"name":"ordered_at"},{"name":"status"}],` +
				`"foreignKeys":[{"target":{"name":"warehouse.marts.customers","columns":[{"name":"id"},{"name":"email"},{"name":"country"}]}}]},` +
				`"b":{"name":"warehouse.marts.customers","columns":[{"name":"id"},{"name":"email"},{"name":"country"}]}}`,
		},
		{
			"fragments within fragments",
			`query { dataset(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders") { ...FK } }
			fragment FK on Dataset { foreignKeys { target { foreignKeys { target { ...T } } } } }
			fragment T on Dataset { name ...C }
			fragment C on Dataset { columns { name } }`,
			`{"dataset":{"foreignKeys":[{"target":{"foreignKeys":[]}}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, tt.query, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
			}
			if diff := cmp.Diff(tt.want, string(r.Data)); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}

	// The depth limit still counts what fragments nest: the same
	// fragment one level deeper than the limit is refused.
	deep := `query { dataset(namespace: "x", name: "y") { ...FK } }
		fragment FK on Dataset { foreignKeys { target { foreignKeys { target { ...FK2 } } } } }
		fragment FK2 on Dataset { foreignKeys { target { foreignKeys { target { ...FK3 } } } } }
		fragment FK3 on Dataset { foreignKeys { target { foreignKeys { target { ...FK4 } } } } }
		fragment FK4 on Dataset { foreignKeys { target { name } } }`
	r := e.post(t, deep, nil)
	if r.code() != "DEPTH_LIMIT_EXCEEDED" || !strings.Contains(r.Errors[0].Message, "operation nests 16 levels deep") {
		t.Errorf("deep fragments: status %d, errors %+v", r.Status, r.Errors)
	}
}

// TestBadJSONBody sends bodies that are not a GraphQL request: each gets
// 400 with code BAD_REQUEST and a short message naming what is wrong, in
// the standard error shape, without echoing the body or Go types back.
func TestBadJSONBody(t *testing.T) {
	e := newEnv(t, graph.Options{})
	long := append([]byte(`{"query": "{ sources { name } }", "variables": {"pad": "`), bytes.Repeat([]byte("x"), 900<<10)...)
	tests := []struct {
		name string
		body []byte
		want string
	}{
		{"truncated", []byte(`{"query": `), "json request body could not be decoded: unexpected end of JSON input at offset 10"},
		{"invalid character", []byte(`{"query": "{ sources { name } }",}`), "json request body could not be decoded: invalid character '}' looking for beginning of object key string at offset 34"},
		{"long and truncated", long, fmt.Sprintf("json request body could not be decoded: unexpected end of JSON input at offset %d", len(long))},
		{"trailing garbage", []byte(`{"query": "{ sources { name } }"} x`), "json request body could not be decoded: invalid character 'x' after top-level value at offset 35"},
		{"empty", nil, "json request body could not be decoded: unexpected end of JSON input at offset 0"},
		{"not an object", []byte(`["{ sources { name } }"]`), "json request body must be an object, not an array"},
		{"query a number", []byte(`{"query": 42}`), `json request body: "query" must be a string, not a number`},
		{"query an object", []byte(`{"query": {"text": "{ sources { name } }"}}`), `json request body: "query" must be a string, not an object`},
		{"variables an array", []byte(`{"query": "{ sources { name } }", "variables": [1, 2]}`), `json request body: "variables" must be an object, not an array`},
		{"variables a string", []byte(`{"query": "{ sources { name } }", "variables": "{}"}`), `json request body: "variables" must be an object, not a string`},
		{"operationName a boolean", []byte(`{"query": "{ sources { name } }", "operationName": true}`), `json request body: "operationName" must be a string, not a boolean`},
		{"extensions a number", []byte(`{"query": "{ sources { name } }", "extensions": 1}`), `json request body: "extensions" must be an object, not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			if len(raw) > 512 {
				t.Errorf("a %d-byte body got a %d-byte response: %.200s…", len(tt.body), len(raw), raw)
			}
			var got struct {
				Errors []gqlError `json:"errors"`
			}
			if err := json.Unmarshal(raw, &got); err != nil || len(got.Errors) != 1 {
				t.Fatalf("response is not one GraphQL error (%v):\n%.300s", err, raw)
			}
			if g := got.Errors[0]; g.Message != tt.want || g.Extensions["code"] != "BAD_REQUEST" {
				t.Errorf("error %.200q, code %v; want %q, BAD_REQUEST", g.Message, g.Extensions["code"], tt.want)
			}
		})
	}

	// Null stands for a missing member, as gqlgen reads it.
	r := e.postRaw(t, []byte(`{"query": "{ sources { name } }", "variables": null, "operationName": null, "extensions": null}`))
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Errorf("null members: status %d, errors %+v", r.Status, r.Errors)
	}
}

// TestPersistedQueryErrors sends malformed persisted query extensions:
// each error has a code.
func TestPersistedQueryErrors(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `{ sources { name } }`
	sum := sha256.Sum256([]byte("something else"))
	tests := []struct {
		name      string
		body      map[string]any
		wantCode  string
		wantError string
	}{
		{"unknown hash", map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}},
			"PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"},
		{"hash mismatch", map[string]any{"query": q, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}},
			"PERSISTED_QUERY_HASH_MISMATCH", "provided APQ hash does not match query"},
		{"unsupported version", map[string]any{"query": q, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": hex.EncodeToString(sum[:])}}},
			"PERSISTED_QUERY_NOT_SUPPORTED", "unsupported APQ version"},
		{"malformed extension", map[string]any{"query": q, "extensions": map[string]any{"persistedQuery": "yes"}},
			graph.CodeBadUserInput, "invalid APQ extension data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			r := e.postRaw(t, b)
			if len(r.Errors) == 0 {
				t.Fatalf("no errors; data %s", r.Data)
			}
			if r.code() != tt.wantCode || r.Errors[0].Message != tt.wantError {
				t.Errorf("error %q code %q, want %q %q", r.Errors[0].Message, r.code(), tt.wantError, tt.wantCode)
			}
		})
	}
}

// TestNULInArguments puts a NUL character, which PostgreSQL cannot store
// in text, in string arguments that reach the database: each is refused as
// bad input naming the argument, rather than with the database's error,
// and nothing is written.
func TestNULInArguments(t *testing.T) {
	e := newEnv(t, graph.Options{}, auth.Dev("dev@example.com"))
	orders := globalID(t, e, "warehouse.marts.orders")
	const payload = `{ auditEntry { id } }`
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  string
	}{
		{"setDatasetDescription", `mutation($id: ID!, $s: String!) { setDatasetDescription(input: {datasetId: $id, description: $s}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "Orders\x00"}, "argument input.description of setDatasetDescription contains a NUL character"},
		{"setColumnDescription description", `mutation($id: ID!, $s: String!) { setColumnDescription(input: {datasetId: $id, column: "amount", description: $s}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "Total\x00"}, "argument input.description of setColumnDescription contains a NUL character"},
		{"setColumnDescription column", `mutation($id: ID!, $s: String!) { setColumnDescription(input: {datasetId: $id, column: $s, description: "x"}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "amount\x00"}, "argument input.column of setColumnDescription contains a NUL character"},
		{"addTag", `mutation($id: ID!, $s: String!) { addTag(input: {datasetId: $id, tag: $s}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "gold\x00"}, "argument input.tag of addTag contains a NUL character"},
		{"removeTag", `mutation($id: ID!, $s: String!) { removeTag(input: {datasetId: $id, tag: $s}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "gold\x00"}, "argument input.tag of removeTag contains a NUL character"},
		{"addOwner name", `mutation($id: ID!, $s: String!) { addOwner(input: {datasetId: $id, name: $s, kind: TEAM}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "payments\x00"}, "argument input.name of addOwner contains a NUL character"},
		{"addOwner type", `mutation($id: ID!, $s: String!) { addOwner(input: {datasetId: $id, name: "payments", kind: TEAM, type: $s}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "business\x00"}, "argument input.type of addOwner contains a NUL character"},
		{"removeOwner", `mutation($id: ID!, $s: String!) { removeOwner(input: {datasetId: $id, name: $s, kind: TEAM}) ` + payload + ` }`,
			map[string]any{"id": orders, "s": "payments\x00"}, "argument input.name of removeOwner contains a NUL character"},
		{"dataset namespace", `query($s: String!) { dataset(namespace: $s, name: "warehouse.marts.orders") { name } }`,
			map[string]any{"s": "postgres\x00"}, "argument namespace of dataset contains a NUL character"},
		{"dataset name", `query($s: String!) { dataset(namespace: "postgres://warehouse.demo:5432", name: $s) { name } }`,
			map[string]any{"s": "orders\x00"}, "argument name of dataset contains a NUL character"},
		{"datasets prefix", `query($s: String!) { datasets(filter: {prefix: $s}) { totalCount } }`,
			map[string]any{"s": "warehouse\x00"}, "argument filter.prefix of datasets contains a NUL character"},
		{"literal in the query", `query { datasets(filter: {prefix: "warehouse\u0000"}) { totalCount } }`,
			nil, "argument filter.prefix of datasets contains a NUL character"},
		{"datasets namespace", `query($s: String!) { datasets(filter: {namespace: $s}) { totalCount } }`,
			map[string]any{"s": "postgres\x00"}, "argument filter.namespace of datasets contains a NUL character"},
	}
	before := auditCount(t, e)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.post(t, tt.query, tt.vars)
			if len(r.Errors) == 0 {
				t.Fatalf("no errors; data %s", r.Data)
			}
			if r.Status != http.StatusOK || r.code() != graph.CodeBadUserInput {
				t.Fatalf("status %d code %q, want 200 BAD_USER_INPUT: %+v", r.Status, r.code(), r.Errors)
			}
			if msg := r.Errors[0].Message; msg != tt.want {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
		})
	}
	if after := auditCount(t, e); after != before {
		t.Errorf("refused edits changed the audit log: %d entries, was %d", after, before)
	}
}

// graphiqlIntrospection is the introspection query of the GraphiQL in
// graph/graphiql/assets, with every option on.
const graphiqlIntrospection = `query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

// TestIntrospectionFitsLimits sends GraphiQL's introspection query, which
// spreads its fragments many times: it fits the depth and field limits.
func TestIntrospectionFitsLimits(t *testing.T) {
	e := newEnv(t, graph.Options{})
	r := e.post(t, graphiqlIntrospection, nil)
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %+v", r.Status, r.Errors)
	}
	if !bytes.Contains(r.Data, []byte(`"name":"DatasetConnection"`)) {
		t.Errorf("the schema lacks DatasetConnection: %.300s", r.Data)
	}
}

// TestListCosts checks how lists are priced: the documented largest
// lineage fits the complexity limit, and nested job and run pages are
// priced by their size.
func TestListCosts(t *testing.T) {
	e := newEnv(t, graph.Options{})
	for _, tt := range []struct {
		query string
		code  string
	}{
		{`{ lineage(namespace: "postgres://warehouse.demo:5432", name: "warehouse.marts.orders", maxNodes: 5000) { truncated nodes { id } } }`, ""},
		{`{ jobs(first: 500) { edges { node { name runs(first: 500) { edges { node { id } } } } } } }`, "COMPLEXITY_LIMIT_EXCEEDED"},
		{`{ jobs(first: 20) { edges { node { name runs(first: 5) { edges { node { id } } } } } } }`, ""},
	} {
		r := e.post(t, tt.query, nil)
		if r.code() != tt.code {
			t.Errorf("%s: code %q, want %q: %+v", tt.query, r.code(), tt.code, r.Errors)
		}
	}
}

// TestBadURLParams checks GET requests whose JSON parameters are not JSON
// objects: 400 BAD_REQUEST naming the parameter, not gqlgen's Go types.
func TestBadURLParams(t *testing.T) {
	e := newEnv(t, graph.Options{})
	for _, tt := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"query": {"{ sources { name } }"}, "variables": {"{"}}, `URL parameter "variables" could not be decoded as JSON: unexpected end of JSON input at offset 1`},
		{url.Values{"query": {"{ sources { name } }"}, "variables": {"[1]"}}, `URL parameter "variables" must be a JSON object, not an array`},
		{url.Values{"query": {"{ sources { name } }"}, "extensions": {"x"}}, `URL parameter "extensions" could not be decoded as JSON: invalid character 'x' looking for beginning of value at offset 1`},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.url+"?"+tt.params.Encode(), nil)
		r := do(t, req)
		if r.Status != http.StatusBadRequest || r.code() != "BAD_REQUEST" || len(r.Errors) != 1 || r.Errors[0].Message != tt.want {
			t.Errorf("%v: status %d, errors %+v, want 400 BAD_REQUEST %q", tt.params, r.Status, r.Errors, tt.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"?"+url.Values{"query": {"{ sources { name } }"}, "variables": {"{}"}}.Encode(), nil)
	if r := do(t, req); r.Status != 200 || len(r.Errors) > 0 {
		t.Errorf("a good GET: status %d, errors %+v", r.Status, r.Errors)
	}
}

// TestRepeatedFieldRefusedBeforeValidation checks that a document of
// thousands of copies of one field is refused before gqlparser's
// validation, which compares every pair of them (20,000 took 14 s), and
// that a long but ordinary document is still answered.
func TestRepeatedFieldRefusedBeforeValidation(t *testing.T) {
	e := newEnv(t, graph.Options{})
	q := "{" + strings.Repeat(" a: __typename", 4000) + " }"
	start := time.Now()
	r := e.post(t, q, nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("refusing 4,000 copies of a field took %s", took)
	}
	if r.Status != http.StatusUnprocessableEntity || r.code() != "QUERY_TOO_LARGE" || !strings.Contains(r.Errors[0].Message, "4000 fields, more than the limit of 500") {
		t.Fatalf("status %d, errors %+v, want 422 QUERY_TOO_LARGE", r.Status, r.Errors)
	}
	// The same document in a GET request's URL is refused the same way.
	get, err := http.NewRequest(http.MethodGet, e.url+"?"+url.Values{"query": {q}}.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, get); r.Status != http.StatusUnprocessableEntity || r.code() != "QUERY_TOO_LARGE" || !strings.Contains(r.Errors[0].Message, "4000 fields, more than the limit of 500") {
		t.Errorf("over GET: status %d, errors %+v, want 422 QUERY_TOO_LARGE", r.Status, r.Errors)
	}
	// Long because of its comments and whitespace, not its fields.
	ok := "# " + strings.Repeat("padding ", 2000) + "\n{ sources { name } }"
	if r := e.post(t, ok, nil); len(r.Errors) > 0 {
		t.Errorf("a long document with few fields: %+v", r.Errors)
	}
}

// TestArgumentBytes passes one long variable to many fields, each of which
// fails quoting it: refused before it runs, by the bytes of arguments the
// operation passes with the variable counted at each use. Unbounded, one
// 1 MiB variable in 200 fields answered 205 MB of errors after 12 s.
func TestArgumentBytes(t *testing.T) {
	e := newEnv(t, graph.Options{})
	long := strings.Repeat("x", 100<<10)
	var q strings.Builder
	q.WriteString("query($v: String) {")
	for i := range 30 {
		fmt.Fprintf(&q, ` a%d: dataset(namespace: "", name: $v) { name }`, i)
	}
	q.WriteString(" }")
	r := e.post(t, q.String(), map[string]any{"v": long})
	const want = "operation passes 3072000 bytes of arguments to its fields, more than the limit of 2097152"
	if r.Status != http.StatusUnprocessableEntity || r.code() != "QUERY_TOO_LARGE" || !strings.Contains(r.Errors[0].Message, want) {
		t.Errorf("status %d, errors %.300v; want 422 QUERY_TOO_LARGE %q", r.Status, r.Errors, want)
	}
	// Once, it is only a name too long.
	r = e.post(t, `query($v: String) { dataset(namespace: "n", name: $v) { name } }`, map[string]any{"v": long})
	if r.Status != http.StatusOK || r.code() != graph.CodeBadUserInput {
		t.Errorf("status %d, errors %.300v; want 200 BAD_USER_INPUT", r.Status, r.Errors)
	}
}

// TestSlowBody sends the start of a body, then nothing: the request is
// answered 408 TIMEOUT once its time limit has passed, rather than held
// open for as long as the client likes.
func TestSlowBody(t *testing.T) {
	e := newEnv(t, graph.Options{Timeout: 500 * time.Millisecond})
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\": \"{", u.Path, u.Host)
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after %s: %v", time.Since(start), err)
	}
	defer res.Body.Close()
	took := time.Since(start)
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestTimeout || r.code() != graph.CodeTimeout {
		t.Errorf("status %d, errors %+v; want 408 TIMEOUT", res.StatusCode, r.Errors)
	}
	if took < 500*time.Millisecond || took > 3*time.Second {
		t.Errorf("answered after %s, want just after the time limit of 500ms", took)
	}
}

// TestBadTimeArguments: a Time argument or variable that is not an RFC
// 3339 date and time is the client's mistake (BAD_USER_INPUT, on the
// argument's path), not an internal error logged as one.
func TestBadTimeArguments(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, graph.Options{Logger: newLogger(&logs)})
	for _, tc := range []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"literal", `{ auditLog(namespace: "x", name: "y", filter: {since: "yesterday"}) { edges { cursor } } }`, nil},
		{"variable", `query($t: Time) { auditLog(namespace: "x", name: "y", filter: {since: $t}) { edges { cursor } } }`, map[string]any{"t": "nope"}},
		{"year out of range", `query($t: Time) { auditLog(namespace: "x", name: "y", filter: {since: $t}) { edges { cursor } } }`, map[string]any{"t": "10000-01-01T00:00:00Z"}},
		{"a number", `query($t: Time) { auditLog(namespace: "x", name: "y", filter: {since: $t}) { edges { cursor } } }`, map[string]any{"t": 1733500000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.query, tc.vars)
			if r.code() != "BAD_USER_INPUT" {
				t.Fatalf("code %q, want BAD_USER_INPUT: %+v", r.code(), r.Errors)
			}
			if msg := r.Errors[0].Message; !strings.Contains(msg, "RFC 3339") {
				t.Errorf("message %q does not say what a Time is", msg)
			}
			if got := fmt.Sprint(r.Errors[0].Path); got != "[auditLog filter since]" {
				t.Errorf("path %s, want the argument's", got)
			}
		})
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("bad input logged as an error:\n%s", logs.String())
	}
	// A good one still works.
	if r := e.post(t, `{ auditLog(namespace: "x", name: "y", filter: {since: "2026-12-07T10:00:00Z"}) { edges { cursor } } }`, nil); len(r.Errors) > 0 && r.code() == "BAD_USER_INPUT" {
		t.Errorf("a valid Time refused: %+v", r.Errors)
	}
}
