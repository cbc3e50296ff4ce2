package sqllineage

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
)

// Dialect is the SQL dialect of a warehouse. SQL of a dialect other than
// PostgreSQL is normalised into SQL that PostgreSQL's parser reads, with
// the same names and the same column dependencies, before its lineage is
// derived: no maintained Go parser exists for Snowflake, BigQuery, Spark
// or DuckDB SQL, and one extractor over one parse tree keeps the lineage
// rules in one place. See normalize.go for each rewrite and what it means
// for lineage.
type Dialect string

// The dialects. The zero Dialect is Generic.
const (
	Postgres  Dialect = "postgres"
	Redshift  Dialect = "redshift"
	Snowflake Dialect = "snowflake"
	BigQuery  Dialect = "bigquery"
	Spark     Dialect = "spark" // Spark SQL and Databricks
	DuckDB    Dialect = "duckdb"
	Trino     Dialect = "trino" // Trino, Presto, Athena
	// Generic is any other warehouse: PostgreSQL's syntax with the
	// rewrites that mean the same in every dialect (backquoted names,
	// interval 1 day, QUALIFY…).
	Generic Dialect = ""
)

// DialectOf returns the dialect of a dbt adapter (the adapter_type of a
// manifest's metadata) or of a warehouse named so: "databricks" is
// Spark, "athena" Trino, "materialize" PostgreSQL. Anything unknown is
// Generic.
func DialectOf(adapter string) Dialect {
	switch strings.ToLower(strings.TrimSpace(adapter)) {
	case "postgres", "postgresql", "materialize", "alloydb", "greenplum", "cockroachdb", "timescaledb", "yellowbrick":
		return Postgres
	case "redshift":
		return Redshift
	case "snowflake":
		return Snowflake
	case "bigquery":
		return BigQuery
	case "spark", "databricks", "glue", "fabricspark", "hive", "impala":
		return Spark
	case "duckdb", "motherduck":
		return DuckDB
	case "trino", "presto", "athena", "starburst":
		return Trino
	}
	return Generic
}

// String returns the dialect's name.
func (d Dialect) String() string {
	if d == Generic {
		return "generic"
	}
	return string(d)
}

// dialectRules says how a dialect writes what the lexer and the
// normaliser must tell apart.
type dialectRules struct {
	backticks           bool // `quoted identifiers`
	backtickPaths       bool // `project.dataset.table` is three names
	doubleQuotedStrings bool // "…" is a string, not a name
	backslashEscapes    bool // 'it\'s'
	rawPrefixes         bool // r'…', b'…'
	hashComments        bool // # comment
	nestedComments      bool // /* /* */ */
	dollarStrings       bool // $$…$$, $tag$…$tag$
	pathColons          bool // v:field.sub (semi-structured paths)
	// unitFirst and unitLast name the functions whose first or last
	// argument is a date part written as a bare word.
	unitFirst, unitLast map[string]bool
	// postgres says that the SQL is PostgreSQL's: nothing is rewritten.
	postgres bool
}

var (
	snowflakeUnits = set("dateadd", "datediff", "timeadd", "timediff", "timestampadd", "timestampdiff", "date_part", "datepart", "date_trunc", "time_slice")
	redshiftUnits  = set("dateadd", "datediff", "date_part", "datepart", "date_trunc")
	sparkUnits     = set("dateadd", "datediff", "date_diff", "timestampadd", "timestampdiff", "date_part", "extract")
	bigqueryUnits  = set("date_trunc", "datetime_trunc", "timestamp_trunc", "time_trunc", "date_diff", "datetime_diff", "timestamp_diff", "time_diff", "last_day", "date_bucket")
)

