package dbt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// Sizes of the generated project of BenchmarkCrawlIngest.
const (
	benchModels  = 5000
	benchColumns = 10 // per model: 50,000
	benchTests   = 4  // per model: 20,000
)

// writeProject writes a generated dbt target directory: a v12 manifest of
// benchModels models (each reading the two before it), their columns and
// tests, a catalog.json with every column's type and a run_results.json
// with a result for every test. It streams, so that the generator does not
// weigh on the peak memory measured.
func writeProject(b *testing.B, dir string) {
	b.Helper()
	str := func(s string) string { q, _ := json.Marshal(s); return string(q) }
	create := func(name string, fill func(w *bufio.Writer)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fill(w)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	model := func(i int) string { return fmt.Sprintf("model.bench.model_%05d", i) }
	// A project of the postgres adapter, as the namespace says: every
	// manifest of dbt 1.x names its adapter, and without one the compiled
	// SQL goes through the generic dialect's rewriting, whose cost
	// sqllineage's BenchmarkColumnLineage measures per dialect.
	create("manifest.json", func(w *bufio.Writer) {
		w.WriteString(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json", "dbt_version": "1.8.0", "adapter_type": "postgres", "invocation_id": "bench", "project_name": "bench"}, "nodes": {`)
		for i := range benchModels {
			if i > 0 {
				w.WriteString(",")
			}
			var deps []string
			for _, d := range []int{i - 1, i - 2} {
				if d >= 0 {
					deps = append(deps, str(model(d)))
				}
			}
			fmt.Fprintf(w, `%s: {"unique_id": %s, "resource_type": "model", "name": "model_%05d", "alias": "model_%05d", "database": "bench", "schema": "mart_%d",
				"package_name": "bench", "path": "m/model_%05d.sql", "original_file_path": "models/m/model_%05d.sql", "fqn": ["bench", "m", "model_%05d"],
				"description": "Model %d: one row per thing, with a description long enough to look like documentation people write.",
				"tags": ["nightly", "tier_%d"], "meta": {"owner": ["owner%d@corp.example", "team:data-%d"]},
				"config": {"enabled": true, "materialized": "table", "tags": [], "meta": {}, "persist_docs": {}, "post-hook": [], "pre-hook": [], "quoting": {}, "column_types": {}, "grants": {}, "docs": {"show": true, "node_color": null}, "contract": {"enforced": false, "alias_types": true}},
				"checksum": {"name": "sha256", "checksum": "%064d"}, "depends_on": {"macros": ["macro.bench.cents"], "nodes": [%s]},
				"raw_code": %s, "compiled_code": %s, "language": "sql", "refs": [], "sources": [], "created_at": 1786345411.0, "columns": {`,
				str(model(i)), str(model(i)), i, i, i%50, i, i, i, i, i%3, i%100, i%20, i, strings.Join(deps, ", "),
				str(fmt.Sprintf("select a.*, b.x from {{ ref('model_%05d') }} a join {{ ref('model_%05d') }} b using (id) -- %s", max(i-1, 0), max(i-2, 0), strings.Repeat("padding ", 30))),
				str(fmt.Sprintf(`select a.*, b.col_9 as x from "bench"."mart_%d"."model_%05d" a join "bench"."mart_%d"."model_%05d" b using (col_0) -- %s`,
					max(i-1, 0)%50, max(i-1, 0), max(i-2, 0)%50, max(i-2, 0), strings.Repeat("padding ", 30))))
			for c := range benchColumns {
				if c > 0 {
					w.WriteString(",")
				}
				fmt.Fprintf(w, `"col_%d": {"name": "col_%d", "description": "Column %d of model %d, documented.", "meta": {}, "data_type": null, "constraints": [], "quote": null, "tags": [], "config": {"meta": {}, "tags": []}}`, c, c, c, i)
			}
			w.WriteString(`}}`)
			for k := range benchTests {
				fmt.Fprintf(w, `, "test.bench.not_null_model_%05d_col_%d.%08x": {"unique_id": "test.bench.not_null_model_%05d_col_%d.%08x", "resource_type": "test",
					"name": "not_null_model_%05d_col_%d", "database": "bench", "schema": "dbt_test__audit", "package_name": "bench", "original_file_path": "models/m/schema.yml",
					"config": {"enabled": true, "materialized": "test", "severity": "ERROR", "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0"},
					"depends_on": {"macros": ["macro.dbt.test_not_null"], "nodes": [%s]}, "attached_node": %s, "column_name": "col_%d",
					"test_metadata": {"name": "not_null", "kwargs": {"column_name": "col_%d", "model": "{{ get_where_subquery(ref('model_%05d')) }}"}, "namespace": null},
					"raw_code": "{{ test_not_null(**_dbt_generic_test_kwargs) }}", "compiled_code": "select col_%d from bench.mart.model_%05d where col_%d is null"}`,
					i, k, i*7+k, i, k, i*7+k, i, k, str(model(i)), str(model(i)), k, k, i, k, i, k)
			}
		}
		w.WriteString(`}, "sources": {}, "macros": {`)
		for i := range 2000 {
			if i > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(w, `"macro.bench.m%d": {"name": "m%d", "macro_sql": %s, "depends_on": {"macros": []}}`, i, i, str(strings.Repeat("{% macro x() %} select 1 {% endmacro %}", 10)))
		}
		w.WriteString(`}, "docs": {}, "exposures": {}, "metrics": {}, "groups": {}, "selectors": {}, "disabled": {}, "parent_map": {}, "child_map": {}}`)
	})
	create("catalog.json", func(w *bufio.Writer) {
		w.WriteString(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"}, "nodes": {`)
		for i := range benchModels {
			if i > 0 {
				w.WriteString(",")
			}
			fmt.Fprintf(w, `%s: {"unique_id": %s, "metadata": {"type": "BASE TABLE", "schema": "mart_%d", "name": "model_%05d"}, "stats": {}, "columns": {`, str(model(i)), str(model(i)), i%50, i)
			for c := range benchColumns {
				if c > 0 {
					w.WriteString(",")
				}
				fmt.Fprintf(w, `"col_%d": {"type": "bigint", "index": %d, "name": "col_%d", "comment": null}`, c, c+1, c)
			}
			w.WriteString(`}}`)
		}
		w.WriteString(`}, "sources": {}, "errors": null}`)
	})
	create("run_results.json", func(w *bufio.Writer) {
		w.WriteString(`{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json", "invocation_id": "bench-run", "generated_at": "2024-01-01T00:00:00Z"}, "results": [`)
		for i := range benchModels {
			for k := range benchTests {
				if i+k > 0 {
					w.WriteString(",")
				}
				status, failures := "pass", "0"
				if (i+k)%97 == 0 {
					status, failures = "fail", strconv.Itoa(i%13+1)
				}
				fmt.Fprintf(w, `{"unique_id": "test.bench.not_null_model_%05d_col_%d.%08x", "status": %q, "failures": %s, "message": null, "execution_time": 0.01,
					"timing": [{"name": "execute", "started_at": "2024-01-01T00:00:01Z", "completed_at": "2024-01-01T00:00:02Z"}], "thread_id": "t", "adapter_response": {}}`,
					i, k, i*7+k, status, failures)
			}
		}
		w.WriteString(`], "elapsed_time": 10}`)
	})
}

// peakRSS is the process's peak resident set size in bytes (VmHWM), or 0
// where /proc does not tell.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkCrawlIngest crawls a generated project of 5,000 models, 50,000
// columns and 20,000 tests (with catalog.json and results) and ingests it
// into an empty catalog, end to end. Targets: ≤ 10 s, ≤ 500 MB peak RSS
// (reported as peak-MB: the whole test process's high-water mark).
func BenchmarkCrawlIngest(b *testing.B) {
	dir := b.TempDir()
	start := time.Now()
	writeProject(b, dir)
	fi, err := os.Stat(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated a %.0f MB manifest in %s", float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
	cfg := dbt.Config{Source: "dbt:bench", Namespace: "postgres://bench:5432", TargetDirs: []string{dir}}
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		pool, _ := pgtest.NewDB(b)
		st := store.New(pool)
		b.StartTimer()
		run, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return dbt.Crawl(ctx, cfg) })
		if err != nil {
			b.Fatal(err)
		}
		if run.Counts.Created != benchModels || run.Counts.Columns != benchModels*benchColumns ||
			run.Counts.Checks != benchModels*benchTests || run.Counts.Results != benchModels*benchTests || len(run.Errors) > 0 {
			b.Fatalf("counts %+v, errors %v", run.Counts, run.Errors)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/crawl")
	b.ReportMetric(peakRSS()/(1<<20), "peak-MB")
}
