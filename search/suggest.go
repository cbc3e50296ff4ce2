package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"almanac/catalog"
)

// Suggestion is a dataset the search box offers as its text is typed.
type Suggestion struct {
	Key      catalog.Key
	Platform string
	Kind     catalog.Kind
}

// maxSuggestions bounds what Suggest returns.
const maxSuggestions = 10

// Suggest returns at most n live datasets whose name, or a word of it,
// starts with what was typed; names starting with it come first. Fewer
// than two characters suggest nothing: too many names would do.
func (x *Index) Suggest(ctx context.Context, typed string, n int) ([]Suggestion, error) {
	typed = strings.TrimSpace(typed)
	if len(typed) < 2 || len(typed) > 200 {
		return nil, nil
	}
	n = min(max(n, 1), maxSuggestions)
	var should []query.Query
	whole := query.NewPrefixQuery(lower(typed))
	whole.SetField(fExact)
	whole.SetBoost(10)
	should = append(should, whole)
	ts := terms(names, typed)
	if len(ts) == 0 {
		return nil, nil
	}
	// Every word but the last must be a whole word; the last is a prefix.
	var words []query.Query
	for _, t := range ts[:len(ts)-1] {
		words = append(words, term(fName, t, 1))
	}
	last := query.NewPrefixQuery(ts[len(ts)-1])
	last.SetField(fName)
	words = append(words, last)
	should = append(should, query.NewConjunctionQuery(words))
	// Removed datasets excluded, not "removed:no" required: a required
	// term of no weight made every score NaN, and the order arbitrary.
	q := query.NewBooleanQuery([]query.Query{query.NewDisjunctionQuery(should)}, nil, []query.Query{term(fRemoved, "yes", 1)})

	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		return nil, errClosed
	}
	sr := bleve.NewSearchRequestOptions(q, n, 0, false)
	sr.Fields = []string{fSrc}
	sr.SortBy([]string{"-_score", "_id"})
	res, err := x.idx.SearchInContext(ctx, sr)
	if err != nil {
		return nil, fmt.Errorf("suggest %q: %w", typed, err)
	}
	out := make([]Suggestion, 0, len(res.Hits))
	for _, h := range res.Hits {
		s, err := decodeStored(h.Fields[fSrc])
		if err != nil {
			return nil, err
		}
		out = append(out, Suggestion{Key: catalog.Key{Namespace: s.Namespace, Name: s.Name}, Platform: s.Platform, Kind: catalog.Kind(s.Kind)})
	}
	return out, nil
}
