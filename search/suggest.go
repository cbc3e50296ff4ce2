package search

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"
	"github.com/blevesearch/vellum"

	"almanac/catalog"
)

// Suggestion is a dataset or a job the search box offers as its text is
// typed. A job's Kind is KindJob and its Platform its type.
type Suggestion struct {
	Key      catalog.Key
	Platform string
	Kind     catalog.Kind
}

// IsJob says whether s is a job rather than a dataset.
func (s Suggestion) IsJob() bool { return s.Kind == KindJob }

// maxSuggestions bounds what Suggest returns.
const maxSuggestions = 10

// maxJobSuggestions is how many of the suggestions may be jobs: datasets
// are what the box is mostly for, so jobs fill the last places only.
const maxJobSuggestions = 3

// Suggest returns at most n live datasets and jobs whose name, or a word
// of it, starts with what was typed; names starting with it come first.
// Datasets come before jobs; jobs are kept at most maxJobSuggestions
// places (at most half of n) and take any more that datasets leave, so
// the datasets suggested are always the first a search for datasets
// alone would suggest. Fewer than two characters suggest nothing:
// too many names would do.
func (x *Index) Suggest(ctx context.Context, typed string, n int) ([]Suggestion, error) {
	typed = strings.TrimSpace(typed)
	if len(typed) < 2 || len(typed) > 200 {
		return nil, nil
	}
	n = min(max(n, 1), maxSuggestions)
	datasets, err := x.suggest(ctx, typed, n, false)
	if err != nil {
		return nil, err
	}
	jobs, err := x.suggest(ctx, typed, n, true)
	if err != nil {
		return nil, err
	}
	reserved := min(maxJobSuggestions, n/2, len(jobs)) // places kept for jobs
	keep := min(len(datasets), n-reserved)
	out := append(datasets[:keep:keep], jobs[:min(len(jobs), n-keep)]...)
	return out, nil
}

// suggest returns at most n live datasets, or jobs, whose name or a word
// of it starts with typed.
func (x *Index) suggest(ctx context.Context, typed string, n int, jobs bool) ([]Suggestion, error) {
	var should []query.Query
	should = append(should, &prefixQuery{prefix: lower(typed), field: fExact, boost: 10})
	ts := terms(names, typed)
	if len(ts) == 0 {
		return nil, nil
	}
	// Every word but the last must be a whole word; the last is a prefix.
	var words []query.Query
	for _, t := range ts[:len(ts)-1] {
		words = append(words, term(fName, t, 1))
	}
	words = append(words, &prefixQuery{prefix: ts[len(ts)-1], field: fName, boost: 1})
	should = append(should, query.NewConjunctionQuery(words))
	// Removed datasets excluded, not "removed:no" required: a required
	// term of no weight made every score NaN, and the order arbitrary.
	must := []query.Query{query.NewDisjunctionQuery(should)}
	mustNot := []query.Query{term(fRemoved, "yes", 1)}
	if jobs {
		must = append(must, term(fType, KindJob, 1))
	} else {
		mustNot = append(mustNot, term(fType, KindJob, 1))
	}
	q := query.NewBooleanQuery(must, nil, mustNot)

	var out []Suggestion
	err := x.use(ctx, "suggest", func() error {
		sr := bleve.NewSearchRequestOptions(q, n, 0, false)
		sr.SortBy([]string{"-_score", "_id"})
		res, err := x.idx.SearchInContext(ctx, sr)
		if err != nil {
			return fmt.Errorf("suggest %q: %w", typed, err)
		}
		records, err := x.loadStored(res.Hits)
		if err != nil {
			return fmt.Errorf("suggest %q: read hits: %w", typed, err)
		}
		out = make([]Suggestion, 0, len(res.Hits))
		for _, h := range res.Hits {
			if s, ok := records[h.ID]; ok {
				out = append(out, Suggestion{Key: catalog.Key{Namespace: s.Namespace, Name: s.Name}, Platform: s.Platform, Kind: catalog.Kind(s.Kind)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prefixQuery is bleve's prefix query, reading the terms of each segment
// on the calling goroutine: bleve's reads the segments on goroutines of
// its own, where a panic on a damaged segment could not be recovered (see
// damage.go). The terms found and the scoring are bleve's.
type prefixQuery struct {
	prefix string
	field  string
	boost  float64
}

// Searcher returns bleve's multi-term searcher for the terms starting
// with the prefix.
func (q *prefixQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	r, ok := i.(*scorch.IndexSnapshot)
	if !ok {
		pq := query.NewPrefixQuery(q.prefix)
		pq.SetField(q.field)
		pq.SetBoost(q.boost)
		return pq.Searcher(ctx, i, m, options)
	}
	beg := []byte(q.prefix)
	end := prefixEnd(beg)
	seen := map[string]bool{}
	for _, ss := range r.Segments() {
		dict, err := ss.Segment().Dictionary(q.field)
		if err != nil {
			return nil, err
		}
		itr := dict.AutomatonIterator(&vellum.AlwaysMatch{}, beg, end)
		for {
			e, err := itr.Next()
			if err != nil {
				return nil, err
			}
			if e == nil {
				break
			}
			seen[e.Term] = true
		}
	}
	terms := slices.Sorted(maps.Keys(seen))
	if len(terms) == 0 || (len(terms) == 1 && terms[0] == q.prefix) {
		return searcher.NewTermSearcher(ctx, i, q.prefix, q.field, q.boost, options)
	}
	return searcher.NewMultiTermSearcher(ctx, i, terms, q.field, q.boost, options, true)
}
