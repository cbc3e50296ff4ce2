package search

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"almanac/catalog"
)

// Request is one search.
type Request struct {
	Query Query
	// IncludeRemoved shows datasets no source reports any more, ranked
	// below live ones; they are hidden otherwise.
	IncludeRemoved bool
	// Jobs searches jobs instead of datasets: their hits are of
	// KindJob, with the job's id and key. Without it no job is found,
	// so that a dataset search ranks as it did before jobs were indexed
	// and its hits are all datasets.
	Jobs   bool
	Offset int
	// Limit is the page size: DefaultLimit when 0, at most MaxLimit.
	Limit int
}

// Page sizes.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxOffset bounds paging: deep pages cost more and help nobody.
	MaxOffset = 1000
)

// Results is a page of hits with facet counts over every match.
type Results struct {
	Total int
	Hits  []Hit
	// Facets counts the matches by platform, kind, owner, tag and schema,
	// in FacetKeys order.
	Facets []Facet
	// Fuzzy says that too little matched exactly and typo tolerance was
	// used; exact matches still rank first.
	Fuzzy bool
	// Common lists words so frequent in some fields (a word in most
	// column names, say) that they were matched only in the fields where
	// they are rare; see commonFields.
	Common []string
	// Partial is set when no dataset matched every word of the query and
	// the hits are those matching most of them.
	Partial *Partial
}

// Partial says that no dataset matched all the words of a query: the hits
// match Matched of Words.
type Partial struct {
	// Words are the words the query needed, as analysed (names written
	// without separators split, plurals folded); stop words and question
	// words are not among them.
	Words   []string
	Matched int
}

// FacetKeys are the facets every search counts, in the order shown.
var FacetKeys = []string{"platform", "kind", "owner", "tag", "schema"}

// facetSize is how many values of each facet are counted and shown.
const facetSize = 10

// Facet is the counts of one facet's most frequent values among the
// matches.
type Facet struct {
	Key    string // "platform"…; also the filter key
	Values []FacetValue
	// Other counts matches with values not listed.
	Other int
}

// FacetValue is one value of a facet and how many matches have it.
type FacetValue struct {
	Value string
	Count int
}

// Hit is one matching dataset, with where it matched.
type Hit struct {
	ID        int64
	Key       catalog.Key
	Platform  string
	Kind      catalog.Kind
	Owners    []string
	Tags      []string
	Removed   bool
	UpdatedAt time.Time
	// Name is the qualified name with the matched words marked.
	Name Snippet
	// Description is the dataset's description around the first match, or
	// its beginning when it did not match.
	Description Snippet
	// Columns lists the columns that matched, exact name matches first.
	Columns []ColumnHit
	// Matched says where the query matched: "exact name", "name",
	// "schema", "column", "tag", "owner", "description", "typo".
	Matched []string
	// Score is relevance (BM25) times trust. The first rerankWindow
	// hits by Score are ordered by how well they matched (exact name,
	// name words, columns, descriptions), then by Score; pages beyond
	// keep bleve's order.
	Score float64
}

// ColumnHit is a column of a hit that matched.
type ColumnHit struct {
	Name        string
	Highlighted Snippet
	Description Snippet
}

// fieldBoosts weigh where a word matched: name words over columns over
// schema, tags and owners over descriptions.
var fieldBoosts = []fieldBoost{{fName, 10}, {fColumns, 5}, {fPath, 3}, {fMeta, 3}, {fText, 1}}

// jobFieldBoosts are fieldBoosts for a search for jobs: a job's SQL
// counts as much as its description.
var jobFieldBoosts = append(slices.Clip(fieldBoosts), fieldBoost{fSQL, 1})

// fieldBoost is a field searched for a query's words, and its weight.
type fieldBoost struct {
	field string
	boost float64
}

