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

// FuzzMergeColumnsOneSource checks the short way against the general one
// for columns made from the fuzzer's bytes, three bytes a column: a name
// from a small set (so that names repeat), an ordinal (0 for none), and
// whether it has a type and a description.
func FuzzMergeColumnsOneSource(f *testing.F) {
	f.Add([]byte{0, 1, 3, 1, 2, 0, 2, 0, 2})
	f.Add([]byte{0, 1, 3, 0, 2, 3})
	f.Add([]byte{0, 2, 1, 1, 1, 1, 2, 0, 2})
	f.Add(make([]byte, 3*40))
	f.Fuzz(func(t *testing.T, b []byte) {
		var cols []Column
		names := map[string]bool{}
		distinct := true
		for i := 0; i+2 < len(b); i += 3 {
			c := Column{Name: fmt.Sprintf("c%d", b[i]%48), Ordinal: int(b[i+1] % 8)}
			if b[i+2]&1 != 0 {
				c.Type = "int"
			}
			if b[i+2]&2 != 0 {
				c.Description = fmt.Sprintf("about %d", i)
			}
			distinct = distinct && !names[c.Name]
			names[c.Name] = true
			cols = append(cols, c)
		}
		if got := distinctNames(cols); got != distinct {
			t.Fatalf("distinctNames = %v, want %v", got, distinct)
		}
		facts := []SourceFacts{{DatasetFacts: DatasetFacts{Columns: cols}, Source: "dbt:shop"}}
		if diff := cmp.Diff(mergeSourcesColumns(facts), mergeColumns(facts)); diff != "" {
			t.Fatalf("(-general +mergeColumns):\n%s", diff)
		}
	})
}
