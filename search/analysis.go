package search

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/registry"
)

// Analyzer names registered with bleve. They are part of the index
// mapping, so renaming one needs a new mappingVersion.
const (
	// nameAnalyzer splits identifiers into their word parts: snake_case,
	// camelCase, dotted and hyphenated names, lower-cased and with English
	// plurals folded ("orderItems" → order, item).
	nameAnalyzer = "almanac_name"
	// textAnalyzer is nameAnalyzer for prose: the same word splitting, so
	// that identifiers quoted in descriptions match, and English stop
	// words dropped.
	textAnalyzer = "almanac_text"
	// keywordAnalyzer keeps a value whole, lower-cased: facets, filters and
	// exact names.
	keywordAnalyzer = "almanac_keyword"
	// linesAnalyzer makes a keyword of each line, lower-cased: the whole
	// names of a dataset's columns.
	linesAnalyzer = "almanac_lines"
)

func init() {
	for name, ctor := range map[string]registry.AnalyzerConstructor{
		nameAnalyzer: func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
			return newNameAnalyzer(), nil
		},
		textAnalyzer: func(_ map[string]any, cache *registry.Cache) (analysis.Analyzer, error) {
			stop, err := cache.TokenFilterNamed(en.StopName)
			if err != nil {
				return nil, err
			}
			return &analysis.DefaultAnalyzer{
				Tokenizer:    wordTokenizer{},
				TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter(), stop, en.NewEnglishPluralStemmerFilter()},
			}, nil
		},
		keywordAnalyzer: func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
			return keywordAnalyzerImpl{}, nil
		},
		linesAnalyzer: func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
			return linesAnalyzerImpl{}, nil
		},
	} {
		if err := registry.RegisterAnalyzer(name, ctor); err != nil {
			panic(err) // only a second registration of the same name fails
		}
	}
}

func newNameAnalyzer() analysis.Analyzer {
	return &analysis.DefaultAnalyzer{
		Tokenizer:    wordTokenizer{},
		TokenFilters: []analysis.TokenFilter{lowercase.NewLowerCaseFilter(), en.NewEnglishPluralStemmerFilter()},
	}
}

// names is the analyzer the query side uses for free text and the
// highlighter for every field: the same word parts as the index, without
// dropping stop words (the highlighter must see every word it marks).
var names = newNameAnalyzer()

// keywordAnalyzerImpl emits its whole input, lower-cased, as one token.
type keywordAnalyzerImpl struct{}

// Analyze returns the one token.
func (a keywordAnalyzerImpl) Analyze(b []byte) analysis.TokenStream { return a.analyzeInto(b, nil) }

func (keywordAnalyzerImpl) analyzeInto(b []byte, s *tokenScratch) analysis.TokenStream {
	if len(b) == 0 {
		return nil
	}
	t := s.token()
	*t = analysis.Token{Start: 0, End: len(b), Term: []byte(lower(string(b))), Position: 1, Type: analysis.AlphaNumeric}
	return append(s.stream(), t)
}

// linesAnalyzerImpl emits each line of its input, lower-cased, as a token.
type linesAnalyzerImpl struct{}

// Analyze returns a token per non-empty line.
func (a linesAnalyzerImpl) Analyze(b []byte) analysis.TokenStream { return a.analyzeInto(b, nil) }

func (linesAnalyzerImpl) analyzeInto(b []byte, s *tokenScratch) analysis.TokenStream {
	out := s.stream()
	start := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '\n' {
			if i > start {
				t := s.token()
				*t = analysis.Token{Start: start, End: i, Term: []byte(lower(string(b[start:i]))), Position: len(out) + 1, Type: analysis.AlphaNumeric}
				out = append(out, t)
			}
			start = i + 1
		}
	}
	return out
}

// wordTokenizer splits text into words at every character that is not a
// letter or a digit, and inside words at camelCase boundaries
// ("customerId" → customer, Id; "HTTPServer" → HTTP, Server). Digits stay
// with the letters before them ("address2").
type wordTokenizer struct{}

// Tokenize splits input into words with their byte offsets. A word split
// at camelCase boundaries is also emitted whole, typed analysis.Shingle,
// so that "HubSpot" is found by "hubspot" as well as by "hub spot".
func (t wordTokenizer) Tokenize(input []byte) analysis.TokenStream { return t.tokenizeInto(input, nil) }

