package search

import (
	"cmp"
	"html"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"

	"almanac/catalog"
)

// Snippet is a piece of text cut into spans, some of them marked as
// matching the query. The page renders the spans itself; HTML gives the
// escaped form with <mark> elements for other uses.
type Snippet []Span

// Span is a run of text of a snippet.
type Span struct {
	Text  string
	Match bool
}

// HTML returns the snippet HTML-escaped, matches wrapped in <mark>: the
// only markup it ever contains.
func (s Snippet) HTML() string {
	var b strings.Builder
	for _, sp := range s {
		if sp.Match {
			b.WriteString("<mark>")
			b.WriteString(html.EscapeString(sp.Text))
			b.WriteString("</mark>")
		} else {
			b.WriteString(html.EscapeString(sp.Text))
		}
	}
	return b.String()
}

// String returns the snippet's plain text.
func (s Snippet) String() string {
	var b strings.Builder
	for _, sp := range s {
		b.WriteString(sp.Text)
	}
	return b.String()
}

// Marked returns the snippet with matches in brackets, [like] [this]: for
// tests and logs.
func (s Snippet) Marked() string {
	var b strings.Builder
	for _, sp := range s {
		if sp.Match {
			b.WriteString("[" + sp.Text + "]")
		} else {
			b.WriteString(sp.Text)
		}
	}
	return b.String()
}

// Lengths of description snippets, in bytes.
const (
	snippetLen    = 200
	snippetBefore = 60
	maxColumnHits = 5
)

// highlighter explains hits: where each query word matched, the match
// class that ranks the hit, and the highlighted snippets. It repeats the
// index's analysis on the hit's stored values, so that it needs no term
// vectors.
type highlighter struct {
	p     plan
	lex   *lexicon
	fuzzy bool
	// stems are what a text must hold for a word of it to equal a query
	// word or one of its other forms after lower-casing and folding
	// plurals (see stem).
	stems []string
	// seen remembers what scan found in each text, for the rest of the
	// search: a search ranks up to 50 candidates and explains 20, and
	// their column names, descriptions and tags repeat (id, created_at,
	// a team's name), each analysed and split once rather than once a
	// hit. It lives as long as the search, so it pins nothing.
	seen map[string]scanned
}

// scanned is what scan found in a text: the text cut into spans, how many
// of its words matched, and for each query word whether it matched
// exactly (matchExact), by a typo (matchTypo) or not at all.
type scanned struct {
	sn      Snippet
	matched int
	kinds   []uint8
}

const (
	matchNone = iota
	matchExact
	matchTypo
)

// maxSeen bounds highlighter.seen: beyond it, texts are scanned each time.
const maxSeen = 20_000

func newHighlighter(p plan, lex *lexicon, fuzzy bool) *highlighter {
	h := &highlighter{p: p, lex: lex, fuzzy: fuzzy}
	for i, t := range p.terms {
		for _, w := range append([]string{t}, p.alts[i]...) {
			h.stems = append(h.stems, stem(w))
		}
	}
	return h
}

// stem is what a text must contain, lower-cased, to hold the folded
// word w: w itself, as folding plurals only drops an ending, except for
// "-ies" → "-y" and "-es" → "-e", where it is w without its last letter.
func stem(w string) string {
	if strings.HasSuffix(w, "y") || strings.HasSuffix(w, "e") {
		return w[:len(w)-1]
	}
	return w
}

// mayMatch reports whether s could hold a query word: analysing a text
// is most of the cost of explaining a hit, and most texts of a hit (its
// column names, its descriptions) hold none.
func (h *highlighter) mayMatch(s string) bool {
	if h.fuzzy {
		return true
	}
	ls := strings.ToLower(s)
	for _, st := range h.stems {
		if strings.Contains(ls, st) {
			return true
		}
	}
	return false
}

// holdsStem reports whether the lower-case word w could hold a query
// word; always in a fuzzy search.
func (h *highlighter) holdsStem(w string) bool {
	if h.fuzzy {
		return true
	}
	for _, st := range h.stems {
		if strings.Contains(w, st) {
			return true
		}
	}
	return false
}

// match returns the class of token tok for query word i: class when equal,
// classTypo when the typo query matches it (in a fuzzy search), classNone
// otherwise.
func (h *highlighter) match(tok string, i, class int) int {
	if tok == h.p.terms[i] || slices.Contains(h.p.alts[i], tok) {
		return class
	}
	if w := h.p.fuzzy[i]; h.fuzzy && w != nil && w.matches(tok) {
		return classTypo
	}
	return classNone
}

