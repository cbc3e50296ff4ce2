package unitycatalog

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// testClient is a client of srv whose waits are recorded, not slept.
func testClient(t *testing.T, srv *httptest.Server, waits *[]time.Duration) *client {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: u, http: srv.Client(), attempts: 5, delay: time.Second, maxDelay: 30 * time.Second,
		sleep: func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }}
}

// TestBackoff: waits double from the first delay (less up to a quarter of
// jitter), Retry-After wins when longer, nothing waits past maxDelay, and
// the attempts are bounded.
func TestBackoff(t *testing.T) {
	var answers []func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[0]
		answers = answers[1:]
		a(w)
	}))
	defer srv.Close()
	status := func(code int, retryAfter string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(code)
		}
	}
	ok := func(w http.ResponseWriter) { w.Write([]byte(`{"catalogs":[]}`)) }

	var waits []time.Duration
	c := testClient(t, srv, &waits)
	answers = []func(http.ResponseWriter){status(503, ""), status(429, "7"), status(500, ""), status(429, "120"), ok}
	var p page[catalogInfo]
	if err := c.get(context.Background(), "/x", url.Values{}, &p); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 4 {
		t.Fatalf("waits %v, want 4", waits)
	}
	within := func(d, lo, hi time.Duration) bool { return lo <= d && d <= hi }
	if !within(waits[0], 750*time.Millisecond, time.Second) || waits[1] != 7*time.Second ||
		!within(waits[2], 3*time.Second, 4*time.Second) || waits[3] != 30*time.Second {
		t.Errorf("waits = %v, want ~1s, 7s (Retry-After), ~4s, 30s (capped)", waits)
	}

	waits = nil
	answers = []func(http.ResponseWriter){status(429, ""), status(429, ""), status(429, ""), status(429, ""), status(429, ""), ok}
	err := c.get(context.Background(), "/x", url.Values{}, &p)
	if err == nil || !strings.Contains(err.Error(), "HTTP 429 Too Many Requests (after 5 attempts)") || len(waits) != 4 {
		t.Errorf("err %v after %d waits; want 5 attempts", err, len(waits))
	}

	for _, code := range []int{400, 401, 403, 404, 501} {
		waits = nil
		answers = []func(http.ResponseWriter){status(code, ""), ok}
		if err := c.get(context.Background(), "/x", url.Values{}, &p); err == nil || len(waits) != 0 {
			t.Errorf("HTTP %d: err %v after %d waits, want a failure at once", code, err, len(waits))
		}
		answers = nil
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Mon, 01 Jun 2026 12:00:10 GMT": 10 * time.Second,
		"Mon, 01 Jun 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestFilter(t *testing.T) {
	f, err := newFilter([]string{"main", "sales.orders", "hr.people.employees", "dev_*.*"}, []string{"main.tmp", "*.*.scratch_*"})
	if err != nil {
		t.Fatal(err)
	}
	touches := map[string]bool{
		"main": true, "main.default": true, "main.tmp": false,
		"sales": true, "sales.orders": true, "sales.other": false,
		"hr": true, "hr.people": true, "hr.payroll": false,
		"dev_alice": true, "dev_alice.x": true, "prod": false,
	}
	for name, want := range touches {
		if got := f.touches(name); got != want {
			t.Errorf("touches(%q) = %v, want %v", name, got, want)
		}
	}
	got := []bool{
		f.table("main", "default", "t"), f.table("main", "tmp", "t"), f.table("main", "default", "scratch_1"),
		f.table("hr", "people", "employees"), f.table("hr", "people", "salaries"), f.table("sales", "orders", "x"),
		f.table("dev_bob", "s", "t"),
	}
	if diff := cmp.Diff([]bool{true, false, false, true, false, true, true}, got); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestNullsAsTheServerWritesThem: the open-source server writes null for
// what a table lacks (its docs show type_interval_type, partition_index
// and owner as None); they read as absent.
func TestNullsAsTheServerWritesThem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"tables":[{"name":"t","catalog_name":"c","schema_name":"s","table_type":"MANAGED",` +
			`"columns":[{"name":"id","type_text":"int","type_name":"INT","type_precision":0,"type_scale":0,` +
			`"type_interval_type":null,"position":0,"comment":null,"nullable":null,"partition_index":null}],` +
			`"storage_location":null,"comment":null,"properties":{"k":null},"owner":null,"created_at":null,` +
			`"updated_at":null,"view_definition":null,"view_dependencies":null}],"next_page_token":null}`))
	}))
	defer srv.Close()
	var waits []time.Duration
	c := testClient(t, srv, &waits)
	var tables []tableInfo
	if err := listAll(context.Background(), c, "/tables", url.Values{}, 0, &tables); err != nil {
		t.Fatal(err)
	}
	w := &walker{ns: DefaultNamespace}
	f, warn := w.facts(tables[0])
	want := catalog.DatasetFacts{
		Key: catalog.Key{Namespace: "unity-catalog", Name: "c.s.t"}, Platform: Platform, Kind: catalog.KindTable,
		Properties: map[string]string{PropFullName: "c.s.t", PropTableType: "MANAGED"},
		Columns:    []catalog.Column{{Name: "id", Ordinal: 1, Type: "int", Nullable: true}},
	}
	if diff := cmp.Diff(want, f); diff != "" || warn != "" {
		t.Errorf("facts (-want +got):\n%s\nwarning %q", diff, warn)
	}
}

func TestOwner(t *testing.T) {
	for name, want := range map[string]catalog.Owner{
		"alice@example.com":                    {Name: "alice@example.com", Kind: catalog.OwnerUser, Type: "technical"},
		"6a1b2c3d-0000-4e5f-8a9b-0123456789ab": {Name: "6a1b2c3d-0000-4e5f-8a9b-0123456789ab", Kind: catalog.OwnerUser, Type: "technical"},
		"data-engineers":                       {Name: "data-engineers", Kind: catalog.OwnerTeam, Type: "technical"},
	} {
		if got, ok := owner(name); !ok || got != want {
			t.Errorf("owner(%q) = %v, %v", name, got, ok)
		}
	}
	for _, none := range []string{"", "System user"} {
		if got, ok := owner(none); ok {
			t.Errorf("owner(%q) = %v, want none", none, got)
		}
	}
}
