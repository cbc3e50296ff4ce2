package search

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"almanac/catalog"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Query
	}{
		{"", Query{}},
		{"   ", Query{}},
		{"orders revenue", Query{Words: []string{"orders", "revenue"}}},
		{`"order items" total`, Query{Words: []string{"total"}, Phrases: []string{"order items"}}},
		{`"  spaced   out  "`, Query{Phrases: []string{"spaced out"}}},
		{"orders -legacy -\"old stuff\"", Query{Words: []string{"orders"}, Excluded: []string{"legacy", "old stuff"}}},
		{"owner:finance tag:pii Platform:postgres", Query{Filters: []Filter{{Key: "owner", Value: "finance"}, {Key: "tag", Value: "pii"}, {Key: "platform", Value: "postgres"}}}},
		{`owner:"data platform" x`, Query{Words: []string{"x"}, Filters: []Filter{{Key: "owner", Value: "data platform"}}}},
		{"owner:a owner:a", Query{Filters: []Filter{{Key: "owner", Value: "a"}}}},
		{"foo:bar", Query{Words: []string{"foo:bar"}, Warnings: []string{`There is no filter "foo:": it was searched as text. Filters are owner: tag: platform: kind: schema: namespace:.`}}},
		{"owner:", Query{Warnings: []string{"The filter owner: has no value and was ignored: write owner:value, with no space."}}},
		{`"unbalanced phrase`, Query{Phrases: []string{"unbalanced phrase"}, Warnings: []string{"A quote was not closed: the rest of the query was searched as a phrase."}}},
		{`"`, Query{Warnings: []string{"A quote was not closed: the rest of the query was searched as a phrase."}}},
		{`*:* (a OR b) +c^2 ~d /re.*/`, Query{Words: []string{"(a", "OR", "b)", "+c^2", "~d", "/re.*/"}, Warnings: []string{`"*:*" has no letters or digits and was ignored.`}}},
		{"--- - -", Query{Warnings: []string{`"--" has no letters or digits and was ignored.`, `A "-" alone excludes nothing and was ignored: write -word, with no space, to leave out datasets that mention word.`}}},
		{`"" ,`, Query{Warnings: []string{`The phrase "" has no letters or digits and was ignored.`, `"," has no letters or digits and was ignored.`}}},
		{`kind:"materialized view" kind:Materialized-View`, Query{Filters: []Filter{{Key: "kind", Value: "materialized_view"}}}},
		{"kind:tabel x", Query{Words: []string{"x"}, Filters: []Filter{{Key: "kind", Value: "tabel"}}, Warnings: []string{`There is no kind "tabel": kinds are table, view, materialized view, partitioned, foreign, model, file, semantic model, metric, job.`}}},
		{"kind:Job orders", Query{Words: []string{"orders"}, Filters: []Filter{{Key: "kind", Value: "job"}}}}, // jobs, no warning
		{"-owner:x", Query{Filters: []Filter{{Key: "owner", Value: "x", Exclude: true}}}},
		{`kind:view -schema:"raw data"`, Query{Filters: []Filter{{Key: "kind", Value: "view"}, {Key: "schema", Value: "raw data", Exclude: true}}}},
		{"http://example.com/x", Query{Words: []string{"http://example.com/x"}, Warnings: []string{`There is no filter "http:": it was searched as text. Filters are owner: tag: platform: kind: schema: namespace:.`}}},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParseLimits(t *testing.T) {
	_, err := Parse(strings.Repeat("a", MaxQueryLen+1))
	if !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("Parse(too long) = %v, want ErrInvalid", err)
	}
	q, err := Parse(strings.Repeat("word ", 40))
	if err != nil {
		t.Fatal(err)
	}
	if p := newPlan(q, defaultLexicon()); len(p.terms) != 1 {
		t.Errorf("repeated word: %d terms, want 1", len(p.terms))
	}
	q, err = Parse(strings.Repeat("w ", 20) + strings.Join(strings.Fields("a b c d e f g h i j k l m n o p"), " "))
	if err != nil {
		t.Fatal(err)
	}
	if p := newPlan(q, defaultLexicon()); len(p.terms) > maxTerms {
		t.Errorf("%d terms planned, want at most %d", len(p.terms), maxTerms)
	}
	if len(q.Warnings) == 0 {
		t.Errorf("no warning for too many words")
	}
}

// TestHostileQueries runs queries meant to break parsing or to run long
// against the corpus: each must answer quickly, without an error other
// than ErrInvalid.
func TestHostileQueries(t *testing.T) {
	x := buildCorpus(t)
	long := strings.Repeat("abcdefgh ", MaxQueryLen/9)
	for _, in := range []string{
		"", `"`, `""`, `"""`, "-", ":", "owner:", `owner:"`, "*", "?", `\`, "((((", "[a-z]+", "/.*/", "a~2", "name:x^10",
		"+a -b", "a AND b OR c", "\x00\xff", long, strings.Repeat("x", 300), strings.Repeat("-a ", 100),
		strings.Repeat(`"a" `, 100), strings.Repeat("owner:a ", 100), strings.Repeat("zzzzzzzzz ", 50),
	} {
		start := time.Now()
		q, err := Parse(in)
		if err != nil {
			if !errors.Is(err, catalog.ErrInvalid) {
				t.Errorf("Parse(%.40q): %v", in, err)
			}
			continue
		}
		if _, err := x.Search(t.Context(), Request{Query: q}); err != nil {
			t.Errorf("Search(%.40q): %v", in, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%.40q took %v", in, d)
		}
	}
}

// FuzzParse checks that Parse never panics and that a parsed query prints
// as a string that parses back to the same query.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"orders", `"a b" -c owner:x`, `owner:"a b" tag:`, `-"-x"`, `a:"b`, "\"", "x y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(q.String())
		if err != nil {
			t.Fatalf("Parse(%q.String() = %q): %v", s, q.String(), err)
		}
		q.Warnings, again.Warnings = nil, nil
		if diff := cmp.Diff(q, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("Parse(%q) printed as %q parses differently (-first +again):\n%s", s, q.String(), diff)
		}
	})
}

func TestTokenizer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"order_items", []string{"order", "item"}},
		{"customerId", []string{"customer", "id"}},
		{"HTTPServerLogs", []string{"http", "server", "log"}},
		{"warehouse.marts.fct_orders", []string{"warehouse", "mart", "fct", "order"}},
		{"address2 zürichSee", []string{"address2", "zürich", "see"}},
		{"--", nil},
	} {
		if diff := cmp.Diff(tc.want, terms(names, tc.in), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("terms(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestExcludedFilters checks that -key:value leaves out what key:value
// matches, with or without words.
func TestExcludedFilters(t *testing.T) {
	x := buildCorpus(t)
	search := func(s string) Results {
		t.Helper()
		q, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(t.Context(), Request{Query: q, Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, words := range []string{"", "orders "} {
		all, views, others := search(words+"kind:table kind:view kind:model"), search(words+"kind:view"), search(words+"-kind:view")
		if views.Total == 0 || others.Total == 0 {
			t.Fatalf("%q: %d views, %d others: the corpus should have both", words, views.Total, others.Total)
		}
		for _, h := range others.Hits {
			if h.Kind == "view" {
				t.Errorf("%q -kind:view returned the view %s", words, h.Key.Name)
			}
		}
		if words == "" && views.Total+others.Total < all.Total {
			t.Errorf("views %d + others %d < tables, views and models %d", views.Total, others.Total, all.Total)
		}
	}
	if n := search("kind:table -kind:table").Total; n != 0 {
		t.Errorf("kind:table -kind:table: %d hits, want 0", n)
	}
}
