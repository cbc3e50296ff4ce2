package catalog

import "testing"

func TestCopiedColumn(t *testing.T) {
	orders := Key{Namespace: "pg", Name: "db.raw.orders"}
	items := Key{Namespace: "pg", Name: "db.raw.items"}
	view := Key{Namespace: "pg", Name: "db.marts.v"}
	row := func(col string, in Key, inCol, typ, sub string) ColumnLineage {
		return ColumnLineage{Output: view, Column: col, Input: in, InputColumn: inCol, Type: typ, Subtype: sub}
	}
	rows := []ColumnLineage{
		row("id", orders, "id", "DIRECT", "IDENTITY"),
		row("id", orders, "status", "INDIRECT", "FILTER"), // a filter does not count
		row("legacy", orders, "code", "", ""),             // old facet: no type
		row("total", orders, "amount", "DIRECT", "AGGREGATION"),
		row("both", orders, "id", "DIRECT", "IDENTITY"),
		row("both", items, "id", "DIRECT", "IDENTITY"),
		row("twice", orders, "id", "DIRECT", "IDENTITY"),
		row("twice", orders, "id", "DIRECT", "IDENTITY"), // said by two sources
		row("wide", orders, "", "INDIRECT", "JOIN"),
	}
	for _, tc := range []struct {
		col     string
		wantKey Key
		wantCol string
		ok      bool
	}{
		{"id", orders, "id", true},
		{"legacy", orders, "code", true},
		{"twice", orders, "id", true},
		{"total", Key{}, "", false},
		{"both", Key{}, "", false},
		{"wide", Key{}, "", false},
		{"missing", Key{}, "", false},
	} {
		k, c, ok := CopiedColumn(rows, tc.col)
		if k != tc.wantKey || c != tc.wantCol || ok != tc.ok {
			t.Errorf("CopiedColumn(%s) = %v %q %v, want %v %q %v", tc.col, k, c, ok, tc.wantKey, tc.wantCol, tc.ok)
		}
	}
}
