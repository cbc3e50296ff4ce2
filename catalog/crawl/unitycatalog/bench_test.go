package unitycatalog_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"almanac/catalog/crawl/unitycatalog"
)

// Sizes of BenchmarkCrawl's server.
const (
	benchSchemas = 100
	benchTables  = 100 // per schema: 10,000
	benchColumns = 8
	benchPage    = 50 // the spec's largest page of tables
)

// benchServer serves one catalog of benchSchemas schemas of benchTables
// tables each, in the open-source server's shapes (the sample tables'
// fields, Databricks-like owners and properties), benchPage tables a page.
// Every page is written before the clock starts, as a recording would be.
func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	pages := map[string][]byte{} // by schema and page token
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	var schemas []string
	for s := range benchSchemas {
		schema := fmt.Sprintf("schema_%03d", s)
		schemas = append(schemas, fmt.Sprintf(`{"name":%q,"catalog_name":"bench","full_name":"bench.%s","owner":"data-platform","properties":{},"schema_id":"00000000-0000-4000-8000-%012d"}`, schema, schema, s))
		for p := 0; p < benchTables; p += benchPage {
			var w strings.Builder
			w.WriteString(`{"tables":[`)
			for t := p; t < min(p+benchPage, benchTables); t++ {
				if t > p {
					w.WriteString(",")
				}
				name := fmt.Sprintf("table_%03d", t)
				fmt.Fprintf(&w, `{"name":%q,"catalog_name":"bench","schema_name":%q,"table_type":"EXTERNAL","data_source_format":"DELTA",`+
					`"storage_location":"s3://bench-lake/warehouse/%s/%s/","comment":%s,"owner":"owner%d@corp.example",`+
					`"properties":{"delta.minReaderVersion":"1","delta.minWriterVersion":"2","delta.enableChangeDataFeed":"true","quality":"silver","team":"team-%d"},`+
					`"created_at":1721241605595,"created_by":"owner%d@corp.example","updated_at":1721241605595,"updated_by":"owner%d@corp.example",`+
					`"table_id":"%08d-0000-4000-8000-%012d","columns":[`,
					name, schema, schema, name, str(fmt.Sprintf("Table %d of %s: one row per thing, documented as people write it.", t, schema)),
					t%50, s%10, t%50, t%50, s, t)
				for c := range benchColumns {
					if c > 0 {
						w.WriteString(",")
					}
					typ, tname := "bigint", "LONG"
					if c%2 == 1 {
						typ, tname = "string", "STRING"
					}
					fmt.Fprintf(&w, `{"name":"col_%d","type_text":%q,"type_json":%s,"type_name":%q,"type_precision":0,"type_scale":0,"position":%d,"comment":"Column %d.","nullable":%t}`,
						c, typ, str(fmt.Sprintf(`{"name":"col_%d","type":"%s","nullable":true,"metadata":{}}`, c, typ)), tname, c, c, c > 0)
				}
				w.WriteString(`]}`)
			}
			w.WriteString(`]`)
			if next := p + benchPage; next < benchTables {
				fmt.Fprintf(&w, `,"next_page_token":"%d"`, next)
			} else {
				w.WriteString(`,"next_page_token":null`)
			}
			w.WriteString(`}`)
			pages[schema+"/"+strconv.Itoa(p)] = []byte(w.String())
		}
	}
	catalogs := []byte(`{"catalogs":[{"name":"bench","comment":"Benchmark catalog","properties":{},"id":"00000000-0000-4000-8000-000000000000"}],"next_page_token":null}`)
	schemaList := []byte(`{"schemas":[` + strings.Join(schemas, ",") + `],"next_page_token":null}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		switch r.URL.Path {
		case "/api/2.1/unity-catalog/catalogs":
			w.Write(catalogs)
		case "/api/2.1/unity-catalog/schemas":
			w.Write(schemaList)
		case "/api/2.1/unity-catalog/tables":
			p, ok := pages[q.Get("schema_name")+"/"+cmp.Or(q.Get("page_token"), "0")]
			if !ok {
				http.Error(w, "no such page", http.StatusBadRequest)
				return
			}
			w.Write(p)
		default:
			http.NotFound(w, r)
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkCrawl crawls 10,000 tables across 100 schemas, 50 a page, from
// a local server. Target: ≤ 10 s a crawl.
func BenchmarkCrawl(b *testing.B) {
	srv := benchServer(b)
	cfg := unitycatalog.Config{Source: "unitycatalog:bench", URL: srv.URL}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		hv, err := unitycatalog.Crawl(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(hv.Datasets); n != benchSchemas*benchTables || len(hv.Errors) > 0 || !hv.DatasetsComplete {
			b.Fatalf("%d datasets, errors %v", n, hv.Errors)
		}
		if d := time.Since(start); d > 10*time.Second {
			b.Errorf("crawl took %s, target 10 s", d)
		}
	}
	perCrawl := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perCrawl, "s/crawl")
	b.ReportMetric(float64(benchSchemas*benchTables)/perCrawl, "tables/s")
}
