package search

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/ccojocar/zxcvbn-go/data"

	"almanac/catalog/store"
)

// Warehouses often write identifiers without separators: PostgreSQL and
// Oracle fold unquoted CamelCase to one case (employeedepartmenthistory,
// INVOICELINE), and people concatenate (tblcustaddr). The segmenter splits
// such words into the words they are made of, by dynamic programming over
// a vocabulary: the cheapest sequence of known words, a word's cost
// growing with the logarithm of its rank (Zipf's law, as in wordninja),
// with unknown stretches allowed at a high cost so that leftovers stay as
// parts. The vocabulary is
//
//   - the words of the catalog itself: the parts of names written with
//     separators (snake_case, camelCase, dotted), of column names, tags and
//     owners, and the words of descriptions, ranked by how often the
//     catalog uses them; learnt when an index is built (see vocabulary),
//   - the abbreviations of the abbreviation table (cust, addr, qty…),
//   - a bundled English word list: the frequency lists that
//     github.com/ccojocar/zxcvbn-go ships (MIT; 32,545 English words ranked
//     by frequency in film and TV subtitles, then US census names and
//     common passwords, from which words of four letters or more are taken:
//     they hold words such as bill, sales, price and password that the
//     English list leaves to them).
//
// The parts are indexed beside the whole word, so that the word itself
// and its exact name still match and rank first.

// Costs of the segmentation, in nats.
const (
	// unknownCost and unknownPerByte price a stretch of letters that is no
	// known word: high enough that a known word is always preferred, low
	// enough that a long known word beside a short unknown stretch
	// ("xyz" + "customer") beats the whole as unknown.
	unknownCost    = 10
	unknownPerByte = 2
	// minSegment is the shortest run of letters worth segmenting.
	minSegment = 5
	// maxWordLen is the longest word the vocabulary holds.
	maxWordLen = 24
	// minUnknownPart is the shortest unknown leftover accepted; a
	// segmentation that would leave shorter ones is refused (the word stays
	// whole): "custmer" must not become "cust" + "mer".
	minUnknownPart = 4
	// segCacheMax bounds the cache of segmentations.
	segCacheMax = 16_384
)

// shortWords are the two-letter words a segmentation may use besides the
// abbreviation table's: more would cut unknown words into nonsense.
var shortWords = []string{"of", "to", "in", "on", "by", "at", "is", "or", "no", "up", "vs"}

// englishCosts is the cost of each word of the bundled English lists.
var englishCosts = sync.OnceValue(func() map[string]float64 {
	out := map[string]float64{}
	lists := []struct {
		asset  string
		minLen int
	}{
		{"data/English.json", 1},
		{"data/Surnames.json", 4},
		{"data/MaleNames.json", 4},
		{"data/FemaleNames.json", 4},
		{"data/Passwords.json", 4},
	}
	rank := 0
	var words []string
	for _, l := range lists {
		b, err := data.Asset(l.asset)
		if err != nil {
			panic(err) // the module ships it
		}
		var v struct{ List []string }
		if err := json.Unmarshal(b, &v); err != nil {
			panic(err)
		}
		for _, w := range v.List {
			if len(w) < l.minLen || len(w) > maxWordLen || !isLowerLetters(w) {
				continue
			}
			if _, ok := out[w]; ok {
				continue
			}
			out[w] = 0
			words = append(words, w)
		}
	}
	logN := math.Log(float64(len(words)))
	for _, w := range words {
		rank++
		out[w] = math.Log(float64(rank) * logN)
	}
	return out
})

// isLowerLetters reports whether s is made of the letters a to z only.
func isLowerLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

// segmenter splits words written without separators into their parts. It
// is safe for concurrent use and never changes once made: an index keeps
// one for its whole life, so that documents and queries are split alike.
type segmenter struct {
	english map[string]float64
	catalog map[string]float64 // the catalog's words, by rank
	short   map[string]bool    // two-letter words allowed
	// cache holds splits of words whose letters were segmented (word →
	// []wordSpan, nil: not split), up to segCacheMax of them, then starts
	// afresh: the words that recur are soon back, and a cache that only
	// grew kept its first 200,000 words, which every garbage collection
	// walked.
	cache  atomic.Pointer[sync.Map]
	cached atomic.Int64
}

