// Package sqllineage extracts lineage from SQL with PostgreSQL's own
// parser (pg_query_go): the relations a query reads (Relations), and for
// each output column the input columns it comes from and how
// (ColumnLineage). The PostgreSQL crawler applies both to the definitions
// of views and materialized views, the dbt crawler ColumnLineage to
// compiled models. It sits beside the crawlers, under catalog/, and knows
// nothing of how a crawl names its datasets: a Resolver says what a
// relation stands for. SQL it cannot resolve becomes a warning, never a
// failure.
package sqllineage

import (
	"cmp"
	"slices"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Relation is a table a query reads, as written: schema and catalog are
// "" when the query leaves them out.
type Relation struct {
	Catalog, Schema, Name string
}

// Relations returns the relations a PostgreSQL statement reads, in order
// of first appearance, without the names of its common table
// expressions. It parses with PostgreSQL's own parser.
func Relations(sql string) ([]Relation, error) {
	return Postgres.Relations(sql)
}

// Relations returns the relations a statement of dialect d reads, as
// the package function does for PostgreSQL. SQL it cannot parse is a
// *ParseError.
func (d Dialect) Relations(sql string) ([]Relation, error) {
	tree, _, err := d.parse(sql)
	if err != nil {
		return nil, err
	}
	return relations(tree), nil
}

// relations is Relations of a parsed statement. It orders the relations
// by where the SQL names them, whatever the order of the parse tree.
func relations(tree *pg_query.ParseResult) []Relation {
	type named struct {
		rel Relation
		at  int32 // byte offset in the SQL
	}
	var all []named
	ctes := map[string]bool{}
	var walk func(n *pg_query.Node)
	walk = func(n *pg_query.Node) {
		if c := n.GetCommonTableExpr(); c != nil {
			ctes[c.GetCtename()] = true
		}
		if rv := n.GetRangeVar(); rv != nil && rv.GetRelname() != "" {
			all = append(all, named{Relation{Catalog: rv.GetCatalogname(), Schema: rv.GetSchemaname(), Name: rv.GetRelname()}, rv.GetLocation()})
		}
		childNodes(n.ProtoReflect(), walk)
	}
	for _, s := range tree.GetStmts() {
		walk(s.GetStmt())
	}
	slices.SortStableFunc(all, func(a, b named) int { return cmp.Compare(a.at, b.at) })
	var rels []Relation
	for _, n := range all {
		// A CTE shadows a table of the same unqualified name.
		if !(n.rel.Schema == "" && ctes[n.rel.Name]) && !slices.Contains(rels, n.rel) {
			rels = append(rels, n.rel)
		}
	}
	return rels
}

// Reads returns the relations that a data-reading statement of dialect d
// reads (SELECT, INSERT … SELECT, UPDATE … FROM, DELETE … USING, MERGE),
// as Relations does: the tables a statement writes are not among them
// unless it reads them elsewhere. dml is false for every other statement
// (DDL, utility commands such as COPY, SET or VACUUM), whose relations it
// does not return: those are not reads, and their text is not normalized
// by statistics collectors, so it may hold literals worth keeping out of a
// catalog. SQL it cannot parse is a *ParseError.
func (d Dialect) Reads(sql string) (rels []Relation, dml bool, err error) {
	tree, _, err := d.parse(sql)
	if err != nil {
		return nil, false, err
	}
	for _, s := range tree.GetStmts() {
		n := s.GetStmt()
		if n.GetSelectStmt() == nil && n.GetInsertStmt() == nil && n.GetUpdateStmt() == nil &&
			n.GetDeleteStmt() == nil && n.GetMergeStmt() == nil {
			return nil, false, nil
		}
	}
	return relations(tree), true, nil
}
