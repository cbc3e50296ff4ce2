package sqllineage_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/crawl/sqllineage"
)

func TestRelations(t *testing.T) {
	tests := []struct {
		sql  string
		want []sqllineage.Relation
	}{
		{"SELECT * FROM orders", []sqllineage.Relation{{Name: "orders"}}},
		{"SELECT o.id FROM sales.orders o JOIN public.customers c ON c.id = o.cid", []sqllineage.Relation{{Schema: "sales", Name: "orders"}, {Schema: "public", Name: "customers"}}},
		{"WITH recent AS (SELECT * FROM a.events WHERE at > now()) SELECT * FROM recent", []sqllineage.Relation{{Schema: "a", Name: "events"}}},
		{"SELECT (SELECT max(x) FROM t2) FROM t1 WHERE EXISTS (SELECT 1 FROM t3) UNION SELECT 1 FROM t1", []sqllineage.Relation{{Name: "t2"}, {Name: "t1"}, {Name: "t3"}}},
		{"WITH orders AS (SELECT * FROM raw.orders) SELECT * FROM orders JOIN customers USING (id) WHERE id IN (SELECT id FROM vip)", []sqllineage.Relation{{Schema: "raw", Name: "orders"}, {Name: "customers"}, {Name: "vip"}}},
		{`SELECT c."Name" FROM "MixedCase"."Order Items" c`, []sqllineage.Relation{{Schema: "MixedCase", Name: "Order Items"}}},
		{"SELECT * FROM generate_series(1, 3)", nil},
		{"SELECT * FROM db.s.t", []sqllineage.Relation{{Catalog: "db", Schema: "s", Name: "t"}}},
	}
	for _, tt := range tests {
		got, err := sqllineage.Relations(tt.sql)
		if err != nil {
			t.Errorf("%s: %v", tt.sql, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.sql, diff)
		}
	}
	if _, err := sqllineage.Relations("SELEC oops"); err == nil {
		t.Error("bad SQL parsed")
	}
}