// scan analyses s and records, for each query word, the best class it
// matched with; it returns s cut into spans with the matched words marked,
// and how many of s's words matched.
func (h *highlighter) scan(s string, class int, best []int) (sn Snippet, matched int) {
	if !h.mayMatch(s) {
		if s == "" {
			return nil, 0
		}
		return Snippet{{Text: s}}, 0
	}
	r, ok := h.seen[s]
	if !ok {
		// Scanned as the best class, so that what each word matched as
		// shows: the best class, a typo, or none.
		found := make([]int, len(h.p.terms))
		for i := range found {
			found[i] = classNone
		}
		r.sn, r.matched, _ = h.scanName(s, classExact, found, nil)
		r.kinds = make([]uint8, len(found))
		for i, f := range found {
			switch f {
			case classExact:
				r.kinds[i] = matchExact
			case classTypo:
				r.kinds[i] = matchTypo
			}
		}
		if h.seen == nil {
			h.seen = map[string]scanned{}
		}
		if len(h.seen) < maxSeen {
			h.seen[s] = r
		}
	}
	for i, k := range r.kinds {
		switch k {
		case matchExact:
			best[i] = min(best[i], class)
		case matchTypo:
			best[i] = min(best[i], classTypo)
		}
	}
	// Shared by every hit that holds the text: appending copies.
	return slices.Clip(r.sn), r.matched
}

// scanName is scan that also returns how many words s has and records in
// inName which query words matched (exactly or by a typo).
func (h *highlighter) scanName(s string, class int, best []int, inName []bool) (sn Snippet, matched, words int) {
	// A search explains every text of up to 50 hits, and a search with
	// typos cannot tell which hold no query word: the tokens are lent.
	sc := scratchPool.Get().(*tokenScratch)
	defer func() { sc.reset(); scratchPool.Put(sc) }()
	toks := analyzeInto(names, []byte(s), sc)
	var mark []bool
	// see records a word (or a whole of several) from start to end of s:
	// whether it matches a query word, and marks it if so.
	see := func(term string, start, end int, counted bool) {
		hit := false
		for i := range h.p.terms {
			if c := h.match(term, i, class); c != classNone {
				hit = true
				best[i] = min(best[i], c)
				if inName != nil {
					inName[i] = true
				}
			}
		}
		// Layer prefixes ("stg_", "fct_") do not count in the dataset's
		// own name unless the query asks for them.
		if counted && !(inName != nil && layerPrefixes[term] && !hit) {
			words++
			if hit {
				matched++
			}
		}
		if !hit {
			return
		}
		if mark == nil {
			mark = make([]bool, len(s))
		}
		for i := start; i < end; i++ {
			mark[i] = true
		}
	}
	for _, tk := range toks {
		if tk.Type == analysis.Shingle {
			see(string(tk.Term), tk.Start, tk.End, false)
			continue
		}
		// A word written without separators counts as its parts, as the
		// index splits it; the whole still matches. (Outside the name, a
		// word that holds no query word need not be split.)
		if inName == nil && !h.holdsStem(string(tk.Term)) {
			see(string(tk.Term), tk.Start, tk.End, true)
			continue
		}
		if spans := h.lex.seg.spans(string(tk.Term)); spans != nil {
			see(string(tk.Term), tk.Start, tk.End, false)
			for _, sp := range spans {
				see(sp.folded, tk.Start+sp.start, tk.Start+sp.end, true)
			}
			continue
		}
		see(string(tk.Term), tk.Start, tk.End, true)
	}
	if mark == nil {
		if s == "" {
			return nil, 0, words
		}
		return Snippet{{Text: s}}, 0, words
	}
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || mark[i] != mark[start] {
			sn = append(sn, Span{Text: s[start:i], Match: mark[start]})
			start = i
		}
	}
	return sn, matched, words
}

// layerPrefixes are name prefixes that say which layer of a warehouse a
// dataset belongs to rather than what it holds; they do not count when
// judging how much of a name a query covers.
var layerPrefixes = map[string]bool{
	"stg": true, "fct": true, "fact": true, "dim": true, "int": true, "raw": true, "src": true,
	"base": true, "tmp": true, "agg": true, "v": true, "vw": true, "mv": true, "tbl": true,
}

// rank is what orders the first hits, best first: the tier (the worst
// match class among the query's words), the share of the query's words
// found in the dataset's own name, the share of that name's words the
// query covers; run breaks ties by name.
type rank struct {
	tier              int
	queryCov, nameCov float64
}

// explain builds the hit for a stored dataset and returns its rank.
func (h *highlighter) explain(s stored) (Hit, rank) {
	return h.explainAs(s, true)
}

