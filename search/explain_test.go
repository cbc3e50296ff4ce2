package search

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// explainCorpus is the relevance corpus and 1,000 generated datasets,
// with queries of both: the rank suite's, the benchmark's, typos and
// words that match nothing together.
func explainCorpus(t *testing.T) ([]Dataset, []string) {
	ds := corpus()
	for i := range 1000 {
		d := genDataset(i)
		d.ID += 1_000_000
		ds = append(ds, d)
	}
	var qs []string
	for _, c := range readRankCases(t) {
		qs = append(qs, c.query)
	}
	qs = append(qs, benchQueries[:80]...)
	qs = append(qs, "custmer", "ordr itemz", "revenue kalomi", "customer zzqx", "kalo order payment",
		`"order items"`, "order -customer", "owner:team_3 order", "tag:tag_7 customer email")
	return ds, qs
}

// TestPageExplainedAlone checks that explaining only the page's hits
// changes no result: every query, on pages inside the re-ranking window
// and across its end, gives the same hits, highlights, columns, counts,
// facets and flags as explaining every candidate.
func TestPageExplainedAlone(t *testing.T) {
	ds, qs := explainCorpus(t)
	x := buildDatasets(t, ds, Options{NoCache: true})
	pages := []struct{ offset, limit int }{{0, 20}, {0, 5}, {5, 5}, {20, 20}, {30, 20}, {45, 10}, {0, 50}}
	compared, withHits := 0, 0
	for _, text := range qs {
		q, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		for _, pg := range pages {
			req := Request{Query: q, Offset: pg.offset, Limit: pg.limit}
			x.explainAll = true
			want, err := x.Search(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			x.explainAll = false
			got, err := x.Search(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%q offset %d limit %d (-all explained +page explained):\n%s", text, pg.offset, pg.limit, diff)
			}
			compared++
			if len(got.Hits) > 0 {
				withHits++
			}
		}
	}
	// The comparison must have covered pages with hits, highlighted.
	if withHits < compared/2 {
		t.Errorf("only %d of %d pages had hits", withHits, compared)
	}
}

// TestRankAsExplain checks rank against explain directly, for every
// dataset of the corpus (matching or not) and every query, exact and
// with typos, and as the fallback asking for one word fewer.
func TestRankAsExplain(t *testing.T) {
	ds, qs := explainCorpus(t)
	x := buildCorpus(t)
	var ss []stored
	for _, d := range ds {
		s := stored{
			ID: d.ID, Namespace: d.Key.Namespace, Name: d.Key.Name, Platform: d.Platform, Kind: string(d.Kind),
			Description: d.Description, OtherDocs: d.OtherDescriptions, Owners: d.Owners, Tags: d.Tags,
			Removed: d.Removed,
		}
		for _, c := range d.Columns {
			s.Columns = append(s.Columns, storedColumn{Name: c.Name, Description: c.Description})
		}
		ss = append(ss, s)
	}
	differ := 0
	for _, text := range qs {
		q, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		p := newPlan(q, x.lex)
		for _, minMatch := range []int{0, 1} {
			p.minMatch = minMatch
			for _, fuzzy := range []bool{false, true} {
				h := newHighlighter(p, x.lex, fuzzy)
				for _, s := range ss {
					hit, want := h.explain(s)
					if got := h.rank(s); got != want {
						t.Errorf("%q (minMatch %d, fuzzy %v) on %s: rank %+v, explain %+v", text, minMatch, fuzzy, s.Name, got, want)
					}
					// h remembers the texts of the datasets before: a
					// highlighter that has seen none explains alike.
					aloneHit, alone := newHighlighter(p, x.lex, fuzzy).explain(s)
					if diff := cmp.Diff(aloneHit, hit); diff != "" || alone != want {
						t.Errorf("%q (minMatch %d, fuzzy %v) on %s: explained after others %+v, alone %+v:\n%s", text, minMatch, fuzzy, s.Name, want, alone, diff)
					}
					if want.tier != classNone && want.tier != classExact {
						differ++
					}
				}
			}
		}
	}
	if differ == 0 {
		t.Error("no dataset matched below an exact name: the test compares nothing")
	}
}

// TestExactName checks exactName's shortcut against its definition on
// every dataset name of the corpus and odd ones, for every query and for
// each name's own exact forms as queries.
func TestExactName(t *testing.T) {
	ds, qs := explainCorpus(t)
	names := []string{"a.b.", "Sales.ORDERS", "x/y/Order_Items", "db..orders", "café.Crème_Brûlée", "orders", "a.b\xff.c"}
	for _, d := range ds {
		names = append(names, d.Key.Name)
	}
	asked := names[:len(names)-len(ds)+len(corpus())+100]
	for _, n := range asked {
		qs = append(qs, exactForms(n)...)
	}
	x := buildCorpus(t)
	matched := 0
	for _, text := range qs {
		q, err := Parse(text)
		if err != nil {
			continue
		}
		h := newHighlighter(newPlan(q, x.lex), x.lex, false)
		for _, n := range names {
			own, _ := splitName(n)
			want := slices.ContainsFunc(exactForms(n), func(f string) bool { return slices.Contains(h.p.exact, lower(f)) })
			if got := h.exactName(n, own); got != want {
				t.Errorf("query %q, name %q: exactName %v, want %v", text, n, got, want)
			}
			if want {
				matched++
			}
		}
	}
	// Each name asked for by its own forms must have matched them.
	if matched < len(asked) {
		t.Errorf("%d exact names, want at least %d", matched, len(asked))
	}
}

// TestSquashIs compares squashIs with squash.
func TestSquashIs(t *testing.T) {
	ss := []string{"", "order_items", "OrderItems", "order items", "Crème_Brûlée", "crèmebrûlée", "a\xffb", "ab", "a\uFFFDb",
		"İstanbul", "i̇stanbul", "ΣΑΣ", "σασ", "x1_y2", "x1y2", "__", "orderitem", "orderitemss"}
	for _, d := range corpus() {
		ss = append(ss, d.Key.Name, squash(d.Key.Name))
		for _, c := range d.Columns {
			ss = append(ss, c.Name, squash(c.Name))
		}
	}
	for _, s := range ss {
		for _, u := range ss {
			if got, want := squashIs(s, u), squash(s) == u; got != want {
				t.Errorf("squashIs(%q, %q) = %v, want %v", s, u, got, want)
			}
		}
	}
}
