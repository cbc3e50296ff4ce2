package sqllineage

import (
	"slices"
	"sort"
	"strings"
)

// This file rewrites SQL of a warehouse's dialect into SQL that
// PostgreSQL's parser reads, token by token (see lex.go), so that one
// extractor derives the lineage of every dialect. A rewrite keeps every
// name as written (a backquoted name becomes a double-quoted one, never
// a placeholder) and every column an expression reads; what it changes
// only changes how a value is computed, never which columns it comes
// from. The rewrites, and what each means for lineage:
//
//   - `a`.`b`, `project.dataset.table` (BigQuery) → "a"."b",
//     "project"."dataset"."table": the same names, case kept.
//     my-project.dataset.table in FROM (BigQuery) → "my-project"…
//   - "text" where double quotes delimit strings (BigQuery, Spark) →
//     'text'; backslash escapes and r'…', '''…''', $$…$$ → plain
//     literals. A literal is never a column.
//   - default.orders, user (Spark, Databricks: names PostgreSQL
//     reserves) → "default".orders, "user": the same names.
//   - catalog.project.dataset.table (four or more parts) in FROM →
//     "catalog.project".dataset.table: the relation keeps its
//     name, its leading parts joined in the catalog.
//   - interval 1 day, interval '1' day → interval '1 day';
//     interval n day (n a column or an expression) → (n) * interval
//     '1 day': n stays an input of the value.
//   - date parts as bare words where a function takes them
//     (DATE_TRUNC(d, MONTH) in BigQuery, DATEADD(day, 1, d) in
//     Snowflake, Redshift and Spark, EXTRACT(DAYOFWEEK FROM d)) →
//     string literals: a date part is not a column.
//   - SAFE_CAST, TRY_CAST → CAST; ARRAY<…>, STRUCT<…>, MAP<…> types
//     → ARRAY, STRUCT, MAP; STRUCT(x AS a) → STRUCT(x); [1, 2] →
//     ARRAY[1, 2]: the same inputs, transformed.
//   - IF(c, a, b), IFF(c, a, b) → CASE WHEN c THEN a ELSE b END: c
//     decides (CONDITIONAL), a and b are the value.
//   - x IN UNNEST(a) → x = ANY(a); x NOT IN UNNEST(a) → x <> ALL(a).
//   - v:path.to[0]::type (Snowflake, Databricks semi-structured paths)
//     → v -> 'path.to[0]'::type: a transformation of v.
//   - IGNORE NULLS, RESPECT NULLS, LIMIT inside an aggregate,
//     APPROXIMATE (Redshift), SELECT AS STRUCT / AS VALUE → dropped:
//     they change values, not which columns feed them.
//   - CURRENT_DATE(), TIMESTAMP(x), INT(x)… (functions PostgreSQL
//     reserves the name of) → "current_date"(), "timestamp"(x): a
//     function of the same arguments.
//   - a RLIKE b, a REGEXP b → a ~ b; MINUS → EXCEPT.
//   - QUALIFY c → HAVING c, or HAVING (h) AND (c) after a HAVING h:
//     both filter the rows, so c's columns decide the rows (FILTER).
//     A QUALIFY naming an alias of the select list is resolved by the
//     extractor like any lateral alias.
//   - GROUP BY ALL → GROUP BY (), marked: the extractor groups by the
//     output columns that are not aggregates.
//   - * EXCEPT (a), * EXCLUDE (a), * RENAME (a AS b) → *, marked: the
//     extractor expands the star without a, or with a named b.
//     * REPLACE (e AS a) → *, e AS a with a excluded from the star: a
//     comes from e (the column moves to the end of the list).
//   - LATERAL VIEW [OUTER] explode(x) t AS c (Spark) → CROSS (LEFT)
//     JOIN LATERAL explode(x) AS t(c) [ON true]: c is a transformation
//     of x. TABLE(FLATTEN(…)) (Snowflake) → FLATTEN(…).
//     UNNEST(a) AS e WITH OFFSET AS o → UNNEST(a) WITH ORDINALITY AS
//     e(e, o).
//
// Comments are dropped. Each output token remembers where it was in the
// SQL as written, so that a parse error names the model's own text.

// normalized is SQL rewritten for PostgreSQL's parser, with what the
// extractor needs to know of the rewrites.
type normalized struct {
	sql string
	// outPos and srcPos are, for each token written, its offset in sql
	// and in the SQL as written.
	outPos, srcPos []int
	// stars are the modifiers of the stars of the SQL as written, by the
	// offset in sql of the star reference (of t in t.*).
	stars map[int32]*starRule
	// groupAll are the offsets in sql of the "(" of GROUP BY () that
	// stand for GROUP BY ALL.
	groupAll map[int32]bool
	// dialect is the SQL's dialect; lateral says that a name that is no
	// input column may name an output column of the same SELECT (a
	// lateral column alias, or an alias in WHERE, GROUP BY, QUALIFY).
	dialect Dialect
	lateral bool
	// byName says that a set operation of the SQL pairs its columns by
	// name (UNION ALL BY NAME), which PostgreSQL's syntax cannot say.
	byName bool
	toks   []token // the tokens of the SQL as written
}

// starRule is what * EXCEPT, EXCLUDE, REPLACE and RENAME change in a
// star's columns.
type starRule struct {
	except []string
	rename map[string]string
}

// dead marks a token a rewrite removed.
const dead tokKind = 0

// normalize rewrites sql of dialect d for PostgreSQL's parser.
func normalize(sql string, d Dialect) (*normalized, *lexError) {
	r := d.rules()
	n := &normalized{dialect: d}
	if r.postgres {
		n.sql = sql
		n.outPos, n.srcPos = []int{0}, []int{0}
		return n, nil
	}
	n.lateral = true
	toks, err := lex(sql, d)
	if err != nil {
		return nil, err
	}
	n.toks = toks
	ts := slices.Clone(toks)
	ts = rewriteNames(ts, sql, r)
	ts, n.byName = rewriteExprs(ts, r)
	ts = n.rewriteClauses(ts, d)
	n.emit(ts)
	return n, nil
}