// Boosts of whole-name matches. The re-ranking of the first page enforces
// the order of match classes; these make bleve's own order agree, so that
// deeper pages follow it too.
const (
	exactNameBoost   = 200
	exactColumnBoost = 20
	fuzzyBoost       = 0.2
	// abbrevBoost weighs a match of a word's other form by the
	// abbreviation table, below the form typed.
	abbrevBoost = 0.6
	// optionalBoost weighs a stop or question word where it matches.
	optionalBoost = 0.2
	// fuzzyBelow: a search that finds fewer exact matches is run again
	// with typo tolerance.
	fuzzyBelow = 3
	// rerankWindow is how many of the first hits are re-ranked by match
	// class; pages beyond it keep bleve's order.
	rerankWindow = 50
)

// Search runs a request.
func (x *Index) Search(ctx context.Context, req Request) (Results, error) {
	if req.Limit <= 0 {
		req.Limit = DefaultLimit
	}
	req.Limit = min(req.Limit, MaxLimit)
	if req.Offset < 0 || req.Offset > MaxOffset {
		return Results{}, fmt.Errorf("offset %d is out of range 0 to %d: %w", req.Offset, MaxOffset, catalog.ErrInvalid)
	}
	if req.Query.Empty() {
		return Results{}, nil
	}
	var res Results
	err := x.use(ctx, "search", func() (err error) {
		res, err = x.search(ctx, req)
		return err
	})
	if err != nil {
		return Results{}, err
	}
	return res, nil
}

// search runs a request on x.idx; the caller holds x.mu.
func (x *Index) search(ctx context.Context, req Request) (Results, error) {
	key := cacheKey(x.gen.Load(), req)
	if res, ok := x.cache.get(key); ok {
		return res, nil
	}
	p := newPlan(req.Query, x.lex)
	common, err := x.commonFields(ctx, p.terms)
	if err != nil {
		return Results{}, err
	}
	res, err := x.run(ctx, req, p, common, false)
	if err != nil {
		return Results{}, err
	}
	// Typo tolerance only when too little matched exactly, and not when
	// that was because common words were narrowed to rare fields.
	if res.Total < fuzzyBelow && len(res.Common) == 0 && p.canFuzz() {
		fz, err := x.run(ctx, req, p, common, true)
		if err != nil {
			return Results{}, err
		}
		if fz.Total > res.Total {
			res = fz
			res.Fuzzy = true
		}
	}
	if res.Total == 0 && p.joined != nil {
		// No identifier as typed: its parts anywhere ("t075" for a table
		// t in schema s075).
		p = p.loose()
		if res, err = x.run(ctx, req, p, common, false); err != nil {
			return Results{}, err
		}
	}
	if res.Total == 0 {
		if res, err = x.fallback(ctx, req, p, common); err != nil {
			return Results{}, err
		}
	}
	x.cache.put(key, res)
	return res, nil
}

// fallback runs a query that matched nothing again, asking for all but
// one of its words, then all but two…: no dead end while any word matches
// anything. Hits match the same number of words; they rank by which
// (rare words weigh more) and where, and Results.Partial says so.
func (x *Index) fallback(ctx context.Context, req Request, p plan, common commonality) (Results, error) {
	words := p.required()
	// Exact words first; typos only when no word matches as written, as
	// those searches are the costliest.
	for _, fuzzy := range []bool{false, true} {
		if fuzzy && !p.canFuzz() {
			break
		}
		for k := len(words) - 1; k >= 1; k-- {
			if fuzzy && k > 1 {
				continue
			}
			p.minMatch = k
			res, err := x.run(ctx, req, p, common, fuzzy)
			if err != nil {
				return Results{}, err
			}
			if res.Total > 0 {
				res.Partial = &Partial{Words: words, Matched: k}
				res.Fuzzy = fuzzy
				return res, nil
			}
		}
	}
	return Results{}, nil
}

