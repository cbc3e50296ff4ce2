package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/memory"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/cmd/almanac/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "almanac.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// TestCrawlCommand runs `almanac crawl` on two sources, one of which cannot
// be reached: the other is crawled, the failure names its source, and both
// runs are recorded.
func TestCrawlCommand(t *testing.T) {
	ctx := context.Background()
	pool, catalogURL := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `
		CREATE SCHEMA shop;
		CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text);
		COMMENT ON TABLE shop.customers IS 'One row per customer.';
		CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customers);`)
	indexDir := filepath.Join(t.TempDir(), "index")
	cfg := writeFile(t, fmt.Sprintf(`
database_url: %s
search:
  index_dir: %s
sources:
  - name: shop
    type: postgres
    url: %s
    namespace: postgres://shop.example:5432
  - name: gone
    type: postgres
    url: postgres://crawler@127.0.0.1:1/nowhere
    password: s3cret
`, catalogURL, indexDir, whURL))

	var out, errOut bytes.Buffer
	err := run(ctx, []string{"crawl", "-config", cfg}, &out, &errOut, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "postgres:gone") {
		t.Fatalf("err = %v, want a failure naming postgres:gone", err)
	}
	if strings.Contains(out.String()+errOut.String()+err.Error(), "s3cret") {
		t.Errorf("the password leaked into the output:\n%s\n%s", out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "postgres:shop: succeeded") || !strings.Contains(out.String(), "2 created") {
		t.Errorf("output lacks the shop summary:\n%s", out.String())
	}
	st := store.New(pool)
	d, err := readDataset(ctx, st, catalog.Key{Namespace: "postgres://shop.example:5432", Name: postgresDB(t, whURL) + ".shop.customers"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "One row per customer." || len(d.Columns) != 2 {
		t.Errorf("customers = %+v", d)
	}
	runs, err := st.CrawlRuns(ctx, "postgres:gone", 0, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != catalog.CrawlFailed || len(runs[0].Errors) == 0 {
		t.Fatalf("runs of the unreachable source: %+v, %v", runs, err)
	}

	// Naming one source crawls only that one.
	out.Reset()
	if err := run(ctx, []string{"crawl", "-config", cfg, "shop"}, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 unchanged") || strings.Contains(out.String(), "gone") {
		t.Errorf("second crawl output:\n%s", out.String())
	}
	// The search index is rebuilt from the catalog on demand.
	out.Reset()
	if err := run(ctx, []string{"reindex", "-config", cfg}, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "search index rebuilt") {
		t.Errorf("reindex output: %s", out.String())
	}
	// Also when the index is damaged: bytes overwritten in its segments.
	err = filepath.WalkDir(indexDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || filepath.Ext(p) != ".zap" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i := 0; i < len(b); i += 97 {
			b[i] ^= 0xFF
		}
		return os.WriteFile(p, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"reindex", "-config", cfg}, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatalf("reindex of a damaged index: %v", err)
	}
	if !strings.Contains(out.String(), "search index rebuilt") {
		t.Errorf("reindex output: %s", out.String())
	}
	if err := run(ctx, []string{"crawl", "-config", cfg, "nope"}, io.Discard, io.Discard, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), `no source "nope"`) {
		t.Errorf("unknown source: %v", err)
	}
}

func postgresDB(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}

// TestServe starts `almanac serve`, waits until it is ready, checks a page
// and the health endpoints, and stops it as Ctrl-C would.
func TestServe(t *testing.T) {
	pool, catalogURL := pgtest.NewDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	debugAddr := freeAddr(t)
	cfg := writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\ndebug_listen: "+debugAddr+"\nsearch:\n  index_dir: "+filepath.Join(t.TempDir(), "index")+
		"\nopenlineage:\n  token: t0ken\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() {
		done <- run(ctx, []string{"serve", "-config", cfg, "-log-level", "warn"}, io.Discard, logs, func(string) string { return "" })
	}()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/", "/healthz", "/metrics", "/sources", "/search?q=orders"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
	// Runtime profiles on debug_listen only, and nothing else there.
	for url, want := range map[string]int{
		"http://" + debugAddr + "/debug/pprof/":                  200,
		"http://" + debugAddr + "/debug/pprof/goroutine?debug=1": 200,
		"http://" + debugAddr + "/debug/pprof/heap":              200,
		"http://" + debugAddr + "/debug/pprof/profile?seconds=1": 200,
		"http://" + debugAddr + "/search?q=orders":               404,
		base + "/debug/pprof/":                                   404,
		base + "/debug/pprof/goroutine?debug=1":                  404,
	} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", url, resp.StatusCode, want)
		}
		if want == 200 && strings.HasSuffix(url, "debug=1") && !strings.Contains(string(body), "goroutine profile") {
			t.Errorf("GET %s: no goroutine profile: %.200s", url, body)
		}
	}
	// The GraphQL API is served beside the portal, anonymous for reads.
	resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(`{"query":"{ datasets(first: 1) { totalCount } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"totalCount":0`) {
		t.Errorf("POST /graphql = %d %s", resp.StatusCode, body)
	}
	// An OpenLineage event, as Airflow would post it: refused without the
	// token, then readable through the Marquez-compatible lineage API.
	event := `{"eventType":"COMPLETE","eventTime":"2026-11-25T10:00:00Z","producer":"https://example.com/airflow",
		"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
		"run":{"runId":"0193a8f2-6a4e-7cc1-9c3c-6b1d2f0e9a11"},"job":{"namespace":"airflow","name":"daily.load_orders"},
		"inputs":[{"namespace":"postgres://db:5432","name":"shop.public.raw_orders"}],
		"outputs":[{"namespace":"postgres://db:5432","name":"shop.public.orders"}]}`
	post := func(token string) int {
		req, _ := http.NewRequest("POST", base+"/api/v1/lineage", strings.NewReader(event))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/lineage without token = %d, want 401", code)
	}
	if code := post("t0ken"); code != http.StatusCreated {
		t.Errorf("POST /api/v1/lineage = %d, want 201", code)
	}
	if n := strings.Count(logs.String(), "openlineage.token (ALMANAC_OPENLINEAGE_TOKEN) is deprecated"); n != 1 {
		t.Errorf("the shared token's deprecation logged %d times, want once:\n%s", n, logs)
	}
	// API tokens: a service token with lineage:write posts; a read-only
	// one may not, and reads; a wrong one is refused on every route.
	tokens := auth.NewTokens(store.New(pool), auth.TokenOptions{})
	admin := catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin}
	_, svc, err := tokens.Create(ctx, admin, catalog.TokenRequest{Name: "airflow", Scopes: []catalog.TokenScope{catalog.ScopeLineageWrite}, ExpiresAt: time.Now().Add(time.Hour), Service: true})
	if err != nil {
		t.Fatal(err)
	}
	_, reader, err := tokens.Create(ctx, admin, catalog.TokenRequest{Name: "reader", Scopes: []catalog.TokenScope{catalog.ScopeRead}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if code := post(svc); code != http.StatusCreated {
		t.Errorf("POST /api/v1/lineage with a service token = %d, want 201", code)
	}
	if code := post(reader); code != http.StatusForbidden {
		t.Errorf("POST /api/v1/lineage with a read token = %d, want 403", code)
	}
	wrong, _ := auth.NewTokenSecret()
	// The posted event reaches the lineage graph through the change log:
	// wait for it before reading lineage with the token.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequest("GET", base+"/api/v1/lineage?nodeId=dataset:postgres://db:5432:shop.public.orders", nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			break
		}
	}
	for _, r := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/v1/lineage?nodeId=dataset:postgres://db:5432:shop.public.orders", reader, 200},
		{"GET", "/api/v1/lineage?nodeId=dataset:postgres://db:5432:shop.public.orders", wrong, 401},
		{"POST", "/graphql", reader, 200},
		{"POST", "/graphql", wrong, 401},
		{"POST", "/api/v1/lineage", wrong, 401},
		{"GET", "/", wrong, 401},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(`{"query":"{ sources { name } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+r.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Errorf("%s %s with the token = %d, want %d", r.method, r.path, resp.StatusCode, r.want)
		}
	}
	if strings.Contains(logs.String(), svc) || strings.Contains(logs.String(), reader) {
		t.Error("a token's secret is in the log")
	}
	deadline = time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/api/v1/lineage?nodeId=dataset:postgres://db:5432:shop.public.orders&depth=2")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(b), "shop.public.raw_orders") && strings.Contains(string(b), "daily.load_orders") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lineage of the posted event not readable: %d %s", resp.StatusCode, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// TestCrawlDbtAndDelta crawls a dbt target and a Delta root through the
// configuration, as a user would.
func TestCrawlDbtAndDelta(t *testing.T) {
	ctx := context.Background()
	pool, catalogURL := pgtest.NewDB(t)
	dbtDir, _ := filepath.Abs("../../catalog/crawl/dbt/testdata/jaffle_shop_1.12")
	deltaDir, _ := filepath.Abs("../../catalog/crawl/delta/testdata")
	cfg := writeFile(t, fmt.Sprintf(`
database_url: %s
sources:
  - name: analytics
    type: dbt
    paths: [%s]
    namespace: postgres://warehouse.example:5432
  - name: lake
    type: delta
    paths: [%s]
`, catalogURL, dbtDir, deltaDir))
	var out bytes.Buffer
	if err := run(ctx, []string{"crawl", "-config", cfg}, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"dbt:analytics: ", "delta:lake: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	st := store.New(pool)
	for _, src := range []string{"dbt:analytics", "delta:lake"} {
		page, err := st.FindDatasets(ctx, store.DatasetFilter{Source: src}, store.Paging{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		list, err := st.DatasetsByIDs(ctx, page.IDs)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 {
			t.Errorf("no datasets from %s", src)
		}
		for _, d := range list {
			// Metrics have no columns, nor do the exports of jaffle_shop's
			// saved queries, which catalog.json does not describe.
			export := strings.HasSuffix(d.Key.Name, "_metrics") && d.Kind == catalog.KindTable
			if len(d.Columns) == 0 && d.Kind != catalog.KindMetric && !export {
				t.Errorf("%s: %s has no columns", src, d.Key)
			}
		}
	}
}

// TestDemoListensOnlyOnLoopback checks that `almanac demo`, which lets
// anyone who reaches it edit and post lineage without a login, refuses an
// address others can reach unless forced, before it starts anything.
func TestDemoListensOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":8080", "[::]:8080", "192.0.2.7:8080", "catalog.example.com:8080"} {
		err := run(t.Context(), []string{"demo", "-listen", addr}, io.Discard, io.Discard, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "-force") || !strings.Contains(err.Error(), addr) {
			t.Errorf("demo -listen %s: %v, want a refusal naming the address and -force", addr, err)
		}
	}
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.0.0.2:0": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:8080": false, "example.com:80": false, "nonsense": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestServeWithoutSignInOnlyOnLoopback checks that `almanac serve` with
// auth mode none refuses an address others can reach before it opens
// anything, saying why and how to proceed, and that -force passes that
// check (to fail later, here, for want of a database).
func TestServeWithoutSignInOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":8080", "192.0.2.7:8080"} {
		err := run(t.Context(), []string{"serve", "-listen", addr}, io.Discard, io.Discard, func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "-force") || !strings.Contains(err.Error(), "auth mode is none") || !strings.Contains(err.Error(), addr) {
			t.Errorf("serve -listen %s: %v, want a refusal naming the address, auth mode and -force", addr, err)
		}
		err = run(t.Context(), []string{"serve", "-force", "-listen", addr}, io.Discard, io.Discard, func(string) string { return "" })
		if err == nil || strings.Contains(err.Error(), "auth mode is none") {
			t.Errorf("serve -force -listen %s: %v, want past the exposure check (and failing on the missing database)", addr, err)
		}
	}
}

// TestServeAnonymousOpenLineage starts `almanac serve` taking OpenLineage
// events without a token, as a configured server on a private network
// might: a web page's cross-origin POST and a request through a rebound
// name are refused and store nothing, a producer's POST is stored, and a
// public_url's host is served.
func TestServeAnonymousOpenLineage(t *testing.T) {
	pool, catalogURL := pgtest.NewDB(t)
	addr := freeAddr(t)
	cfg := writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\npublic_url: https://lineage.example.com\nsearch:\n  index_dir: "+
		filepath.Join(t.TempDir(), "index")+"\nopenlineage:\n  anonymous: true\n")
	base := "http://" + addr
	startServe(t, base, cfg, nil, nil)
	event := `{"eventType":"COMPLETE","eventTime":"2026-11-25T10:00:00Z","producer":"https://example.com/airflow",
		"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
		"run":{"runId":"0193a8f2-6a4e-7cc1-9c3c-6b1d2f0e9a11"},"job":{"namespace":"airflow","name":"daily.load_orders"}}`
	post := func(header ...string) int {
		req, _ := http.NewRequest("POST", base+"/api/v1/lineage", strings.NewReader(event))
		for i := 0; i+1 < len(header); i += 2 {
			if header[i] == "Host" {
				req.Host = header[i+1]
			} else {
				req.Header.Set(header[i], header[i+1])
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("Content-Type", "text/plain", "Origin", "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-origin text/plain POST = %d, want 403", code)
	}
	if code := post("Content-Type", "application/json", "Host", "evil.example"); code != http.StatusForbidden {
		t.Errorf("POST for Host evil.example = %d, want 403", code)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM openlineage_events`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d events stored by refused requests (%v)", n, err)
	}
	if code := post("Content-Type", "application/json", "Host", "lineage.example.com"); code != http.StatusCreated {
		t.Errorf("POST for the public_url's host = %d, want 201", code)
	}
	if code := post("Content-Type", "application/json"); code != http.StatusCreated {
		t.Errorf("POST from a producer = %d, want 201", code)
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}

