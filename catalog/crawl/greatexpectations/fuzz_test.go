package greatexpectations

import (
	"os"
	"path/filepath"
	"testing"

	"almanac/catalog"
)

// FuzzDecode feeds the layout detection and the conversion to checks and
// results with mutations of the fixtures: they must never panic, and what
// they return must be valid catalog values or errors.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, file := range files {
		if filepath.Base(filepath.Dir(file)) == "golden" {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"run_results": {"k": {"validation_result": {"results": [{"expectation_config": {"type": "x"}}], "meta": {"run_id": "20200101T000000Z"}}}}}`))
	f.Add([]byte(`{"results": [{"success": false, "expectation_config": {"expectation_type": "x", "kwargs": []}, "exception_info": {"a": 1}}], "suite_name": "s", "meta": {"validation_time": "20200101T000000Z", "batch_spec": {"table_name": 7}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := decode(data)
		if err != nil {
			return
		}
		hv := &catalog.Harvest{}
		c := &crawler{cfg: Config{Namespace: "ns"}, hv: hv, suites: map[suiteKey]*suiteChecks{}, results: map[[2]string]bool{}}
		for _, v := range vs {
			_ = c.validation("validations/s/r/20200101T000000Z/b.json", v)
		}
		c.finish()
		for _, ch := range hv.Checks {
			if ch.Name == "" || ch.Dataset.Namespace != "ns" {
				t.Fatalf("check without name or namespace: %+v", ch)
			}
		}
		for _, r := range hv.Results {
			if r.RunID == "" || r.StartedAt.IsZero() {
				t.Fatalf("result without run or time: %+v", r)
			}
			if r.Status == "" {
				t.Fatalf("result without status: %+v", r)
			}
		}
	})
}