// newSegmenter makes a segmenter over the English lists, the catalog's
// vocabulary v and the abbreviations' short forms.
func newSegmenter(v *vocabulary, abbrev *abbreviations) *segmenter {
	s := &segmenter{english: englishCosts(), catalog: map[string]float64{}, short: map[string]bool{}}
	s.cache.Store(new(sync.Map))
	for _, w := range shortWords {
		s.short[w] = true
	}
	words := v.ranked()
	logN := math.Log(float64(len(words) + 2))
	for i, w := range words {
		s.catalog[w] = math.Log(float64(i+1) * logN)
	}
	// Abbreviations are known words, as common as a word of the catalog's
	// middle ranks: those of the table the index was built with, so that
	// a change of the table splits nothing differently until a rebuild.
	if v.shorts == nil {
		for short := range abbrev.expand {
			v.shorts = append(v.shorts, short)
		}
		slices.Sort(v.shorts)
	}
	abbrevCost := math.Log(float64(len(words)/2+50) * logN)
	for _, short := range v.shorts {
		if len(short) == 2 {
			s.short[short] = true
		}
		if c, ok := s.catalog[short]; !ok || c > abbrevCost {
			s.catalog[short] = abbrevCost
		}
	}
	return s
}

// cost returns the cost of w as a word, and whether it is known.
func (s *segmenter) cost(w string) (float64, bool) {
	if len(w) < 2 || (len(w) == 2 && !s.short[w]) {
		return 0, false
	}
	c, ok := s.catalog[w]
	if e, eok := s.english[w]; eok && (!ok || e < c) {
		c, ok = e, true
	}
	return c, ok
}

// split returns the parts of the lower-case word tok, letters and digits
// apart ("header2024" → header, 2024) and runs of letters segmented
// ("employeedepartmenthistory" → employee, department, history); nil when
// tok is one part.
func (s *segmenter) split(tok string) []string {
	sp := s.spans(tok)
	if sp == nil {
		return nil
	}
	out := make([]string, len(sp))
	for i, p := range sp {
		out[i] = p.text
	}
	return out
}

// wordSpan is a part of a word, with its byte offsets in the word and
// its plural folded as the index holds it.
type wordSpan struct {
	text, folded string
	start, end   int
}

// spans returns the parts of tok with their offsets, nil when tok is one
// part. Results are cached: the same words recur in every document.
func (s *segmenter) spans(tok string) []wordSpan {
	if s == nil || len(tok) < 2 || (len(tok) < minSegment && !strings.ContainsAny(tok, "0123456789")) {
		return nil
	}
	if !segmentable(tok) {
		// Split at its digits alone, if at all, which costs less than
		// caching it: every number and every t000042 of a catalog filled
		// the cache, 50 MB of pointers at 100,000 datasets that every
		// garbage collection walked (200 ms a cycle, on every request).
		return s.spansOf(tok)
	}
	cache := s.cache.Load()
	if v, ok := cache.Load(tok); ok {
		return v.([]wordSpan)
	}
	out := s.spansOf(tok)
	if _, loaded := cache.LoadOrStore(tok, out); !loaded && s.cached.Add(1) >= segCacheMax {
		s.cache.Store(new(sync.Map))
		s.cached.Store(0)
	}
	return out
}

// spansOf is spans without the cache.
func (s *segmenter) spansOf(tok string) []wordSpan {
	var out []wordSpan
	if parts := s.splitUncached(tok); len(parts) > 1 {
		out = make([]wordSpan, 0, len(parts))
		off := 0
		for _, p := range parts {
			f := p
			if !isDigit(p[0]) { // digits fold to themselves
				f = fold(p)
			}
			out = append(out, wordSpan{text: p, folded: f, start: off, end: off + len(p)})
			off += len(p)
		}
	}
	return out
}

