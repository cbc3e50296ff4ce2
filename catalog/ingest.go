package catalog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Normalize returns a copy of f in canonical order (tags, owners and
// foreign keys sorted, columns by ordinal), so that the same facts always
// hash the same, and validates it.
func (f DatasetFacts) Normalize() (DatasetFacts, error) {
	if err := f.Key.Validate(); err != nil {
		return f, err
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, fmt.Errorf("dataset %s: unknown kind %q: %w", f.Key, f.Kind, ErrInvalid)
	}
	seen := map[string]bool{}
	for i, c := range f.Columns {
		if c.Name == "" {
			return f, fmt.Errorf("dataset %s: column %d has no name: %w", f.Key, i+1, ErrInvalid)
		}
		if seen[c.Name] {
			return f, fmt.Errorf("dataset %s: column %q listed twice: %w", f.Key, c.Name, ErrInvalid)
		}
		seen[c.Name] = true
	}
	for _, o := range f.Owners {
		if !o.Kind.Valid() {
			return f, fmt.Errorf("dataset %s: owner %q has unknown kind %q: %w", f.Key, o.Name, o.Kind, ErrInvalid)
		}
	}
	f.Columns = slices.Clone(f.Columns)
	slices.SortStableFunc(f.Columns, func(a, b Column) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	f.Tags = slices.Compact(slices.Sorted(slices.Values(f.Tags)))
	f.Owners = slices.Clone(f.Owners)
	slices.SortFunc(f.Owners, func(a, b Owner) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Type, b.Type), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	f.Owners = slices.Compact(f.Owners)
	f.ForeignKeys = slices.Clone(f.ForeignKeys)
	slices.SortFunc(f.ForeignKeys, func(a, b ForeignKey) int { return strings.Compare(a.Name, b.Name) })
	for i, fk := range f.ForeignKeys {
		if fk.Name == "" || fk.Target.Validate() != nil {
			return f, fmt.Errorf("dataset %s: foreign key %d lacks a name or target: %w", f.Key, i+1, ErrInvalid)
		}
		if i > 0 && f.ForeignKeys[i-1].Name == fk.Name {
			return f, fmt.Errorf("dataset %s: foreign key %q listed twice: %w", f.Key, fk.Name, ErrInvalid)
		}
	}
	f.Aliases = slices.Clone(f.Aliases)
	slices.SortFunc(f.Aliases, func(a, b Alias) int { return cmp.Or(a.Key.Compare(b.Key), strings.Compare(a.Type, b.Type)) })
	f.Aliases = slices.CompactFunc(f.Aliases, func(a, b Alias) bool { return a.Key == b.Key })
	for _, a := range f.Aliases {
		if err := a.Key.Validate(); err != nil {
			return f, fmt.Errorf("dataset %s: alias: %w", f.Key, err)
		}
	}
	if f.Properties == nil {
		f.Properties = map[string]string{}
	}
	if f.Partitions == nil {
		f.Partitions = []Partition{}
	}
	return f, nil
}

// Hash is a digest of everything f asserts; two harvests of an unchanged
// dataset hash the same. Call it on normalized facts.
func (f DatasetFacts) Hash() []byte { return hashJSON(f) }
