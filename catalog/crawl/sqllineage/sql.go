// Package sqllineage extracts lineage from SQL with PostgreSQL's own
// parser (pg_query_go): the relations a query reads (Relations), and for
// each output column the input columns it comes from and how
// (ColumnLineage). ViewLineage applies both to the views and materialized
// views of a PostgreSQL crawl; the dbt crawler applies ColumnLineage to
// compiled models. SQL it cannot resolve becomes a warning, never a
// failure.
package sqllineage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"almanac/catalog"
)

// JobSQLView is the type of the jobs ViewLineage derives: a view or
// materialized view reading its relations.
const JobSQLView = "sql_view"

// Relation is a table a query reads, as written: schema and catalog are
// "" when the query leaves them out.
type Relation struct {
	Catalog, Schema, Name string
}

// Relations returns the relations a SQL statement reads, in order of first
// appearance, without the names of its common table expressions. It
// parses with PostgreSQL's own parser.
func Relations(sql string) ([]Relation, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parse sql: %w", err)
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

// ViewLineage adds to a PostgreSQL crawl's harvest one job per view and
// materialized view, "view:<name>" of type JobSQLView, whose inputs are
// the relations its definition reads and whose output is the view itself,
// and the column lineage of the view (see ColumnLineage), with the
// columns of the relations it reads taken from the harvest.
// Dataset names are database.schema.relation, as the PostgreSQL crawler
// makes them. A relation named without a schema is looked up in the
// view's own schema, then in public. SQL that does not parse, and
// relations that resolve to nothing crawled, are recorded as errors on the
// harvest (warnings: the crawl stays partial), never a failure. Each scope
// of the harvest gets a twin covering the "view:" jobs, so that the job of
// a dropped view is marked removed with the view.
func ViewLineage(h catalog.Harvest) catalog.Harvest {
	for _, sc := range slices.Clone(h.Scopes) {
		h.Scopes = append(h.Scopes, catalog.Scope{Namespace: sc.Namespace, Prefix: "view:" + sc.Prefix})
	}
	known := make(map[catalog.Key]bool, len(h.Datasets))
	columns := make(map[catalog.Key][]string, len(h.Datasets))
	for _, d := range h.Datasets {
		known[d.Key] = true
		columns[d.Key] = columnNames(d.Columns)
	}
	for _, d := range h.Datasets {
		if d.Definition == "" || (d.Kind != catalog.KindView && d.Kind != catalog.KindMaterializedView) {
			continue
		}
		db, schema, ok := splitName(d.Key.Name)
		if !ok {
			continue
		}
		tree, err := pg_query.Parse(d.Definition)
		if err != nil {
			h.Errors = append(h.Errors, catalog.CrawlError{Object: d.Key.String(), Message: "sql lineage: parse sql: " + err.Error()})
			continue
		}
		rels := relations(tree)
		job := catalog.Job{
			Key:     catalog.JobKey{Namespace: d.Key.Namespace, Name: "view:" + d.Key.Name},
			Type:    JobSQLView,
			SQL:     d.Definition,
			Outputs: []catalog.Key{d.Key},
		}
		var unresolved []string
		for _, r := range rels {
			k, ok := resolve(known, d.Key.Namespace, db, schema, r)
			if !ok {
				unresolved = append(unresolved, strings.Trim(r.Catalog+"."+r.Schema+"."+r.Name, "."))
				continue
			}
			job.Inputs = append(job.Inputs, k)
		}
		if len(unresolved) > 0 {
			h.Errors = append(h.Errors, catalog.CrawlError{Object: d.Key.String(),
				Message: "sql lineage: relations not found in the crawl: " + strings.Join(unresolved, ", ")})
		}
		h.Jobs = append(h.Jobs, job)

		q, err := columnLineage(tree, func(r Relation) (Table, bool) {
			k, ok := resolve(known, d.Key.Namespace, db, schema, r)
			return Table{Key: k, Columns: columns[k]}, ok
		})
		if err != nil { // not a single SELECT
			h.Errors = append(h.Errors, catalog.CrawlError{Object: d.Key.String(), Message: "sql lineage: columns: " + err.Error()})
			continue
		}
		h.ColumnLineage = append(h.ColumnLineage, q.Facts(d.Key)...)
		if len(q.Warnings) > 0 {
			h.Errors = append(h.Errors, catalog.CrawlError{Object: d.Key.String(),
				Message: "sql lineage: columns: " + strings.Join(q.Warnings, "; ")})
		}
	}
	return h
}

// columnNames lists columns by ordinal, as `*` expands them.
func columnNames(cols []catalog.Column) []string {
	cols = slices.Clone(cols)
	slices.SortStableFunc(cols, func(a, b catalog.Column) int { return a.Ordinal - b.Ordinal })
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// splitName splits "db.schema.rel" at its first two dots; schema and
// relation names with dots are rare and their views are skipped.
func splitName(name string) (db, schema string, ok bool) {
	db, rest, ok1 := strings.Cut(name, ".")
	schema, _, ok2 := strings.Cut(rest, ".")
	return db, schema, ok1 && ok2
}

func resolve(known map[catalog.Key]bool, ns, db, viewSchema string, r Relation) (catalog.Key, bool) {
	if r.Catalog != "" {
		db = r.Catalog
	}
	schemas := []string{r.Schema}
	if r.Schema == "" {
		schemas = []string{viewSchema, "public", "pg_catalog"}
	}
	for _, s := range schemas {
		k := catalog.Key{Namespace: ns, Name: db + "." + s + "." + r.Name}
		if known[k] {
			return k, true
		}
	}
	return catalog.Key{}, false
}
