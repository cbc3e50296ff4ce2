package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/lineage"
	"almanac/lineage/olapi"
)

// front is the whole server as `almanac demo` runs it, over the fixture
// catalog: pages, the GraphQL API (every request the editor "demo"), the
// OpenLineage endpoint taking events without a token, and the Marquez
// reads.
type front struct {
	ts   *httptest.Server
	pool *pgxpool.Pool
	logs *bytes.Buffer
}

// newFront starts the server over a fresh catalog on pool (nil: a fresh
// database); opts may adjust the options.
func newFront(t *testing.T, pool *pgxpool.Pool, opts func(*Options)) *front {
	t.Helper()
	if pool == nil {
		pool, _ = pgtest.NewDB(t)
	}
	fill(t, pool)
	st := store.New(pool)
	lg := lineage.NewGraph()
	f := lineage.NewFollower(st, lg, nil)
	if err := f.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil))
	o := Options{
		Store:           st,
		Lineage:         lg,
		Registry:        prometheus.NewRegistry(),
		Logger:          log,
		GraphQL:         graph.NewHandler(graph.Options{Store: st, Lineage: f, Logger: log}),
		Authenticate:    auth.Dev("demo"),
		OpenLineage:     olapi.NewReceiver(st, olapi.Config{Logger: log}),
		Unauthenticated: true,
	}
	if opts != nil {
		opts(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return &front{ts: ts, pool: pool, logs: logs}
}

// do sends a request with the headers given as name, value pairs ("Host"
// sets the Host header) and returns what a test reads of the answer.
func (f *front) do(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// event is an OpenLineage event as Airflow posts it.
const event = `{"eventType":"COMPLETE","eventTime":"2026-03-10T10:00:00Z","producer":"https://example.com/airflow",
	"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
	"run":{"runId":"0193a8f2-6a4e-7cc1-9c3c-6b1d2f0e9a11"},"job":{"namespace":"airflow","name":"daily.load_orders"},
	"inputs":[{"namespace":"postgres://db.example:5432","name":"warehouse.raw.events"}],
	"outputs":[{"namespace":"postgres://db.example:5432","name":"warehouse.marts.fct_orders"}]}`

// storedEvents counts the OpenLineage events the catalog holds.
func (f *front) storedEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(t.Context(), `SELECT count(*) FROM openlineage_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEveryRouteBehindTheMiddleware checks that pages, GraphQL, GraphiQL,
// the OpenLineage endpoints, the operations and the static assets all
// get the same security headers and are all counted in the request
// metrics by their route pattern: before one route table, /graphql and
// /api/v1/* had neither.
func TestEveryRouteBehindTheMiddleware(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, nil)
	for _, rq := range []struct {
		method, path, body string
		status             int
		route              string
		header             []string
	}{
		{"GET", "/", "", 200, "GET /{$}", nil},
		{"GET", datasetPath(fctOrders), "", 200, "GET /datasets/{ns}/{name...}", nil},
		{"GET", "/lineage/" + url.PathEscape(warehouseNS) + "/warehouse.marts.fct_orders", "", 200, "GET /lineage/{ns}/{name...}", nil},
		{"GET", "/nowhere", "", 404, "GET /", nil},
		{"GET", "/static/almanac.css", "", 200, "GET /static/", nil},
		{"GET", "/healthz", "", 200, "GET /healthz", nil},
		{"GET", "/readyz", "", 200, "GET /readyz", nil},
		{"GET", "/graphql", "", 200, "GET /graphql", []string{"Accept", "text/html"}},
		{"GET", "/graphql?query=%7B__typename%7D", "", 200, "GET /graphql", nil},
		{"POST", "/graphql", `{"query":"{ datasets(first: 1) { totalCount } }"}`, 200, "POST /graphql", []string{"Content-Type", "application/json"}},
		{"GET", "/api/v1/lineage?nodeId=" + url.QueryEscape("dataset:"+warehouseNS+":warehouse.marts.fct_orders"), "", 200, "GET /api/v1/lineage", nil},
		{"GET", "/api/v1/lineage?nodeId=" + url.QueryEscape("dataset:nowhere:nothing"), "", 404, "GET /api/v1/lineage", nil},
		{"POST", "/api/v1/lineage", event, 201, "POST /api/v1/lineage", []string{"Content-Type", "application/json"}},
		{"POST", "/api/v1/lineage/batch", "[" + event + "]", 201, "POST /api/v1/lineage/batch", []string{"Content-Type", "application/json"}},
	} {
		r := f.do(t, rq.method, rq.path, rq.body, rq.header...)
		if r.status != rq.status {
			t.Errorf("%s %s: %d, want %d\n%s", rq.method, rq.path, r.status, rq.status, r.body)
		}
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%s): X-Content-Type-Options %q, want nosniff", rq.method, rq.path, r.header.Get("Content-Type"), got)
		}
		if r.header.Get("Content-Security-Policy") == "" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: no Content-Security-Policy or X-Frame-Options", rq.method, rq.path)
		}
	}
	metrics := f.do(t, "GET", "/metrics", "").body
	for _, want := range []string{
		`route="GET /{$}"`, `route="GET /datasets/{ns}/{name...}"`, `route="GET /lineage/{ns}/{name...}"`,
		`route="GET /static/"`, `route="GET /healthz"`, `route="GET /readyz"`,
		`almanac_http_request_duration_seconds_count{code="200",method="GET",route="GET /graphql"} 2`,
		`almanac_http_request_duration_seconds_count{code="200",method="POST",route="POST /graphql"} 1`,
		`almanac_http_request_duration_seconds_count{code="200",method="GET",route="GET /api/v1/lineage"} 1`,
		`almanac_http_request_duration_seconds_count{code="404",method="GET",route="GET /api/v1/lineage"} 1`,
		`almanac_http_request_duration_seconds_count{code="201",method="POST",route="POST /api/v1/lineage"} 1`,
		`almanac_http_request_duration_seconds_count{code="201",method="POST",route="POST /api/v1/lineage/batch"} 1`,
		"go_goroutines", "process_cpu_seconds_total", "almanac_catalog_datasets",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// GraphiQL keeps its own policy, which allows its nonce'd script.
	if csp := f.do(t, "GET", "/graphql", "", "Accept", "text/html").header.Get("Content-Security-Policy"); csp == contentSecurityPolicy() || !strings.Contains(csp, "nonce-") {
		t.Errorf("GraphiQL Content-Security-Policy %q, want its own with a nonce", csp)
	}
}

// TestOpenLineageOff checks that a server with no OpenLineage receiver
// answers its endpoint 403 in the endpoint's JSON shape, saying how to
// turn it on.
func TestOpenLineageOff(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, func(o *Options) { o.OpenLineage = nil })
	r := f.do(t, "POST", "/api/v1/lineage", event, "Content-Type", "application/json")
	var body struct{ Error string }
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 403 || !strings.Contains(body.Error, "openlineage.token") {
		t.Errorf("POST /api/v1/lineage with the endpoint off: %d %s, want 403 naming openlineage.token", r.status, r.body)
	}
}

// TestCrossOriginWrites replays what a web page the user visits can send
// to a server that takes writes without a login (the demo): a text/plain
// POST from another origin, a JSON one, and GraphQL through a name the
// page's author points at 127.0.0.1 (DNS rebinding). Each is refused and
// changes nothing; tools, which send no Origin, and the portal's own
// origin still write.
func TestCrossOriginWrites(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, nil)
	host := strings.TrimPrefix(f.ts.URL, "http://")

	// OpenLineage.
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"text/plain from another origin", []string{"Content-Type", "text/plain", "Origin", "http://evil.example"}, 403},
		{"JSON from another origin", []string{"Content-Type", "application/json", "Origin", "http://evil.example"}, 403},
		{"from another site, says the browser", []string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"}, 403},
		{"through a rebound name", []string{"Content-Type", "application/json", "Host", "evil.example", "Origin", "http://evil.example"}, 403},
		{"text/plain from a tool", []string{"Content-Type", "text/plain"}, 415},
		{"a form from a tool", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415},
	} {
		r := f.do(t, "POST", "/api/v1/lineage", event, tc.header...)
		if r.status != tc.status {
			t.Errorf("POST /api/v1/lineage %s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	if n := f.storedEvents(t); n != 0 {
		t.Fatalf("%d events stored by refused requests", n)
	}
	if r := f.do(t, "POST", "/api/v1/lineage", event, "Content-Type", "application/json; charset=utf-8"); r.status != 201 {
		t.Errorf("POST /api/v1/lineage from a tool: %d %s, want 201", r.status, r.body)
	}
	if r := f.do(t, "POST", "/api/v1/lineage", event, "Content-Type", "application/json", "Origin", "http://"+host, "Sec-Fetch-Site", "same-origin"); r.status != 201 {
		t.Errorf("POST /api/v1/lineage from the portal's origin: %d %s, want 201", r.status, r.body)
	}

	// GraphQL mutations, which the demo runs as the editor "demo".
	r := f.do(t, "POST", "/graphql", `{"query":"{ dataset(namespace: \"`+warehouseNS+`\", name: \"warehouse.marts.fct_orders\") { id } }"}`, "Content-Type", "application/json")
	var got struct {
		Data struct{ Dataset struct{ ID string } }
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || got.Data.Dataset.ID == "" {
		t.Fatalf("dataset id: %d %s", r.status, r.body)
	}
	mutation := func(tag string) string {
		b, _ := json.Marshal(map[string]any{
			"query":     `mutation($id: ID!, $tag: String!) { addTag(input: {datasetId: $id, tag: $tag}) { dataset { name } } }`,
			"variables": map[string]any{"id": got.Data.Dataset.ID, "tag": tag},
		})
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"through a rebound name", []string{"Content-Type", "application/json", "Host", "evil.example"}, 403},
		{"through a rebound name, same origin", []string{"Content-Type", "application/json", "Host", "evil.example:80", "Origin", "http://evil.example:80", "Sec-Fetch-Site", "same-origin"}, 403},
		{"from another origin", []string{"Content-Type", "application/json", "Origin", "http://evil.example"}, 403},
		{"text/plain from another origin", []string{"Content-Type", "text/plain", "Origin", "http://evil.example"}, 403},
		{"text/plain", []string{"Content-Type", "text/plain"}, 415},
	} {
		if r := f.do(t, "POST", "/graphql", mutation("pwned"), tc.header...); r.status != tc.status {
			t.Errorf("mutation %s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	// A GET never runs a mutation (gqlgen answers 406).
	if r := f.do(t, "GET", "/graphql?query="+url.QueryEscape(`mutation { addTag(input: {datasetId: "`+got.Data.Dataset.ID+`", tag: "pwned"}) { dataset { name } } }`), ""); r.status != http.StatusNotAcceptable {
		t.Errorf("mutation in a GET: %d %s, want 406", r.status, r.body)
	}
	var tagged bool
	if err := f.pool.QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM audit_log)`).Scan(&tagged); err != nil {
		t.Fatal(err)
	}
	if tagged {
		t.Fatal("a refused mutation was applied")
	}
	port := strconv.Itoa(f.ts.Listener.Addr().(*net.TCPAddr).Port)
	for _, h := range []string{host, "localhost:" + port, "[::1]:" + port, "app.localhost", "192.0.2.7:" + port} {
		if r := f.do(t, "POST", "/graphql", mutation("ok-"+h), "Content-Type", "application/json", "Host", h); r.status != 200 || strings.Contains(r.body, `"errors"`) {
			t.Errorf("mutation for Host %s: %d %s, want 200", h, r.status, r.body)
		}
	}
	// Reads through a rebound name are refused too: the demo's catalog is
	// nobody else's to read.
	if r := f.do(t, "GET", "/", "", "Host", "evil.example"); r.status != 403 {
		t.Errorf("GET / for Host evil.example: %d, want 403", r.status)
	}
}

// TestPublicURL checks that the configured public URL's host is served in
// an unauthenticated mode, and that its origin may write, as a page of the
// portal behind a proxy does.
func TestPublicURL(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, func(o *Options) { o.PublicURL = "https://almanac.example.com" })
	if r := f.do(t, "GET", "/", "", "Host", "Almanac.Example.com"); r.status != 200 {
		t.Errorf("GET / for the public host: %d, want 200", r.status)
	}
	// Behind a proxy the Host may be the internal one; the Origin is the
	// public URL's.
	if r := f.do(t, "POST", "/api/v1/lineage", event, "Content-Type", "application/json", "Origin", "https://almanac.example.com", "Sec-Fetch-Site", "same-origin"); r.status != 201 {
		t.Errorf("POST from the public origin: %d %s, want 201", r.status, r.body)
	}
	if r := f.do(t, "GET", "/", "", "Host", "evil.example"); r.status != 403 {
		t.Errorf("GET / for another host: %d, want 403", r.status)
	}
	if _, err := New(Options{Store: store.New(f.pool), PublicURL: "almanac.example.com"}); err == nil {
		t.Error("a public URL without a scheme was accepted")
	}
}

