package sqllineage_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/crawl/sqllineage"
)

// TestReads checks which statements count as reads, and what they read:
// DML reads its sources, not the table it writes; DDL and utility
// commands are no reads at all.
func TestReads(t *testing.T) {
	r := func(schema, name string) sqllineage.Relation { return sqllineage.Relation{Schema: schema, Name: name} }
	for _, tc := range []struct {
		sql  string
		dml  bool
		want []sqllineage.Relation
	}{
		{"SELECT * FROM orders o JOIN sales.customers c ON c.id = o.customer_id WHERE o.id = $1", true, []sqllineage.Relation{r("", "orders"), r("sales", "customers")}},
		{"WITH recent AS (SELECT * FROM orders) SELECT count(*) FROM recent", true, []sqllineage.Relation{r("", "orders")}},
		{"INSERT INTO audit SELECT id, total FROM orders WHERE id = $1", true, []sqllineage.Relation{r("", "orders")}},
		{"INSERT INTO audit VALUES ($1, $2)", true, nil},
		{"UPDATE orders SET total = p.total FROM prices p WHERE p.id = orders.id", true, []sqllineage.Relation{r("", "prices")}},
		{"DELETE FROM orders WHERE id IN (SELECT id FROM cancelled)", true, []sqllineage.Relation{r("", "cancelled")}},
		{"CREATE TABLE copy AS SELECT * FROM orders", false, nil},
		{"VACUUM orders", false, nil},
		{"ALTER ROLE app PASSWORD 'secret'", false, nil},
	} {
		got, dml, err := sqllineage.Postgres.Reads(tc.sql)
		if err != nil {
			t.Errorf("Reads(%q): %v", tc.sql, err)
			continue
		}
		if dml != tc.dml {
			t.Errorf("Reads(%q): dml %v, want %v", tc.sql, dml, tc.dml)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Reads(%q) (-want +got):\n%s", tc.sql, diff)
		}
	}
	if _, _, err := sqllineage.Postgres.Reads("SELECT * FROM orders WHERE id = $1 AND note = 'cut sho"); err == nil {
		t.Error("Reads of a statement cut short: no error")
	}
}