// lockedBuffer is a log sink that tests read while the server writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCheckCommand runs the configured SQL checks against a real
// warehouse: it prints each result, fails when one does not pass or a
// check has a problem, records the results, and runs only the checks
// named.
func TestCheckCommand(t *testing.T) {
	ctx := context.Background()
	pool, catalogURL := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `
		CREATE SCHEMA shop;
		CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint);
		INSERT INTO shop.orders VALUES (1, 10), (2, NULL), (3, 30);`)
	cfg := writeFile(t, fmt.Sprintf(`
database_url: %s
sources:
  - name: shop
    type: postgres
    url: %s
    namespace: postgres://shop.example:5432
checks:
  - name: orders_rows
    source: shop
    table: shop.orders
    template: row_count
    expect: between 1 and 10
  - name: orders_customer
    source: shop
    table: shop.orders
    template: not_null
    column: customer_id
  - name: typo
    source: shopp
    table: shop.orders
    template: row_count
    expect: "> 0"
`, catalogURL, whURL))
	var out bytes.Buffer
	err := run(ctx, []string{"check", "-config", cfg}, &out, io.Discard, func(string) string { return "" })
	if err == nil || err.Error() != "checks not passing: orders_customer" {
		t.Errorf("err = %v, want the failing check named", err)
	}
	for _, want := range []string{
		`checks[2].source: no source named "shopp" (did you mean "shop"?)`,
		"orders_rows: pass in ",
		", observed 3\n",
		"orders_customer: fail in ",
		", observed 1: got 1, want = 0\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	st := store.New(pool)
	key := catalog.Key{Namespace: "postgres://shop.example:5432", Name: postgresDB(t, whURL) + ".shop.orders"}
	page := store.ResultPage{Source: "sql:orders_customer", Check: "orders_customer", Limit: 5}
	m, err := st.ResultPages(ctx, []store.ResultPage{page})
	if err != nil || len(m[page]) != 1 || m[page][0].Dataset != key || *m[page][0].Failures != 1 {
		t.Errorf("recorded results = %+v, %v", m[page], err)
	}

	// One check named: only it runs; it passes, but the bad check still
	// fails the command.
	out.Reset()
	err = run(ctx, []string{"check", "-config", cfg, "orders_rows"}, &out, io.Discard, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "1 checks or SLOs of the configuration have problems") || strings.Contains(out.String(), "orders_customer") {
		t.Errorf("one check: err = %v, output:\n%s", err, out.String())
	}
}

