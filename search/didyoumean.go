package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/vellum/levenshtein"
)

// Did you mean: a query that found nothing, or only a few near matches,
// is offered again with its misspelt words replaced by the words of the
// index's term dictionary nearest to them. Typo tolerance (fuzzy.go)
// already finds near matches of words sharing their first letter; the
// correction says which word it took them for, and finds words whose
// first letter was the typo too.

// correctionFields are the fields whose terms a correction may use: what
// a query word is searched in.
var correctionFields = []string{fName, fColumns, fPath, fMeta, fText}

// Correction is a query with its misspelt words corrected.
type Correction struct {
	// Query is the corrected query; its filters, phrases and exclusions
	// are the original's.
	Query Query
	// Words are the words replaced, as typed, and Corrected what they
	// were replaced by, in the same order.
	Words, Corrected []string
}

// DidYouMean returns q with each word that no dataset holds replaced by
// the indexed word nearest to it: the fewest edits (at most one for words
// of four to seven letters, two for longer ones), then the most frequent,
// then the first alphabetically. It reports false when no word needed or
// found a correction. Words shorter than four letters are never corrected:
// at that length a typo is as likely another word.
func (x *Index) DidYouMean(ctx context.Context, q Query) (Correction, bool, error) {
	var c Correction
	found := false
	err := x.use(ctx, "did you mean", func() error {
		adv, err := x.idx.Advanced()
		if err != nil {
			return fmt.Errorf("did you mean: %w", err)
		}
		r, err := adv.Reader()
		if err != nil {
			return fmt.Errorf("did you mean: %w", err)
		}
		defer r.Close()
		snap, ok := r.(*scorch.IndexSnapshot)
		if !ok {
			return nil
		}
		builders, err := levBuilders()
		if err != nil {
			return err
		}
		// correct returns the nearest held term to t, or t.
		correct := func(t string) (string, error) {
			held, err := termHeld(ctx, snap, t)
			if err != nil {
				return "", err
			}
			f := fuzziness(t)
			if held || f == 0 || optionalWord(t) {
				return t, nil
			}
			best, err := nearestTerm(snap, builders[f-1], t, f)
			if err != nil || best == "" {
				return t, err
			}
			return best, nil
		}
		words := make([]string, len(q.Words))
		for i, w := range q.Words {
			words[i] = w
			var fixed []string
			changed := false
			for _, tok := range lowerTokens().Analyze([]byte(w)) {
				if tok.Type == analysis.Shingle {
					continue
				}
				whole := string(tok.Term)
				parts, _ := x.lex.queryTerms(whole)
				allHeld := true
				for _, p := range parts {
					held, err := termHeld(ctx, snap, p)
					if err != nil {
						return err
					}
					allHeld = allHeld && held
				}
				if allHeld {
					fixed = append(fixed, whole)
					continue
				}
				// A misspelt word is often split into words it is not
				// made of ("shipmets" into ship and mets): the whole
				// word is corrected first, then its parts.
				if len(parts) > 1 {
					best, err := correct(fold(whole))
					if err != nil {
						return err
					}
					if best != fold(whole) {
						fixed, changed = append(fixed, best), true
						continue
					}
				}
				for _, p := range parts {
					best, err := correct(p)
					if err != nil {
						return err
					}
					changed = changed || best != p
					fixed = append(fixed, best)
				}
			}
			if changed {
				words[i] = strings.Join(fixed, "_")
				c.Words = append(c.Words, w)
				c.Corrected = append(c.Corrected, words[i])
			}
		}
		if len(c.Words) > 0 {
			c.Query = q
			c.Query.Words = words
			c.Query.Warnings = nil
			found = true
		}
		return nil
	})
	if err != nil {
		return Correction{}, false, err
	}
	return c, found, nil
}

// termHeld reports whether any document holds the term t in a field a
// query word is searched in.
func termHeld(ctx context.Context, r *scorch.IndexSnapshot, t string) (bool, error) {
	for _, field := range correctionFields {
		tfr, err := r.TermFieldReader(ctx, []byte(t), field, false, false, false)
		if err != nil {
			return false, fmt.Errorf("did you mean: %w", err)
		}
		n := tfr.Count()
		tfr.Close()
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// nearestTerm returns the term of the correction fields within
// fuzziness edits of t that has the fewest edits, then the most
// documents, then sorts first; "" when there is none. It reads each
// segment's dictionary on the calling goroutine, as fuzzyQuery does.
func nearestTerm(r *scorch.IndexSnapshot, b *levenshtein.LevenshteinAutomatonBuilder, t string, fuzziness int) (string, error) {
	dfa, err := b.BuildDfa(t, uint8(fuzziness))
	if err != nil {
		return "", err
	}
	type candidate struct {
		dist  uint8
		count uint64
	}
	seen := map[string]candidate{}
	for _, ss := range r.Segments() {
		for _, field := range correctionFields {
			dict, err := ss.Segment().Dictionary(field)
			if err != nil {
				return "", err
			}
			itr := dict.AutomatonIterator(dfa, nil, nil)
			for {
				e, err := itr.Next()
				if err != nil {
					return "", err
				}
				if e == nil {
					break
				}
				if e.Term == t {
					continue
				}
				cand, ok := seen[e.Term]
				if !ok {
					_, d := dfa.MatchAndDistance(e.Term)
					cand.dist = d
				}
				cand.count += e.Count
				seen[e.Term] = cand
			}
		}
	}
	best, bc := "", candidate{}
	for term, c := range seen {
		if best == "" || c.dist < bc.dist || c.dist == bc.dist && (c.count > bc.count || c.count == bc.count && term < best) {
			best, bc = term, c
		}
	}
	return best, nil
}
