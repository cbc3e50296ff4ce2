package crawl

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/crawl/delta/s3test"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestRunnerLakehouse runs the sources of the lakehouse through the
// runner: a Delta table on an S3-compatible server and the Unity Catalog
// table stored at the same location land on one dataset, with the facts
// of both sources; a redshift source is crawled by the Redshift crawler,
// which a PostgreSQL server (no SVV_ views) fails, naming the view.
func TestRunnerLakehouse(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	r := NewRunner(st, slog.New(slog.DiscardHandler), nil)

	srv := s3test.Start(t)
	srv.Env(t)
	srv.CreateBucket(t, "lake")
	srv.Upload(t, "lake", "sales/orders", "delta/testdata/simple_table")
	uc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/2.1/unity-catalog/catalogs":
			w.Write([]byte(`{"catalogs":[{"name":"main"}]}`))
		case "/api/2.1/unity-catalog/schemas":
			w.Write([]byte(`{"schemas":[{"name":"sales"}]}`))
		case "/api/2.1/unity-catalog/tables":
			w.Write([]byte(`{"tables":[{"name":"orders","catalog_name":"main","schema_name":"sales","table_type":"EXTERNAL",` +
				`"data_source_format":"DELTA","storage_location":"s3://lake/sales/orders/","comment":"One row per order.",` +
				`"columns":[{"name":"id","type_text":"bigint","position":0}]}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer uc.Close()

	for _, src := range []Source{
		{Name: "s3lake", Type: "delta", Paths: []string{"s3://lake/sales"}, S3: delta.S3{Endpoint: srv.Endpoint, PathStyle: true}},
		{Name: "uc", Type: "unitycatalog", URL: uc.URL},
	} {
		run, err := r.Crawl(ctx, src)
		if err != nil || run.Status != catalog.CrawlSucceeded {
			t.Fatalf("%s: %v, run %+v", src.Provenance(), err, run)
		}
	}
	id, err := st.FindDataset(ctx, catalog.Key{Namespace: "s3://lake", Name: "sales/orders"})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil || len(ds) != 1 {
		t.Fatalf("dataset %d: %v, %d found", id, err, len(ds))
	}
	d := ds[0]
	var sources []string
	for _, f := range d.Sources {
		sources = append(sources, f.Source)
	}
	slices.Sort(sources)
	if !slices.Equal(sources, []string{"delta:s3lake", "unitycatalog:uc"}) || d.Description != "One row per order." || d.Properties[delta.PropVersion] != "4" {
		t.Errorf("dataset from sources %v: description %q, version %q", sources, d.Description, d.Properties[delta.PropVersion])
	}

	run, err := r.Crawl(ctx, Source{Name: "dw", Type: "redshift", URL: pgtest.EmptyDB(t)})
	if err == nil || run.Status != catalog.CrawlFailed || len(run.Errors) == 0 || !strings.Contains(run.Errors[0].Message, "svv_tables") {
		t.Errorf("redshift crawl of PostgreSQL: %v, run %+v", err, run)
	}
}