// segmentable reports whether the word tok has a run of letters long
// enough for segment to look for words in, the costly part of a split.
func segmentable(tok string) bool {
	run := 0
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c >= 'a' && c <= 'z' || c >= utf8.RuneSelf {
			if run++; run >= minSegment {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

func (s *segmenter) splitUncached(tok string) []string {
	var parts []string
	for i := 0; i < len(tok); {
		j := i
		digit := isDigit(tok[i])
		for j < len(tok) && isDigit(tok[j]) == digit {
			if !digit && (tok[j] < 'a' || tok[j] > 'z') {
				return nil // not plain ASCII: left alone
			}
			j++
		}
		run := tok[i:j]
		if digit || len(run) < minSegment {
			parts = append(parts, run)
		} else {
			parts = append(parts, s.segment(run)...)
		}
		i = j
	}
	return parts
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// segment splits a run of letters a to z into the cheapest sequence of
// words, or returns it whole.
func (s *segmenter) segment(run string) []string {
	n := len(run)
	best := make([]float64, n+1)
	from := make([]int, n+1)
	known := make([]bool, n+1)
	for i := 1; i <= n; i++ {
		best[i] = math.Inf(1)
		for j := max(0, i-maxWordLen); j < i; j++ {
			if math.IsInf(best[j], 1) {
				continue
			}
			w := run[j:i]
			c, ok := s.cost(w)
			if !ok {
				if i-j < minUnknownPart && !(j == 0 && i == n) {
					continue
				}
				c = unknownCost + unknownPerByte*float64(i-j)
			}
			if b := best[j] + c; b < best[i] {
				best[i], from[i], known[i] = b, j, ok
			}
		}
	}
	var parts []string
	unknownBytes := 0
	for i := n; i > 0; i = from[i] {
		parts = append(parts, run[from[i]:i])
		if !known[i] {
			unknownBytes += i - from[i]
		}
	}
	slices.Reverse(parts)
	// A third or more unknown: not worth splitting.
	if len(parts) < 2 || unknownBytes*3 > n {
		return []string{run}
	}
	return parts
}

// lowerTokens are the words of s as the index splits them, lower-cased,
// before plurals are folded: what the segmenter works on.
var lowerTokens = sync.OnceValue(func() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{Tokenizer: wordTokenizer{}, TokenFilters: []analysis.TokenFilter{lowerFilter{}}}
})

// lowerFilter lower-cases tokens (bleve's lowercase filter, which the
// highlighter's offsets assume keeps lengths; ASCII is all segment splits).
type lowerFilter struct{}

func (lowerFilter) Filter(ts analysis.TokenStream) analysis.TokenStream {
	for _, t := range ts {
		t.Term = []byte(strings.ToLower(string(t.Term)))
	}
	return ts
}

// partsText returns the parts of the words of s that split, separated by
// spaces ("" when none does): indexed after s itself, so that a name
// written without separators is found by its words, in order.
func (s *segmenter) partsText(text string) string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	// The tokens of lowerTokens, lower-cased only when they may split: a
	// build runs this on every name and description, and lower-casing
	// every token cost two allocations each.
	sc := scratchPool.Get().(*tokenScratch)
	defer func() { sc.reset(); scratchPool.Put(sc) }()
	ts := (wordTokenizer{}).tokenizeInto([]byte(text), sc)
	sc.keep(ts)
	for _, t := range ts {
		if t.Type == analysis.Shingle || tooShortToSplit(t.Term) {
			continue
		}
		for _, p := range s.split(strings.ToLower(string(t.Term))) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

// tooShortToSplit reports whether the token tok, an ASCII one, is one
// that spans leaves whole for its length alone (lower-casing ASCII keeps
// the length).
func tooShortToSplit(tok []byte) bool {
	for _, c := range tok {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return len(tok) < 2 || (len(tok) < minSegment && !slices.ContainsFunc(tok, isDigit))
}

// withParts is text followed by the parts of its words that split.
func (s *segmenter) withParts(text string) string {
	if p := s.partsText(text); p != "" {
		return text + " " + p
	}
	return text
}

// vocabulary counts the words of a catalog, learnt before its index is
// built. Words of names count only from names written with separators: a
// name of one word may be a concatenation ("employeedepartmenthistory")
// that must stay splittable.
type vocabulary struct {
	counts map[string]int
	// shorts are the abbreviations the segmenter knows as words.
	shorts []string
}

func newVocabulary() *vocabulary { return &vocabulary{counts: map[string]int{}} }

// learn counts the words of a dataset.
func (v *vocabulary) learn(d Dataset) {
	v.name(d.Key.Name, 1)
	for _, c := range d.Columns {
		v.identifier(c.Name, 1)
		v.prose(c.Description, 1)
	}
	for _, t := range d.Tags {
		v.identifier(t, 1)
	}
	for _, o := range d.Owners {
		v.identifier(o, 1)
	}
	v.prose(d.Description, 1)
	for _, o := range d.OtherDescriptions {
		v.prose(o, 1)
	}
}

// learnCatalog counts the words of every dataset of the catalog as learn
// would, from its names and descriptions alone (store.CatalogTexts):
// reading every dataset whole for it took a quarter of a build. Each
// text is analysed once however often it comes (column names repeat
// from table to table). It returns how many datasets it read.
func (v *vocabulary) learnCatalog(ctx context.Context, st *store.Store) (int64, error) {
	var datasets int64
	idents, prose := map[string]int{}, map[string]int{}
	err := st.CatalogTexts(ctx, func(kind int, text string, n int) error {
		switch kind {
		case store.TextName:
			datasets++
			v.name(text, n)
		case store.TextIdentifier:
			idents[text] += n
		case store.TextProse:
			prose[text] += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for s, n := range idents {
		v.identifier(s, n)
	}
	for s, n := range prose {
		v.prose(s, n)
	}
	return datasets, nil
}

// name counts the parts of a qualified name, n times.
func (v *vocabulary) name(s string, n int) {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '/' }) {
		v.identifier(part, n)
	}
}

// identifier counts the parts of an identifier of several parts, n
// times.
func (v *vocabulary) identifier(s string, times int) {
	sc := scratchPool.Get().(*tokenScratch)
	defer func() { sc.reset(); scratchPool.Put(sc) }()
	ts := analyzeInto(lowerTokens(), []byte(s), sc)
	n := 0
	for _, t := range ts {
		if t.Type != analysis.Shingle {
			n++
		}
	}
	if n < 2 {
		return
	}
	for _, t := range ts {
		if t.Type != analysis.Shingle {
			v.add(string(t.Term), times)
		}
	}
}

// prose counts the words of a text, camelCase words by their parts
// (a comment that names PurchaseOrderDetail teaches purchase, order and
// detail, not purchaseorderdetail), n times.
func (v *vocabulary) prose(s string, n int) {
	if s == "" {
		return
	}
	sc := scratchPool.Get().(*tokenScratch)
	defer func() { sc.reset(); scratchPool.Put(sc) }()
	for _, t := range analyzeInto(lowerTokens(), []byte(s), sc) {
		if t.Type != analysis.Shingle {
			v.add(string(t.Term), n)
		}
	}
}

func (v *vocabulary) add(w string, n int) {
	if len(w) >= 2 && len(w) <= maxWordLen && isLowerLetters(w) {
		v.counts[w] += n
	}
}

// ranked returns the words, most frequent first.
func (v *vocabulary) ranked() []string {
	if v == nil {
		return nil
	}
	words := make([]string, 0, len(v.counts))
	for w := range v.counts {
		words = append(words, w)
	}
	slices.SortFunc(words, func(a, b string) int {
		if c := v.counts[b] - v.counts[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return words
}

// encode writes the vocabulary as "word count" lines, to keep it in the
// index beside the documents it split.
func (v *vocabulary) encode() []byte {
	var b strings.Builder
	for _, w := range v.shorts {
		b.WriteString("!" + w + "\n")
	}
	for _, w := range v.ranked() {
		b.WriteString(w)
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(v.counts[w]))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// decodeVocabulary reads what encode wrote.
func decodeVocabulary(b []byte) *vocabulary {
	v := newVocabulary()
	for _, line := range strings.Split(string(b), "\n") {
		if short, ok := strings.CutPrefix(line, "!"); ok {
			v.shorts = append(v.shorts, short)
			continue
		}
		w, n, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if c, err := strconv.Atoi(n); err == nil {
			v.counts[w] = c
		}
	}
	return v
}
