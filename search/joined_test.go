package search

import (
	"fmt"
	"slices"
	"testing"

	"almanac/catalog"
)

// TestJoinedWord checks that a query word split between letters and
// digits ("t075" → t, 075) matches where its parts are together in one
// field, as the identifier typed, and not a table t001 of schema s075
// (t in its name, 075 in its schema); and that when nothing holds the
// parts together they may match apart.
func TestJoinedWord(t *testing.T) {
	var ds []Dataset
	add := func(name, description string, columns ...string) {
		d := Dataset{ID: int64(len(ds) + 1), Platform: "postgres", Kind: catalog.KindTable, Description: description,
			Key: catalog.Key{Namespace: "postgres://wh:5432", Name: name}}
		for _, c := range columns {
			d.Columns = append(d.Columns, catalog.Column{Name: c, Type: "int"})
		}
		ds = append(ds, d)
	}
	for i := range 20 {
		add(fmt.Sprintf("wh.s075.t%03d", i+1), "")
	}
	add("wh.s001.t075", "")
	add("wh.s002.T075", "")
	add("wh.s003.t_075", "")
	add("wh.s004.orders", "", "t075_flag")
	add("wh.s005.t", "the 075 release")
	add("wh.s9.q", "")
	x := buildDatasets(t, ds, Options{NoCache: true})

	names := func(res Results) []string {
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.Key.Name)
		}
		slices.Sort(out)
		return out
	}
	search := func(text string, loose bool) Results {
		t.Helper()
		q, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if !loose {
			res, err := x.Search(t.Context(), Request{Query: q, Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		p := newPlan(q, x.lex)
		if p.joined == nil {
			t.Fatalf("%q has no letter-digit word: the test no longer tests joining", text)
		}
		res, err := x.run(t.Context(), Request{Query: q, Limit: MaxLimit}, p.loose(), commonality{}, false)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	want := []string{"wh.s001.t075", "wh.s002.T075", "wh.s003.t_075", "wh.s004.orders"}
	if got := names(search("t075", false)); !slices.Equal(got, want) {
		t.Errorf("t075 found %q, want %q", got, want)
	}
	// The same query with its parts apart finds the schema's tables: what
	// joining leaves out.
	if res := search("t075", true); res.Total != len(want)+21 {
		t.Errorf("t075 with its parts apart found %d: %q; want the %d above, the 20 tables of s075 and s005.t", res.Total, names(res), len(want))
	}
	if got := names(search("s075 t001", false)); !slices.Equal(got, []string{"wh.s075.t001"}) {
		t.Errorf("s075 t001 found %q, want wh.s075.t001 alone", got)
	}
	// Nothing holds q9 together: its parts apart are better than nothing.
	res := search("q9", false)
	if got := names(res); !slices.Equal(got, []string{"wh.s9.q"}) || res.Partial != nil {
		t.Errorf("q9 found %q (partial %v), want wh.s9.q, all of its words", got, res.Partial)
	}
}