// emit writes the tokens as the SQL to parse.
func (n *normalized) emit(ts []token) {
	var b strings.Builder
	b.Grow(len(ts) * 6)
	n.outPos, n.srcPos = make([]int, 0, len(ts)), make([]int, 0, len(ts))
	var rules []*starRule
	var ruleAt []int
	skipped := false // a removed token: what follows it is not adjacent
	for i, t := range ts {
		if t.kind == dead {
			skipped = true
			continue
		}
		if i > 0 && (t.sp || t.pos < 0 || skipped) {
			b.WriteByte(' ')
		}
		skipped = false
		n.outPos = append(n.outPos, b.Len())
		n.srcPos = append(n.srcPos, max(t.pos, 0))
		if t.star != nil {
			rules, ruleAt = append(rules, t.star), append(ruleAt, b.Len())
		}
		if t.groupAll {
			if n.groupAll == nil {
				n.groupAll = map[int32]bool{}
			}
			n.groupAll[int32(b.Len())] = true
		}
		b.WriteString(t.out)
	}
	n.sql = b.String()
	for i, r := range rules {
		if n.stars == nil {
			n.stars = map[int32]*starRule{}
		}
		n.stars[int32(ruleAt[i])] = r
	}
}

// source maps an offset in the normalised SQL to the SQL as written.
func (n *normalized) source(pos int) int {
	i := sort.Search(len(n.outPos), func(i int) bool { return n.outPos[i] > pos }) - 1
	if i < 0 {
		return 0
	}
	return n.srcPos[i] + (pos-n.outPos[i])*boolInt(len(n.toks) == 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// construct names what PostgreSQL's parser stopped at, at offset pos of
// the SQL as written: a construct the normaliser does not translate, or
// the token there.
func (n *normalized) construct(sql string, pos int, d Dialect) string {
	toks := n.toks
	if toks == nil {
		toks, _ = lex(sql, d)
	}
	i := sort.Search(len(toks), func(i int) bool { return toks[i].pos > pos }) - 1
	if i < 0 {
		return "unparsable at the start"
	}
	// The parser stops at the token it cannot read, or a few after it
	// when it took the construct's first word for an alias: name a
	// construct there.
	for j := i; j >= 0 && j > i-6; j-- {
		if j < i-1 && !strong[toks[j].val] {
			continue
		}
		key := toks[j].val
		if toks[j].kind == tkPunct {
			key = toks[j].out
			if key == "{" && j+1 < len(toks) && (toks[j+1].out == "{" || toks[j+1].out == "%") {
				key += toks[j+1].out
			}
		}
		if c, ok := unsupported[key]; ok && toks[j].kind != tkString && toks[j].kind != tkQuoted {
			if key == "connect" && !(j+1 < len(toks) && toks[j+1].is("by")) {
				continue
			}
			return c
		}
	}
	near := toks[i].out
	if toks[i].kind == tkWord {
		near = strings.ToUpper(near)
	}
	if len(near) > 30 {
		near = near[:30] + "…"
	}
	return `unparsable near "` + near + `"`
}

// strong are the words of unsupported that start a construct wherever
// they are, so that a parse error a few tokens after one is its.
var strong = set("pivot", "unpivot", "match_recognize", "connect", "tablesample", "changes", "before")

// pgReserved are PostgreSQL's reserved words (and those it allows only
// as function or type names): written bare as the first part of a
// dotted name, its parser rejects them.
var pgReserved = set("all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case", "cast",
	"check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time",
	"current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false",
	"fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading",
	"limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing", "primary",
	"references", "returning", "select", "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing",
	"true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with",
	"authorization", "binary", "collation", "concurrently", "cross", "current_schema", "freeze", "full", "ilike", "inner",
	"is", "isnull", "join", "left", "like", "natural", "notnull", "outer", "overlaps", "right", "similar", "tablesample", "verbose")

// rewriteNames quotes what PostgreSQL would not read as a name.
func rewriteNames(in []token, sql string, r *dialectRules) []token {
	ctes := reservedCTEs(in)
	out := make([]token, 0, len(in)+8)
	for i := 0; i < len(in); i++ {
		t := in[i]
		prev := lastToken(out)
		switch {
		case t.kind == tkWord && ctes[t.val] && !prev.isPunct(".") && (prev.is("from") || prev.is("join") ||
			i+2 < len(in) && in[i+1].is("as") && in[i+2].isPunct("(")):
			// with current_schema as (…) select … from current_schema:
			// the query's name where it is defined and read.
			t.kind, t.out = tkQuoted, pgIdent(t.val)
		case t.isPunct("[") && prev.isPunct(")"):
			// f(x)[0] → (f(x))[0]: PostgreSQL subscripts a call's
			// result only in parentheses.
			if start := callStart(out); start >= 0 {
				out = slices.Insert(out, start, token{kind: tkPunct, out: "(", pos: out[start].pos, sp: out[start].sp})
				out = append(out, token{kind: tkPunct, out: ")", pos: prev.pos})
			}
		case t.kind == tkQuoted && r.backtickPaths && sql[t.pos] == '`' && strings.Contains(t.val, "."):
			// `project.dataset.table` is three names.
			for k, part := range strings.Split(t.val, ".") {
				q := token{kind: tkQuoted, val: part, out: pgIdent(part), pos: t.pos, sp: t.sp && k == 0}
				if k > 0 {
					out = append(out, token{kind: tkPunct, out: ".", pos: t.pos})
				}
				out = append(out, q)
			}
			continue
		case t.kind == tkWord && r.backtickPaths && (prev.is("from") || prev.is("join")) && i+2 < len(in) && in[i+1].isPunct("-") && !in[i+1].sp && !in[i+2].sp:
			// my-project.dataset.table in FROM (BigQuery).
			name, j := t.out, i+1
			for ; j+1 < len(in) && in[j].isPunct("-") && !in[j].sp && !in[j+1].sp && (in[j+1].kind == tkWord || in[j+1].kind == tkNumber); j += 2 {
				name += "-" + in[j+1].out
			}
			out = append(out, token{kind: tkQuoted, val: name, out: pgIdent(name), pos: t.pos, sp: t.sp})
			i = j - 1
			continue
		case t.kind == tkWord && pgReserved[t.val] && i+1 < len(in) && in[i+1].isPunct(".") && !in[i+1].sp && !prev.isPunct(".") &&
			i+2 < len(in) && (in[i+2].isName() || in[i+2].isPunct("*")):
			// default.orders (Spark's default schema).
			t.kind, t.out = tkQuoted, pgIdent(t.val)
		case t.is("user") && !prev.isPunct(".") && !prev.isPunct("::") && !(i+1 < len(in) && in[i+1].isPunct("(")):
			t.kind, t.out = tkQuoted, pgIdent(t.val)
		}
		out = append(out, t)
	}
	return out
}

// reservedCTEs returns the reserved words that a WITH names a query
// (elementary's table_changes names one current_schema): other SQL
// dialects let them be names.
func reservedCTEs(in []token) map[string]bool {
	var ctes map[string]bool
	for i := 1; i+2 < len(in); i++ {
		if t := in[i]; t.kind == tkWord && pgReserved[t.val] && in[i+1].is("as") && in[i+2].isPunct("(") &&
			(in[i-1].is("with") || in[i-1].is("recursive") || in[i-1].isPunct(",")) {
			if ctes == nil {
				ctes = map[string]bool{}
			}
			ctes[t.val] = true
		}
	}
	return ctes
}

// callStart returns the index in ts of the start of the function call
// that the ")" ending ts closes, or -1 when it closes no call.
func callStart(ts []token) int {
	depth := 0
	for k := len(ts) - 1; k >= 0; k-- {
		switch {
		case ts[k].isPunct(")"):
			depth++
		case ts[k].isPunct("("):
			depth--
			if depth > 0 {
				continue
			}
			if k == 0 || !ts[k-1].isName() || ts[k-1].kind == tkWord && exprStart[ts[k-1].val] && ts[k-1].val != "array" {
				return -1
			}
			start := k - 1
			for start >= 2 && ts[start-1].isPunct(".") && ts[start-2].isName() {
				start -= 2
			}
			return start
		}
	}
	return -1
}

// lastToken is the last token of ts, or a zero token.
func lastToken(ts []token) token {
	if len(ts) == 0 {
		return token{}
	}
	return ts[len(ts)-1]
}

// matches returns, for each opening bracket of ts, the index of the
// closing one, and for each closing one the opening one; -1 where
// brackets do not match.
func matches(ts []token) []int {
	m := make([]int, len(ts))
	var stack []int
	for i, t := range ts {
		m[i] = -1
		if t.kind != tkPunct {
			continue
		}
		switch t.out {
		case "(", "[", "{":
			stack = append(stack, i)
		case ")", "]", "}":
			if len(stack) > 0 {
				o := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if ts[o].out == map[string]string{")": "(", "]": "[", "}": "{"}[t.out] {
					m[o], m[i] = i, o
				}
			}
		}
	}
	return m
}

// args splits the arguments of the call whose "(" is at open into
// ranges [start, end) of ts.
func args(ts []token, m []int, open int) [][2]int {
	end := m[open]
	if end < 0 {
		return nil
	}
	var out [][2]int
	start := open + 1
	for i := open + 1; i < end; i++ {
		switch {
		case ts[i].kind == tkPunct && (ts[i].out == "(" || ts[i].out == "[" || ts[i].out == "{") && m[i] > 0:
			i = m[i]
		case ts[i].isPunct(","):
			out = append(out, [2]int{start, i})
			start = i + 1
		}
	}
	if start < end || len(out) > 0 {
		out = append(out, [2]int{start, end})
	}
	return out
}

// dateParts are the words that name a date or time part.
var dateParts = set("year", "years", "yr", "yrs", "y", "yy", "yyy", "yyyy", "quarter", "quarters", "qtr", "qtrs", "q",
	"month", "months", "mon", "mons", "mm", "week", "weeks", "wk", "w", "ww", "weekofyear", "isoweek", "isoyear",
	"day", "days", "d", "dd", "dayofmonth", "dayofweek", "dayofweekiso", "dow", "dw", "dayofyear", "doy", "dy",
	"hour", "hours", "h", "hh", "hr", "hrs", "minute", "minutes", "m", "mi", "min", "mins", "second", "seconds", "s", "sec", "secs",
	"millisecond", "milliseconds", "ms", "msec", "microsecond", "microseconds", "us", "usec", "nanosecond", "nanoseconds", "ns",
	"epoch", "epoch_second", "date", "datetime", "time", "timezone_hour", "timezone_minute", "century", "decade", "millennium")

// exprStart are the words after which an expression starts: a [ there
// opens an array, a word there is no operand.
var exprStart = set("select", "where", "and", "or", "not", "then", "else", "when", "in", "on", "by", "having", "qualify",
	"case", "return", "distinct", "all", "any", "some", "between", "is", "like", "ilike", "exists", "set", "values", "from",
	"using", "limit", "offset", "with", "as", "over", "partition", "order", "group", "union", "intersect", "except", "array")

// reservedFuncs are functions of other dialects whose name PostgreSQL
// reserves (or reads as a type with a precision): called with
// parentheses, the name is quoted.
var reservedFuncs = set("current_date", "current_timestamp", "current_time", "localtime", "localtimestamp", "current_user",
	"current_role", "session_user", "timestamp", "time", "int", "integer", "bigint", "smallint", "decimal", "numeric",
	"float", "real", "boolean", "char", "character", "varchar", "dec", "bit", "nchar", "interval", "any", "some", "all",
	"left", "right", "values", "float64", "int64")

// isOperand reports whether t may end an operand: a name, a literal, a
// closing bracket.
func isOperand(t token) bool {
	switch t.kind {
	case tkQuoted, tkString, tkNumber:
		return true
	case tkWord:
		return !exprStart[t.val]
	case tkPunct:
		return t.out == ")" || t.out == "]"
	}
	return false
}

// rewriteExprs rewrites the expressions PostgreSQL writes otherwise. It
// reports whether a set operation pairs its columns by name.
func rewriteExprs(in []token, r *dialectRules) (_ []token, byName bool) {
	m := matches(in)
	out := make([]token, 0, len(in)+16)
	kill := func(i, j int) { // drop in[i:j]
		for k := i; k < j; k++ {
			in[k].kind = dead
		}
	}
	toString := func(i, j int) { // in[i:j] as one string literal of its words
		var s strings.Builder
		for k := i; k < j; k++ {
			s.WriteString(strings.ToLower(in[k].out))
		}
		in[i] = token{kind: tkString, val: s.String(), out: pgString(s.String()), pos: in[i].pos, sp: in[i].sp}
		kill(i+1, j)
	}
	// datePart turns the argument [a, b) into a string when it is a
	// date part: a word, or a word with an argument (WEEK(MONDAY)).
	datePart := func(a [2]int) {
		i, j := a[0], a[1]
		for i < j && in[i].kind == dead {
			i++
		}
		switch {
		case j-i == 1 && in[i].kind == tkWord && dateParts[in[i].val]:
			toString(i, j)
		case j-i == 4 && in[i].kind == tkWord && dateParts[in[i].val] && in[i+1].isPunct("(") && in[i+2].kind == tkWord && in[i+3].isPunct(")"):
			toString(i, j)
		}
	}
	var brackets []string // open brackets around the token, innermost last
	skipped := false
	for i := 0; i < len(in); i++ {
		t := in[i]
		if t.kind == dead {
			skipped = true
			continue
		}
		t.sp, skipped = t.sp || skipped, false
		prev := lastToken(out)
		next := func(k int) token {
			if i+k < len(in) {
				return in[i+k]
			}
			return token{}
		}
		if t.kind == tkPunct {
			switch t.out {
			case "(", "[", "{":
				brackets = append(brackets, t.out)
			case ")", "]", "}":
				if len(brackets) > 0 {
					brackets = brackets[:len(brackets)-1]
				}
			}
		}
		call := t.kind == tkWord && next(1).isPunct("(") && m[i+1] > 0
		switch {
		case t.is("interval"):
			if n, end, ok := interval(in, m, i); ok {
				out = append(out, n...)
				i = end - 1
				continue
			}
		case call && (r.unitFirst[t.val] || r.unitLast[t.val]) && !prev.isPunct("."):
			as := args(in, m, i+1)
			if r.unitFirst[t.val] && len(as) >= 2 && !(t.val == "date_trunc" && len(as) != 2) && !(t.val == "datediff" && len(as) < 3) && !(t.val == "date_diff" && len(as) < 3) {
				datePart(as[0])
			}
			if r.unitLast[t.val] && len(as) >= 2 {
				datePart(as[len(as)-1])
			}
		case call && t.val == "extract":
			if as := args(in, m, i+1); len(as) == 1 {
				for k := as[0][0]; k < as[0][1]; k++ {
					if in[k].is("from") {
						datePart([2]int{as[0][0], k})
						break
					}
				}
			}
		case call && (t.val == "safe_cast" || t.val == "try_cast"):
			t.out, t.val = "cast", "cast"
		case t.kind == tkWord && (t.val == "array" || t.val == "struct" || t.val == "map") && next(1).isPunct("<"):
			// ARRAY<STRING>: the type's parameters are no input.
			if end := angleEnd(in, i+1); end > 0 {
				kill(i+1, end+1)
				if prev.is("as") || prev.isPunct("::") {
					t.kind, t.out = tkQuoted, pgIdent(t.val) // a type name PostgreSQL reserves
				}
			}
		case call && t.val == "struct":
			// STRUCT(x AS a): the field names are no input.
			for _, a := range args(in, m, i+1) {
				if a[1]-a[0] >= 3 && in[a[1]-2].is("as") && in[a[1]-1].isName() {
					kill(a[1]-2, a[1])
				}
			}
		case call && (t.val == "if" || t.val == "iff") && !prev.isPunct("."):
			if as := args(in, m, i+1); len(as) == 3 {
				open, close := i+1, m[i+1]
				out = append(out, token{kind: tkWord, out: "CASE", val: "case", pos: t.pos, sp: t.sp}, token{kind: tkWord, out: "WHEN", val: "when", pos: in[open].pos, sp: true})
				in[as[1][0]-1] = token{kind: tkWord, out: "THEN", val: "then", pos: in[as[1][0]-1].pos, sp: true}
				in[as[2][0]-1] = token{kind: tkWord, out: "ELSE", val: "else", pos: in[as[2][0]-1].pos, sp: true}
				in[close] = token{kind: tkWord, out: "END", val: "end", pos: in[close].pos, sp: true}
				in[open].kind = dead // never pushed on brackets, nor its ")" popped
				continue
			}
		case t.is("in") && next(1).is("unnest") && next(2).isPunct("("):
			// x IN UNNEST(a) → x = ANY(a); NOT IN → <> ALL.
			if prev.is("not") {
				out[len(out)-1] = token{kind: tkPunct, out: "<>", pos: prev.pos, sp: prev.sp}
				in[i+1].out, in[i+1].val = "ALL", "all"
				continue
			}
			t = token{kind: tkPunct, out: "=", pos: t.pos, sp: true}
			in[i+1].out, in[i+1].val = "ANY", "any"
		case (t.is("ignore") || t.is("respect")) && next(1).is("nulls"):
			kill(i, i+2)
			continue
		case t.is("approximate") && next(1).is("count"):
			continue
		case call && len(as1(in, m, i)) > 0:
			// LIMIT n inside an aggregate's parentheses (BigQuery).
			for k := i + 2; k < m[i+1]; k++ {
				if in[k].kind == tkPunct && (in[k].out == "(" || in[k].out == "[") && m[k] > 0 {
					k = m[k]
					continue
				}
				if in[k].is("limit") && k+1 < m[i+1] && in[k+1].kind == tkNumber {
					kill(k, k+2)
				}
			}
			if reservedFuncs[t.val] && !prev.isPunct("::") && !prev.is("as") && !prev.isPunct(".") &&
				!(t.val == "array" || t.val == "any" || t.val == "some" || t.val == "all" || t.val == "values") {
				t.kind, t.out = tkQuoted, pgIdent(t.val)
			}
		case call && t.val == "array" && !next(2).is("select") && !next(2).is("with") && !next(2).isPunct("("):
			// Spark's array(a, b) is a function.
			t.kind, t.out = tkQuoted, pgIdent(t.val)
		case t.kind == tkPunct && t.out == "[" && !isOperand(prev) && !prev.is("array"):
			// [1, 2]: an array literal.
			out = append(out, token{kind: tkWord, out: "ARRAY", val: "array", pos: t.pos, sp: t.sp})
			t.sp = false
		case (t.is("rlike") || t.is("regexp")) && (isOperand(prev) || prev.is("not")) && !next(1).isPunct("("):
			if prev.is("not") {
				out[len(out)-1].kind = dead
				t = token{kind: tkPunct, out: "!~", pos: t.pos, sp: true}
			} else {
				t = token{kind: tkPunct, out: "~", pos: t.pos, sp: true}
			}
		case t.is("by") && next(1).is("name") && (prev.is("union") || prev.is("all") || prev.is("distinct")):
			// UNION [ALL] BY NAME: the extractor pairs columns by name.
			byName = true
			i++
			continue
		case t.is("minus") && (next(1).is("select") || next(1).isPunct("(")) && isOperand(prev):
			t.out, t.val = "EXCEPT", "except"
		case t.isPunct(":") && r.pathColons && isOperand(prev) && (next(1).isName() || next(1).kind == tkString) && !slices.Contains(brackets, "[") && !slices.Contains(brackets, "{"):
			// v:path.to[0] → v -> 'path.to[0]'.
			end := pathEnd(in, m, i+1)
			var path strings.Builder
			for k := i + 1; k < end; k++ {
				if in[k].kind == tkQuoted || in[k].kind == tkString {
					path.WriteString(in[k].val)
				} else {
					path.WriteString(in[k].out)
				}
			}
			out = append(out, token{kind: tkPunct, out: "->", pos: t.pos, sp: true},
				token{kind: tkString, val: path.String(), out: pgString(path.String()), pos: in[i+1].pos, sp: true})
			i = end - 1
			continue
		}
		out = append(out, t)
	}
	return out, byName
}

// as1 is args of the call at i when it is a function call whose
// arguments are no subquery.
func as1(in []token, m []int, i int) [][2]int {
	if i+2 < len(in) && (in[i+2].is("select") || in[i+2].is("with")) {
		return nil
	}
	if in[i].val == "cast" || in[i].val == "extract" || in[i].val == "exists" || exprStart[in[i].val] {
		return nil
	}
	return [][2]int{{i + 2, m[i+1]}}
}

// angleEnd returns the index of the ">" closing the "<" at open, or -1.
func angleEnd(ts []token, open int) int {
	depth := 0
	for k := open; k < len(ts) && k < open+200; k++ {
		switch {
		case ts[k].isPunct("<"):
			depth++
		case ts[k].isPunct(">"):
			depth--
			if depth == 0 {
				return k
			}
		case ts[k].isPunct("<>"): // STRUCT<> or ARRAY<STRUCT<>>
			if depth == 1 {
				return -1
			}
		case ts[k].isPunct(";"), ts[k].isPunct(")") && depth == 0:
			return -1
		}
	}
	return -1
}

// pathEnd returns the end of a semi-structured path starting at i: names
// joined by "." or ":", and subscripts, written without spaces.
func pathEnd(ts []token, m []int, i int) int {
	k := i + 1
	for k < len(ts) && !ts[k].sp {
		switch {
		case (ts[k].isPunct(".") || ts[k].isPunct(":")) && k+1 < len(ts) && !ts[k+1].sp && (ts[k+1].isName() || ts[k+1].kind == tkString):
			k += 2
		case ts[k].isPunct("[") && m[k] > 0:
			k = m[k] + 1
		default:
			return k
		}
	}
	return k
}

// intervalUnits are the units of an interval.
var intervalUnits = set("year", "years", "quarter", "quarters", "month", "months", "week", "weeks", "day", "days",
	"hour", "hours", "minute", "minutes", "second", "seconds", "millisecond", "milliseconds", "microsecond", "microseconds",
	"nanosecond", "nanoseconds", "decade", "decades", "century", "centuries", "millennium", "millennia")

// interval rewrites the INTERVAL at i when it is not PostgreSQL's:
// interval 1 day, interval '1' day, interval -2 hours 30 minutes →
// interval '…'; interval x day, interval f(x) day → (x) * interval '1 day'.
func interval(in []token, m []int, i int) (rewritten []token, end int, ok bool) {
	t := in[i]
	j := i + 1
	mk := func(s string, pos int) []token {
		return []token{{kind: tkWord, out: t.out, val: "interval", pos: t.pos, sp: t.sp}, {kind: tkString, val: s, out: pgString(s), pos: pos, sp: true}}
	}
	// Literal parts: [sign] number|string unit, repeated.
	var parts []string
	k := j
	for k < len(in) {
		sign := ""
		if (in[k].isPunct("-") || in[k].isPunct("+")) && k+1 < len(in) && (in[k+1].kind == tkNumber || in[k+1].kind == tkString) {
			sign = in[k].out
			k++
		}
		if k+1 < len(in) && (in[k].kind == tkNumber || in[k].kind == tkString) && in[k+1].kind == tkWord && intervalUnits[in[k+1].val] {
			v := in[k].out
			if in[k].kind == tkString {
				v = in[k].val
			}
			parts = append(parts, sign+v+" "+in[k+1].val)
			k += 2
			continue
		}
		break
	}
	if len(parts) > 0 {
		return mk(strings.Join(parts, " "), in[j].pos), k, true
	}
	// interval x day, interval (x + 1) day, interval t.x day.
	e := j
	switch {
	case e < len(in) && in[e].isPunct("(") && m[e] > 0:
		e = m[e] + 1
	case e+1 < len(in) && in[e].kind == tkWord && in[e+1].isPunct("(") && m[e+1] > 0:
		// interval cast(-7 as int64) day (elementary's dateadd on
		// BigQuery), interval abs(x) day.
		e = m[e+1] + 1
	case e < len(in) && in[e].isName():
		for e++; e+1 < len(in) && in[e].isPunct(".") && in[e+1].isName(); e += 2 {
		}
	default:
		return nil, 0, false
	}
	if e >= len(in) || in[e].kind != tkWord || !intervalUnits[in[e].val] {
		return nil, 0, false
	}
	out := []token{{kind: tkPunct, out: "(", pos: t.pos, sp: t.sp}}
	out = append(out, in[j:e]...)
	out = append(out, token{kind: tkPunct, out: ")", pos: in[e].pos, sp: true}, token{kind: tkPunct, out: "*", pos: in[e].pos, sp: true})
	out = append(out, mk("1 "+in[e].val, in[e].pos)...)
	out[len(out)-2].sp = true
	return out, e + 1, true
}

// selectListEnds are the words that may follow a select list.
var selectListEnds = set("from", "where", "group", "having", "qualify", "window", "order", "limit", "union", "intersect",
	"except", "minus", "into")

// clauseEnds are the words that end a QUALIFY clause at its level.
var clauseEnds = set("order", "limit", "window", "union", "intersect", "except", "minus", "fetch", "offset")

// level is what rewriteClauses knows of one level of parentheses.
type level struct {
	clause  string // the clause being read: select, from, where…
	having  int    // index in out of the HAVING of the SELECT being read, or -1
	qualify bool   // a QUALIFY merged into a HAVING waits for its ")"
}

// rewriteClauses rewrites the clauses PostgreSQL writes otherwise:
// QUALIFY, GROUP BY ALL, star modifiers, SELECT AS STRUCT, LATERAL VIEW,
// TABLE(…), UNNEST … WITH OFFSET and relation names of four parts.
func (n *normalized) rewriteClauses(in []token, d Dialect) []token {
	m := matches(in)
	out := make([]token, 0, len(in)+16)
	levels := []level{{having: -1}}
	closeQualify := func() {
		if l := &levels[len(levels)-1]; l.qualify {
			out = append(out, token{kind: tkPunct, out: ")", pos: -1})
			l.qualify = false
		}
	}
	word := func(s string, pos int) token {
		return token{kind: tkWord, out: strings.ToUpper(s), val: s, pos: pos, sp: true}
	}
	punct := func(s string, pos int) token { return token{kind: tkPunct, out: s, pos: pos, sp: true} }
	skipped := false
	// onTrue holds the index of the last token of each relation that a
	// JOIN LATERAL reads with no ON: "ON TRUE" follows it.
	var onTrue map[int]bool
	closeJoin := func(last int) {
		if onTrue[last] {
			out = append(out, word("on", in[last].pos), word("true", in[last].pos))
		}
	}
	for i := 0; i < len(in); i++ {
		closeJoin(i - 1)
		t := in[i]
		if t.kind == dead {
			skipped = true
			continue
		}
		t.sp, skipped = t.sp || skipped, false
		l := &levels[len(levels)-1]
		prev := lastToken(out)
		at := func(k int) token {
			if i+k < len(in) {
				return in[i+k]
			}
			return token{}
		}
		relationNext := prev.is("from") || prev.is("join") || prev.isPunct(",") && (l.clause == "from" || l.clause == "on" || l.clause == "using")
		switch {
		case t.isPunct("("):
			levels = append(levels, level{having: -1})
		case t.isPunct(")"):
			closeQualify()
			if len(levels) > 1 {
				levels = levels[:len(levels)-1]
			}
		case t.isPunct(";"):
			closeQualify()
		case t.kind == tkWord:
			switch t.val {
			case "select":
				l.clause, l.having = "select", -1
			case "from", "where", "group", "window", "order", "limit", "on", "using":
				l.clause = t.val
			case "join":
				l.clause = "from"
			case "union", "intersect", "except", "minus":
				l.clause = ""
			}
			if clauseEnds[t.val] {
				closeQualify()
			}
		}
		switch {
		case t.isPunct(",") && l.clause == "select" && (i+1 == len(in) || selectListEnds[at(1).val] && at(1).kind == tkWord ||
			at(1).isPunct(")") || at(1).isPunct(";")):
			// A trailing comma in the select list (Snowflake, BigQuery,
			// DuckDB), before FROM or wherever the select ends.
			continue
		case t.is("having"):
			l.clause, l.having = "having", len(out)
		case t.is("qualify"):
			// QUALIFY c → HAVING c; after HAVING h → HAVING (h) AND (c).
			l.clause = "qualify"
			if l.having < 0 {
				l.having = len(out)
				out = append(out, token{kind: tkWord, out: "HAVING", val: "having", pos: t.pos, sp: t.sp})
				continue
			}
			h := l.having
			out = slices.Insert(out, h+1, punct("(", out[h].pos))
			out = append(out, punct(")", t.pos), word("and", t.pos), punct("(", t.pos))
			l.qualify = true
			continue
		case t.is("group") && at(1).is("by") && at(2).is("all") && groupAllEnds(at(3)):
			l.clause = "group"
			out = append(out, t, in[i+1], token{kind: tkPunct, out: "(", pos: in[i+2].pos, sp: true, groupAll: true}, punct(")", in[i+2].pos))
			i += 2
			continue
		case t.isPunct("*") && (prev.is("select") || prev.isPunct(",") || prev.isPunct(".") || prev.is("distinct") || prev.is("all")):
			rule, extra, end := starModifiers(in, m, i+1)
			if rule == nil {
				break
			}
			out = append(out, t)
			// Mark the reference's first token: t of t.*, else the star.
			k := len(out) - 1
			for k >= 2 && out[k-1].isPunct(".") && out[k-2].isName() {
				k -= 2
			}
			out[k].star = rule
			out = append(out, extra...)
			i = end - 1
			continue
		case t.is("select") && at(1).is("as") && (at(2).is("struct") || at(2).is("value")):
			out = append(out, t)
			i += 2
			continue
		case t.is("lateral") && prev.is("join") && !joinWithoutOn(out):
			// JOIN LATERAL FLATTEN(…) f (Snowflake): PostgreSQL wants
			// an ON.
			if last := lateralCallEnd(in, m, i+1); last > 0 {
				if onTrue == nil {
					onTrue = map[int]bool{}
				}
				onTrue[last] = true
			}
		case t.is("lateral") && at(1).is("view"):
			if rw, end := lateralView(in, m, i); end > 0 {
				out = append(out, rw...)
				i = end - 1
				continue
			}
		case t.is("table") && at(1).isPunct("(") && m[i+1] > 0 && relationNext:
			// TABLE(FLATTEN(…)) → FLATTEN(…).
			// Neither parenthesis is written, so neither opens a level.
			in[m[i+1]].kind = dead
			i++
			continue
		case t.is("unnest") && at(1).isPunct("(") && m[i+1] > 0:
			if rw, end := unnestOffset(in, m, i); end > 0 {
				out = append(out, rw...)
				i = end - 1
				continue
			}
		case t.isName() && relationNext:
			// catalog.project.dataset.table → "catalog.project".dataset.table.
			parts, end := []token{t}, i+1
			for end+1 < len(in) && in[end].isPunct(".") && in[end+1].isName() {
				parts = append(parts, in[end+1])
				end += 2
			}
			if len(parts) >= 4 {
				var names []string
				for _, p := range parts[:len(parts)-2] {
					names = append(names, nameOf(p))
				}
				joined := strings.Join(names, ".")
				out = append(out, token{kind: tkQuoted, val: joined, out: pgIdent(joined), pos: t.pos, sp: t.sp})
				for _, p := range parts[len(parts)-2:] {
					out = append(out, token{kind: tkPunct, out: ".", pos: p.pos}, p)
				}
				out[len(out)-1].sp, out[len(out)-3].sp = false, false
				i = end - 1
				continue
			}
		}
		out = append(out, t)
	}
	closeJoin(len(in) - 1)
	for len(levels) > 0 {
		closeQualify()
		levels = levels[:len(levels)-1]
	}
	return out
}

// joinWithoutOn reports whether the JOIN ending out is one that takes no
// ON: NATURAL or CROSS.
func joinWithoutOn(out []token) bool {
	k := len(out) - 2
	for k >= 0 && (out[k].is("inner") || out[k].is("left") || out[k].is("right") || out[k].is("full") || out[k].is("outer")) {
		k--
	}
	return k >= 0 && (out[k].is("natural") || out[k].is("cross"))
}

// relationEnds are the words that cannot be a relation's alias.
var relationEnds = set("on", "using", "join", "inner", "left", "right", "full", "cross", "natural", "outer", "where",
	"group", "having", "qualify", "window", "order", "limit", "union", "intersect", "except", "minus", "lateral")

// lateralCallEnd returns the index of the last token of the relation
// f(…) [[AS] alias [(columns)]] starting at i, when no ON or USING
// follows it; 0 otherwise.
func lateralCallEnd(in []token, m []int, i int) int {
	if i+1 >= len(in) || !in[i].isName() || !in[i+1].isPunct("(") || m[i+1] <= 0 {
		return 0
	}
	last := m[i+1]
	k := last + 1
	if k < len(in) && in[k].is("as") {
		k++
	}
	if k < len(in) && in[k].isName() && !(in[k].kind == tkWord && relationEnds[in[k].val]) {
		last = k
		if k+1 < len(in) && in[k+1].isPunct("(") && m[k+1] > 0 {
			last = m[k+1]
		}
	}
	if n := last + 1; n < len(in) && (in[n].is("on") || in[n].is("using")) {
		return 0
	}
	return last
}

// nameOf is the name a name token stands for: a word as PostgreSQL folds
// it, a quoted name as written.
func nameOf(t token) string {
	if t.kind == tkQuoted {
		return t.val
	}
	return t.val
}

// groupAllEnds reports whether t, after GROUP BY ALL, ends the clause
// (GROUP BY ALL a, in PostgreSQL, is GROUP BY a).
func groupAllEnds(t token) bool {
	switch t.kind {
	case 0:
		return true
	case tkPunct:
		return t.out == ")" || t.out == ";"
	case tkWord:
		return clauseEnds[t.val] || t.val == "having" || t.val == "qualify"
	}
	return false
}

// starModifiers reads the EXCEPT, EXCLUDE, REPLACE and RENAME after a
// star, from i: the rule they make, the select items REPLACE adds, and
// where they end. rule is nil when none follows.
func starModifiers(in []token, m []int, i int) (rule *starRule, extra []token, end int) {
	names := func(a [2]int) []string { // a.b.c → c
		var out []string
		if a[1] > a[0] && in[a[1]-1].isName() {
			out = append(out, nameOf(in[a[1]-1]))
		}
		return out
	}
	for i < len(in) {
		t := in[i]
		kw := t.kind == tkWord && (t.val == "except" || t.val == "exclude" || t.val == "replace" || t.val == "rename")
		if !kw || i+1 >= len(in) {
			break
		}
		var items [][2]int
		var next int
		switch {
		case in[i+1].isPunct("(") && m[i+1] > 0 && !in[i+2].is("select") && !in[i+2].is("with"):
			items = args(in, m, i+1)
			next = m[i+1] + 1
		case t.val != "except" && t.val != "replace" && in[i+1].isName():
			// EXCLUDE a, RENAME a AS b (Snowflake, without parentheses).
			next = i + 2
			if t.val == "rename" && i+3 < len(in) && in[i+2].is("as") && in[i+3].isName() {
				next = i + 4
			}
			items = [][2]int{{i + 1, next}}
		default:
			return rule, extra, i
		}
		if rule == nil {
			rule = &starRule{}
		}
		for _, a := range items {
			switch t.val {
			case "except", "exclude":
				rule.except = append(rule.except, names(a)...)
			case "replace", "rename":
				as := -1
				for k := a[1] - 2; k > a[0]; k-- {
					if in[k].is("as") {
						as = k
						break
					}
				}
				if as < 0 || !in[a[1]-1].isName() {
					continue
				}
				name := nameOf(in[a[1]-1])
				if t.val == "rename" {
					if rule.rename == nil {
						rule.rename = map[string]string{}
					}
					for _, old := range names([2]int{a[0], as}) {
						rule.rename[strings.ToLower(old)] = name
					}
					continue
				}
				rule.except = append(rule.except, name)
				extra = append(extra, token{kind: tkPunct, out: ",", pos: in[a[0]].pos})
				item := slices.Clone(in[a[0]:a[1]])
				item[0].sp = true
				extra = append(extra, item...)
			}
		}
		i = next
	}
	return rule, extra, i
}

// lateralView rewrites Spark's LATERAL VIEW [OUTER] f(x) t [AS] c, … at
// i into CROSS JOIN LATERAL f(x) AS t(c, …), or LEFT JOIN LATERAL …
// ON true when OUTER. end is 0 when it is not one.
func lateralView(in []token, m []int, i int) (rw []token, end int) {
	k := i + 2
	outer := k < len(in) && in[k].is("outer")
	if outer {
		k++
	}
	if k+1 >= len(in) || in[k].kind != tkWord || !in[k+1].isPunct("(") || m[k+1] < 0 {
		return nil, 0
	}
	call := in[k : m[k+1]+1]
	k = m[k+1] + 1
	alias := "lateral_view"
	if k < len(in) && in[k].isName() && !in[k].is("as") {
		alias = nameOf(in[k])
		k++
	}
	if k < len(in) && in[k].is("as") {
		k++
	}
	var cols []string
	for k < len(in) && in[k].isName() && !exprStart[in[k].val] && !in[k].is("lateral") {
		cols = append(cols, nameOf(in[k]))
		k++
		if !(k+1 < len(in) && in[k].isPunct(",") && in[k+1].isName() && !exprStart[in[k+1].val] && !(k+2 < len(in) && in[k+2].isPunct("."))) {
			break
		}
		k++
	}
	pos := in[i].pos
	w := func(s string) token { return token{kind: tkWord, out: strings.ToUpper(s), val: s, pos: pos, sp: true} }
	p := func(s string) token { return token{kind: tkPunct, out: s, pos: pos, sp: true} }
	rw = []token{w("cross")}
	if outer {
		rw[0] = w("left")
	}
	rw = append(rw, w("join"), w("lateral"))
	rw = append(rw, call...)
	rw[3].sp = true
	rw = append(rw, w("as"), token{kind: tkQuoted, val: alias, out: pgIdent(alias), pos: pos, sp: true})
	if len(cols) > 0 {
		rw = append(rw, p("("))
		for j, c := range cols {
			if j > 0 {
				rw = append(rw, p(","))
			}
			rw = append(rw, token{kind: tkQuoted, val: c, out: pgIdent(c), pos: pos, sp: true})
		}
		rw = append(rw, p(")"))
	}
	if outer {
		rw = append(rw, w("on"), w("true"))
	}
	return rw, k
}

// unnestOffset rewrites BigQuery's UNNEST(a) [AS] e WITH OFFSET [AS] o
// at i into UNNEST(a) WITH ORDINALITY AS e(e, o). end is 0 when no WITH
// OFFSET follows.
func unnestOffset(in []token, m []int, i int) (rw []token, end int) {
	k := m[i+1] + 1
	alias := ""
	if k < len(in) && in[k].is("as") {
		k++
	}
	if k < len(in) && in[k].isName() && !in[k].is("with") {
		alias = nameOf(in[k])
		k++
	}
	if !(k+1 < len(in) && in[k].is("with") && in[k+1].is("offset")) {
		return nil, 0
	}
	k += 2
	offset := "offset"
	if k < len(in) && in[k].is("as") {
		k++
	}
	if k < len(in) && in[k].isName() && !exprStart[in[k].val] && !clauseEnds[in[k].val] && !in[k].is("join") && !in[k].is("left") && !in[k].is("cross") && !in[k].is("inner") {
		offset = nameOf(in[k])
		k++
	}
	pos := in[i].pos
	q := func(s string) token { return token{kind: tkQuoted, val: s, out: pgIdent(s), pos: pos, sp: true} }
	p := func(s string) token { return token{kind: tkPunct, out: s, pos: pos, sp: true} }
	w := func(s string) token { return token{kind: tkWord, out: strings.ToUpper(s), val: s, pos: pos, sp: true} }
	rw = slices.Clone(in[i : m[i+1]+1])
	rw = append(rw, w("with"), w("ordinality"))
	if alias == "" {
		alias = "unnest"
	}
	rw = append(rw, w("as"), q(alias), p("("), q(alias), p(","), q(offset), p(")"))
	return rw, k
}
