package sqllineage_test

import (
	"testing"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
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
		rels, err := sqllineage.Relations(sql)
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

// FuzzColumnLineage checks that no SQL makes the column extractor panic,
// and that every edge it returns names a known input and a valid type.
func FuzzColumnLineage(f *testing.F) {
	for _, s := range []string{
		"SELECT o.id, sum(amount) OVER (PARTITION BY status) FROM orders o JOIN customers c USING (id) WHERE c.region = 'eu'",
		"with a as (select * from raw.events), b as (select id, kind from a) select *, count(*) from b group by 1, 2 order by 3",
		"SELECT CASE WHEN x THEN y END, (SELECT max(qty) FROM sales.items), ARRAY(SELECT 1), t.* FROM gone t, LATERAL (SELECT 1) l",
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n, generate_series(1, 3) AS g(v) WINDOW w AS (ORDER BY i)`,
		`SELECT "Id" FROM "Mixed" UNION SELECT id FROM orders INTERSECT VALUES (1)`,
	} {
		f.Add(s)
	}
	valid := map[string]bool{
		sqllineage.TypeDirect + sqllineage.SubtypeIdentity: true, sqllineage.TypeDirect + sqllineage.SubtypeTransformation: true,
		sqllineage.TypeDirect + sqllineage.SubtypeAggregation: true,
	}
	for _, s := range []string{sqllineage.SubtypeFilter, sqllineage.SubtypeJoin, sqllineage.SubtypeGroupBy, sqllineage.SubtypeSort, sqllineage.SubtypeWindow, sqllineage.SubtypeConditional} {
		valid[sqllineage.TypeIndirect+s] = true
	}
	f.Fuzz(func(t *testing.T, sql string) {
		q, err := sqllineage.ColumnLineage(sql, testResolver)
		if err != nil {
			return
		}
		for _, r := range q.Facts(catalog.Key{Namespace: ns, Name: "out"}) {
			if r.Input.Name == "" || r.InputColumn == "" || !valid[r.Type+r.Subtype] {
				t.Fatalf("bad edge %+v from %q", r, sql)
			}
		}
	})
}
