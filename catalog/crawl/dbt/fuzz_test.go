package dbt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"almanac/catalog"
)

// FuzzManifest feeds the manifest reader, the conversion to catalog
// values and the column lineage of compiled SQL with mutations of the manifests in testdata: they must never
// panic, whatever the bytes. Manifests over maxSeed are left out: the
// fuzzer crawls on megabyte inputs.
func FuzzManifest(f *testing.F) {
	files, err := filepath.Glob("testdata/*/manifest.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed manifests: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= maxSeed {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"metadata": {"dbt_schema_version": 7}, "nodes": {"a": {"resource_type": "model", "columns": []}}}`))
	f.Add([]byte(`{"nodes": {"t": {"resource_type": "test", "test_metadata": {"kwargs": {"model": "{{ ref('x', 'y') }}"}}}}}`))
	f.Add([]byte(cyclicManifest))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _ := readManifest(context.Background(), "manifest.json", bytes.NewReader(data))
		hv := &catalog.Harvest{}
		c := &crawler{cfg: Config{Namespace: "postgres://x:5432", JobNamespace: "dbt"}, hv: hv, datasets: map[catalog.Key]int{}}
		c.convert(m, nil)
		c.columnLineage(m, nil)
		_ = m.meta.checkVersion("manifest.json")
		for _, d := range hv.Datasets {
			if d.Key.Namespace == "" {
				t.Fatalf("dataset without namespace: %+v", d)
			}
		}
	})
}

const maxSeed = 100 << 10

// FuzzResults does the same for run_results.json, read against the pagila
// manifest into quality results and runs, and sources.json.
func FuzzResults(f *testing.F) {
	mf, err := os.Open("testdata/pagila/manifest.json")
	if err != nil {
		f.Fatal(err)
	}
	m, err := readManifest(context.Background(), "manifest.json", mf)
	mf.Close()
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range []string{"testdata/tests_with_failures/run_results.json", "testdata/pagila/run_results.json", "testdata/pagila/sources.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &crawler{cfg: Config{Namespace: "postgres://x:5432", JobNamespace: "dbt"}, hv: &catalog.Harvest{}, datasets: map[catalog.Key]int{}}
		c.convert(m, nil)
		c.runResults(context.Background(), "run_results.json", bytes.NewReader(data), m)
		for _, r := range c.hv.Runs {
			if err := r.Validate(); err != nil || r.StateAt.IsZero() {
				t.Fatalf("invalid run %+v: %v", r, err)
			}
		}
		_, _, _ = readResults(context.Background(), "sources.json", bytes.NewReader(data), func(r *freshnessResult) {
			_ = r.Criteria.WarnAfter.String()
		})
		_, _, _ = readCatalog(context.Background(), "catalog.json", bytes.NewReader(data))
	})
}
