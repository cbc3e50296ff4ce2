package catalog

// InheritedDescription is what a column that no source describes means,
// taken from the upstream column it copies unchanged: a view's or a
// model's column selected as it is from a table means what the table's
// column means. Pages show it marked as inherited, with the column it
// comes from.
type InheritedDescription struct {
	Text string
	// Source is the source of the upstream column's description.
	Source string
	// From and Column name the upstream column whose description it is;
	// it may be several copies upstream.
	From   Key
	Column string
}

// MaxInheritHops is how many copies upstream a description is looked for.
const MaxInheritHops = 5

// CopiedColumn returns the one input column that the column col copies
// unchanged according to lineage, the column lineage rows into col's
// dataset: its only direct input, by an IDENTITY transformation or one
// that does not say (as OpenLineage's older column lineage facet does
// not). A column computed from its input (an aggregation, a
// transformation) or from several inputs copies none, and inherits
// nothing: its meaning is its own. Indirect inputs (filters, joins) do
// not count.
func CopiedColumn(lineage []ColumnLineage, col string) (Key, string, bool) {
	var from Key
	var fromCol string
	n := 0
	for _, l := range lineage {
		if l.Column != col || l.Type == "INDIRECT" {
			continue
		}
		if l.Type != "" && l.Type != "DIRECT" || l.Subtype != "" && l.Subtype != "IDENTITY" {
			return Key{}, "", false
		}
		if n > 0 && (l.Input != from || l.InputColumn != fromCol) {
			return Key{}, "", false
		}
		from, fromCol, n = l.Input, l.InputColumn, n+1
	}
	return from, fromCol, n > 0 && fromCol != ""
}
