package unitycatalog

import (
	"fmt"
	"path"
	"strings"

	"almanac/catalog"
)

// filter applies Config.Include and Config.Exclude. A pattern is a
// path.Match glob matched against "catalog", "catalog.schema" and
// "catalog.schema.table" (Unity Catalog names hold no dots); '*' matches
// dots too, so "main.*" covers every schema of main and their tables.
type filter struct {
	include, exclude []string
}

func newFilter(include, exclude []string) (filter, error) {
	for _, p := range append(append([]string(nil), include...), exclude...) {
		if _, err := path.Match(p, ""); err != nil {
			return filter{}, fmt.Errorf("pattern %q: %w: %w", p, err, catalog.ErrInvalid)
		}
	}
	return filter{include: include, exclude: exclude}, nil
}

// table reports whether the table catalog.schema.name is crawled: exclude
// wins over include, and an empty include list includes everything.
func (f filter) table(cat, schema, name string) bool {
	names := []string{cat, cat + "." + schema, cat + "." + schema + "." + name}
	for _, n := range names {
		if matchAny(f.exclude, n) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, n := range names {
		if matchAny(f.include, n) {
			return true
		}
	}
	return false
}

// touches reports whether the patterns could include anything in the
// catalog or schema named name ("catalog" or "catalog.schema"): it is not
// excluded as a whole, and an include pattern matches it whole, matches a
// parent of it, or matches it as the part before some dot of a longer
// pattern.
func (f filter) touches(name string) bool {
	parents := []string{name}
	if cat, _, ok := strings.Cut(name, "."); ok {
		parents = append(parents, cat)
	}
	for _, n := range parents {
		if matchAny(f.exclude, n) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		for _, n := range parents {
			if match(p, n) {
				return true
			}
		}
		for i := range len(p) {
			if p[i] == '.' && match(p[:i], name) {
				return true
			}
		}
	}
	return false
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if match(p, name) {
			return true
		}
	}
	return false
}

// match is path.Match, whose patterns newFilter has checked, except that a
// '/' in a name is an ordinary character.
func match(pattern, name string) bool {
	const sep = "\x00"
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(name, "/", sep))
	return ok
}
