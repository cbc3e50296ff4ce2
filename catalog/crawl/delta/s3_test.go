package delta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/delta/s3test"
)

// startLake starts an S3-compatible server with the bucket "lake" and
// points the process's AWS configuration at it.
func startLake(t testing.TB) (*s3test.Server, S3) {
	t.Helper()
	srv := s3test.Start(t)
	srv.Env(t)
	srv.CreateBucket(t, "lake")
	return srv, S3{Endpoint: srv.Endpoint, PathStyle: true}
}

// relative returns the datasets of h by their names relative to prefix,
// with their keys cleared: what two crawls of the same tables in two
// places must agree on.
func relative(t *testing.T, h catalog.Harvest, ns, prefix string) map[string]catalog.DatasetFacts {
	t.Helper()
	out := map[string]catalog.DatasetFacts{}
	for _, d := range h.Datasets {
		name, ok := strings.CutPrefix(d.Key.Name, prefix)
		if d.Key.Namespace != ns || !ok {
			t.Errorf("dataset %v is not under %s %s", d.Key, ns, prefix)
			continue
		}
		d.Key = catalog.Key{}
		out[name] = d
	}
	return out
}

// TestS3CrawlFixtures uploads every fixture table to a real S3-compatible
// server and crawls the prefix: the harvest must be the local crawl's,
// table for table and fact for fact, under the OpenLineage keys of an
// object store (namespace s3://lake, name the key).
func TestS3CrawlFixtures(t *testing.T) {
	ctx := context.Background()
	local, err := Crawl(ctx, Config{Source: "delta:test", Roots: []string{"testdata"}})
	if err != nil || len(local.Errors) > 0 {
		t.Fatalf("local crawl: %v %v", err, local.Errors)
	}
	abs, _ := filepath.Abs("testdata")
	want := relative(t, local, "file", abs+"/")

	srv, s3cfg := startLake(t)
	srv.Upload(t, "lake", "warehouse/tables", "testdata")
	for _, tc := range []struct {
		name     string
		buffered int64 // maxBuffered: 0 reads every parquet file by ranges
	}{
		{"whole files", maxBuffered},
		{"ranged reads", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v int64) { maxBuffered = v }(maxBuffered)
			maxBuffered = tc.buffered
			h, err := Crawl(ctx, Config{Source: "delta:test", Roots: []string{"s3://lake/warehouse/tables/"}, S3: s3cfg})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Errors) > 0 {
				t.Errorf("errors: %v", h.Errors)
			}
			if diff := cmp.Diff(want, relative(t, h, "s3://lake", "warehouse/tables/")); diff != "" {
				t.Errorf("harvest from S3 (-local +s3):\n%s", diff)
			}
			if diff := cmp.Diff([]catalog.Scope{{Namespace: "s3://lake", Prefix: "warehouse/tables/"}}, h.Scopes); diff != "" {
				t.Errorf("scopes (-want +got):\n%s", diff)
			}
			if len(h.Datasets) != 8 || h.Datasets[0].Key != (catalog.Key{Namespace: "s3://lake", Name: "warehouse/tables/checkpoint-v2-table"}) {
				t.Errorf("first of %d datasets: %v", len(h.Datasets), h.Datasets[0].Key)
			}
		})
	}

	// The key is the one a Unity Catalog crawl gives the table when it
	// lists it with that storage location.
	uc, err := catalog.LocationKey("s3a://lake/warehouse/tables/simple_table/")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("root is a table", func(t *testing.T) {
		h, err := Crawl(ctx, Config{Source: "delta:test", Roots: []string{"s3://lake/warehouse/tables/simple_table"}, S3: s3cfg})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Datasets) != 1 || h.Datasets[0].Key != uc {
			t.Fatalf("datasets %v, want the one keyed %v", h.Datasets, uc)
		}
		if diff := cmp.Diff([]catalog.Scope{{Namespace: "s3://lake", Prefix: "warehouse/tables/simple_table"}}, h.Scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
	})
	t.Run("whole bucket, nested prefixes", func(t *testing.T) {
		srv.Upload(t, "lake", "raw/2026/events", "testdata/delta-0.8.0-partitioned")
		h, err := Crawl(ctx, Config{Source: "delta:test", Roots: []string{"s3://lake"}, S3: s3cfg})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range h.Datasets {
			names = append(names, d.Key.Name)
		}
		if len(names) != 9 || names[0] != "raw/2026/events" {
			t.Errorf("tables %v, want raw/2026/events and the 8 fixtures", names)
		}
		if diff := cmp.Diff([]catalog.Scope{{Namespace: "s3://lake"}}, h.Scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}
	})
}