// TestAuthenticatedModeServesAnyHost checks that the Host allow-list is
// only for servers that take writes without a login: a read-only server
// behind any name is served.
func TestAuthenticatedModeServesAnyHost(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, func(o *Options) { o.Unauthenticated = false })
	if r := f.do(t, "GET", "/", "", "Host", "catalog.internal"); r.status != 200 {
		t.Errorf("GET / for catalog.internal: %d, want 200", r.status)
	}
	// Cross-origin writes are refused whatever the mode.
	if r := f.do(t, "POST", "/api/v1/lineage", event, "Content-Type", "text/plain", "Origin", "http://evil.example"); r.status != 403 {
		t.Errorf("cross-origin POST: %d, want 403", r.status)
	}
}

// TestBodyLimit checks that a body over the limit is refused before it
// is read, whatever the route, including one that sets no limit of its
// own.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFront(t, nil, nil)
	big := `{"query":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	for _, path := range []string{"/graphql", "/api/v1/lineage", "/sources"} {
		if r := f.do(t, "POST", path, big, "Content-Type", "application/json"); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with %d bytes: %d, want 413", path, len(big), r.status)
		}
	}
}

// TestPanicIsA500 checks that a handler's panic answers 500 and is
// logged with its stack, rather than dropping the connection.
func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panic: %d %q, want 500 without the panic", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "stack") {
		t.Errorf("the log lacks the panic:\n%s", logs.String())
	}
}

// TestDatabaseOutage takes the catalog database away from a running server
// (a real PostgreSQL behind a proxy that is cut) and checks what each kind
// of client is told: pages and the OpenLineage endpoint 503 with
// Retry-After, GraphQL 503 with code UNAVAILABLE, /readyz 503 naming
// neither the database's user, name nor host, which go to the log.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDB(t)
	outage := pgtest.NewOutage(t, dbURL)
	pool, err := pgxpool.New(t.Context(), outage.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f := newFront(t, pool, func(o *Options) {
		o.Ready = func(ctx context.Context) error { return o.Store.Pool().Ping(ctx) } // as unclassified as a driver error comes
	})
	if r := f.do(t, "GET", "/", ""); r.status != 200 {
		t.Fatalf("before the outage: GET / %d", r.status)
	}
	outage.Cut()

	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{cfg.ConnConfig.User, cfg.ConnConfig.Database, "127.0.0.1", "dial", "connect"}
	for _, rq := range []struct {
		method, path, body string
		header             []string
		want               string
	}{
		{"GET", "/", "", nil, "The catalog is unavailable at the moment."},
		{"GET", datasetPath(fctOrders), "", nil, "The catalog is unavailable at the moment."},
		{"GET", "/sources", "", nil, "The catalog is unavailable at the moment."},
		{"POST", "/graphql", `{"query":"{ datasets(first: 1) { totalCount } }"}`, []string{"Content-Type", "application/json"}, `"code":"UNAVAILABLE"`},
		{"POST", "/api/v1/lineage", event, []string{"Content-Type", "application/json"}, "unavailable"},
		{"GET", "/api/v1/lineage?nodeId=" + url.QueryEscape("dataset:"+warehouseNS+":warehouse.marts.fct_orders"), "", nil, "unavailable"},
		{"GET", "/readyz", "", nil, "not ready: catalog database unavailable"},
	} {
		r := f.do(t, rq.method, rq.path, rq.body, rq.header...)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s during the outage: %d, Retry-After %q, want 503 with Retry-After\n%s", rq.method, rq.path, r.status, r.header.Get("Retry-After"), r.body)
		}
		if !strings.Contains(r.body, rq.want) {
			t.Errorf("%s %s during the outage: body lacks %q:\n%s", rq.method, rq.path, rq.want, r.body)
		}
		for _, s := range secrets {
			if strings.Contains(r.body, s) {
				t.Errorf("%s %s during the outage shows %q:\n%s", rq.method, rq.path, s, r.body)
			}
		}
	}
	if !strings.Contains(f.logs.String(), cfg.ConnConfig.Database) {
		t.Errorf("the log lacks the cause:\n%s", f.logs.String())
	}
	// Every line of the outage names the database, a connection the
	// server cut ("unexpected EOF") too.
	for line := range strings.Lines(f.logs.String()) {
		if strings.Contains(line, "unavailable") || strings.Contains(line, "not ready") {
			if !strings.Contains(line, "/"+cfg.ConnConfig.Database) {
				t.Errorf("a line of the outage does not name the database:\n%s", line)
			}
		}
	}
}
