package catalog

import (
	"fmt"
	"slices"
	"time"
)

// SchemaVersion is one version of a dataset's columns as one source
// reported them. A new version is recorded whenever the columns change.
type SchemaVersion struct {
	Version int
	Source  string
	At      time.Time
	Columns []Column
	Diff    SchemaDiff
}

// SchemaDiff says how a version's columns differ from the version before.
type SchemaDiff struct {
	Added   []Column       `json:"added,omitempty"`
	Removed []Column       `json:"removed,omitempty"`
	Retyped []ColumnChange `json:"retyped,omitempty"`
	Renamed []ColumnRename `json:"renamed,omitempty"`
	// Changed lists columns whose nullability, default or key changed;
	// description edits are not schema changes.
	Changed []ColumnChange `json:"changed,omitempty"`
}

// Empty reports whether the diff has no changes.
func (d SchemaDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Retyped) == 0 && len(d.Renamed) == 0 && len(d.Changed) == 0
}

// ColumnChange is a column present in both versions whose attributes
// changed.
type ColumnChange struct {
	Name   string `json:"name"`
	Before Column `json:"before"`
	After  Column `json:"after"`
}

// ColumnRename is a column that looks renamed: one column disappeared and
// another of the same type appeared at the same position.
type ColumnRename struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
}

// DiffColumns compares two versions of a dataset's columns.
func DiffColumns(before, after []Column) SchemaDiff {
	var d SchemaDiff
	old := map[string]Column{}
	for _, c := range before {
		old[c.Name] = c
	}
	cur := map[string]Column{}
	for _, c := range after {
		cur[c.Name] = c
	}
	var added, removed []Column
	for _, c := range after {
		o, ok := old[c.Name]
		switch {
		case !ok:
			added = append(added, c)
		case o.Type != c.Type:
			d.Retyped = append(d.Retyped, ColumnChange{c.Name, o, c})
		case o.Nullable != c.Nullable || o.Default != c.Default || o.PrimaryKey != c.PrimaryKey:
			d.Changed = append(d.Changed, ColumnChange{c.Name, o, c})
		}
	}
	for _, c := range before {
		if _, ok := cur[c.Name]; !ok {
			removed = append(removed, c)
		}
	}
	// A removed and an added column of the same type at the same position
	// look like a rename.
	for _, r := range removed {
		i := slices.IndexFunc(added, func(a Column) bool { return a.Type == r.Type && a.Ordinal == r.Ordinal })
		if i < 0 {
			d.Removed = append(d.Removed, r)
			continue
		}
		d.Renamed = append(d.Renamed, ColumnRename{From: r.Name, To: added[i].Name, Type: r.Type})
		added = slices.Delete(added, i, i+1)
	}
	if len(added) > 0 {
		d.Added = added
	}
	return d
}

// ChangeKind is what happened to an entity in a change log entry.
type ChangeKind string

// Change kinds.
const (
	ChangeCreated       ChangeKind = "created"
	ChangeUpdated       ChangeKind = "updated"
	ChangeSchemaChanged ChangeKind = "schema_changed"
	ChangeRemoved       ChangeKind = "removed"
	ChangeRestored      ChangeKind = "restored"
)

// Change is one entry of the change log that search, SLO evaluation and
// webhooks follow. Seq increases monotonically.
type Change struct {
	Seq      int64
	Entity   string // "dataset"
	EntityID int64
	Key      Key
	Kind     ChangeKind
	Source   string
	At       time.Time
	// Details say what changed, where the writer knew: documentation,
	// owners, tags, columns, links with before and after. Nil for entries
	// that say no more than their kind.
	Details []FieldChange
}

// Mark names the change log entry c apart from any other a database may
// hold at its sequence: its time, to the microsecond, entity and kind. A
// search index keeps the mark of the last change it applied, and finds
// by it that the catalog is not the one it followed (restored from a
// backup, or another database), where the sequence alone agrees.
func (c Change) Mark() string {
	return fmt.Sprintf("%d %s %d %s", c.At.UnixMicro(), c.Entity, c.EntityID, c.Kind)
}

// ChangeChannel is the PostgreSQL NOTIFY channel on which every committed
// batch of changes is announced, with the highest sequence as payload.
const ChangeChannel = "almanac_changes"
