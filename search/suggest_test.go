package search

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSuggest(t *testing.T) {
	x := buildCorpus(t)
	suggest := func(typed string, n int) []string {
		t.Helper()
		got, err := x.Suggest(t.Context(), typed, n)
		if err != nil {
			t.Fatalf("Suggest(%q): %v", typed, err)
		}
		var out []string
		for _, s := range got {
			out = append(out, s.Key.Name)
		}
		return out
	}
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"fct_ord", []string{"warehouse.marts.fct_orders", "warehouse.marts.fct_order_items"}},
		{"customer lif", []string{"warehouse.marts.customer_lifetime_value"}},
		{"sign", []string{"events/customerSignups"}}, // a camelCase word
		{"o", nil},  // too short
		{"--", nil}, // no words
		{"zzzz", nil},
	} {
		if diff := cmp.Diff(tc.want, suggest(tc.typed, maxSuggestions)); diff != "" {
			t.Errorf("Suggest(%q) (-want +got):\n%s", tc.typed, diff)
		}
	}
	// A name that starts with what was typed comes first; removed
	// datasets are never suggested.
	got := suggest("orders", maxSuggestions)
	if len(got) == 0 || got[0] != "warehouse.sandbox.orders" {
		t.Errorf("Suggest(orders) = %q, want warehouse.sandbox.orders first", got)
	}
	if slices.Contains(got, "warehouse.legacy.orders") {
		t.Errorf("Suggest(orders) = %q: suggests the removed warehouse.legacy.orders", got)
	}
	if got := suggest("ord", 2); len(got) != 2 {
		t.Errorf("Suggest(ord, 2) = %q, want 2", got)
	}
}
