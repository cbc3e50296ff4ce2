package catalog

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMergeColumnsOneSource checks that a dataset's columns from one
// source, which mergeColumns takes the short way, come out as merging
// them the general way does: with and without types, descriptions and
// ordinals, out of order, a name reported twice, and more columns than
// distinctNames compares pairwise.
func TestMergeColumnsOneSource(t *testing.T) {
	at := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	wide := make([]Column, 40)
	for i := range wide {
		wide[i] = Column{Name: fmt.Sprintf("c%d", i), Ordinal: 40 - i, Type: "int"}
		if i%3 == 0 {
			wide[i].Description = "about c"
		}
	}
	cases := map[string][]Column{
		"none": nil,
		"typed, in order": {
			{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true, Description: "key"},
			{Name: "v", Ordinal: 2, Type: "text", Nullable: true, Default: "'x'"},
		},
		"out of order, some without ordinals": {
			{Name: "b", Ordinal: 2, Type: "int"},
			{Name: "z", Type: "int", Description: "no ordinal"},
			{Name: "a", Ordinal: 1, Type: "int"},
		},
		"without types": {
			{Name: "x", Ordinal: 3, Nullable: true, Description: "documented only"},
			{Name: "y", Ordinal: 1, Default: "0"},
		},
		"a name twice": {
			{Name: "id", Ordinal: 1, Type: "int", Description: "first"},
			{Name: "id", Ordinal: 2, Type: "bigint", Description: "second"},
		},
		"wide":        wide,
		"wide, twice": append(append([]Column(nil), wide...), wide[7]),
	}
	for name, cols := range cases {
		for _, source := range []string{"postgres:wh", "dbt:shop", "openlineage:airflow", "user"} {
			f := []SourceFacts{{DatasetFacts: DatasetFacts{Columns: cols}, Source: source, UpdatedAt: at}}
			if diff := cmp.Diff(mergeSourcesColumns(f), mergeColumns(f)); diff != "" {
				t.Errorf("%s from %s (-general +mergeColumns):\n%s", name, source, diff)
			}
		}
	}
	if distinctNames(cases["a name twice"]) || distinctNames(cases["wide, twice"]) {
		t.Error("distinctNames misses a name reported twice")
	}
	if !distinctNames(wide) {
		t.Error("distinctNames finds a name twice in distinct names")
	}
}
