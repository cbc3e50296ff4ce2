package dbt_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
)

// CorpusEnv names a directory of more dbt target directories (any
// directory below it holding a manifest.json) for
// BenchmarkColumnLineageCorpus, such as those of public dbt projects
// that cannot be committed here.
const CorpusEnv = "ALMANAC_DBT_CORPUS"

// corpusDirs are the target directories of the committed fixtures, then
// those under $ALMANAC_DBT_CORPUS.
func corpusDirs(b *testing.B) []string {
	var dirs []string
	for _, root := range []string{"testdata", os.Getenv(CorpusEnv)} {
		if root == "" {
			continue
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == dbt.ManifestFile {
				dirs = append(dirs, filepath.Dir(path))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return dirs
}

// corpusManifest is what the benchmark reads of a manifest itself: the
// adapter and which models have compiled SQL.
type corpusManifest struct {
	Metadata struct {
		AdapterType string `json:"adapter_type"`
	} `json:"metadata"`
	Nodes map[string]struct {
		ResourceType string `json:"resource_type"`
		CompiledCode string `json:"compiled_code"`
		CompiledSQL  string `json:"compiled_sql"`
		Language     string `json:"language"`
		Config       struct {
			Materialized string `json:"materialized"`
		} `json:"config"`
	} `json:"nodes"`
}

// dialectTally counts the models of one dialect.
type dialectTally struct {
	projects, models, withLineage int
	// reasons counts, for the models without column lineage, why: the
	// construct that did not parse, or the first warning.
	reasons map[string]int
}

// parseReason finds the construct a column lineage warning names.
var parseReason = regexp.MustCompile(`: cannot parse [a-z]+ SQL: (.*?)(?: at line \d+| \(|$)`)

// BenchmarkColumnLineageCorpus crawls the dbt target directories of real
// projects (the committed fixtures, and those under $ALMANAC_DBT_CORPUS)
// and reports, for each SQL dialect, how many models with compiled SQL
// get column lineage, and why the others do not. It also measures the
// crawl, column lineage included, in models per second.
func BenchmarkColumnLineageCorpus(b *testing.B) {
	dirs := corpusDirs(b)
	ctx := context.Background()
	tallies := map[string]*dialectTally{}
	var models int
	for i := 0; b.Loop(); i++ {
		models = 0
		for _, dir := range dirs {
			h, err := dbt.Crawl(ctx, dbt.Config{Source: "dbt:corpus", Namespace: "postgres://corpus:5432", TargetDirs: []string{dir}})
			if err != nil {
				b.Fatalf("%s: %v", dir, err)
			}
			if i > 0 {
				continue
			}
			raw, err := os.ReadFile(filepath.Join(dir, dbt.ManifestFile))
			if err != nil {
				b.Fatal(err)
			}
			var m corpusManifest
			if err := json.Unmarshal(raw, &m); err != nil {
				b.Fatalf("%s: %v", dir, err)
			}
			dialect := cmp.Or(m.Metadata.AdapterType, "unknown")
			t := tallies[dialect]
			if t == nil {
				t = &dialectTally{reasons: map[string]int{}}
				tallies[dialect] = t
			}
			t.projects++
			tallyHarvest(t, h, func(id string) bool {
				n, ok := m.Nodes[id]
				return ok && n.ResourceType == "model" && n.Config.Materialized != "ephemeral" && n.Language != "python" && cmp.Or(n.CompiledCode, n.CompiledSQL) != ""
			})
		}
		for _, t := range tallies {
			models += t.models
		}
	}
	b.ReportMetric(float64(models)*float64(b.N)/b.Elapsed().Seconds(), "models/s")
	var total dialectTally
	var out strings.Builder
	w := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\ndialect\tprojects\tmodels\twith column lineage\tshare\tmodels without, by reason")
	for _, d := range slices.Sorted(maps.Keys(tallies)) {
		t := tallies[d]
		total.projects += t.projects
		total.models += t.models
		total.withLineage += t.withLineage
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%s\t%s\n", d, t.projects, t.models, t.withLineage, share(t.withLineage, t.models), topReasons(t.reasons, 6))
	}
	fmt.Fprintf(w, "all\t%d\t%d\t%d\t%s\t\n", total.projects, total.models, total.withLineage, share(total.withLineage, total.models))
	w.Flush()
	b.Log(out.String())
}

// tallyHarvest counts the models of h that isModel accepts, and those of
// them with column lineage (an edge to one of their columns).
func tallyHarvest(t *dialectTally, h catalog.Harvest, isModel func(uniqueID string) bool) {
	lineage := map[catalog.Key]bool{}
	for _, f := range h.ColumnLineage {
		if f.Column != "" {
			lineage[f.Output] = true
		}
	}
	warnings := map[string][]string{}
	for _, e := range h.Errors {
		if strings.Contains(e.Message, "column lineage of ") {
			warnings[e.Object] = append(warnings[e.Object], e.Message)
		}
	}
	for _, d := range h.Datasets {
		if !isModel(d.Properties[dbt.PropUniqueID]) {
			continue
		}
		t.models++
		if lineage[d.Key] {
			t.withLineage++
			continue
		}
		reason := "no column resolved"
		if ws := warnings[d.Key.String()]; len(ws) > 0 {
			reason = ws[0]
			if m := parseReason.FindStringSubmatch(reason); m != nil {
				reason = m[1]
			} else if _, after, ok := strings.Cut(reason, ": "); ok {
				reason = truncate(after, 60)
			}
		}
		t.reasons[reason]++
	}
}

func share(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
}

// topReasons lists the n most frequent reasons, with their counts.
func topReasons(reasons map[string]int, n int) string {
	keys := slices.SortedFunc(maps.Keys(reasons), func(a, b string) int {
		return cmp.Or(cmp.Compare(reasons[b], reasons[a]), cmp.Compare(a, b))
	})
	var s []string
	for _, k := range keys[:min(n, len(keys))] {
		s = append(s, fmt.Sprintf("%s ×%d", k, reasons[k]))
	}
	return strings.Join(s, "; ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
