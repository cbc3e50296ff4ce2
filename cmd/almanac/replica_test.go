package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// crawlShop writes datasets named shop.public.<name> with descriptions
// as the source postgres:shop would.
func crawlShop(t *testing.T, st *store.Store, descriptions map[string]string) {
	t.Helper()
	ns := "postgres://shop.example:5432"
	var h catalog.Harvest
	for name, d := range descriptions {
		h.Datasets = append(h.Datasets, catalog.DatasetFacts{
			Key: catalog.Key{Namespace: ns, Name: "shop.public." + name}, Platform: "postgres", Kind: catalog.KindTable, Description: d})
	}
	if _, err := st.Crawl(t.Context(), "postgres:shop", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
}

// runServe runs `almanac serve` with args until the test ends, when it
// must shut down cleanly, without waiting for it to be ready.
func runServe(t *testing.T, args []string, stderr io.Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), io.Discard, stderr, func(string) string { return "" })
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
}

// getBody GETs url, returning 0 when nothing answers.
func getBody(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// poll calls f every 50 ms until it returns true, failing the test after
// 30 s with what the last call said.
func poll(t *testing.T, what string, f func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = f(); ok {
			return
		}
	}
	t.Fatalf("%s: gave up after 30 s; last: %s", what, last)
}

// TestNewReplicaUnreadyUntilIndexCaughtUp runs two `almanac serve`
// replicas on one database. The second starts with an empty index
// directory while the first serves: it listens at once, answers /healthz,
// and /readyz says 503 with the reason, for as long as its index is being
// built (held here by a lock on the foreign_keys table, which the build
// reads); then it is ready, and both replicas find the same datasets,
// also one written after both started. In JSON log mode the build logs
// its progress.
func TestNewReplicaUnreadyUntilIndexCaughtUp(t *testing.T) {
	ctx := t.Context()
	pool, catalogURL := pgtest.NewDB(t)
	st := store.New(pool)
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "orders": "Every webshop purchase."})

	config := func(addr string) string {
		return writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\nsearch:\n  index_dir: "+filepath.Join(t.TempDir(), "index")+"\n")
	}
	a := "http://" + freeAddr(t)
	startServe(t, a, config(strings.TrimPrefix(a, "http://")), nil, nil)
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "orders": "Every webshop purchase.", "refunds": "Money sent back."})

	// The new replica's build waits for this lock.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "LOCK TABLE foreign_keys IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { progressLogEvery = d }(progressLogEvery)
	progressLogEvery = 0
	b := "http://" + freeAddr(t)
	logs := &syncBuffer{}
	runServe(t, []string{"-config", config(strings.TrimPrefix(b, "http://")), "-log-format", "json", "-log-level", "info"}, logs)
	poll(t, "new replica listening, unready", func() (bool, string) {
		code, body := getBody(b + "/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "not ready: search index being built"), fmt.Sprint(code, " ", body)
	})
	// Unready for a while, not by chance.
	time.Sleep(300 * time.Millisecond)
	if code, body := getBody(b + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while the index is built = %d %s", code, body)
	}
	if code, body := getBody(b + "/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz while the index is built = %d %s", code, body)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	poll(t, "new replica ready", func() (bool, string) {
		code, body := getBody(b + "/readyz")
		return code == http.StatusOK, fmt.Sprint(code, " ", body)
	})
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "orders": "Every webshop purchase.", "refunds": "Money sent back.", "invoices": "Bills sent out."})
	for _, base := range []string{a, b} {
		for q, name := range map[string]string{"webshop": "shop.public.orders", "money": "shop.public.refunds", "bills": "shop.public.invoices"} {
			poll(t, base+" finds "+name, func() (bool, string) {
				code, body := getBody(base + "/search?q=" + q)
				return code == http.StatusOK && strings.Contains(body, name), fmt.Sprint(code)
			})
		}
	}
	if l := logs.String(); !strings.Contains(l, `"msg":"progress","component":"search","task":"build search index","done":3,"unit":"datasets","total":3,"percent":100`) {
		t.Errorf("the build logged no progress in JSON:\n%s", l)
	}
}

// TestLongWorkLogsProgress runs `almanac crawl` and `almanac reindex`
// with JSON logs (stdout no terminal, so no bar): each logs its progress
// as fields, the last line with everything done.
func TestLongWorkLogsProgress(t *testing.T) {
	_, catalogURL := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `
		CREATE SCHEMA shop;
		CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text);
		CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customers);
		CREATE TABLE shop.refunds (id bigint PRIMARY KEY, order_id bigint REFERENCES shop.orders);`)
	cfg := writeFile(t, fmt.Sprintf(`
database_url: %s
search:
  index_dir: %s
sources:
  - name: shop
    type: postgres
    url: %s
    namespace: postgres://shop.example:5432
`, catalogURL, filepath.Join(t.TempDir(), "index"), whURL))
	defer func(d time.Duration) { progressLogEvery = d }(progressLogEvery)
	progressLogEvery = time.Hour // only the first and the last line
	getenv := func(string) string { return "" }
	for _, tc := range []struct{ cmd, want string }{
		{"crawl", `"msg":"progress","task":"crawl postgres:shop","done":3,"unit":"datasets","total":3,"percent":100`},
		{"reindex", `"msg":"progress","task":"build search index","done":3,"unit":"datasets","total":3,"percent":100`},
	} {
		var out strings.Builder
		logs := &syncBuffer{}
		if err := run(t.Context(), []string{tc.cmd, "-config", cfg, "-log-format", "json"}, &out, logs, getenv); err != nil {
			t.Fatalf("%s: %v", tc.cmd, err)
		}
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("%s logged no final progress line %s:\n%s", tc.cmd, tc.want, logs.String())
		}
		if strings.Contains(out.String(), "\r") {
			t.Errorf("%s drew a bar on stdout, which is no terminal:\n%q", tc.cmd, out.String())
		}
	}
}