// TestS3CorruptLog: in a prefix of tables, one whose _delta_log is
// corrupt is that table's error, with the log's location; the others are
// crawled, and the prefix's scope is left out so that nothing is marked
// removed.
func TestS3CorruptLog(t *testing.T) {
	srv, s3cfg := startLake(t)
	srv.Upload(t, "lake", "tables", "testdata")
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bad, "_delta_log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "_delta_log", "00000000000000000000.json"), []byte("{\"metaData\": {\"id\": \x00 garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv.Upload(t, "lake", "tables/broken", bad)

	h, err := Crawl(context.Background(), Config{Source: "delta:lake", Roots: []string{"s3://lake/tables"}, S3: s3cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Datasets) != 8 {
		t.Errorf("%d datasets, want the 8 good tables", len(h.Datasets))
	}
	want := []catalog.CrawlError{{Object: "s3://lake/tables/broken/_delta_log", Message: "00000000000000000000.json: line 1: invalid character '\\x00' looking for beginning of value"}}
	if diff := cmp.Diff(want, h.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(h.Scopes) > 0 {
		t.Errorf("scopes %v: a prefix with an unreadable table must not remove anything", h.Scopes)
	}
}

// TestS3Refused: credentials the server refuses, or a bucket it does not
// have, fail the crawl with an error naming the source, the bucket and
// what to check.
func TestS3Refused(t *testing.T) {
	srv, s3cfg := startLake(t)
	srv.Upload(t, "lake", "tables/simple_table", "testdata/simple_table")
	for _, tc := range []struct {
		name  string
		env   map[string]string
		root  string
		want  string // pattern of the error
		isErr error  // kind it wraps, if any
	}{
		{
			name: "wrong secret", env: map[string]string{"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, root: "s3://lake/tables",
			want: `^crawl delta:lake: no root could be read: list s3://lake/tables/: bucket "lake" refused the request \(SignatureDoesNotMatch: .*\); check the credentials the crawler runs with \(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE\) and their rights on the bucket$`,
		},
		{
			name: "unknown access key", env: map[string]string{"AWS_ACCESS_KEY_ID": "nobody"}, root: "s3://lake/tables",
			want: `^crawl delta:lake: no root could be read: list s3://lake/tables/: bucket "lake" refused the request \(\w+: .*\); check the credentials`,
		},
		{
			name: "no credentials", env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, root: "s3://lake/tables",
			want: `^crawl delta:lake: read s3://lake/tables: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, for the crawler \(.*\)$`,
		},
		{
			name: "no such bucket", root: "s3://swamp/tables",
			want:  `^crawl delta:lake: no root could be read: list s3://swamp/tables/: bucket "swamp" does not exist \(NoSuchBucket: .*\): file does not exist$`,
			isErr: os.ErrNotExist,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			h, err := Crawl(ctx, Config{Source: "delta:lake", Roots: []string{tc.root}, S3: s3cfg})
			if err == nil || !regexp.MustCompile(tc.want).MatchString(err.Error()) {
				t.Fatalf("error %v, want one matching %s", err, tc.want)
			}
			if tc.isErr != nil && !errors.Is(err, tc.isErr) {
				t.Errorf("error %v does not wrap %v", err, tc.isErr)
			}
			if len(h.Errors) != 1 || (h.Errors[0].Object != tc.root && h.Errors[0].Object != "config") {
				t.Errorf("harvest errors %v, want one for %s", h.Errors, tc.root)
			}
		})
	}
}

// BenchmarkS3Crawl crawls 1,000 tables with checkpoints on the local
// S3-compatible server: each a copy of simple_table_with_checkpoint (a
// checkpoint at version 10, _last_checkpoint, eleven commits read for the
// history), about fourteen requests a table. The tables are laid out in
// the server's directory before the clock starts. Target: ≤ 20 s.
func BenchmarkS3Crawl(b *testing.B) {
	const tables = 1000
	srv := s3test.Start(b)
	srv.Env(b)
	src := filepath.Join("testdata", "simple_table_with_checkpoint")
	for i := range tables {
		dst := filepath.Join(srv.Dir, "bench", "lake", fmt.Sprintf("db_%02d", i/100), fmt.Sprintf("table_%04d", i))
		if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
			b.Fatal(err)
		}
	}
	cfg := Config{Source: "delta:bench", Roots: []string{"s3://bench/lake"}, S3: S3{Endpoint: srv.Endpoint, PathStyle: true}}
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		h, err := Crawl(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if len(h.Datasets) != tables || len(h.Errors) > 0 || !slices.ContainsFunc(h.Datasets, func(d catalog.DatasetFacts) bool { return d.Properties[PropVersion] == "10" }) {
			b.Fatalf("%d datasets, errors %v", len(h.Datasets), h.Errors)
		}
		b.ReportMetric(float64(tables)/time.Since(start).Seconds(), "tables/s")
	}
}