var rulesOf = map[Dialect]*dialectRules{
	Postgres:  {postgres: true, nestedComments: true, dollarStrings: true},
	Redshift:  {nestedComments: true, dollarStrings: true, unitFirst: redshiftUnits},
	Snowflake: {backslashEscapes: true, dollarStrings: true, pathColons: true, unitFirst: snowflakeUnits, unitLast: set("last_day")},
	BigQuery:  {backticks: true, backtickPaths: true, doubleQuotedStrings: true, backslashEscapes: true, rawPrefixes: true, hashComments: true, unitLast: bigqueryUnits},
	Spark:     {backticks: true, doubleQuotedStrings: true, backslashEscapes: true, rawPrefixes: true, nestedComments: true, pathColons: true, unitFirst: sparkUnits},
	DuckDB:    {nestedComments: true, dollarStrings: true},
	Trino:     {},
	Generic:   {backticks: true, unitFirst: redshiftUnits},
}

func (d Dialect) rules() *dialectRules {
	if r, ok := rulesOf[d]; ok {
		return r
	}
	return rulesOf[Generic]
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// ParseError is SQL that no rewrite of its dialect makes PostgreSQL's
// parser read. Construct names what could not be read: a construct the
// normaliser knows it does not translate ("PIVOT", "MATCH_RECOGNIZE"),
// or the token the parser stopped at (`unparsable near "…"`).
type ParseError struct {
	Dialect   Dialect
	Construct string
	Line      int // 1-based line of the SQL as written; 0 when unknown
	Err       error
}

func (e *ParseError) Error() string {
	where := ""
	if e.Line > 0 {
		where = fmt.Sprintf(" at line %d", e.Line)
	}
	return fmt.Sprintf("cannot parse %s SQL: %s%s (%v)", e.Dialect, e.Construct, where, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// unsupported are constructs the normaliser does not translate, by the
// word that starts them: a parse error at one of them names it.
var unsupported = map[string]string{
	"pivot": "PIVOT", "unpivot": "UNPIVOT", "match_recognize": "MATCH_RECOGNIZE", "connect": "CONNECT BY",
	"tablesample": "TABLESAMPLE", "sample": "SAMPLE", "changes": "CHANGES", "before": "time travel (AT/BEFORE)",
	"top": "SELECT TOP", "cluster": "CLUSTER BY", "distribute": "DISTRIBUTE BY", "sort": "SORT BY",
	"transform": "TRANSFORM", "declare": "scripting (DECLARE)", "set": "scripting (SET)", "begin": "scripting (BEGIN)",
	"{": "struct or map literal ({…})", "=>": "named argument", "->": "lambda (->)", "qualify": "QUALIFY",
	"except": "EXCEPT", "exclude": "EXCLUDE", "replace": "REPLACE", "lateral": "LATERAL", "unnest": "UNNEST",
	"flatten": "FLATTEN", "interval": "INTERVAL", "struct": "STRUCT", "array": "ARRAY", "{{": "Jinja", "{%": "Jinja",
}

// parse normalises sql of dialect d and parses it with PostgreSQL's
// parser. It returns the normalised statement's rewrites besides.
func (d Dialect) parse(sql string) (*pg_query.ParseResult, *normalized, error) {
	n, lerr := normalize(sql, d)
	if lerr != nil {
		return nil, nil, &ParseError{Dialect: d, Construct: "unterminated " + lerr.what, Line: lineOf(sql, lerr.pos), Err: errors.New("no closing quote")}
	}
	tree, err := pg_query.Parse(n.sql)
	if err == nil {
		return tree, n, nil
	}
	pe := &ParseError{Dialect: d, Construct: "unparsable", Err: err}
	if pos, ok := errorPos(err, n.sql); ok {
		src := n.source(pos)
		pe.Line = lineOf(sql, src)
		pe.Construct = n.construct(sql, src, d)
	}
	return nil, nil, pe
}

// errorPos is the byte offset in sql where PostgreSQL's parser stopped.
func errorPos(err error, sql string) (int, bool) {
	var perr *parser.Error
	if !errors.As(err, &perr) || perr.Cursorpos <= 0 {
		return 0, false
	}
	// A 1-based character position.
	off := 0
	for n := 1; n < perr.Cursorpos && off < len(sql); n++ {
		_, size := utf8.DecodeRuneInString(sql[off:])
		off += size
	}
	return off, true
}

// lineOf is the 1-based line of the byte offset pos in sql.
func lineOf(sql string, pos int) int {
	return strings.Count(sql[:min(pos, len(sql))], "\n") + 1
}
