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
// sits. A relation named without a schema is looked up in the view's own
// schema, then in public. SQL that does not parse, and relations that
// resolve to nothing crawled, are recorded as errors on the harvest
// (warnings: the crawl stays partial), never a failure. Each scope of the
// harvest gets a twin covering the "view:" jobs, so that the job of a
// dropped view is marked removed with the view.
//
// Definitions are parsed in dialect: PostgreSQL's, or Redshift's for a
// Redshift crawl.
func viewLineage(h catalog.Harvest, dialect sqllineage.Dialect) catalog.Harvest {
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
		db, schema, ok := splitName(d.Key.Name)
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
		for _, r := range rels {
			k, ok := resolve(known, d.Key.Namespace, db, schema, r)
			if !ok {
				unresolved = append(unresolved, strings.Trim(r.Catalog+"."+r.Schema+"."+r.Name, "."))
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

		q, err := dialect.ColumnLineage(d.Definition, func(r sqllineage.Relation) (sqllineage.Table, bool) {
			k, ok := resolve(known, d.Key.Namespace, db, schema, r)
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

// resolve returns the dataset that relation r, named in a view of schema
// viewSchema in database db, stands for.
func resolve(known map[catalog.Key]catalog.Key, ns, db, viewSchema string, r sqllineage.Relation) (catalog.Key, bool) {
	if r.Catalog != "" {
		db = r.Catalog
	}
	schemas := []string{r.Schema}
	if r.Schema == "" {
		schemas = []string{viewSchema, "public", "pg_catalog"}
	}
	for _, s := range schemas {
		if k, ok := known[catalog.Key{Namespace: ns, Name: db + "." + s + "." + r.Name}]; ok {
			return k, true
		}
	}
	return catalog.Key{}, false
}
