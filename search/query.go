package search

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"almanac/catalog"
)

// Limits on what one query may ask, so that no query runs for long
// however it is written.
const (
	// MaxQueryLen is the longest query accepted, in bytes.
	MaxQueryLen = 1000
	// maxTerms bounds the free-text words (after splitting identifiers)
	// and phrase words searched; more are dropped with a warning.
	maxTerms = 12
	// maxClauses bounds phrases, exclusions and filters together.
	maxClauses = 16
)

// FilterKeys are the filters the query language knows, in the order the
// search page lists them.
var FilterKeys = []string{"owner", "tag", "platform", "kind", "schema", "namespace"}

// Filter narrows results to datasets with a field of a value.
type Filter struct {
	Key   string // one of FilterKeys
	Value string
	// Exclude inverts the filter (-kind:view): datasets it matches are
	// left out.
	Exclude bool
}

// Query is a parsed search query.
//
// The language: words are searched in names, columns, descriptions, tags
// and owners, every word must match somewhere; "quoted phrases" match
// words in that order; -word and -"a phrase" exclude; key:value filters
// (owner:, tag:, platform:, kind:, schema:, namespace:; quote values with
// spaces) narrow the results, several values of one key meaning any of
// them, and -key:value leaves out what the filter matches. Everything else is taken literally: there are no operators,
// wildcards or regular expressions to get wrong.
type Query struct {
	Words    []string // as typed, in order
	Phrases  []string
	Excluded []string // words or phrases
	Filters  []Filter
	// Warnings say what was taken literally or dropped, for the page to
	// show; the query still runs.
	Warnings []string
}

// Empty reports whether the query asks for nothing: no words, phrases,
// exclusions or filters. "-legacy" alone asks for everything but legacy.
func (q Query) Empty() bool {
	return len(q.Words) == 0 && len(q.Phrases) == 0 && len(q.Excluded) == 0 && len(q.Filters) == 0
}

// Parse parses a query. It fails only on a query longer than MaxQueryLen
// (with catalog.ErrInvalid); anything else it cannot read as an operator
// it searches literally and says so in Warnings.
func Parse(s string) (Query, error) {
	var q Query
	if len(s) > MaxQueryLen {
		return q, fmt.Errorf("query is %d bytes long; at most %d are allowed: %w", len(s), MaxQueryLen, catalog.ErrInvalid)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, " ")
	}
	warned := map[string]bool{}
	warn := func(msg string) {
		if !warned[msg] {
			warned[msg] = true
			q.Warnings = append(q.Warnings, msg)
		}
	}
	// clause counts a phrase, exclusion or filter and reports whether
	// it is within maxClauses.
	clauses := 0
	clause := func() bool {
		if clauses++; clauses > maxClauses {
			warn(fmt.Sprintf("Only the first %d phrases, exclusions and filters were used.", maxClauses))
			return false
		}
		return true
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		negate := false
		if r == '-' {
			negate = true
			i++
			if i >= len(s) {
				warn(`A "-" alone excludes nothing and was ignored: write -word, with no space, to leave out datasets that mention word.`)
				break
			}
			r, _ = utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				warn(`A "-" alone excludes nothing and was ignored: write -word, with no space, to leave out datasets that mention word.`)
				continue
			}
		}
		if r == '"' {
			phrase, n, closed := readQuoted(s[i:])
			i += n
			if !closed {
				warn("A quote was not closed: the rest of the query was searched as a phrase.")
			}
			phrase = strings.Join(strings.Fields(phrase), " ")
			if len(terms(names, phrase)) == 0 {
				if closed {
					warn(fmt.Sprintf("The phrase %s has no letters or digits and was ignored.", `"`+phrase+`"`))
				}
				continue
			}
			if !clause() {
				continue
			}
			if negate {
				q.Excluded = append(q.Excluded, phrase)
			} else {
				q.Phrases = append(q.Phrases, phrase)
			}
			continue
		}
		// A bare word, possibly key:value or key:"value".
		start := i
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				break
			}
			if r == '"' && i > start && s[i-1] == ':' {
				break // key:"value"
			}
			i += size
		}
		word := s[start:i]
		if key, value, ok := strings.Cut(word, ":"); ok && key != "" {
			k := lower(key)
			if slices.Contains(FilterKeys, k) {
				if value == "" && i < len(s) && s[i] == '"' {
					v, n, closed := readQuoted(s[i:])
					i += n
					if !closed {
						warn("A quote was not closed: the rest of the query was taken as the filter's value.")
					}
					value = strings.TrimSpace(v)
				}
				if value == "" {
					warn(fmt.Sprintf("The filter %s: has no value and was ignored: write %s:value, with no space.", k, k))
					continue
				}
				if k == "kind" {
					// "materialized view", as the pages write kinds,
					// means the kind materialized_view.
					value = strings.Join(strings.FieldsFunc(lower(value), func(r rune) bool { return r == ' ' || r == '-' || r == '_' }), "_")
					// job is no kind of dataset, but a search for jobs
					// (KindJob) is asked for by it.
					if !catalog.Kind(value).Valid() && value != KindJob {
						warn(fmt.Sprintf("There is no kind %q: kinds are %s.", value, kindList()))
					}
				}
				if !clause() {
					continue
				}
				f := Filter{Key: k, Value: value, Exclude: negate}
				if !slices.Contains(q.Filters, f) {
					q.Filters = append(q.Filters, f)
				}
				continue
			}
			if len(terms(names, word)) > 0 {
				warn(fmt.Sprintf("There is no filter %q: it was searched as text. Filters are %s.", key+":", filterList()))
			}
		}
		if len(terms(names, word)) == 0 {
			warn(fmt.Sprintf("%q has no letters or digits and was ignored.", word))
			continue
		}
		if negate {
			if !clause() {
				continue
			}
			q.Excluded = append(q.Excluded, word)
			continue
		}
		q.Words = append(q.Words, word)
	}
	if n := len(q.terms()); n > maxTerms {
		warn(fmt.Sprintf("Only the first %d words were searched.", maxTerms))
	}
	return q, nil
}

