package lineage_test

import (
	"testing"

	"almanac/lineage"
)

// FuzzRelations checks that no SQL makes the extractor panic or return a
// relation without a name.
func FuzzRelations(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM a JOIN b.c ON true",
		"WITH x AS (SELECT 1) SELECT * FROM x, y",
		`SELECT "Q"."R" FROM "Q" WHERE EXISTS (SELECT 1 FROM z LIMIT 1)`,
		"SELECT a FROM t UNION ALL SELECT b FROM u ORDER BY 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		rels, err := lineage.Relations(sql)
		if err != nil {
			return
		}
		for _, r := range rels {
			if r.Name == "" {
				t.Fatalf("relation without a name in %q", sql)
			}
		}
	})
}
