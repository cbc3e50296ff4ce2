package dbt

import (
	"cmp"
	"slices"
	"strings"

	"almanac/catalog"
	"almanac/catalog/crawl/sqllineage"
)

// This file derives the column lineage of models from their compiled SQL,
// after the manifest has been read: compiled SQL names relations as dbt
// renders them ("db"."schema"."table"), which are resolved to the nodes
// of the manifest and so to their dataset keys. It needs the columns of
// every node a model reads, which only the whole manifest (and
// catalog.json) gives, hence after the stream rather than during it.

// columnLineage adds to the harvest the column lineage of every model of
// m that has compiled SQL. What cannot be attributed is a warning on the
// model; the crawl goes on.
func (c *crawler) columnLineage(m *manifest, cat map[string]*catalogEntry) {
	r := &relations{c: c, cat: cat, byName: map[string][]*node{}, tables: map[string]sqllineage.Table{}, busy: map[string]bool{}, parsed: map[string]sqllineage.QueryLineage{},
		dialect: sqllineage.DialectOf(m.meta.AdapterType)}
	for _, id := range m.order {
		if n := m.nodes[id]; isDataset(n) {
			for _, name := range r.names(n) {
				r.byName[name] = append(r.byName[name], n)
			}
			if !slices.Contains(r.databases, n.Database) {
				r.databases = append(r.databases, n.Database)
			}
		}
	}
	for _, id := range m.order {
		n := m.nodes[id]
		// A snapshot's compiled SQL is the select it records; the
		// columns dbt adds (dbt_valid_from…) have no lineage.
		if n.ResourceType != "model" && n.ResourceType != "snapshot" || !isDataset(n) || n.compiledSQL() == "" {
			continue
		}
		q, err := r.lineage(n)
		if err != nil {
			// On the dataset, so its page shows it (the model is named).
			c.warn(c.key(n).String(), "column lineage of %s: %v", n.UniqueID, err)
			continue
		}
		facts := q.Facts(c.key(n))
		r.matchCase(c.key(n), facts)
		c.hv.ColumnLineage = append(c.hv.ColumnLineage, facts...)
		if len(q.Warnings) > 0 {
			c.warn(c.key(n).String(), "column lineage of %s: %s", n.UniqueID, strings.Join(q.Warnings, "; "))
		}
	}
}

// matchCase names the output columns of facts as the model's dataset
// does, where they differ only in case: PostgreSQL's parser lower-cases
// what warehouses such as Snowflake upper-case.
func (r *relations) matchCase(key catalog.Key, facts []catalog.ColumnLineage) {
	i, ok := r.c.datasets[key]
	if !ok {
		return
	}
	cols := r.c.hv.Datasets[i].Columns
	for j, f := range facts {
		if f.Column == "" || slices.ContainsFunc(cols, func(c catalog.Column) bool { return c.Name == f.Column }) {
			continue
		}
		if k := slices.IndexFunc(cols, func(c catalog.Column) bool { return strings.EqualFold(c.Name, f.Column) }); k >= 0 {
			facts[j].Column = cols[k].Name
		}
	}
}

// relations resolves the relations of compiled SQL to the nodes of a
// manifest, with their columns.
type relations struct {
	c   *crawler
	cat map[string]*catalogEntry
	// byName holds the dataset nodes under "db.schema.rel", "schema.rel"
	// and "rel", lower-cased: dbt renders names as configured, and
	// warehouses differ in case.
	byName map[string][]*node
	tables map[string]sqllineage.Table // by unique_id, once known
	busy   map[string]bool             // models whose columns are being derived
	parsed map[string]sqllineage.QueryLineage
	// databases are the databases of the dataset nodes, as written.
	databases []string
	// dialect is the SQL dialect of the manifest's adapter.
	dialect sqllineage.Dialect
}

// names are the names compiled SQL may use for n's relation, as written
// in the manifest (not as Config.Database renames it).
func (r *relations) names(n *node) []string {
	rel := cmp.Or(n.Alias, n.Name)
	if n.ResourceType == "source" {
		rel = cmp.Or(n.Identifier, n.Name)
	}
	rel, schema, db := strings.ToLower(rel), strings.ToLower(n.Schema), strings.ToLower(n.Database)
	return []string{db + "." + schema + "." + rel, schema + "." + rel, rel}
}

