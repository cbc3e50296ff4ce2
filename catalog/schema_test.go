package catalog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiffColumns(t *testing.T) {
	id := Column{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true}
	tests := []struct {
		name          string
		before, after []Column
		want          SchemaDiff
	}{
		{"first version", nil, []Column{id}, SchemaDiff{Added: []Column{id}}},
		{"unchanged", []Column{id}, []Column{id}, SchemaDiff{}},
		{"description only is no change",
			[]Column{id}, []Column{{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true, Description: "key"}}, SchemaDiff{}},
		{"retyped", []Column{id}, []Column{{Name: "id", Ordinal: 1, Type: "integer", PrimaryKey: true}},
			SchemaDiff{Retyped: []ColumnChange{{"id", id, Column{Name: "id", Ordinal: 1, Type: "integer", PrimaryKey: true}}}}},
		{"nullability", []Column{id}, []Column{{Name: "id", Ordinal: 1, Type: "bigint", Nullable: true}},
			SchemaDiff{Changed: []ColumnChange{{"id", id, Column{Name: "id", Ordinal: 1, Type: "bigint", Nullable: true}}}}},
		{"renamed: same type, same place",
			[]Column{id, {Name: "a", Ordinal: 2, Type: "text"}}, []Column{id, {Name: "b", Ordinal: 2, Type: "text"}},
			SchemaDiff{Renamed: []ColumnRename{{From: "a", To: "b", Type: "text"}}}},
		{"not a rename: other type",
			[]Column{id, {Name: "a", Ordinal: 2, Type: "text"}}, []Column{id, {Name: "b", Ordinal: 2, Type: "int"}},
			SchemaDiff{Added: []Column{{Name: "b", Ordinal: 2, Type: "int"}}, Removed: []Column{{Name: "a", Ordinal: 2, Type: "text"}}}},
		{"dropped", []Column{id, {Name: "a", Ordinal: 2, Type: "text"}}, []Column{id},
			SchemaDiff{Removed: []Column{{Name: "a", Ordinal: 2, Type: "text"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DiffColumns(tt.before, tt.after)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Empty() != cmp.Equal(tt.want, SchemaDiff{}) {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}