// plan is a query analysed for running and for explaining hits.
type plan struct {
	q     Query
	terms []string // analysed words, at most maxTerms, deduplicated
	// optional marks the terms that are stop words or question words
	// ("where are", "which table has"): they add to a hit's score where
	// they match but need not match. A query of such words only needs them.
	optional []bool
	// alts holds, for each of terms, its other forms by the abbreviation
	// table ("cust" for customer, "customer" for cust): they match too,
	// with a smaller weight, so that the form typed ranks first.
	alts [][]string
	// fuzzy holds, for each of terms, its typo automaton; nil for a word
	// too short to have typos. The query and the highlighter share it.
	fuzzy []*fuzzyWord
	exact []string // whole-name forms of the words: "order_items", "orderitems"
	// identifier: the query is one compound identifier, whose exact
	// column matches rank right after exact name matches.
	identifier bool
	// minMatch, when not 0, is how many of the required words a hit must
	// match: the fallback when no dataset matches them all.
	minMatch int
	// joined holds the words of the query that split between letters and
	// digits ("t042", "s3", "addressline1"), as indexes into terms: their
	// parts must match together in one field, as the identifier typed,
	// rather than each anywhere ("t075" is not every table of schema
	// s075, whose name holds t and whose schema 075). joinedOnly marks the
	// terms that occur only in such words: they have no clause of their
	// own. Search drops both (loose) when nothing matches them joined.
	joined     [][]int
	joinedOnly []bool
}

// loose returns p with the parts of its letter-digit words matched each
// on its own, in any field.
func (p plan) loose() plan {
	p.joined, p.joinedOnly = nil, nil
	return p
}

// questionWords are words of questions and of the catalog's own
// vocabulary that say nothing about what is sought ("which table has the
// billing address"); like stop words they need not match.
var questionWords = map[string]bool{
	"where": true, "which": true, "what": true, "who": true, "whose": true, "how": true, "why": true,
	"find": true, "table": true, "tables": true, "column": true, "columns": true, "field": true, "fields": true,
	"data": true, "dataset": true, "datasets": true, "contain": true, "contains": true, "containing": true,
	"stored": true, "kept": true, "located": true,
}

// optionalWord reports whether the word w (lower case) is a stop word or
// a question word.
func optionalWord(w string) bool {
	return questionWords[w] || len(terms(stopAnalyzer(), w)) == 0
}

// queryTerms returns the analysed words of s: as the index splits them,
// names written without separators split into their words, plurals
// folded; each with whether it is a stop or question word.
func (l *lexicon) queryTerms(s string) (out []string, optional []bool) {
	out, optional, _ = l.queryTermsJoined(s)
	return out, optional
}

// queryTermsJoined is queryTerms, and also returns the parts of each word
// that splits between letters and digits ("t042" → t, 042): an identifier
// that the parts must match together, in one field (see plan.joined).
func (l *lexicon) queryTermsJoined(s string) (out []string, optional []bool, joined [][]string) {
	for _, t := range lowerTokens().Analyze([]byte(s)) {
		if t.Type == analysis.Shingle {
			continue
		}
		w := string(t.Term)
		parts := l.seg.split(w)
		if parts == nil || l.abbrev.alternatives(fold(w)) != nil {
			// One word, or one the abbreviation table knows whole
			// ("headcount" for hc): the index holds the whole too.
			parts = []string{w}
		}
		var folded []string
		for _, p := range parts {
			folded = append(folded, fold(p))
			optional = append(optional, len(parts) == 1 && optionalWord(w))
		}
		out = append(out, folded...)
		// Digits and letters are split in runs, so a word of several parts
		// with a digit run has letters too.
		if len(parts) > 1 && slices.ContainsFunc(parts, func(p string) bool { return isDigit(p[0]) }) {
			joined = append(joined, folded)
		}
	}
	return out, optional, joined
}

