package search

import (
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
)

// TestStemPlurals checks that the build's plural stemming, which keeps
// the terms the stemmer would not change, makes the stemmer's terms:
// plurals of every rule, upper case, non-ASCII, bytes that are not
// UTF-8, short words.
func TestStemPlurals(t *testing.T) {
	f := en.NewEnglishPluralStemmerFilter()
	words := []string{
		"", "s", "as", "ss", "bus", "gas", "orders", "order", "Orders", "ORDER", "categories", "pies", "spies",
		"boxes", "axes", "heroes", "shoes", "wishes", "classes", "churches", "aches", "status", "address",
		"cafés", "café", "naïve", "ÉTÉS", "x\xffs", "\xff", "id", "ids", "2024s", "a_b", "cookies", "series",
	}
	for _, w := range words {
		want := f.Filter(analysis.TokenStream{{Term: []byte(w)}})[0].Term
		got := stemPlurals(f, analysis.TokenStream{{Term: []byte(w)}})[0].Term
		if string(got) != string(want) {
			t.Errorf("%q: got %q, want %q", w, got, want)
		}
	}
}

// TestFoldAsStemmer checks fold's shortcut against the plural stemmer it
// stands for.
func TestFoldAsStemmer(t *testing.T) {
	for _, w := range []string{"", "a", "s", "is", "as", "ids", "bus", "class", "boxes", "parties", "order", "Order",
		"ORDERS", "c01", "t000042", "café", "cafés", "naïve", "x_y", "ss", "us", "status", "Émile", "\xff", "aes", "shoes"} {
		want := string(plural.Filter(analysis.TokenStream{{Term: []byte(w)}})[0].Term)
		if got := fold(w); got != want {
			t.Errorf("fold(%q) = %q, the stemmer %q", w, got, want)
		}
	}
}
