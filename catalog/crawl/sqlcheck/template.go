package sqlcheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Templates are the checks that expand to SQL, so that the common ones
// need no SQL written. Each counts something, so that its natural
// expectation is "= 0", except row_count and freshness.
var Templates = []string{"not_null", "unique", "accepted_values", "row_count", "freshness", "relationships"}

// Template is a check written as a template and its parameters.
type Template struct {
	// Kind is one of Templates.
	Kind string
	// Table is the table checked, "schema.table" or "table" (in the
	// search path).
	Table string
	// Column is the column checked; required by all but row_count.
	Column string
	// Values are the values accepted_values allows.
	Values []string
	// ToTable and ToColumn are what relationships requires Column to
	// reference.
	ToTable, ToColumn string
}

// Expand returns the SQL of t and its parameters. Names are quoted as
// identifiers and values passed as parameters, so that no name or value
// can change what the query does.
//
//	not_null         rows where the column is null
//	unique           values of the column found more than once, each counted once
//	accepted_values  rows whose non-null value is not among the values
//	row_count        rows
//	freshness        seconds since the newest value of the (timestamp) column
//	relationships    non-null values with no row of to_table holding them in to_column
func Expand(t Template) (string, []any, error) {
	if !slices.Contains(Templates, t.Kind) {
		return "", nil, fmt.Errorf("unknown template %q (known: %s)", t.Kind, strings.Join(Templates, ", "))
	}
	table, err := ident(t.Table, "table")
	if err != nil {
		return "", nil, err
	}
	if t.Kind == "row_count" {
		return "SELECT count(*) FROM " + table, nil, nil
	}
	if t.Column == "" {
		return "", nil, fmt.Errorf("template %s needs a column", t.Kind)
	}
	col := pgx.Identifier{t.Column}.Sanitize()
	switch t.Kind {
	case "not_null":
		return "SELECT count(*) FROM " + table + " WHERE " + col + " IS NULL", nil, nil
	case "unique":
		return "SELECT count(*) FROM (SELECT " + col + " FROM " + table + " WHERE " + col + " IS NOT NULL GROUP BY " + col +
			" HAVING count(*) > 1) AS duplicates", nil, nil
	case "accepted_values":
		if len(t.Values) == 0 {
			return "", nil, fmt.Errorf("template accepted_values needs values")
		}
		return "SELECT count(*) FROM " + table + " WHERE " + col + " IS NOT NULL AND NOT (" + col + "::text = ANY($1::text[]))",
			[]any{t.Values}, nil
	case "freshness":
		return "SELECT extract(epoch FROM now() - max(" + col + "))::float8 FROM " + table, nil, nil
	case "relationships":
		to, err := ident(t.ToTable, "to_table")
		if err != nil {
			return "", nil, err
		}
		if t.ToColumn == "" {
			return "", nil, fmt.Errorf("template relationships needs to_column")
		}
		toCol := pgx.Identifier{t.ToColumn}.Sanitize()
		return "SELECT count(*) FROM " + table + " AS child WHERE child." + col + " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " +
			to + " AS parent WHERE parent." + toCol + " = child." + col + ")", nil, nil
	}
	panic("unreachable: template " + t.Kind)
}

// ident quotes "schema.table" or "table"; what names it in errors.
func ident(name, what string) (string, error) {
	parts := strings.Split(name, ".")
	if name == "" || len(parts) > 2 || slices.Contains(parts, "") {
		return "", fmt.Errorf("%s must be schema.table or table, got %q", what, name)
	}
	return pgx.Identifier(parts).Sanitize(), nil
}