func newPlan(q Query, l *lexicon) plan {
	p := plan{q: q}
	var (
		all    []string
		opt    []bool
		joined [][]string
		alone  = map[string]bool{} // terms that are a word or a part of their own
	)
	for _, w := range q.Words {
		ts, o, j := l.queryTermsJoined(w)
		all, opt, joined = append(all, ts...), append(opt, o...), append(joined, j...)
		n := map[string]int{}
		for _, t := range ts {
			n[t]++
		}
		for _, parts := range j {
			for _, t := range parts {
				n[t]--
			}
		}
		for t, c := range n {
			alone[t] = alone[t] || c > 0
		}
	}
	for _, ph := range q.Phrases {
		ts, _ := l.queryTerms(ph)
		all = append(all, ts...)
		opt = append(opt, make([]bool, len(ts))...) // a phrase's words are wanted
		for _, t := range ts {
			alone[t] = true // the phrase query keeps them together
		}
	}
	for i, t := range all {
		if j := slices.Index(p.terms, t); j >= 0 {
			p.optional[j] = p.optional[j] && opt[i]
			continue
		}
		p.terms = append(p.terms, t)
		p.optional = append(p.optional, opt[i])
	}
	if len(p.terms) > maxTerms {
		p.terms, p.optional = p.terms[:maxTerms], p.optional[:maxTerms]
	}
	if !slices.Contains(p.optional, false) {
		// Only stop or question words: they are what is sought.
		clear(p.optional)
	}
	// A run of words that an abbreviation stands for: the abbreviation
	// scores where it matches ("general ledger" and gl_accounts).
	if len(p.terms) < maxTerms {
		for _, short := range l.abbrev.contractions(p.required()) {
			p.terms = append(p.terms, short)
			p.optional = append(p.optional, true)
		}
	}
	p.joinedOnly = make([]bool, len(p.terms))
	for _, parts := range joined {
		var idx []int
		for _, t := range parts {
			if i := slices.Index(p.terms, t); i >= 0 && !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
		if len(idx) < 2 || len(idx) < len(slices.Compact(slices.Sorted(slices.Values(parts)))) {
			continue // a part cut by maxTerms
		}
		if !slices.ContainsFunc(p.joined, func(g []int) bool { return slices.Equal(g, idx) }) {
			p.joined = append(p.joined, idx)
		}
	}
	for _, g := range p.joined {
		for _, i := range g {
			p.joinedOnly[i] = !alone[p.terms[i]]
		}
	}
	if len(p.joined) == 0 {
		p.joinedOnly = nil
	}
	for i, t := range p.terms {
		var w *fuzzyWord
		if f := fuzziness(t); f > 0 && !p.optional[i] {
			w = newFuzzyWord(t, f)
		}
		p.fuzzy = append(p.fuzzy, w)
		p.alts = append(p.alts, l.abbrev.alternatives(t))
	}
	add := func(s string) {
		if s != "" && !slices.Contains(p.exact, s) {
			p.exact = append(p.exact, s)
		}
	}
	addWords := func(ws []string) {
		if len(ws) == 0 {
			return
		}
		var lw []string
		for _, w := range ws {
			lw = append(lw, lower(w))
		}
		add(strings.Join(lw, "_"))
		add(strings.Join(lw, " "))
		add(squash(strings.Join(lw, "")))
	}
	addWords(q.Words)
	// The words without the question around them: "where is fx_rates".
	var wanted []string
	for _, w := range q.Words {
		if !optionalWord(lower(w)) {
			wanted = append(wanted, w)
		}
	}
	if len(wanted) < len(q.Words) {
		addWords(wanted)
	}
	for _, ph := range q.Phrases {
		add(strings.ReplaceAll(lower(ph), " ", "_"))
		add(squash(ph))
	}
	// A query of one identifier of several words ("customer_email",
	// "customerId") names a column when a column has that name.
	p.identifier = len(q.Words) == 1 && len(q.Phrases) == 0 && len(p.terms) > 1
	return p
}

// required returns the terms a hit must match.
func (p plan) required() []string {
	var out []string
	for i, t := range p.terms {
		if !p.optional[i] {
			out = append(out, t)
		}
	}
	return out
}

// canFuzz reports whether typo tolerance could find more: some word is
// long enough to have typos worth correcting.
func (p plan) canFuzz() bool {
	return slices.ContainsFunc(p.fuzzy, func(w *fuzzyWord) bool { return w != nil })
}

// fuzziness is the edit distance tolerated in a word: none below 4
// letters, where a typo is as likely another word.
func fuzziness(t string) int {
	switch n := len([]rune(t)); {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	}
	return 0
}

var filterFields = map[string]string{
	"owner": fOwner, "tag": fTag, "platform": fPlatform, "kind": fKind, "schema": fSchema, "namespace": fNS,
}

func term(field, value string, boost float64) query.Query {
	q := query.NewTermQuery(value)
	q.SetField(field)
	q.SetBoost(boost)
	return termQuery{TermQuery: q}
}

// unscoredTerm is term for a term that adds nothing to a hit's score:
// one a hit must not hold, or a word common in every field, which must
// match but is not scored (see commonality.narrowing).
func unscoredTerm(field, value string, boost float64) query.Query {
	q := term(field, value, boost).(termQuery)
	q.unscored = true
	return q
}

// termQuery is bleve's term query, whose searcher answers at once when
// the field does not hold the term. A query word is searched in five
// fields and in its whole-name forms, most of which hold nothing; bleve's
// disjunctions advance each of those to every document they look at,
// which had each look through the index's segments. The searcher keeps
// its weight, so that the query norm and the coordination factor of the
// disjunction around it, and so every score, are what they were.
//
// An unscored term's searcher reads no frequencies or norms, so that a
// conjunction or an exclusion advances it through its posting list a
// bitmap at a time instead of a posting at a time: bleve scores the
// clauses of an exclusion, and so walked the million postings of "not a
// job" to reach each match. Its weight still counts in the query norm.
//
// A term of a letter-digit word is searched alone: bleve's conjunction
// of term searchers would intersect their posting lists first, and a
// posting iterator given a narrowed list walks its whole list one posting
// at a time to reach each document left, even unscored: the million
// postings of the t of "t042" in the names, every query.
type termQuery struct {
	*query.TermQuery
	unscored bool
	alone    bool
}

func (q termQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	if q.unscored {
		options.Score = "none"
	}
	s, err := q.TermQuery.Searcher(ctx, i, m, options)
	switch {
	case err != nil:
		return nil, err
	case s.Count() == 0:
		return emptySearcher{s}, nil
	case q.alone:
		return searcherOnly{s}, nil
	}
	return s, nil
}

// searcherOnly is a searcher that bleve cannot merge with others
// (index.Optimizable is not among its methods).
type searcherOnly struct{ search.Searcher }

// emptySearcher is a searcher of a term no document holds.
type emptySearcher struct{ search.Searcher }

func (emptySearcher) Next(*search.SearchContext) (*search.DocumentMatch, error) { return nil, nil }

func (emptySearcher) Advance(*search.SearchContext, index.IndexInternalID) (*search.DocumentMatch, error) {
	return nil, nil
}

// bleveQuery builds the bleve query: every word must match in some
// field, weighted by field; whole-name matches add a large bonus;
// filters and exclusions narrow.
func (p plan) bleveQuery(includeRemoved, jobs, fuzzy bool, common commonality) query.Query {
	var must, required, optional []query.Query
	boosts := fieldBoosts
	if jobs {
		boosts = jobFieldBoosts
	}
	// inField is what matches term i in one field: the term, its
	// abbreviations, its typos. joined: the term is part of a letter-digit
	// word matched in this field with its other parts, which narrow
	// wherever the term is common.
	inField := func(i int, fb fieldBoost, joined bool) []query.Query {
		t := p.terms[i]
		if (fb.field == fText || fb.field == fSQL) && len(terms(stopAnalyzer(), t)) == 0 {
			return nil // a stop word: descriptions do not index it
		}
		// A joined word's terms are searched alone (termQuery.alone).
		mk := func(value string, boost float64, unscored bool) query.Query {
			q := term(fb.field, value, boost).(termQuery)
			q.unscored, q.alone = unscored, joined
			return q
		}
		// A word too common in this field matches where it is rarer
		// (only its typos match here), unless joined.
		var any []query.Query
		if commonHere := slices.Contains(common.fields[t], fb.field); !commonHere || joined {
			any = append(any, mk(t, fb.boost, commonHere || common.narrowing[t]))
			for _, a := range p.alts[i] {
				any = append(any, mk(a, fb.boost*abbrevBoost, false))
			}
		}
		if w := p.fuzzy[i]; fuzzy && w != nil {
			any = append(any, &fuzzyQuery{word: w, field: fb.field, boost: fb.boost * fuzzyBoost})
		}
		return any
	}
	joined := p.minMatch == 0 && len(p.joined) > 0
	for i := range p.terms {
		if joined && p.joinedOnly[i] {
			continue // matched in its word's clause below
		}
		var any []query.Query
		for _, fb := range boosts {
			any = append(any, inField(i, fb, false)...)
		}
		if len(any) == 0 {
			continue
		}
		d := query.NewDisjunctionQuery(any)
		if p.optional[i] {
			d.SetBoost(optionalBoost)
			optional = append(optional, d)
		} else {
			required = append(required, d)
		}
	}
	if joined {
		// A letter-digit word: its parts together, in some field.
		for _, g := range p.joined {
			var any []query.Query
		fields:
			for _, fb := range boosts {
				var all []query.Query
				for _, i := range g {
					q := inField(i, fb, true)
					if len(q) == 0 {
						continue fields
					}
					all = append(all, anyOf(q))
				}
				any = append(any, query.NewConjunctionQuery(all))
			}
			if len(any) == 0 {
				any = append(any, query.NewMatchNoneQuery())
			}
			required = append(required, query.NewDisjunctionQuery(any))
		}
	}
	if p.minMatch > 0 && len(required) > 1 {
		d := query.NewDisjunctionQuery(required)
		d.SetMin(float64(p.minMatch))
		must = append(must, d)
	} else {
		must = append(must, required...)
	}
	for _, ph := range p.q.Phrases {
		must = append(must, phraseQuery(ph))
	}
	// Filters narrow without scoring: as scored terms with no weight they
	// made every score NaN, which left bleve's choice of the first hits
	// to chance.
	byKey := map[string][]query.Query{}
	var keys []string
	var excludedBy []query.Query
	for _, f := range p.q.Filters {
		if f.Exclude {
			excludedBy = append(excludedBy, unscoredTerm(filterFields[f.Key], lower(f.Value), 1))
			continue
		}
		if _, ok := byKey[f.Key]; !ok {
			keys = append(keys, f.Key)
		}
		byKey[f.Key] = append(byKey[f.Key], term(filterFields[f.Key], lower(f.Value), 1))
	}
	var filters []query.Query
	for _, k := range keys {
		filters = append(filters, query.NewDisjunctionQuery(byKey[k]))
	}
	var mustNot []query.Query
	if !includeRemoved {
		// Removed datasets are few: skipping them costs far less than
		// intersecting with every live one.
		mustNot = append(mustNot, unscoredTerm(fRemoved, "yes", 1))
	}
	for _, e := range p.q.Excluded {
		mustNot = append(mustNot, phraseQuery(e))
	}
	mustNot = append(mustNot, excludedBy...)
	if jobs {
		filters = append(filters, term(fType, KindJob, 1))
	} else {
		mustNot = append(mustNot, unscoredTerm(fType, KindJob, 1))
	}
	should := optional
	for _, e := range p.exact {
		should = append(should, term(fExact, e, exactNameBoost), term(fColExact, e, exactColumnBoost))
	}
	if len(must) == 0 {
		must = append(must, query.NewMatchAllQuery())
	}
	b := query.NewBooleanQuery(nil, should, mustNot)
	// Each conjunction is a searcher every match passes through, even
	// around a single clause; a conjunction's score is the sum of its
	// clauses', so one clause alone scores the same.
	b.Must = allOf(must)
	if len(filters) > 0 {
		b.AddFilter(allOf(filters))
	}
	return b
}

// anyOf is the disjunction of qs, or qs[0] alone.
func anyOf(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// allOf is the conjunction of qs, or qs[0] alone.
func allOf(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewConjunctionQuery(qs)
}

// phraseQuery matches words in order in any free-text field (a single
// word in any field).
func phraseQuery(s string) query.Query {
	ts := terms(names, s)
	if len(ts) == 1 {
		var any []query.Query
		for _, fb := range fieldBoosts {
			any = append(any, term(fb.field, ts[0], fb.boost))
		}
		return query.NewDisjunctionQuery(any)
	}
	var any []query.Query
	for _, fb := range fieldBoosts {
		if fb.field == fPath || fb.field == fMeta {
			continue // no positions kept
		}
		q := query.NewMatchPhraseQuery(s)
		q.SetField(fb.field)
		q.SetBoost(fb.boost)
		any = append(any, q)
	}
	return query.NewDisjunctionQuery(any)
}

// commonShare and commonMin set when a word is too common in a field to
// be worth matching there: in more than commonShare of all datasets and
// more than commonMin of them. Scoring and counting facets cost time per
// match; a word in most column names narrows nothing, and matching it
// there would make a query over a large catalog take tens of
// milliseconds. Such a word still matches in the fields where it is rare
// (a name, usually), and in the field where it is least common if it is
// common everywhere.
const (
	commonShare = 0.02
	commonMin   = 1000
)

// commonality is what commonFields found of a query's words.
type commonality struct {
	// fields holds, for each word, the free-text fields it is too common
	// in to match in.
	fields map[string][]string
	// narrowing holds the words common even in the field they are left
	// to match in: the "t" of a table named t042 (split into t and 042) is
	// in every table's name. Such a word must match but is not scored:
	// scoring it read its posting list one posting at a time, a million
	// postings a query at a million datasets, and its weight is nearly
	// the same for every hit.
	narrowing map[string]bool
}

// commonFields returns, for each query word, the free-text fields it is
// too common in to match in, and whether it is common everywhere.
func (x *Index) commonFields(ctx context.Context, words []string) (commonality, error) {
	var out commonality
	if len(words) == 0 {
		return out, nil
	}
	adv, err := x.idx.Advanced()
	if err != nil {
		return out, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return out, fmt.Errorf("search: %w", err)
	}
	defer r.Close()
	docs, err := r.DocCount()
	if err != nil {
		return out, fmt.Errorf("search: %w", err)
	}
	limit := uint64(max(commonMin, int(float64(docs)*commonShare)))
	if docs <= limit {
		return out, nil
	}
	out.fields, out.narrowing = map[string][]string{}, map[string]bool{}
	for _, w := range words {
		var (
			common    []string
			rarest    string
			rarestN   = uint64(math.MaxUint64)
			rareMatch bool
		)
		for _, fb := range fieldBoosts {
			tfr, err := r.TermFieldReader(ctx, []byte(w), fb.field, false, false, false)
			if err != nil {
				return out, fmt.Errorf("search: %w", err)
			}
			n := tfr.Count()
			tfr.Close()
			switch {
			case n > limit:
				common = append(common, fb.field)
				if n < rarestN {
					rarest, rarestN = fb.field, n
				}
			case n > 0:
				rareMatch = true
			}
		}
		if !rareMatch && rarest != "" {
			common = slices.DeleteFunc(common, func(f string) bool { return f == rarest })
			out.narrowing[w] = true
		}
		if len(common) > 0 {
			out.fields[w] = common
		}
	}
	return out, nil
}

// stopAnalyzer is the descriptions' analyzer, to tell stop words.
var stopAnalyzer = sync.OnceValue(func() analysis.Analyzer {
	a, err := bleve.Config.Cache.AnalyzerNamed(textAnalyzer)
	if err != nil {
		panic(err) // registered by this package's init
	}
	return a
})

// run runs one pass of a search; common is what commonFields returned
// for p's words.
func (x *Index) run(ctx context.Context, req Request, p plan, common commonality, fuzzy bool) (Results, error) {
	window := req.Offset+req.Limit <= rerankWindow
	from, size := req.Offset, req.Limit
	if window {
		from, size = 0, rerankWindow
	}
	q := p.bleveQuery(req.IncludeRemoved, req.Jobs, fuzzy, common)
	var out Results
	for _, t := range p.terms {
		if len(common.fields[t]) > 0 {
			out.Common = append(out.Common, t)
		}
	}
	fc := &facetCounter{t: x.facets}
	if ok, err := x.mayFind(q); err != nil {
		return Results{}, fmt.Errorf("search %q: %w", p.q.String(), err)
	} else if !ok {
		out.Facets = fc.facets()
		return out, nil
	}
	// The hits' stored records are read afterwards, all at once (see
	// loadStored), not by bleve hit by hit.
	sr := bleve.NewSearchRequestOptions(q, size, from, false)
	res, err := x.idx.SearchInContext(context.WithValue(ctx, search.MakeDocumentMatchHandlerKey, fc.handler()), sr)
	if err != nil {
		return Results{}, fmt.Errorf("search %q: %w", p.q.String(), err)
	}
	records, err := x.loadStored(res.Hits)
	if err != nil {
		return Results{}, fmt.Errorf("search %q: read hits: %w", p.q.String(), err)
	}
	out.Total = int(res.Total)
	now := x.now()
	hl := newHighlighter(p, x.lex, fuzzy)
	type ranked struct {
		s     stored
		score float64
		rank
	}
	hits := make([]ranked, 0, len(res.Hits))
	for _, h := range res.Hits {
		s, ok := records[h.ID]
		if !ok {
			// Removed since the search read the index.
			continue
		}
		hits = append(hits, ranked{s: s, score: h.Score * trust(s, now)})
	}
	if window {
		// Every candidate is ranked, but only the page is explained: the
		// highlights and snippets of the others would not be shown.
		for i := range hits {
			if x.explainAll {
				_, hits[i].rank = hl.explain(hits[i].s)
			} else {
				hits[i].rank = hl.rank(hits[i].s)
			}
		}
		// Within a match class by Score: BM25 (where the words matched,
		// how often, how rare they are) times trust; then by name.
		slices.SortStableFunc(hits, func(a, b ranked) int {
			return cmp.Or(
				cmp.Compare(a.tier, b.tier),
				cmp.Compare(b.queryCov, a.queryCov),
				cmp.Compare(b.nameCov, a.nameCov),
				cmp.Compare(b.score, a.score),
				strings.Compare(a.s.Name, b.s.Name),
				strings.Compare(a.s.Namespace, b.s.Namespace))
		})
		hits = hits[min(req.Offset, len(hits)):min(req.Offset+req.Limit, len(hits))]
	}
	for _, h := range hits {
		hit, _ := hl.explain(h.s)
		hit.Score = h.score
		out.Hits = append(out.Hits, hit)
	}
	out.Facets = fc.facets()
	return out, nil
}

// Match classes, best first. A hit's tier is the worst class among the
// query's words, each word counted where it matched best: a dataset whose
// name holds every word ranks above one that needs its columns for some.
const (
	classExact = iota
	classExactColumn
	className
	classColumn
	classSchema
	classMeta
	classText
	classTypo
	classNone
)

// trust multiplies a hit's relevance by what says a dataset is worth
// using: documented, owned, recently updated, used by others, read; removed
// datasets sink.
func trust(s stored, now time.Time) float64 {
	t := 1.0
	if s.Description != "" {
		t += 0.2
	}
	if len(s.Owners) > 0 {
		t += 0.1
	}
	if s.UpdatedAt > 0 && now.Sub(time.Unix(s.UpdatedAt, 0)) < 30*24*time.Hour {
		t += 0.1
	}
	if s.Consumers > 0 {
		// Downstream consumers (foreign keys today, lineage later).
		t += 0.2 * min(1, math.Log2(1+float64(s.Consumers))/4)
	}
	if s.Popularity > 0 {
		// How much it is read (jobs, runs, queries; catalog.Popularity),
		// log-scaled already: at most as much as a description, so that
		// it orders hits that match alike and never outweighs a better
		// match (hits are sorted by match class and coverage first).
		t += 0.2 * min(1, float64(s.Popularity)/2000)
	}
	if s.Removed {
		t *= 0.5
	}
	return t
}