func (wordTokenizer) tokenizeInto(input []byte, s *tokenScratch) analysis.TokenStream {
	var (
		out           = s.stream()
		start         = -1
		runStart      = -1 // start of the current run of letters and digits
		runFirst      = 0  // position of the run's first part
		runParts      = 0
		pos           = 0
		prev     rune = -1
	)
	emit := func(end int) {
		if start >= 0 && end > start {
			pos++
			if runParts == 0 {
				runFirst = pos
			}
			runParts++
			t := s.token()
			*t = analysis.Token{Start: start, End: end, Term: input[start:end], Position: pos, Type: analysis.AlphaNumeric}
			out = append(out, t)
		}
		start = -1
	}
	endRun := func(end int) {
		emit(end)
		if runParts > 1 {
			t := s.token()
			*t = analysis.Token{Start: runStart, End: end, Term: input[runStart:end], Position: runFirst, Type: analysis.Shingle}
			out = append(out, t)
		}
		runStart, runParts = -1, 0
	}
	for i := 0; i < len(input); {
		r, size := utf8.DecodeRune(input[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			endRun(i)
			prev = -1
			i += size
			continue
		}
		if start >= 0 && unicode.IsUpper(r) && prev >= 0 {
			switch {
			case unicode.IsLower(prev) || unicode.IsDigit(prev):
				emit(i) // customer|Id
			case unicode.IsUpper(prev):
				// HTTP|Server: split before the last capital of a run when a
				// lower-case letter follows.
				if next, _ := utf8.DecodeRune(input[i+size:]); unicode.IsLower(next) {
					emit(i)
				}
			}
		}
		if start < 0 {
			start = i
		}
		if runStart < 0 {
			runStart = i
		}
		prev = r
		i += size
	}
	endRun(len(input))
	return out
}

// squash lower-cases s and drops everything but letters and digits:
// "customer_id", "customerId" and "Customer ID" squash alike.
func squash(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// squashIs reports whether squash(s) is t, without making it: explaining
// a hit asks it of every column name.
func squashIs(s, t string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		tr, n := utf8.DecodeRuneInString(t)
		if n == 0 || tr != unicode.ToLower(r) {
			return false
		}
		t = t[n:]
	}
	return t == ""
}

// terms returns the analyzed words of s, in order, repeats kept, without
// the whole forms of camelCase words: a query needs every part, which the
// whole form would only duplicate (and "customerId" must find
// "customer_id").
func terms(a analysis.Analyzer, s string) []string {
	ts := a.Analyze([]byte(s))
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if t.Type != analysis.Shingle {
			out = append(out, string(t.Term))
		}
	}
	return out
}

// tokenScratch lends an analysis the tokens it makes, for a build to
// recycle once it has counted them (builtField.Analyze): a build makes
// tens of millions of tokens, each its own allocation otherwise. A nil
// tokenScratch allocates them as usual.
type tokenScratch struct {
	tokens []analysis.Token
	used   int
	// more counts the tokens made beyond tokens, which reset makes room
	// for next time.
	more int
	buf  analysis.TokenStream
}

// scratchPool holds tokenScratches for the analysis workers. The
// collector empties it now and then; a new one has room for a long
// field's tokens.
var scratchPool = sync.Pool{New: func() any {
	return &tokenScratch{tokens: make([]analysis.Token, 64), buf: make(analysis.TokenStream, 0, 64)}
}}

func (s *tokenScratch) token() *analysis.Token {
	if s == nil {
		return new(analysis.Token)
	}
	if s.used < len(s.tokens) {
		s.used++
		return &s.tokens[s.used-1]
	}
	s.more++
	return new(analysis.Token)
}

// stream is an empty token stream to append to.
func (s *tokenScratch) stream() analysis.TokenStream {
	if s == nil {
		return nil
	}
	return s.buf[:0]
}

// keep keeps ts's array, grown by appending, as the next stream's.
func (s *tokenScratch) keep(ts analysis.TokenStream) {
	if s != nil && cap(ts) > cap(s.buf) {
		s.buf = ts[:0]
	}
}

// reset makes every token lent since the last reset available again,
// once nothing refers to them: they keep no terms (which would keep the
// analysed values alive) and the stream no tokens.
func (s *tokenScratch) reset() {
	clear(s.tokens[:s.used])
	// A stream holds the tokens lent, no more: after one long field (a
	// job's SQL) the array stays long, and clearing all of it for every
	// short field was work on the build's hottest path.
	clear(s.buf[:min(cap(s.buf), s.used+s.more)])
	if s.more > 0 {
		s.tokens = make([]analysis.Token, max(2*len(s.tokens), s.used+s.more))
	}
	s.used, s.more = 0, 0
}

// analyzeInto analyses input as a, with tokens from s where a is one of
// this package's analyzers (tokenizer and filters): what
// analysis.DefaultAnalyzer.Analyze does, but for where the tokens are.
func analyzeInto(a analysis.Analyzer, input []byte, s *tokenScratch) analysis.TokenStream {
	var ts analysis.TokenStream
	switch a := a.(type) {
	case keywordAnalyzerImpl:
		ts = a.analyzeInto(input, s)
	case linesAnalyzerImpl:
		ts = a.analyzeInto(input, s)
	case *analysis.DefaultAnalyzer:
		w, ok := a.Tokenizer.(wordTokenizer)
		if !ok || a.CharFilters != nil {
			return a.Analyze(input)
		}
		ts = w.tokenizeInto(input, s)
		s.keep(ts)
		for _, f := range a.TokenFilters {
			if p, ok := f.(*en.EnglishPluralStemmerFilter); ok {
				ts = stemPlurals(p, ts)
				continue
			}
			ts = f.Filter(ts)
		}
		return ts
	default:
		return a.Analyze(input)
	}
	s.keep(ts)
	return ts
}

// stemPlurals is f.Filter(ts), which makes a new term of every token's,
// but for the terms f leaves as they are: lower-case ASCII not ending in
// s (most of them).
func stemPlurals(f *en.EnglishPluralStemmerFilter, ts analysis.TokenStream) analysis.TokenStream {
	for i, t := range ts {
		if !pluralStemKeeps(t.Term) {
			f.Filter(ts[i : i+1])
		}
	}
	return ts
}

// pluralStemKeeps reports whether the English plural stemmer returns
// term as it is: it lower-cases every term (through runes, which replace
// bytes that are not UTF-8) and cuts the ones of three letters or more
// that end in s.
func pluralStemKeeps[T string | []byte](term T) bool {
	for i := range len(term) {
		if c := term[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return len(term) < 3 || term[len(term)-1] != 's'
}