// rank returns the rank explain would: run ranks every candidate of the
// re-ranking window but shows only a page of them, so it explains the
// page alone. It skips what the rank does not depend on (snippets,
// columns to show, where the query matched) and every text that cannot
// change the tier: one whose match class is no worse than where each
// needed word has already matched. For a word matched in the name, that
// is every text but the name.
func (h *highlighter) rank(s stored) rank {
	_, r := h.explainAs(s, false)
	return r
}

// explainAs is explain; without full, only the rank is right.
func (h *highlighter) explainAs(s stored, full bool) (Hit, rank) {
	hit := Hit{
		ID: s.ID, Key: catalog.Key{Namespace: s.Namespace, Name: s.Name},
		Platform: s.Platform, Kind: catalog.Kind(s.Kind),
		Owners: s.Owners, Tags: s.Tags, Removed: s.Removed,
	}
	if s.UpdatedAt > 0 {
		hit.UpdatedAt = time.Unix(s.UpdatedAt, 0).UTC()
	}
	best := make([]int, len(h.p.terms))
	for i := range best {
		best[i] = classNone
	}
	// need reports whether a text of the given class must be scanned: in
	// full, always; for the rank only, when some needed word has matched
	// nowhere as good yet. Scanning such a text could only improve the
	// other words, which the tier leaves out.
	need := func(class int) bool {
		if full {
			return true
		}
		for i, b := range best {
			if !h.p.optional[i] && b > class {
				return true
			}
		}
		return false
	}
	own, _ := splitName(s.Name)

	// The name: the parts before the dataset's own name (database,
	// schema, folders), then its own.
	exact := h.exactName(s.Name, own)
	if exact && !full {
		// The best tier, and full coverage, whatever else matched.
		return hit, rank{tier: classExact, nameCov: 1, queryCov: 1}
	}
	cut := max(0, strings.LastIndex(s.Name, own))
	var pre Snippet
	if full {
		pre, _ = h.scan(s.Name[:cut], classSchema, best)
	}
	inName := make([]bool, len(h.p.terms))
	// The own name is always scanned, as the coverages come from it, but
	// not analysed when it holds no query word: then it covers nothing
	// however many words it has.
	var (
		name           Snippet
		matched, words int
	)
	if h.mayMatch(s.Name[cut:]) {
		name, matched, words = h.scanName(s.Name[cut:], className, best, inName)
	} else if s.Name[cut:] != "" {
		name = Snippet{{Text: s.Name[cut:]}}
	}
	if exact {
		name = Snippet{{Text: s.Name[cut:], Match: true}}
	}
	if !full && need(classSchema) {
		// After the own name, which often makes it needless.
		h.scan(s.Name[:cut], classSchema, best)
	}
	hit.Name = append(pre, name...)
	coverage := 0.0
	if exact {
		coverage = 1
	} else if words > 0 {
		coverage = float64(matched) / float64(max(words, 1))
	}
	if need(classSchema) {
		h.scan(s.Namespace, classSchema, best)
	}

	// Columns: by name, then by description.
	type colHit struct {
		hit   ColumnHit
		exact bool
		name  bool
	}
	var (
		cols        []colHit
		exactColumn bool
	)
	for _, c := range s.Columns {
		ch := colHit{hit: ColumnHit{Name: c.Name}}
		// Only the very name ranks as an exact column; "customer_id" is
		// still marked whole for "customerId".
		literal := slices.Contains(h.p.exact, lower(c.Name))
		if !full {
			// Column descriptions after tags and owners, which rank
			// better and are fewer, so that a word found there spares
			// reading them.
			exactColumn = exactColumn || (literal && h.p.identifier)
			if need(classColumn) {
				h.scan(c.Name, classColumn, best)
			}
			continue
		}
		ch.exact = literal || slices.ContainsFunc(h.p.exact, func(e string) bool { return squashIs(c.Name, e) })
		var nameMatched, descMatched int
		ch.hit.Highlighted, nameMatched = h.scan(c.Name, classColumn, best)
		if ch.exact {
			ch.hit.Highlighted = Snippet{{Text: c.Name, Match: true}}
			exactColumn = exactColumn || (literal && h.p.identifier)
		}
		if c.Description != "" {
			var d Snippet
			d, descMatched = h.scan(c.Description, classText, best)
			if descMatched > 0 {
				ch.hit.Description = clip(d)
			} else {
				ch.hit.Description = Snippet{{Text: truncate(c.Description, snippetLen)}}
			}
		}
		ch.name = nameMatched > 0 || ch.exact
		if ch.name || descMatched > 0 {
			cols = append(cols, ch)
		}
	}
	slices.SortStableFunc(cols, func(a, b colHit) int {
		return cmp.Or(boolOrder(a.exact, b.exact), boolOrder(a.name, b.name))
	})
	for _, c := range cols[:min(len(cols), maxColumnHits)] {
		hit.Columns = append(hit.Columns, c.hit)
	}

	// Tags and owners.
	for _, v := range s.Tags {
		if need(classMeta) {
			h.scan(v, classMeta, best)
		}
	}
	for _, v := range s.Owners {
		if need(classMeta) {
			h.scan(v, classMeta, best)
		}
	}

	if !full {
		for _, c := range s.Columns {
			if c.Description != "" && need(classText) {
				h.scan(c.Description, classText, best)
			}
		}
	}

	// Descriptions: the first that matches, else the dataset's own.
	for _, d := range append([]string{s.Description}, s.OtherDocs...) {
		if d == "" || !need(classText) {
			continue
		}
		if sn, n := h.scan(d, classText, best); n > 0 && hit.Description == nil && full {
			hit.Description = clip(sn)
		}
	}
	if hit.Description == nil && s.Description != "" && full {
		hit.Description = Snippet{{Text: truncate(s.Description, snippetLen)}}
	}

	tier := classExact
	switch {
	case exact:
		if full {
			hit.Matched = append(hit.Matched, "exact name")
		}
	case exactColumn:
		tier = classExactColumn
		if full {
			hit.Matched = append(hit.Matched, "exact column")
		}
	default:
		// The worst class among the words the query needs (in a fallback,
		// among those that matched).
		for i, b := range best {
			if h.p.optional[i] || (b == classNone && h.p.minMatch > 0) {
				continue
			}
			tier = max(tier, b)
		}
	}
	if full {
		for _, c := range []struct {
			class int
			label string
		}{{className, "name"}, {classColumn, "column"}, {classSchema, "schema"}, {classMeta, "tag or owner"}, {classText, "description"}, {classTypo, "typo"}} {
			if slices.Contains(best, c.class) && !(exact && c.class == className) && !(exactColumn && c.class == classColumn) {
				hit.Matched = append(hit.Matched, c.label)
			}
		}
	}
	r := rank{tier: tier, nameCov: coverage, queryCov: 1}
	if !exact {
		n, of := 0, 0
		for i, in := range inName {
			if h.p.optional[i] {
				continue
			}
			of++
			if in {
				n++
			}
		}
		if of > 0 {
			r.queryCov = float64(n) / float64(of)
		}
	}
	return hit, r
}

