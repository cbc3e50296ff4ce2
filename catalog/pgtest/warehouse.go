package pgtest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var warehouseTypes = []struct{ typ, def string }{
	{"text", "'none'"},
	{"integer", "0"},
	{"numeric(12,2)", "0.00"},
	{"timestamp with time zone", "now()"},
	{"boolean", "false"},
}

// BuildWarehouse fills the database at dbURL with schemas × tables
// tables of columns columns (plus a foreign key column in every fifth), every table with a primary
// key, every tenth with a comment and its columns with comments, and every
// fifth with a foreign key to its neighbour. Each schema is one
// multi-statement Exec, and so one transaction: a single one for all would
// hold a lock per table and overflow the server's lock table.
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
				col := warehouseTypes[c%len(warehouseTypes)]
				fmt.Fprintf(&b, ", c%02d %s", c, col.typ)
				if c%3 == 0 {
					b.WriteString(" NOT NULL DEFAULT " + col.def)
				}
			}
			if t%5 == 1 {
				fmt.Fprintf(&b, ", parent bigint REFERENCES s%03d.t%03d (id)", s, t-1)
			}
			b.WriteString(");\n")
			if t%10 == 0 {
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
