package ui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// portal is a server over a database holding the fixture.
type portal struct {
	ts *httptest.Server
	s  *Server
}

// newPortal serves the fixture catalog; opts may adjust the options.
func newPortal(t *testing.T, opts func(*Options)) *portal {
	t.Helper()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	return newPortalOn(t, pool, opts)
}

// newPortalOn is newPortal over a filled database.
func newPortalOn(t *testing.T, pool *pgxpool.Pool, opts func(*Options)) *portal {
	t.Helper()
	o := Options{Store: store.New(pool), Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
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
	// Refreshes behind responses end before the test and its database.
	t.Cleanup(s.teams.refreshes.Wait)
	return &portal{ts: ts, s: s}
}

// response is what a test reads of a response.
type response struct {
	status int
	header http.Header
	body   string
}

// get requests path without following redirects.
func (p *portal) get(t *testing.T, path string) response {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(p.ts.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

var versionRE = regexp.MustCompile(`\?v=[0-9a-f]+`)

// checkGolden compares a page with testdata/name.golden, one tag a line so
// that a diff points at the change; -update rewrites the file.
func checkGolden(t *testing.T, name, body string) {
	t.Helper()
	got := versionRE.ReplaceAllString(body, "?v=VERSION")
	got = strings.ReplaceAll(got, "><", ">\n<") + "\n"
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun go test ./ui -update if the change is intended", path, diff)
	}
}

func TestPages(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)

	for _, tc := range []struct {
		name   string
		path   string
		status int
		golden string
		want   []string // substrings of the body
		unwant []string
	}{
		{
			name: "home", path: "/", status: 200, golden: "home",
			want: []string{
				"warehouse.marts.fct_orders", "warehouse.marts.dim_customers", "warehouse.marts.v_daily_revenue",
				// first sentence only
				"One row per order placed on the web shop.",
				`href="/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.fct_orders"`,
				"4 columns", "analytics_owner", "data-platform", ">pii<", ">finance<",
				// sources with their last run
				"postgres:warehouse", "status-succeeded", "dbt:analytics", "status-partial", "delta:lake", "status-failed",
			},
			unwant: []string{"warehouse.staging.old_orders", "Grain: order_id"},
		},
		{
			name: "home with removed", path: "/?removed=1", status: 200,
			want: []string{"warehouse.staging.old_orders", `class="badge removed"`},
		},
		{
			name: "home by prefix", path: "/?prefix=warehouse.marts.f", status: 200,
			want:   []string{"warehouse.marts.fct_orders", "Showing 1–1 of 1"},
			unwant: []string{"warehouse.marts.dim_customers"},
		},
		{
			name: "home by kind", path: "/?kind=view", status: 200,
			want:   []string{"warehouse.marts.v_daily_revenue", `<option value="view" selected>`},
			unwant: []string{"warehouse.marts.fct_orders"},
		},
		{
			name: "home by namespace", path: "/?namespace=file%3A%2F%2Flake", status: 200,
			want:   []string{"zürich", `<option value="file://lake" selected>`},
			unwant: []string{"warehouse.marts.fct_orders"},
		},
		{
			name: "home past the last page", path: "/?page=3", status: 200,
			want: []string{"No datasets on this page.", `rel="prev"`},
		},
		{name: "home bad kind", path: "/?kind=spreadsheet", status: 400, want: []string{"Unknown dataset kind &#34;spreadsheet&#34;."}},
		{name: "home bad page", path: "/?page=0", status: 400, want: []string{"Page must be a number"}},
		{
			name: "dataset", path: "/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.fct_orders", status: 200, golden: "dataset",
			want: []string{
				"<h1 class=\"dataset-title\">warehouse.marts.fct_orders</h1>",
				"postgres://db.example:5432",
				// columns, in the database's order, with the primary key
				`<tr id="col-order_id">`, `<tr id="col-customer_id">`, `<tr id="col-amount">`, `<tr id="col-ordered_at">`,
				`title="primary key">PK</abbr>`, "numeric(12,2)", "timestamp with time zone", "now()",
				// description and its provenance: dbt documents, postgres only comments
				"One row per order placed on the web shop. Grain: order_id; amounts in EUR.",
				"Description from <span class=\"source-name\">dbt:analytics</span>",
				"Order total in EUR, after discounts.", "1 other description", "total amount",
				// the database's comment on the table, beside dbt's
				"Orders fact table.",
				// foreign key to a linked dataset
				`href="/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.dim_customers"`, "fct_orders_customer_fk",
				// owners with kind, type and source
				"analytics_owner", "role, technical", "data-platform", "team, business",
				"≈ 1.2M rows", "50 MiB", "fillfactor",
				// schema history
				"Version 3", "Version 2", "Version 1",
				"customer_id: now not null", "cust_id → customer_id", "amount: integer → numeric(12,2)",
				"ordered_at (timestamp with time zone)", "First version from this source: 3 columns.",
				// provenance
				"Provenance", "reports it",
			},
			unwant: []string{"Removed</strong>"},
		},
		{
			name: "referenced dataset", path: "/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.dim_customers", status: 200,
			want: []string{"Referenced by", `href="/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.fct_orders"`},
		},
		{
			name: "view", path: datasetPath(dailyRevenue), status: 200, golden: "view",
			want: []string{"View definition", "<pre class=\"sql\">SELECT date_trunc(&#39;day&#39;, ordered_at)"},
		},
		{
			name: "partitioned", path: datasetPath(rawEvents), status: 200,
			want: []string{
				"Partition key: <code>RANGE (occurred_at)</code>", "<details><summary>12 partitions</summary>",
				"warehouse.raw.events_2025_12", "FOR VALUES FROM (&#39;2025-12-01&#39;) TO (&#39;2026-01-01&#39;)",
				"≈ 3.4B rows", "1.8 TiB", "partitioned",
			},
		},
		{
			name: "removed dataset", path: datasetPath(oldOrders), status: 200,
			want: []string{"<strong>Removed</strong>", "removed it", "Staging copy of orders"},
		},
		{
			name: "unknown dataset", path: "/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.nope", status: 404, golden: "notfound",
			want: []string{"There is no dataset warehouse.marts.nope in namespace postgres://db.example:5432."},
		},
		{name: "dataset without name", path: "/datasets/postgres:%2F%2Fdb.example:5432/", status: 400, want: []string{"needs a namespace and a name"}},
		{name: "unknown page", path: "/nope", status: 404, want: []string{"There is no page at this address."}},
		{
			name: "sources", path: "/sources", status: 200, golden: "sources",
			want: []string{"@hourly", "0 6 * * *", "delta:lake", "900ms", `href="/runs/1"`, `href="/runs/2"`, "42s", "3m 20s"},
		},
		{
			name: "run", path: "/runs/2", status: 200, golden: "run",
			want: []string{"Run #2", "dbt:analytics", "status-partial", "model.analytics.broken", "compile error: unexpected &#34;&lt;end&gt;&#34; at line 3"},
		},
		{name: "unknown run", path: "/runs/99", status: 404, want: []string{"There is no crawl run #99."}},
		// Not a number: the id of a job run, which there is none of.
		{name: "bad run", path: "/runs/x1", status: 404, want: []string{"There is no run x1."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.get(t, tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: status %d, want %d\n%s", tc.path, r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, s := range tc.want {
				if !strings.Contains(r.body, s) {
					t.Errorf("GET %s: body lacks %q", tc.path, s)
				}
			}
			for _, s := range tc.unwant {
				if strings.Contains(r.body, s) {
					t.Errorf("GET %s: body has %q", tc.path, s)
				}
			}
			if tc.golden != "" {
				checkGolden(t, tc.golden, r.body)
			}
		})
	}
}

var evilLinkRE = regexp.MustCompile(`href="(/datasets/file:[^"]*)"`)

// TestEscaping follows the home page's link to a dataset whose name and
// description are made to break out of the page, and checks that they
// show as text.
func TestEscaping(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)

	home := p.get(t, "/")
	m := evilLinkRE.FindStringSubmatch(home.body)
	if m == nil {
		t.Fatalf("home page has no link to %q", evilName)
	}
	link := html.UnescapeString(m[1])
	if link != datasetPath(evil) {
		t.Errorf("link %q, want %q", link, datasetPath(evil))
	}
	page := p.get(t, link)
	if page.status != 200 {
		t.Fatalf("GET %s: status %d\n%s", link, page.status, page.body)
	}
	// Names show as text; descriptions render as sanitized Markdown, in
	// which the fixture's <b> may stay but its script may not.
	for _, r := range []response{home, page} {
		checkMarkup(t, r.body)
		for _, bad := range []string{"<script>", "<i>", "<img", "alert(2)"} {
			if strings.Contains(r.body, bad) {
				t.Errorf("page contains unescaped %q", bad)
			}
		}
	}
	if !strings.Contains(home.body, "Bold claims &amp; &#34;quotes&#34;") {
		t.Error("home page lacks the summary of the description, as text")
	}
	for _, want := range []string{
		"evil &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &#34;zürich&#34; &#39;ü&#39;/part &amp; co",
		`<div class="markdown"><p><b>Bold</b> claims &amp; &#34;quotes&#34; </p>`,
		`<tr id="col-&lt;img src=x onerror=alert(1)&gt;">`,
		`<div class="markdown"><p>&#34;&gt;</p>`,
		"&lt;i&gt;tag&lt;/i&gt;",
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("dataset page lacks %q", want)
		}
	}
}

