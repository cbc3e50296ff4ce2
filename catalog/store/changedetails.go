package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file works out what a crawl changed on each dataset it writes, for
// the change feed: the source's description, owners and tags before and
// after, and the columns its schema version added, removed or retyped.

// oldFacts is what a source asserted about a dataset before an ingest.
type oldFacts struct {
	description string
	owners      []string
	tags        []string
}

// readOldFacts reads what source asserted about the datasets ids before
// this ingest replaces it.
func readOldFacts(ctx context.Context, tx pgx.Tx, source string, ids []int64) (map[int64]*oldFacts, error) {
	out := map[int64]*oldFacts{}
	if len(ids) == 0 {
		return out, nil
	}
	at := func(id int64) *oldFacts {
		if out[id] == nil {
			out[id] = &oldFacts{}
		}
		return out[id]
	}
	rows, err := tx.Query(ctx, `
		SELECT dataset_id, 'd', description FROM dataset_facts WHERE dataset_id = ANY($1) AND source = $2 AND removed_at IS NULL
		UNION ALL
		SELECT dataset_id, 'o', owner_kind || ':' || owner || CASE WHEN ownership_type <> '' THEN ' (' || ownership_type || ')' ELSE '' END
		FROM owners WHERE dataset_id = ANY($1) AND source = $2
		UNION ALL
		SELECT dataset_id, 't', tag FROM tags WHERE dataset_id = ANY($1) AND source = $2`, ids, source)
	if err != nil {
		return nil, fmt.Errorf("read previous facts: %w", err)
	}
	var (
		id         int64
		what, text string
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &what, &text}, func() error {
		f := at(id)
		switch what {
		case "d":
			f.description = text
		case "o":
			f.owners = append(f.owners, text)
		case "t":
			f.tags = append(f.tags, text)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read previous facts: %w", err)
	}
	return out, nil
}

// factChanges says how a source's description, owners and tags of a
// dataset changed from old (nil for none) to f.
func factChanges(old *oldFacts, f catalog.DatasetFacts) []catalog.FieldChange {
	if old == nil {
		old = &oldFacts{}
	}
	var out []catalog.FieldChange
	if old.description != f.Description {
		out = append(out, catalog.FieldChange{Field: catalog.FieldDescription, Before: optional(old.description), After: optional(f.Description)})
	}
	owners := make([]string, len(f.Owners))
	for i, o := range f.Owners {
		owners[i] = o.String()
	}
	out = append(out, setChanges(catalog.FieldOwner, old.owners, owners)...)
	return append(out, setChanges(catalog.FieldTag, old.tags, f.Tags)...)
}

// setChanges lists what was removed from before and added in after, each
// as a change of field.
func setChanges(field catalog.EditField, before, after []string) []catalog.FieldChange {
	var out []catalog.FieldChange
	for _, b := range before {
		if !slices.Contains(after, b) {
			out = append(out, catalog.FieldChange{Field: field, Before: &b})
		}
	}
	for _, a := range after {
		if !slices.Contains(before, a) {
			out = append(out, catalog.FieldChange{Field: field, After: &a})
		}
	}
	return out
}

// columnChanges lists the columns a schema diff added, removed, renamed
// or retyped; before and after are column types (for a rename, the old
// and new names are the column and the after).
func columnChanges(d catalog.SchemaDiff) []catalog.FieldChange {
	var out []catalog.FieldChange
	for _, c := range d.Added {
		out = append(out, catalog.FieldChange{Field: catalog.FieldColumn, Column: c.Name, After: &c.Type})
	}
	for _, c := range d.Removed {
		out = append(out, catalog.FieldChange{Field: catalog.FieldColumn, Column: c.Name, Before: &c.Type})
	}
	for _, c := range d.Retyped {
		out = append(out, catalog.FieldChange{Field: catalog.FieldColumn, Column: c.Name, Before: &c.Before.Type, After: &c.After.Type})
	}
	for _, r := range d.Renamed {
		// A rename is the old column removed and the new one added.
		out = append(out,
			catalog.FieldChange{Field: catalog.FieldColumn, Column: r.From, Before: &r.Type},
			catalog.FieldChange{Field: catalog.FieldColumn, Column: r.To, After: &r.Type})
	}
	return out
}
