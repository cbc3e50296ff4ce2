package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/notify"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/lineage"
	"almanac/search"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// statements counts the SQL statements sent on a pool: queries, each
// statement of a batch, and COPYs.
type statements struct{ n atomic.Int64 }

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *statements) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) { s.n.Add(1) }
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (s *statements) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	s.n.Add(1)
	return ctx
}
func (s *statements) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// env is a live GraphQL server over a fresh catalog.
type env struct {
	url   string
	store *store.Store
	pool  *pgxpool.Pool
	stmts *statements
	// search is the server's index, for a test that adds to the catalog
	// to catch up.
	search *search.Index
}

// newEnv starts the handler on httptest over a fresh database holding the
// fixture. opts.Store is filled in.
// newEnv serves the GraphQL API over a fresh fixture catalog; authn, if
// given, says who makes each request, as the server's middleware does.
func newEnv(t testing.TB, opts graph.Options, authn ...auth.Authenticator) *env {
	t.Helper()
	_, url := pgtest.NewDB(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	stmts := &statements{}
	cfg.ConnConfig.Tracer = stmts
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	buildFixture(t, st)
	opts.Store = st
	if opts.Lineage == nil {
		f := lineage.NewFollower(st, lineage.NewGraph(), nil)
		if err := f.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		opts.Lineage = f
	}
	if opts.Notifier == nil {
		n, err := notify.New(st, notify.Config{Channels: []notify.Channel{
			{Name: "hooks", Kind: notify.Webhook, URL: "https://hooks.example/almanac", Secret: "0123456789abcdef"},
			{Name: "data-slack", Kind: notify.Slack, URL: "https://hooks.slack.example/x"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		opts.Notifier = n
	}
	if opts.Search == nil {
		idx, err := search.Open(context.Background(), filepath.Join(t.TempDir(), "index"), st, search.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		opts.Search = idx
	}
	var h http.Handler = graph.NewHandler(opts)
	if len(authn) > 0 {
		h = auth.Middleware(authn[0], h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{url: srv.URL + "/graphql", store: st, pool: pool, stmts: stmts, search: opts.Search}
}

// gqlError is an entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// response is a GraphQL response with its HTTP status.
type response struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

func (r response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends one operation as JSON, the way every client does.
func (e *env) post(t testing.TB, query string, vars map[string]any, header ...string) response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return e.postRaw(t, body, header...)
}

func (e *env) postRaw(t testing.TB, body []byte, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{Status: res.StatusCode}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %d is not GraphQL JSON: %v\n%s", res.StatusCode, err, b)
	}
	return r
}

var (
	timeField     = regexp.MustCompile(`"(createdAt|updatedAt|removedAt|startedAt|finishedAt|recordedAt|at)": "[^"]+"`)
	durationField = regexp.MustCompile(`"durationSeconds": [0-9.e+-]+`)
)

// normalize indents a response and replaces what differs between runs
// (times, durations) by placeholders, for golden files.
func normalize(t testing.TB, r response) []byte {
	t.Helper()
	var buf bytes.Buffer
	v := map[string]any{"data": json.RawMessage(r.Data)}
	if len(r.Errors) > 0 {
		v["errors"] = r.Errors
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	b := timeField.ReplaceAll(buf.Bytes(), []byte(`"$1": "<time>"`))
	b = durationField.ReplaceAll(b, []byte(`"durationSeconds": "<duration>"`))
	return append(b, '\n')
}

// principal authenticates requests by the X-Test-Login and X-Test-Role
// headers, as SSO will by session or token.
func principal(r *http.Request) (catalog.Principal, bool) {
	login := r.Header.Get("X-Test-Login")
	return catalog.Principal{Login: login, Role: catalog.Role(r.Header.Get("X-Test-Role"))}, login != ""
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func newHTTPServer(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
