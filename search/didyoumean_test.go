package search

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDidYouMean corrects misspellings of the corpus's names, a typo in
// the first letter too (which typo tolerance does not search), and leaves
// alone what the index holds, short words and words near nothing.
func TestDidYouMean(t *testing.T) {
	x := buildCorpus(t)
	for _, tc := range []struct {
		query string
		want  string // the corrected query; "" when none
	}{
		{"custmer", "customer"},
		{"xustomer lifetime", "customer lifetime"},
		{"revenu tag:finance", "revenue tag:finance"},
		{"campaing", "campaign"},
		{"stripe shipmets", "stripe shipment"},
		{"fct_ordres", "fct_order"},
		{"customer orders", ""},     // every word is held
		{"qzx", ""},                 // too short to correct
		{"zzzzzzzzzz", ""},          // near nothing
		{"-legacy tag:finance", ""}, // no words
	} {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		c, ok, err := x.DidYouMean(t.Context(), q)
		if err != nil {
			t.Fatalf("DidYouMean(%q): %v", tc.query, err)
		}
		got := ""
		if ok {
			got = c.Query.String()
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("DidYouMean(%q) (-want +got):\n%s", tc.query, diff)
		}
	}
	// The corrected words are named, for the page to mark.
	q, _ := Parse("custmer revenu")
	c, _, err := x.DidYouMean(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"custmer", "revenu"}, c.Words); diff != "" {
		t.Errorf("corrected words (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"customer", "revenue"}, c.Corrected); diff != "" {
		t.Errorf("corrections (-want +got):\n%s", diff)
	}
}