// exactName reports whether one of the exact forms of the dataset name
// (own, its last part) is a whole-name form of the query. Every form but
// the squashed one ends with the own name, so a query form that neither
// ends with it nor is it squashed rules the name out without making the
// forms.
func (h *highlighter) exactName(name, own string) bool {
	if strings.HasSuffix(name, own) {
		lo := lower(own)
		if !slices.ContainsFunc(h.p.exact, func(e string) bool { return strings.HasSuffix(e, lo) }) &&
			!slices.ContainsFunc(h.p.exact, func(e string) bool { return squashIs(own, e) }) {
			return false
		}
	}
	return slices.ContainsFunc(exactForms(name), func(f string) bool { return slices.Contains(h.p.exact, lower(f)) })
}

// boolOrder sorts true before false.
func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// clip cuts a long snippet to about snippetLen bytes around its first
// match, at word boundaries, with ellipses where it cut.
func clip(s Snippet) Snippet {
	text := s.String()
	if len(text) <= snippetLen {
		return s
	}
	first := 0
	for _, sp := range s {
		if sp.Match {
			break
		}
		first += len(sp.Text)
	}
	start := max(0, first-snippetBefore)
	if start > 0 {
		if i := strings.IndexByte(text[start:], ' '); i >= 0 && start+i < first {
			start += i + 1
		}
	}
	end := min(len(text), start+snippetLen)
	if end < len(text) {
		if i := strings.LastIndexByte(text[start:end], ' '); i > first-start {
			end = start + i
		}
	}
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	for end < len(text) && !utf8.RuneStart(text[end]) {
		end++
	}
	var out Snippet
	if start > 0 {
		out = append(out, Span{Text: "…"})
	}
	off := 0
	for _, sp := range s {
		a, b := max(off, start), min(off+len(sp.Text), end)
		if a < b {
			out = append(out, Span{Text: sp.Text[a-off : b-off], Match: sp.Match})
		}
		off += len(sp.Text)
	}
	if end < len(text) {
		out = append(out, Span{Text: "…"})
	}
	return out
}

// truncate cuts s to about n bytes at a word boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexByte(s[:cut], ' '); i > n/2 {
		cut = i
	}
	return s[:cut] + "…"
}

func sameFirstRune(a, b string) bool {
	ra, _ := utf8.DecodeRuneInString(a)
	rb, _ := utf8.DecodeRuneInString(b)
	return ra == rb
}