func TestOperations(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)

	t.Run("healthz", func(t *testing.T) {
		r := p.get(t, "/healthz")
		if r.status != 200 || r.body != "ok" {
			t.Errorf("GET /healthz: %d %q, want 200 ok", r.status, r.body)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		// Ready is nil: the server pings the database.
		r := p.get(t, "/readyz")
		if r.status != 200 || r.body != "ok" {
			t.Errorf("GET /readyz: %d %q, want 200 ok", r.status, r.body)
		}
	})
	t.Run("security headers", func(t *testing.T) {
		r := p.get(t, "/")
		for h, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "strict-origin-when-cross-origin",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": contentSecurityPolicy(),
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		if csp := contentSecurityPolicy(); strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q allows inline code", csp)
		}
	})
	t.Run("search", func(t *testing.T) {
		r := p.get(t, "/search?q=warehouse.marts")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/?prefix=warehouse.marts" {
			t.Errorf("GET /search: %d to %q, want 303 to /?prefix=warehouse.marts", r.status, r.header.Get("Location"))
		}
	})
	t.Run("static", func(t *testing.T) {
		r := p.get(t, staticURL("almanac.css"))
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") || !strings.Contains(r.body, ".dataset-title") {
			t.Errorf("GET %s: %d %s", staticURL("almanac.css"), r.status, r.header.Get("Content-Type"))
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("versioned asset Cache-Control %q", cc)
		}
		if r := p.get(t, "/static/almanac.css"); r.status != 200 || r.header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("GET /static/almanac.css unversioned: %d, Cache-Control %q, want 200 cached for 5 minutes", r.status, r.header.Get("Cache-Control"))
		}
		if r := p.get(t, "/static/"); r.status != 404 {
			t.Errorf("GET /static/: %d, want 404 (no listing)", r.status)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		p.get(t, "/")
		p.get(t, "/datasets/postgres:%2F%2Fdb.example:5432/warehouse.marts.nope")
		r := p.get(t, "/metrics")
		if r.status != 200 {
			t.Fatalf("GET /metrics: %d", r.status)
		}
		for _, want := range []string{
			`almanac_http_request_duration_seconds_bucket{code="200",method="GET",route="GET /{$}",le="+Inf"}`,
			`almanac_http_request_duration_seconds_count{code="404",method="GET",route="GET /datasets/{ns}/{name...}"}`,
			`almanac_catalog_datasets{state="live"} 5`,
			`almanac_catalog_datasets{state="removed"} 1`,
			"almanac_openlineage_failed_events 0",
			"go_goroutines", "process_cpu_seconds_total",
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	for _, tc := range []struct {
		name   string
		ready  error
		status int
		body   string
	}{
		{"ready", nil, 200, "ok"},
		{"not ready", errors.New("schema at migration 1, binary expects 2"), 503, "not ready: schema at migration 1, binary expects 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			s, err := New(Options{Store: store.New(pool), Ready: func(ctx context.Context) error {
				called = true
				return tc.ready
			}})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			if !called {
				t.Error("Ready was not called")
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("GET /readyz: %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
		})
	}
}

