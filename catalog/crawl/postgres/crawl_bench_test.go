package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/pgtest"
)

const (
	benchSchemas = 100
	benchTables  = 100 // per schema
	benchColumns = 10  // per table, the primary key included
)

var benchTypes = []struct{ typ, def string }{
	{"text", "'none'"},
	{"integer", "0"},
	{"numeric(12,2)", "0.00"},
	{"timestamp with time zone", "now()"},
	{"boolean", "false"},
}

// buildWarehouse fills the database at dbURL with benchSchemas ×
// benchTables tables of benchColumns columns, every table with a primary
// key, every tenth with a comment and its columns with comments, and every
// fifth with a foreign key to its neighbour. Each schema is one
// multi-statement Exec, and so one transaction: a single one for all would
// hold a lock per table and overflow the server's lock table.
func buildWarehouse(tb testing.TB, dbURL string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for s := range benchSchemas {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE SCHEMA s%03d;\n", s)
		for t := range benchTables {
			fmt.Fprintf(&b, "CREATE TABLE s%03d.t%03d (id bigint PRIMARY KEY", s, t)
			for c := 1; c < benchColumns; c++ {
				col := benchTypes[c%len(benchTypes)]
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
				for c := 1; c < benchColumns; c++ {
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

// BenchmarkCrawl crawls a warehouse of 10,000 tables and 100,000 columns
// (more with the foreign key columns). Building it takes a while and is not
// timed.
func BenchmarkCrawl(b *testing.B) {
	dbURL := pgtest.EmptyDB(b)
	start := time.Now()
	buildWarehouse(b, dbURL)
	b.Logf("built %d tables in %v", benchSchemas*benchTables, time.Since(start).Round(time.Millisecond))

	cfg := Config{Source: "postgres:bench", URL: dbURL}
	for b.Loop() {
		h, err := Crawl(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if len(h.Datasets) != benchSchemas*benchTables || len(h.Errors) != 0 || len(h.Scopes) != 1 {
			b.Fatalf("%d datasets, %d scopes, errors %v", len(h.Datasets), len(h.Scopes), h.Errors)
		}
	}
}
