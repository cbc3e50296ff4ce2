package olapi_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
	"almanac/lineage/olapi"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenFixtures is the dump of everything the fixture events leave in
// the catalog.
const goldenFixtures = "testdata/golden/fixtures.txt"

// TestFixturesGolden posts every fixture event, one request each, lets the
// worker derive them, and compares the whole resulting lineage with a
// golden file: jobs with their inputs and outputs, datasets with their
// columns, description, owners and aliases, column lineage, runs, quality
// checks and results, and dataset metrics. Requests the receiver refuses
// and events it could not fully derive are listed with their reason, so
// that a fixture that stops ingesting shows up as a diff too.
func TestFixturesGolden(t *testing.T) {
	e := newEnv(t, olapi.Config{})
	ctx := context.Background()

	var files []string
	err := filepath.WalkDir(fixtureDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if len(files) == 0 {
		t.Fatalf("no fixture events under %s", fixtureDir)
	}

	var out strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

	// Requests, in file order; what is stored is remembered by digest to
	// name the file of a derivation error.
	p("# requests (%d fixture files)", len(files))
	byDigest := map[[32]byte]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel := filepath.ToSlash(strings.TrimPrefix(f, fixtureDir+"/"))
		code, body := e.post(t, "/api/v1/lineage", b)
		if code == http.StatusCreated {
			byDigest[sha256.Sum256(b)] = rel
			p("%s: %d", rel, code)
		} else {
			p("%s: %d %s", rel, code, strings.TrimSpace(body))
		}
	}
	e.drain(t)
	if n, err := pendingEvents(ctx, e.st); err != nil || n != 0 {
		t.Fatalf("%d events pending after drain, %v", n, err)
	}

	p("\n# derivation errors")
	rows, err := e.st.Pool().Query(ctx, `SELECT digest, error FROM openlineage_events WHERE error <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	var derrs []string
	for rows.Next() {
		var (
			digest []byte
			msg    string
		)
		if err := rows.Scan(&digest, &msg); err != nil {
			t.Fatal(err)
		}
		derrs = append(derrs, byDigest[[32]byte(digest)]+": "+msg)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(derrs)
	for _, l := range derrs {
		p("%s", l)
	}

	// Jobs: the lineage graph's view (type, live inputs and outputs) and
	// what OpenLineage asserted about each (description, SQL, properties).
	var lineage []catalog.JobEdges
	if err := e.st.LineageJobs(ctx, nil, func(j catalog.JobEdges) error { lineage = append(lineage, j); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(lineage, func(a, b catalog.JobEdges) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	jobKeys := make([]catalog.JobKey, len(lineage))
	for i, j := range lineage {
		jobKeys[i] = j.Key
	}
	jobs, err := e.st.JobsByKeys(ctx, jobKeys)
	if err != nil {
		t.Fatal(err)
	}
	p("\n# jobs (%d)", len(lineage))
	for _, l := range lineage {
		p("job %s type=%s", l.Key, l.Type)
		j := jobs[l.Key]
		if j.Description != "" {
			p("  description %q", j.Description)
		}
		if j.SQL != "" {
			p("  sql %q", j.SQL)
		}
		for _, k := range slices.Sorted(maps.Keys(j.Properties)) {
			p("  property %s=%q", k, j.Properties[k])
		}
		for _, k := range sortedKeys(l.Inputs) {
			p("  in  %s", k)
		}
		for _, k := range sortedKeys(l.Outputs) {
			p("  out %s", k)
		}
	}

	// Datasets, as OpenLineage describes them.
	page, err := e.st.FindDatasets(ctx, store.DatasetFilter{IncludeRemoved: true}, store.Paging{Limit: 500, Total: true})
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.st.DatasetsByIDs(ctx, page.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != len(list) {
		t.Fatalf("%d datasets, listed %d", page.Total, len(list))
	}
	keys := make([]catalog.Key, len(list))
	for i, d := range list {
		keys[i] = d.Key
	}
	aliases := map[catalog.Key][]catalog.Alias{}
	rows, err = e.st.Pool().Query(ctx, `
		SELECT d.namespace, d.name, a.namespace, a.name, a.type FROM dataset_aliases a JOIN datasets d ON d.id = a.dataset_id
		WHERE a.source = $1 ORDER BY d.namespace, d.name, a.namespace, a.name`, catalog.SourceOpenLineage)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			k catalog.Key
			a catalog.Alias
		)
		if err := rows.Scan(&k.Namespace, &k.Name, &a.Key.Namespace, &a.Key.Name, &a.Type); err != nil {
			t.Fatal(err)
		}
		aliases[k] = append(aliases[k], a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p("\n# datasets (%d)", len(keys))
	for _, d := range list {
		i := slices.IndexFunc(d.Sources, func(f catalog.SourceFacts) bool { return f.Source == catalog.SourceOpenLineage })
		var f catalog.DatasetFacts
		if i >= 0 {
			f = d.Sources[i].DatasetFacts
		}
		f.Aliases = aliases[d.Key]
		removed := ""
		if d.RemovedAt != nil {
			removed = " removed"
		}
		p("dataset %s platform=%q kind=%q%s", d.Key, f.Platform, f.Kind, removed)
		if i < 0 {
			p("  (no openlineage facts)")
		}
		if f.Description != "" {
			p("  description %q", f.Description)
		}
		for _, c := range f.Columns {
			line := fmt.Sprintf("  column %d %s %q", c.Ordinal, c.Name, c.Type)
			if c.Description != "" {
				line += fmt.Sprintf(" description=%q", c.Description)
			}
			p("%s", line)
		}
		for _, o := range f.Owners {
			p("  owner %q kind=%q type=%q", o.Name, o.Kind, o.Type)
		}
		for _, a := range f.Aliases {
			p("  alias %s type=%q", a.Key, a.Type)
		}
		for _, k := range slices.Sorted(maps.Keys(f.Properties)) {
			p("  property %s=%q", k, f.Properties[k])
		}
	}

	// Column lineage: output column <- input column.
	cl, err := e.st.ColumnLineage(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	p("\n# column lineage (%d)", len(cl))
	for _, c := range cl {
		v := c.Value
		line := fmt.Sprintf("%s.%s <- %s.%s %s/%s", v.Output, colName(v.Column), v.Input, colName(v.InputColumn), v.Type, v.Subtype)
		if v.Description != "" {
			line += fmt.Sprintf(" description=%q", v.Description)
		}
		if v.Masking {
			line += " masking"
		}
		p("%s", line)
	}

	// Runs, by job, then run id.
	var runs []catalog.Run
	for _, k := range jobKeys {
		rs, err := jobRuns(ctx, e.st, k, 1000)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, rs...)
	}
	slices.SortFunc(runs, func(a, b catalog.Run) int {
		return cmp.Or(strings.Compare(a.Job.String(), b.Job.String()), strings.Compare(a.ID, b.ID))
	})
	p("\n# runs (%d)", len(runs))
	for _, r := range runs {
		p("run %s job=%s state=%s at=%s", r.ID, r.Job, r.State, stamp(&r.StateAt))
		p("  started=%s ended=%s duration=%s", stamp(r.StartedAt), stamp(r.EndedAt), duration(r))
		if r.NominalStart != nil || r.NominalEnd != nil {
			p("  nominal=%s..%s", stamp(r.NominalStart), stamp(r.NominalEnd))
		}
		if r.ParentID != "" {
			p("  parent %s job=%s", r.ParentID, r.ParentJob)
		}
		if r.ErrorMessage != "" {
			p("  error %q", r.ErrorMessage)
		}
	}

	// Quality checks with their results, and metrics.
	checks, err := e.st.ChecksOf(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	p("\n# quality")
	for _, k := range keys {
		for _, c := range checks[k] {
			p("check %s %q column=%q type=%q severity=%q definition=%q source=%s", k, c.Name, c.Column, c.Type, c.Severity, c.Definition, c.Source)
			for _, pk := range slices.Sorted(maps.Keys(c.Properties)) {
				p("  property %s=%q", pk, c.Properties[pk])
			}
		}
		res, err := qualityResults(ctx, e.st, k)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(res, func(a, b catalog.Sourced[catalog.QualityResult]) int {
			return cmp.Or(strings.Compare(a.Value.Check, b.Value.Check), strings.Compare(a.Value.RunID, b.Value.RunID))
		})
		for _, r := range res {
			v := r.Value
			failures := "-"
			if v.Failures != nil {
				failures = fmt.Sprint(*v.Failures)
			}
			p("result %s %q run=%s status=%s failures=%s message=%q started=%s duration=%s",
				k, v.Check, v.RunID, v.Status, failures, v.Message, stamp(&v.StartedAt), v.Duration)
		}
	}

	p("\n# metrics")
	for _, k := range keys {
		ms, err := metricsHistory(ctx, e.st, k)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ms {
			m := s.Value
			p("metrics %s at=%s direction=%q run=%s job=%s rows=%s bytes=%s files=%s",
				k, stamp(&m.ObservedAt), m.Direction, m.RunID, m.Job, num(m.RowCount), num(m.Bytes), num(m.FileCount))
			for _, c := range slices.Sorted(maps.Keys(m.Columns)) {
				cm := m.Columns[c]
				line := fmt.Sprintf("  column %s nulls=%s distinct=%s sum=%s count=%s min=%s max=%s", c,
					num(cm.NullCount), num(cm.DistinctCount), num(cm.Sum), num(cm.Count), num(cm.Min), num(cm.Max))
				for _, q := range slices.Sorted(maps.Keys(cm.Quantiles)) {
					line += fmt.Sprintf(" q%s=%v", q, cm.Quantiles[q])
				}
				p("%s", line)
			}
		}
	}

	got := out.String()
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(goldenFixtures), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenFixtures, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenFixtures)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := gocmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("lineage of the fixture events differs from %s (-want +got):\n%s", goldenFixtures, diff)
	}
}

func sortedKeys(keys []catalog.Key) []catalog.Key {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b catalog.Key) int { return strings.Compare(a.String(), b.String()) })
	return keys
}

// colName shows the whole-dataset column "" as "*".
func colName(c string) string {
	if c == "" {
		return "*"
	}
	return c
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func duration(r catalog.Run) string {
	if r.StartedAt == nil || r.EndedAt == nil {
		return "-"
	}
	return r.Duration().String()
}

func num[T int64 | float64](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}
