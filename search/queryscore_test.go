package search

import (
	"context"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	gocmp "github.com/google/go-cmp/cmp"
)

// TestQueryScoresAlike checks that answering at once for a term a field
// does not hold (termQuery) and leaving out conjunctions of one clause
// (allOf) change no hit and no score: every query of the explain corpus,
// exact, with typos and as the fallback's "at least one word", as bleve's
// own term queries under the conjunctions bleve's boolean query makes and
// as ours.
func TestQueryScoresAlike(t *testing.T) {
	ds, qs := explainCorpus(t)
	x, err := Build(t.TempDir(), func(yield func(Dataset) error) error {
		for _, d := range ds {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx := context.Background()
	type hit struct {
		ID    string
		Score float64
	}
	search := func(q query.Query) []hit {
		res, err := x.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, 100, 0, false))
		if err != nil {
			t.Fatal(err)
		}
		var out []hit
		for _, h := range res.Hits {
			out = append(out, hit{h.ID, h.Score})
		}
		return out
	}
	compared := 0
	for _, text := range qs {
		q, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		p := newPlan(q, x.lex)
		common, err := x.commonFields(ctx, p.terms)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			minMatch int
			fuzzy    bool
		}{{0, false}, {0, true}, {1, false}} {
			p.minMatch = c.minMatch
			fuzzy := c.fuzzy
			bq := p.bleveQuery(false, false, fuzzy, common)
			got := search(bq)
			want := search(bleveTerms(bq))
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("%q (at least %d, typos %v): hits (-bleve's queries +ours):\n%s", text, c.minMatch, fuzzy, diff)
			}
			if len(got) > 1 {
				compared++
			}
		}
	}
	if compared < len(qs)/2 {
		t.Errorf("only %d searches of %d had several hits to compare", compared, 3*len(qs))
	}
}

// bleveTerms returns q with bleve's term queries in place of termQuery,
// and its required clauses in two conjunctions, as bleveQuery made them
// before allOf.
func bleveTerms(q query.Query) query.Query {
	each := func(qs []query.Query) []query.Query {
		out := make([]query.Query, len(qs))
		for i, q := range qs {
			out[i] = bleveTerms(q)
		}
		return out
	}
	switch q := q.(type) {
	case termQuery:
		return q.TermQuery
	case *query.ConjunctionQuery:
		c := *q
		c.Conjuncts = each(q.Conjuncts)
		return &c
	case *query.DisjunctionQuery:
		d := *q
		d.Disjuncts = each(q.Disjuncts)
		return &d
	case *query.BooleanQuery:
		b := *q
		for _, p := range []*query.Query{&b.Must, &b.Should, &b.MustNot, &b.Filter} {
			if *p != nil {
				*p = bleveTerms(*p)
			}
		}
		must := []query.Query{b.Must}
		if c, ok := b.Must.(*query.ConjunctionQuery); ok {
			must = c.Conjuncts
		}
		b.Must = query.NewConjunctionQuery([]query.Query{query.NewConjunctionQuery(must)})
		return &b
	}
	return q
}
