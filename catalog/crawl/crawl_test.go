package crawl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestRunnerCrawl crawls a source of each type through the runner: each
// run is recorded and counted in the runner's collectors.
func TestRunnerCrawl(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	execSQL(t, whURL, `CREATE TABLE orders (id int PRIMARY KEY); CREATE VIEW big_orders AS SELECT id FROM orders WHERE id > 10`)
	dbtDir, _ := filepath.Abs("dbt/testdata/jaffle_shop_1.12")
	deltaDir, _ := filepath.Abs("delta/testdata")
	// A Unity Catalog server of one table, which wants its token.
	uc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer uc-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/2.1/unity-catalog/catalogs":
			fmt.Fprint(w, `{"catalogs":[{"name":"main"}]}`)
		case "/api/2.1/unity-catalog/schemas":
			fmt.Fprint(w, `{"schemas":[{"name":"sales"}]}`)
		case "/api/2.1/unity-catalog/tables":
			fmt.Fprint(w, `{"tables":[{"name":"orders","catalog_name":"main","schema_name":"sales","table_type":"EXTERNAL",`+
				`"storage_location":"s3://lake/sales/orders","columns":[{"name":"id","type_text":"bigint","position":0}]}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer uc.Close()
	geDir, _ := filepath.Abs("greatexpectations/testdata/gx1_store")
	reg := prometheus.NewRegistry()
	r := NewRunner(store.New(pool), slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	for _, src := range []Source{
		{Name: "wh", Type: "postgres", URL: whURL},
		{Name: "analytics", Type: "dbt", Paths: []string{dbtDir}, Namespace: "postgres://warehouse.example:5432"},
		{Name: "lake", Type: "delta", Paths: []string{deltaDir}},
		{Name: "uc", Type: "unitycatalog", URL: uc.URL, Token: "uc-token"},
		// Great Expectations reports checks and results, no datasets.
		{Name: "expectations", Type: "great_expectations", Paths: []string{geDir}, Namespace: "postgres://warehouse.example:5432", Database: "analytics"},
	} {
		run, err := r.Crawl(ctx, src)
		if err != nil {
			t.Fatalf("%s: %v", src.Provenance(), err)
		}
		if run.Source != src.Provenance() || run.Status == catalog.CrawlFailed || run.Counts.Created == 0 && run.Counts.Checks == 0 {
			t.Errorf("%s: run %+v", src.Provenance(), run)
		}
		metrics := exposed(t, reg)
		for _, want := range []string{
			fmt.Sprintf(`almanac_crawl_datasets_total{outcome="created",source=%q} %d`, src.Provenance(), run.Counts.Created),
			fmt.Sprintf(`almanac_crawl_duration_seconds_count{source=%q,status=%q} 1`, src.Provenance(), run.Status),
			fmt.Sprintf(`almanac_crawl_errors_total{source=%q} %d`, src.Provenance(), len(run.Errors)),
		} {
			if !strings.Contains(metrics, want+"\n") {
				t.Errorf("the metrics lack %s", want)
			}
		}
	}
	if _, err := r.Crawl(ctx, Source{Name: "x", Type: "hive"}); err == nil || !strings.Contains(err.Error(), `unknown type "hive"`) {
		t.Errorf("crawl of an unknown type: %v", err)
	}
}

// exposed returns what reg exposes to Prometheus, in its text format.
func exposed(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestNewRunnerWithoutLogger checks that a runner given no logger
// discards what it would log rather than failing on it.
func TestNewRunnerWithoutLogger(t *testing.T) {
	if h := NewRunner(nil, nil, nil).log.Handler(); h != slog.DiscardHandler {
		t.Errorf("NewRunner without a logger logs to %T, want slog.DiscardHandler", h)
	}
}
