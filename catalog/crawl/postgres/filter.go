package postgres

import (
	"fmt"
	"path"
	"strings"

	"almanac/catalog"
)

// filter applies Config.Include and Config.Exclude. A pattern is matched
// with path.Match against the schema name and against "schema.table"; as
// identifiers may contain dots, a pattern is never split to guess which
// part is which, except to tell whether it names a schema at all (see
// touchesSchema).
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

// active reports whether any pattern narrows the crawl.
func (f filter) active() bool { return len(f.include) > 0 || len(f.exclude) > 0 }

// relation reports whether the relation schema.name is crawled: exclude
// wins over include, and an empty include list includes everything.
func (f filter) relation(schema, name string) bool {
	q := schema + "." + name
	if matchAny(f.exclude, schema) || matchAny(f.exclude, q) {
		return false
	}
	return len(f.include) == 0 || matchAny(f.include, schema) || matchAny(f.include, q)
}

// touchesSchema reports whether the patterns could include anything in
// schema: it is not excluded as a whole, and an include pattern matches it
// whole or matches it as the part before some dot of a "schema.table"
// pattern.
func (f filter) touchesSchema(schema string) bool {
	if matchAny(f.exclude, schema) {
		return false
	}
	if len(f.include) == 0 {
		return true
	}
	for _, p := range f.include {
		if match(p, schema) {
			return true
		}
		for i := range len(p) {
			if p[i] == '.' && match(p[:i], schema) {
				return true
			}
		}
	}
	return false
}

// literalSchemas returns the include patterns that name one schema
// exactly: no dot and no wildcard. When such a schema does not exist, the
// crawl knows that nothing is left under it.
func (f filter) literalSchemas() []string {
	var out []string
	for _, p := range f.include {
		if !strings.ContainsAny(p, `.*?[\`) && !matchAny(f.exclude, p) {
			out = append(out, p)
		}
	}
	return out
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
// name holding a '/' (legal in a quoted identifier) is matched too: path
// treats '/' as a separator that '*' does not cross, which means nothing
// here.
func match(pattern, name string) bool {
	const sep = "\x00"
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(name, "/", sep))
	return ok
}
