package sqllineage_test

import (
	"errors"
	"slices"
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
		// Reads reads a subset of them: only what DML reads.
		reads, dml, err := sqllineage.Postgres.Reads(sql)
		if err != nil {
			t.Fatalf("Reads(%q) fails where Relations parses: %v", sql, err)
		}
		if !dml && len(reads) > 0 {
			t.Fatalf("Reads(%q) returns relations of a statement that is no DML", sql)
		}
		for _, r := range reads {
			if !slices.Contains(rels, r) {
				t.Fatalf("Reads(%q) returns %v, which Relations does not", sql, r)
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

// FuzzDialects checks, for every dialect, that no SQL makes the
// normaliser or the extractor panic, that SQL which does not parse is a
// ParseError naming a construct, and that every edge names a known input.
func FuzzDialects(f *testing.F) {
	dialects := []sqllineage.Dialect{sqllineage.Generic, sqllineage.Postgres, sqllineage.Redshift, sqllineage.Snowflake,
		sqllineage.BigQuery, sqllineage.Spark, sqllineage.DuckDB, sqllineage.Trino}
	for i, s := range []string{
		"select `a`.`b`, \"s\" from `db.public.orders` where x in unnest([1, 2]) qualify row_number() over (partition by a) = 1",
		"select payload:a.b[0]::string as v, iff(a, b, c), dateadd(day, 1, d) from raw.events e, lateral flatten(input => e.x) f group by all",
		"select * except (a) replace (b * 2 as b) from default.orders lateral view outer explode(x) t as c where d > interval 1 day",
		"select * exclude a rename (b as c), date_trunc(x, week(monday)), struct(a as b), array<int64>[1], if(a, 'x', \"y\") from t",
		"select approximate count(distinct a), current_date(), split(s, '.')[0], t.s.f from a.b.c.d union all by name select 1 as a,",
		"select x from t pivot (sum(a) for b in ('c')) /* unterminated",
		"select $$dollar$$, r'raw', '''tri''', e'esc\\'', 1.e5, 0x1F, $1 from t minus select 1 -- c",
	} {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, sql string, which uint8) {
		d := dialects[int(which)%len(dialects)]
		q, err := d.ColumnLineage(sql, testResolver)
		if err != nil {
			var pe *sqllineage.ParseError
			if errors.As(err, &pe) && pe.Construct == "" {
				t.Fatalf("%s: parse error without a construct for %q", d, sql)
			}
			return
		}
		for _, r := range q.Facts(catalog.Key{Namespace: ns, Name: "out"}) {
			if r.Input.Name == "" || r.InputColumn == "" {
				t.Fatalf("%s: bad edge %+v from %q", d, r, sql)
			}
		}
		if _, err := d.Relations(sql); err != nil {
			t.Fatalf("%s: Relations fails where ColumnLineage parses %q: %v", d, sql, err)
		}
	})
}