// TestReportUnknownDatasets logs, at start, each SLO and check naming a
// dataset the catalog does not know, with the file and line declaring it.
func TestReportUnknownDatasets(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	path := writeFile(t, `sources:
  - name: wh
    type: postgres
    url: postgres://crawler@db.internal/analytics
checks:
  - name: ghost_rows
    source: wh
    table: public.ghost
    template: row_count
    expect: "> 0"
slos:
  - name: ghost fresh
    source: wh
    dataset: analytics.public.ghost
    kind: freshness
    max_age: 1h
`)
	cfg, err := config.LoadConfig(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := reportUnknownDatasets(ctx, st, cfg, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`msg="slo names a dataset the catalog does not know" slo="ghost fresh" at=` + path + `:12 dataset=postgres://db.internal:5432/analytics.public.ghost`,
		`msg="check names a dataset the catalog does not know" check=ghost_rows at=` + path + `:6 dataset=postgres://db.internal:5432/analytics.public.ghost`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

// freeAddr returns a loopback address with a port nothing listens on (at
// the moment it is asked).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `almanac serve -config cfg`, with env as its
// environment and its log to stderr (nil discards it), until the test
// ends, when it must shut down cleanly; it returns once base/readyz
// answers 200.
func startServe(t *testing.T, base, cfg string, env map[string]string, stderr io.Writer) {
	t.Helper()
	if stderr == nil {
		stderr = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-config", cfg, "-log-level", "warn"}, io.Discard, stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
	}
}

// TestConnectPoolSize: serve's pool holds defaultPoolConns connections
// unless the URL's pool_max_conns says otherwise (pgx's own default, 4
// on a 2-core machine, starved pages behind the change-log followers).
func TestConnectPoolSize(t *testing.T) {
	_, url := pgtest.NewDB(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, tc := range []struct {
		url  string
		want int32
	}{
		{url, defaultPoolConns},
		{url + sep + "pool_max_conns=7", 7},
	} {
		pool, err := connect(t.Context(), tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := pool.Config().MaxConns; got != tc.want {
			t.Errorf("%s: MaxConns = %d, want %d", tc.url, got, tc.want)
		}
		pool.Close()
	}
}

// TestMemoryHeapTarget checks that every command sets the garbage
// collector as memory.heap_target says: a small heap grows to four times
// its live size under the default target, and 0 leaves Go's default.
func TestMemoryHeapTarget(t *testing.T) {
	// The tuner runs in a finalizer after a collection: collect until
	// the percent is the one wanted, or a second has passed.
	percent := func(want uint64) uint64 {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		for deadline := time.Now().Add(time.Second); ; {
			runtime.GC()
			metrics.Read(s)
			if got := s[0].Value.Uint64(); got == want || time.Now().After(deadline) {
				return got
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Cleanup(func() { memory.Tune(0) })
	for _, c := range []struct {
		target string
		want   uint64
	}{{"", 400}, {"0", 100}, {"1GiB", 400}} {
		env := map[string]string{"ALMANAC_MEMORY_HEAP_TARGET": c.target}
		// No database_url: migrate fails after the configuration is applied.
		err := run(t.Context(), []string{"migrate"}, io.Discard, io.Discard, func(k string) string { return env[k] })
		if err == nil {
			t.Fatal("migrate without a database succeeded")
		}
		if got := percent(c.want); got != c.want {
			t.Errorf("heap_target %q: GC percent %d, want %d", c.target, got, c.want)
		}
	}
}
