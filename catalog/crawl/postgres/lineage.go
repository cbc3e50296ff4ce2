package postgres

import (
	"slices"
	"strings"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
)

// JobSQLView is the type of the jobs a crawl derives from views: a view or
// materialized view reading its relations.
const JobSQLView = "sql_view"

// viewLineage adds to a harvest one job per view and materialized view,
// "view:<name>" of type JobSQLView, whose inputs are the relations its
// definition reads and whose output is the view itself, and the column
// lineage of the view (see sqllineage.ColumnLineage), with the columns of
// the relations it reads taken from the harvest.
//
// A partition is no dataset of its own (see Crawl): a view that reads one
// directly reads its partitioned table, at whatever depth the partition
// sits. PostgreSQL's definitions are printed with an empty search_path,
// so a relation they name without a schema is in pg_catalog (a Redshift
// one is looked up in the view's own schema, then public). SQL that does
// not parse, and relations that
// resolve to nothing crawled (but the system catalogs, which no crawl
// holds), are recorded as errors on the harvest
// (warnings: the crawl stays partial), never a failure. Each scope of the
// harvest gets a twin covering the "view:" jobs, so that the job of a
// dropped view is marked removed with the view.
//
// Definitions are parsed in dialect: PostgreSQL's, or Redshift's for a
// Redshift crawl.
// dbs are the names of the databases crawled, the first part of their
// datasets' names (a name may hold a dot).
func viewLineage(h catalog.Harvest, dbs []string, dialect sqllineage.Dialect) catalog.Harvest {
	unqualified := []string{"pg_catalog"}
	if dialect == sqllineage.Redshift {
		unqualified = nil // the view's schema, then public
	}
	for _, sc := range slices.Clone(h.Scopes) {
		h.Scopes = append(h.Scopes, catalog.Scope{Namespace: sc.Namespace, Prefix: "view:" + sc.Prefix})
	}
	// known maps the name of every dataset, and of every partition, to the
	// dataset it stands for.
	known := make(map[catalog.Key]catalog.Key, len(h.Datasets))
	columns := make(map[catalog.Key][]string, len(h.Datasets))
	for _, d := range h.Datasets {
		known[d.Key] = d.Key
		columns[d.Key] = columnNames(d.Columns)
		for _, p := range d.Partitions {
			known[catalog.Key{Namespace: d.Key.Namespace, Name: p.Name}] = d.Key
		}
	}
	for _, d := range h.Datasets {
		if d.Definition == "" || (d.Kind != catalog.KindView && d.Kind != catalog.KindMaterializedView) {
			continue
		}
		db, schema, ok := splitName(d.Key.Name, dbs)
		if !ok {
			continue
		}
		warn := func(msg string) {
			h.Errors = append(h.Errors, catalog.CrawlError{Object: d.Key.String(), Message: "sql lineage: " + msg})
		}
		rels, err := dialect.Relations(d.Definition)
		if err != nil {
			warn(err.Error())
			continue
		}
		job := catalog.JobFacts{
			Key:     catalog.JobKey{Namespace: d.Key.Namespace, Name: "view:" + d.Key.Name},
			Type:    JobSQLView,
			SQL:     d.Definition,
			Outputs: []catalog.Key{d.Key},
		}
		var unresolved []string
		catalogOnly := len(rels) > 0
		for _, r := range rels {
			sys := systemRelation(r, unqualified)
			catalogOnly = catalogOnly && sys
			k, ok := resolve(known, d.Key.Namespace, db, schema, unqualified, r)
			if !ok {
				if !sys { // the system catalogs are never crawled
					unresolved = append(unresolved, strings.Trim(r.Catalog+"."+r.Schema+"."+r.Name, "."))
				}
				continue
			}
			if !slices.Contains(job.Inputs, k) { // two partitions of one table
				job.Inputs = append(job.Inputs, k)
			}
		}
		if len(unresolved) > 0 {
			warn("relations not found in the crawl: " + strings.Join(unresolved, ", "))
		}
		h.Jobs = append(h.Jobs, job)
		if catalogOnly {
			// A view of the system catalogs alone (a monitoring view)
			// reads nothing crawled: no column lineage, and nothing
			// to warn about.
			continue
		}

		q, err := dialect.ColumnLineage(d.Definition, func(r sqllineage.Relation) (sqllineage.Table, bool) {
			k, ok := resolve(known, d.Key.Namespace, db, schema, unqualified, r)
			return sqllineage.Table{Key: k, Columns: columns[k]}, ok
		})
		if err != nil { // not a single SELECT
			warn("columns: " + err.Error())
			continue
		}
		h.ColumnLineage = append(h.ColumnLineage, q.Facts(d.Key)...)
		if len(q.Warnings) > 0 {
			warn("columns: " + strings.Join(q.Warnings, "; "))
		}
	}
	return h
}

// systemRelation reports whether r, named in a view's definition, is one
// of the system catalogs: in pg_catalog or information_schema, or named
// without a schema where that means pg_catalog.
func systemRelation(r sqllineage.Relation, unqualified []string) bool {
	s := r.Schema
	if s == "" && len(unqualified) == 1 {
		s = unqualified[0]
	}
	return s == "pg_catalog" || s == "information_schema"
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

// splitName splits "db.schema.rel" into the database, the longest of dbs
// it starts with (a database name may hold a dot), and the schema, up to
// the next dot; schema names with dots are rare and their views are
// skipped.
func splitName(name string, dbs []string) (db, schema string, ok bool) {
	for _, d := range dbs {
		if len(d) > len(db) && strings.HasPrefix(name, d+".") {
			db = d
		}
	}
	if db == "" {
		return "", "", false
	}
	schema, _, ok = strings.Cut(name[len(db)+1:], ".")
	return db, schema, ok
}

// resolve returns the dataset that relation r, named in a view of schema
// viewSchema in database db, stands for. A relation named without a
// schema is looked up in the schemas unqualified, or when there are none
// in the view's schema, then public.
func resolve(known map[catalog.Key]catalog.Key, ns, db, viewSchema string, unqualified []string, r sqllineage.Relation) (catalog.Key, bool) {
	if r.Catalog != "" {
		db = r.Catalog
	}
	schemas := []string{r.Schema}
	if r.Schema == "" {
		schemas = unqualified
		if len(schemas) == 0 {
			schemas = []string{viewSchema, "public"}
		}
	}
	for _, s := range schemas {
		if k, ok := known[catalog.Key{Namespace: ns, Name: db + "." + s + "." + r.Name}]; ok {
			return k, true
		}
	}
	return catalog.Key{}, false
}