// readQuoted reads a quoted string at the start of s (which begins with a
// quote) and returns its content, the bytes consumed and whether the
// closing quote was found.
func readQuoted(s string) (content string, n int, closed bool) {
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return s[1:], len(s), false
	}
	return s[1 : 1+end], end + 2, true
}

// kindList lists the dataset kinds as the pages write them.
func kindList() string {
	kinds := []catalog.Kind{catalog.KindTable, catalog.KindView, catalog.KindMaterializedView, catalog.KindPartitioned,
		catalog.KindForeign, catalog.KindModel, catalog.KindFile, catalog.KindSemanticModel, catalog.KindMetric, KindJob}
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = strings.ReplaceAll(string(k), "_", " ")
	}
	return strings.Join(out, ", ")
}

func filterList() string {
	keys := make([]string, len(FilterKeys))
	for i, k := range FilterKeys {
		keys[i] = k + ":"
	}
	return strings.Join(keys, " ")
}

// terms returns the analysed words the query searches for (words, then
// phrase words), at most maxTerms.
func (q Query) terms() []string {
	var out []string
	for _, w := range q.Words {
		out = append(out, terms(names, w)...)
	}
	for _, p := range q.Phrases {
		out = append(out, terms(names, p)...)
	}
	return out
}

// String returns the query in canonical form: words, phrases, exclusions,
// then filters. Parse(q.String()) returns q again, without warnings.
func (q Query) String() string {
	var parts []string
	parts = append(parts, q.Words...)
	for _, p := range q.Phrases {
		parts = append(parts, quote(p))
	}
	for _, e := range q.Excluded {
		// An exclusion is a word (no spaces, no filter key, maybe quotes
		// inside: "-a\"b") or a phrase (no quotes); only a phrase ever
		// needs its quotes back, and quoting a word would drop its
		// quotes. A leading "-" needs none: "--x" excludes "-x".
		if strings.IndexFunc(e, unicode.IsSpace) >= 0 || filterLike(e) {
			parts = append(parts, "-"+quote(e))
		} else {
			parts = append(parts, "-"+e)
		}
	}
	for _, f := range q.Filters {
		v := f.Value
		if strings.IndexFunc(v, unicode.IsSpace) >= 0 || strings.HasPrefix(v, `"`) {
			v = quote(v)
		}
		if f.Exclude {
			parts = append(parts, "-"+f.Key+":"+v)
		} else {
			parts = append(parts, f.Key+":"+v)
		}
	}
	return strings.Join(parts, " ")
}

// filterLike reports whether s, typed bare, would be read as a filter
// (tag:pii, or tag: with no value).
func filterLike(s string) bool {
	key, _, ok := strings.Cut(s, ":")
	return ok && slices.Contains(FilterKeys, lower(key))
}

// quote quotes a phrase; a phrase cannot hold a quote, so any are dropped.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, "") + `"` }

// WithFilter returns q narrowed by f (unchanged if it already is).
func (q Query) WithFilter(f Filter) Query {
	if slices.Contains(q.Filters, f) {
		return q
	}
	q.Filters = append(slices.Clip(q.Filters), f)
	return q
}

// WithoutFilter returns q without f.
func (q Query) WithoutFilter(f Filter) Query {
	q.Filters = slices.DeleteFunc(slices.Clone(q.Filters), func(g Filter) bool { return g == f })
	return q
}

// HasFilter reports whether q has filter f.
func (q Query) HasFilter(f Filter) bool { return slices.Contains(q.Filters, f) }