// TestInternalError checks that a failing store shows a generic page and
// logs the cause.
func TestInternalError(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDB(t)
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	pool.Close() // every query now fails
	var logs bytes.Buffer
	s, err := New(Options{Store: store.New(pool), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Something went wrong on our side.") {
		t.Errorf("error page lacks the generic message:\n%s", body)
	}
	if strings.Contains(body, "closed") {
		t.Errorf("error page shows the internal error:\n%s", body)
	}
	if !strings.Contains(logs.String(), "request failed") || !strings.Contains(logs.String(), "closed") {
		t.Errorf("log lacks the failure: %s", logs.String())
	}
}

// TestSharedRegistry checks that two servers can register on one
// registry, as a test or a reload does, and on one where the binary
// already registered the runtime collectors.
func TestSharedRegistry(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for range 2 {
		if _, err := New(Options{Store: store.New(pool), Registry: reg}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("gather: %v", err)
	}
}

// TestAbandonedRequest checks that a page whose client went away is
// recorded as 499 with no page, and that a cancellation while the client
// still waits is an internal error like any other.
func TestAbandonedRequest(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	h := s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("list datasets: %w", context.Canceled)
	})

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if rec.Code != statusClientClosed || rec.Body.Len() != 0 {
		t.Errorf("client gone: status %d with %d bytes, want %d and no page", rec.Code, rec.Body.Len(), statusClientClosed)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Something went wrong on our side.") {
		t.Errorf("client still there: status %d, want 500 with the error page", rec.Code)
	}
}
