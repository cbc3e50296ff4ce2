package pgtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// warehouseTypes are the column types of a generated warehouse, in turn,
// with the default a NOT NULL column of the type has as written in DDL
// and as PostgreSQL reads it back (pg_get_expr).
var warehouseTypes = []struct{ typ, def, readDef string }{
	{"text", "'none'", "'none'::text"},
	{"integer", "0", "0"},
	{"numeric(12,2)", "0.00", "0.00"},
	{"timestamp with time zone", "now()", "now()"},
	{"boolean", "false", "false"},
}

// warehouseColumn is column c (1 ≤ c < columns; column 0 is the key id)
// of every generated table: its name, type, and whether it is NOT NULL
// with a default (every third).
func warehouseColumn(c int) (name string, typ int, notNull bool) {
	return fmt.Sprintf("c%02d", c), c % len(warehouseTypes), c%3 == 0
}

// The generated warehouse's regular features: every tenth table (t%10 ==
// 0) has a comment and so have its columns; every fifth (t%5 == 1) a
// foreign key column parent referring to the table before it.
func warehouseCommented(t int) bool { return t%10 == 0 }
func warehouseHasParent(t int) bool { return t%5 == 1 }

// BuildWarehouse fills the database at dbURL with schemas × tables
// tables of columns columns (plus a foreign key column in every fifth), every table with a primary
// key, every tenth with a comment and its columns with comments, and every
// fifth with a foreign key to its neighbour. Each schema is one
// multi-statement Exec, and so one transaction: a single one for all would
// hold a lock per table and overflow the server's lock table.
// WarehouseHarvest returns what the PostgreSQL crawler reads from it
// without building it.
func BuildWarehouse(tb testing.TB, dbURL string, schemas, tables, columns int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for s := range schemas {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE SCHEMA s%03d;\n", s)
		for t := range tables {
			fmt.Fprintf(&b, "CREATE TABLE s%03d.t%03d (id bigint PRIMARY KEY", s, t)
			for c := 1; c < columns; c++ {
				name, typ, notNull := warehouseColumn(c)
				fmt.Fprintf(&b, ", %s %s", name, warehouseTypes[typ].typ)
				if notNull {
					b.WriteString(" NOT NULL DEFAULT " + warehouseTypes[typ].def)
				}
			}
			if warehouseHasParent(t) {
				fmt.Fprintf(&b, ", parent bigint REFERENCES s%03d.t%03d (id)", s, t-1)
			}
			b.WriteString(");\n")
			if warehouseCommented(t) {
				fmt.Fprintf(&b, "COMMENT ON TABLE s%03d.t%03d IS 'Table %d of schema %d.';\n", s, t, t, s)
				for c := 1; c < columns; c++ {
					fmt.Fprintf(&b, "COMMENT ON COLUMN s%03d.t%03d.c%02d IS 'Column %d.';\n", s, t, c, c)
				}
			}
		}
		if _, err := conn.Exec(ctx, b.String()); err != nil {
			tb.Fatalf("build schema s%03d: %v", s, err)
		}
	}
	// As in a warehouse at rest: statistics gathered, and the catalogs'
	// hint bits set, which the first reader after so much DDL would
	// otherwise do during the timed crawl.
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// WarehouseHarvest returns the harvest that the PostgreSQL crawler
// (source, namespace) reads from a warehouse BuildWarehouse built with
// the same schemas, tables and columns in the database named database,
// owned by the role postgres, empty (no rows, 16 kB on disk a table):
// the same datasets without creating the tables, for catalogs too large
// to build as PostgreSQL tables (a million tables) in a benchmark.
// TestWarehouseHarvest in catalog/crawl/postgres compares the two.
func WarehouseHarvest(source, namespace, database string, schemas, tables, columns int) catalog.Harvest {
	h := catalog.Harvest{Source: source, Scopes: []catalog.Scope{
		{Namespace: namespace, Prefix: database + "."},
		{Namespace: namespace, Prefix: "view:" + database + "."},
	}}
	h.Datasets = make([]catalog.DatasetFacts, 0, schemas*tables)
	rows, size := int64(0), int64(16384)
	for s := range schemas {
		for t := range tables {
			key := func(t int) catalog.Key {
				return catalog.Key{Namespace: namespace, Name: fmt.Sprintf("%s.s%03d.t%03d", database, s, t)}
			}
			f := catalog.DatasetFacts{
				Key: key(t), Platform: "postgres", Kind: catalog.KindTable,
				RowEstimate: &rows, SizeBytes: &size,
				Properties: map[string]string{"primary_key": "id"},
				Owners:     []catalog.Owner{{Name: "postgres", Kind: catalog.OwnerRole, Type: "technical"}},
				Columns:    make([]catalog.Column, 0, columns+1),
			}
			f.Columns = append(f.Columns, catalog.Column{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true})
			for c := 1; c < columns; c++ {
				name, typ, notNull := warehouseColumn(c)
				col := catalog.Column{Name: name, Ordinal: c + 1, Type: warehouseTypes[typ].typ, Nullable: !notNull}
				if notNull {
					col.Default = warehouseTypes[typ].readDef
				}
				if warehouseCommented(t) {
					col.Description = fmt.Sprintf("Column %d.", c)
				}
				f.Columns = append(f.Columns, col)
			}
			if warehouseCommented(t) {
				f.Description = fmt.Sprintf("Table %d of schema %d.", t, s)
			}
			if warehouseHasParent(t) {
				f.Columns = append(f.Columns, catalog.Column{Name: "parent", Ordinal: columns + 1, Type: "bigint", Nullable: true})
				f.ForeignKeys = []catalog.ForeignKey{{Name: fmt.Sprintf("t%03d_parent_fkey", t), Columns: []string{"parent"}, Target: key(t - 1), TargetCol: []string{"id"}}}
			}
			h.Datasets = append(h.Datasets, f)
		}
	}
	return h
}