// lineage derives the column lineage of a model's compiled SQL, once.
func (r *relations) lineage(n *node) (sqllineage.QueryLineage, error) {
	if q, ok := r.parsed[n.UniqueID]; ok {
		return q, nil
	}
	r.busy[n.UniqueID] = true
	defer delete(r.busy, n.UniqueID)
	q, err := r.dialect.ColumnLineage(n.compiledSQL(), func(rel sqllineage.Relation) (sqllineage.Table, bool) {
		return r.resolve(n, rel)
	})
	if err == nil {
		r.parsed[n.UniqueID] = q
	}
	return q, err
}

// resolve finds the node a relation of the compiled SQL of from names: by
// its full name, else by schema and name, else by name in from's schema,
// else by a name only one node has.
func (r *relations) resolve(from *node, rel sqllineage.Relation) (sqllineage.Table, bool) {
	name := strings.ToLower(strings.Trim(rel.Catalog+"."+rel.Schema+"."+rel.Name, "."))
	found := r.byName[name]
	if len(found) > 1 && rel.Schema == "" {
		same := slices.DeleteFunc(slices.Clone(found), func(d *node) bool { return !strings.EqualFold(d.Schema, from.Schema) })
		if len(same) > 0 {
			found = same
		}
	}
	if len(found) == 0 {
		return r.external(from, rel)
	}
	// A seed and the source over the table it loads name one relation:
	// either will do, they share a dataset.
	key := r.c.key(found[0])
	for _, d := range found[1:] {
		if r.c.key(d) != key {
			return sqllineage.Table{}, false // ambiguous
		}
	}
	return r.table(found[0]), true
}

// external resolves a relation that no node of the manifest names, such
// as a raw table read without a source declared over it: when the SQL
// names its schema, it is the warehouse's table of that name (in the
// database of the model reading it, when the SQL leaves it out), whose
// columns dbt does not know. Config.Database replaces the database of
// the project's own, as for nodes.
func (r *relations) external(from *node, rel sqllineage.Relation) (sqllineage.Table, bool) {
	if rel.Schema == "" || rel.Catalog == "" && from.Database == "" {
		return sqllineage.Table{}, false
	}
	db := cmp.Or(rel.Catalog, from.Database)
	if r.c.cfg.Database != "" && r.ownDatabase(db) {
		db = r.c.cfg.Database
	}
	return sqllineage.Table{Key: catalog.Key{Namespace: r.c.cfg.Namespace, Name: db + "." + rel.Schema + "." + rel.Name}, Open: true}, true
}

// ownDatabase reports whether a node of the manifest lives in db.
func (r *relations) ownDatabase(db string) bool {
	return slices.ContainsFunc(r.databases, func(d string) bool { return strings.EqualFold(d, db) })
}

// table is what the lineage of a model reading n knows of n's columns:
// those of catalog.json, which are all of them; else, for a model, the
// columns its own compiled SQL returns; else the documented ones, which
// may not be all (Table.Open).
func (r *relations) table(n *node) sqllineage.Table {
	if t, ok := r.tables[n.UniqueID]; ok {
		return t
	}
	key := r.c.key(n)
	t := sqllineage.Table{Key: key, Open: true}
	var documented []string
	if i, ok := r.c.datasets[key]; ok {
		for _, col := range r.c.hv.Datasets[i].Columns {
			documented = append(documented, col.Name)
		}
	}
	switch ce := r.cat[n.UniqueID]; {
	case ce != nil && len(ce.Columns) > 0:
		t.Columns, t.Open = documented, false
	case r.busy[n.UniqueID]:
		// A model reading itself (an incremental model's {{ this }}):
		// its documented columns, for this once.
		t.Columns = documented
		return t
	case n.ResourceType == "model" && n.compiledSQL() != "":
		q, err := r.lineage(n)
		if err != nil || len(q.Columns) == 0 {
			t.Columns = documented
			break
		}
		for _, col := range q.Columns {
			t.Columns = append(t.Columns, col.Name)
		}
		t.Open = q.Open
	default:
		t.Columns = documented
	}
	r.tables[n.UniqueID] = t
	return t
}
