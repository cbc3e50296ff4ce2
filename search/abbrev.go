package search

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"

	"almanac/catalog"
)

// DefaultAbbreviations are the abbreviations data people write in names,
// each with the words it stands for. A search applies them both ways:
// "customer address" finds cust_addr and "cust addr" finds
// customer_address, the form typed ranking above its expansion.
// Options.Abbreviations replaces entries or adds to them.
var DefaultAbbreviations = map[string][]string{
	"acct": {"account"},
	"addr": {"address"},
	"amt":  {"amount"},
	"avg":  {"average"},
	"cat":  {"category"},
	"cnt":  {"count"},
	"cust": {"customer"},
	"dept": {"department"},
	"desc": {"description"},
	"dt":   {"date"},
	"emp":  {"employee"},
	"fx":   {"foreign exchange"},
	"gl":   {"general ledger"},
	"hist": {"history"},
	"id":   {"identifier"},
	"inv":  {"inventory", "invoice"},
	"mgr":  {"manager"},
	"num":  {"number"},
	"prod": {"product"},
	"qty":  {"quantity"},
	"tbl":  {"table"},
	"ts":   {"timestamp"},
	"txn":  {"transaction"},
}

// abbreviations is an abbreviation table read both ways, on folded words
// (lower case, plurals folded) as the index holds them.
type abbreviations struct {
	expand   map[string][]string // short → long forms
	contract map[string][]string // long → short forms
	// phrases holds the short forms of several words: short → the words,
	// joined by spaces ("gl" → "general ledger").
	phrases map[string][]string
}

// newAbbreviations merges extra into DefaultAbbreviations (an entry of
// extra with no words removes the default one) and checks that every
// form is one word of letters and digits.
func newAbbreviations(extra map[string][]string) (*abbreviations, error) {
	table := maps.Clone(DefaultAbbreviations)
	for k, v := range extra {
		if len(v) == 0 {
			delete(table, k)
			continue
		}
		table[k] = v
	}
	a := &abbreviations{expand: map[string][]string{}, contract: map[string][]string{}, phrases: map[string][]string{}}
	for _, short := range slices.Sorted(maps.Keys(table)) {
		if err := checkAbbreviation(short); err != nil {
			return nil, fmt.Errorf("abbreviation %q: %w", short, err)
		}
		s := fold(lower(short))
		for _, long := range table[short] {
			words := strings.Fields(long)
			for _, w := range words {
				if err := checkAbbreviation(w); err != nil {
					return nil, fmt.Errorf("abbreviation %q: expansion %q: %w", short, long, err)
				}
			}
			if len(words) == 0 {
				return nil, fmt.Errorf("abbreviation %q: empty expansion: %w", short, catalog.ErrInvalid)
			}
			if len(words) > 1 {
				for i, w := range words {
					words[i] = fold(lower(w))
				}
				a.phrases[s] = append(a.phrases[s], strings.Join(words, " "))
				continue
			}
			l := fold(lower(long))
			if l == s {
				continue
			}
			if !slices.Contains(a.expand[s], l) {
				a.expand[s] = append(a.expand[s], l)
			}
			if !slices.Contains(a.contract[l], s) {
				a.contract[l] = append(a.contract[l], s)
			}
		}
	}
	return a, nil
}

func checkAbbreviation(s string) error {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return !isWordRune(r) }) >= 0 {
		return fmt.Errorf("must be one word of letters and digits: %w", catalog.ErrInvalid)
	}
	return nil
}

// alternatives returns the other forms of the folded word t: its
// expansions if it is an abbreviation, its abbreviations if it is a word
// one stands for.
func (a *abbreviations) alternatives(t string) []string {
	if a == nil {
		return nil
	}
	return append(slices.Clip(a.expand[t]), a.contract[t]...)
}

// contractions returns the short forms of the runs of several words in
// terms ("gl" for general, ledger).
func (a *abbreviations) contractions(terms []string) []string {
	if a == nil || len(terms) < 2 {
		return nil
	}
	joined := " " + strings.Join(terms, " ") + " "
	var out []string
	for _, short := range slices.Sorted(maps.Keys(a.phrases)) {
		for _, ph := range a.phrases[short] {
			if strings.Contains(joined, " "+ph+" ") && !slices.Contains(terms, short) {
				out = append(out, short)
				break
			}
		}
	}
	return out
}

// plural folds English plurals, as the index does.
var plural = en.NewEnglishPluralStemmerFilter()

// fold returns the lower-case word w with its plural folded, as the
// index holds it.
func fold(w string) string {
	if pluralStemKeeps(w) { // most words: no copies
		return w
	}
	ts := plural.Filter(analysis.TokenStream{{Term: []byte(w)}})
	return string(ts[0].Term)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// lexicon is what an index knows of its catalog's words: how to split
// words written without separators, and the abbreviation table. It is made
// when the index is built, kept with it, and never changes: documents and
// queries are analysed alike for the index's life.
type lexicon struct {
	seg    *segmenter
	abbrev *abbreviations
}

func newLexicon(v *vocabulary, a *abbreviations) *lexicon {
	return &lexicon{seg: newSegmenter(v, a), abbrev: a}
}

// defaultLexicon is the lexicon of an index of an empty catalog with the
// default abbreviations.
func defaultLexicon() *lexicon {
	a, _ := newAbbreviations(nil)
	return newLexicon(newVocabulary(), a)
}
