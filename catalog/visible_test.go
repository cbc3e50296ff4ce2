package catalog_test

import (
	"testing"

	"almanac/catalog"
)

// TestVisible checks that what could reorder, hide or fake a name is
// written out, and that the scripts names are written in are not touched.
func TestVisible(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"warehouse.marts.orders", "warehouse.marts.orders"},
		{"invoice_\u202efdp.exe", `invoice_\u202efdp.exe`},
		{"a\u2066b\u2069c\u200fd", `a\u2066b\u2069c\u200fd`},
		{"tab\there\nnewline\x1b[31m", `tab\u0009here\u000anewline\u001b[31m`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"zürich 東京 مرحبا שלום", "zürich 東京 مرحبا שלום"},
		{"👩\u200d💻 می\u200cخواهم", "👩\u200d💻 می\u200cخواهم"}, // joiners scripts and emoji need
	} {
		if got := catalog.Visible(tc.in); got != tc.want {
			t.Errorf("Visible(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
