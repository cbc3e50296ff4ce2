package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// TestInheritedDescriptions: a view's undescribed column copied from a
// table's described column inherits its description, through a second
// view too (two copies up); a computed column, a column with its own
// description, and a copy of an undescribed column inherit nothing; a
// copy cycle ends.
func TestInheritedDescriptions(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	col := func(name, desc string) catalog.Column {
		return catalog.Column{Name: name, Type: "text", Nullable: true, Description: desc}
	}
	ds := func(name string, cols ...catalog.Column) catalog.DatasetFacts {
		return catalog.DatasetFacts{Key: key(name), Platform: "postgres", Kind: catalog.KindView, Columns: cols}
	}
	copyOf := func(out, c, in, inCol, sub string) catalog.ColumnLineage {
		return catalog.ColumnLineage{Output: key(out), Column: c, Input: key(in), InputColumn: inCol, Type: "DIRECT", Subtype: sub}
	}
	h := catalog.Harvest{
		Datasets: []catalog.DatasetFacts{
			ds("shop.raw.orders", col("id", "Order id, from the shop."), col("amount", "Amount in cents."), col("note", "")),
			ds("shop.stg.orders", col("id", ""), col("total", ""), col("note", ""), col("own", "Its own.")),
			ds("shop.marts.orders", col("id", ""), col("loop", "")),
		},
		ColumnLineage: []catalog.ColumnLineage{
			copyOf("shop.stg.orders", "id", "shop.raw.orders", "id", "IDENTITY"),
			copyOf("shop.stg.orders", "total", "shop.raw.orders", "amount", "AGGREGATION"),
			copyOf("shop.stg.orders", "note", "shop.raw.orders", "note", "IDENTITY"),
			copyOf("shop.stg.orders", "own", "shop.raw.orders", "amount", "IDENTITY"),
			copyOf("shop.marts.orders", "id", "shop.stg.orders", "id", "IDENTITY"),
			copyOf("shop.marts.orders", "loop", "shop.stg.orders", "loop", "IDENTITY"),
			copyOf("shop.stg.orders", "loop", "shop.marts.orders", "loop", "IDENTITY"),
		},
	}
	crawlHarvest(t, st, h)
	got, err := st.InheritedDescriptions(ctx, []catalog.Key{key("shop.stg.orders"), key("shop.marts.orders"), key("shop.nowhere")})
	if err != nil {
		t.Fatal(err)
	}
	from := catalog.InheritedDescription{Text: "Order id, from the shop.", Source: "dbt:shop", From: key("shop.raw.orders"), Column: "id"}
	want := map[catalog.Key]map[string]catalog.InheritedDescription{
		key("shop.stg.orders"):   {"id": from},
		key("shop.marts.orders"): {"id": from},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("InheritedDescriptions (-want +got):\n%s", diff)
	}
}
