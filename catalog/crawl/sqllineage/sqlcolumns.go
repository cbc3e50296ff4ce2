package sqllineage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"almanac/catalog"
)

// This file derives column lineage from a SELECT statement: for each
// column it returns, the input columns its value comes from (DIRECT) and
// those that decide which rows or which branch (INDIRECT), following the
// OpenLineage columnLineage facet. It walks PostgreSQL's own parse tree,
// so it reads whatever PostgreSQL reads; what it cannot attribute becomes
// a warning on the column, never a failure of the whole statement.

// Transformation types and subtypes of column lineage, as the OpenLineage
// columnLineage facet names them.
const (
	TypeDirect   = "DIRECT"
	TypeIndirect = "INDIRECT"

	SubtypeIdentity       = "IDENTITY"
	SubtypeTransformation = "TRANSFORMATION"
	SubtypeAggregation    = "AGGREGATION"
	SubtypeFilter         = "FILTER"
	SubtypeJoin           = "JOIN"
	SubtypeGroupBy        = "GROUP_BY"
	SubtypeSort           = "SORT"
	SubtypeWindow         = "WINDOW"
	SubtypeConditional    = "CONDITIONAL"
)

// Table is what a Resolver knows of a relation: its dataset and its
// columns in order.
type Table struct {
	Key     catalog.Key
	Columns []string
	// Open says that Columns may lack some of the relation's columns, as
	// when only the documented columns of a dbt model are known: a
	// reference to another name is then taken to be a column of it, and
	// `*` expands to Columns only.
	Open bool
}

// Resolver returns the table that a relation named in SQL stands for, or
// false when it is unknown.
type Resolver func(Relation) (Table, bool)

// ColumnSource is an input column that a query's output depends on, and
// how: Type is Direct or Indirect, Subtype one of Identity,
// Transformation, Aggregation (direct) or Filter, Join, GroupBy, Sort,
// Window, Conditional (indirect).
type ColumnSource struct {
	Input   catalog.Key
	Column  string
	Type    string
	Subtype string
}

// QueryColumn is one column a query returns and the input columns it
// depends on.
type QueryColumn struct {
	Name    string
	Sources []ColumnSource
}

// QueryLineage is the column lineage of one query.
type QueryLineage struct {
	// Columns are the output columns in order, without those PostgreSQL
	// would name "?column?".
	Columns []QueryColumn
	// Rows are the input columns that decide which rows the query returns
	// (filters, join keys, grouping, sorting): they affect every column.
	Rows []ColumnSource
	// Open says that the query returns more columns than Columns: a `*`
	// expanded over a relation whose columns are not all known (see
	// Table.Open).
	Open bool
	// Warnings name each column or clause that could not be attributed
	// in full, and why.
	Warnings []string
}

// Facts returns the lineage as the column lineage of the dataset output:
// Rows become rows of the whole dataset (Column ""). Columns of the same
// name (a SELECT may return two, a view or table not) are merged.
func (q QueryLineage) Facts(output catalog.Key) []catalog.ColumnLineage {
	var out []catalog.ColumnLineage
	seen := map[catalog.ColumnLineage]bool{}
	add := func(col string, s ColumnSource) {
		f := catalog.ColumnLineage{Output: output, Column: col, Input: s.Input, InputColumn: s.Column, Type: s.Type, Subtype: s.Subtype}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, c := range q.Columns {
		for _, s := range c.Sources {
			add(c.Name, s)
		}
	}
	for _, s := range q.Rows {
		add("", s)
	}
	return out
}

// ColumnLineage derives the column lineage of a PostgreSQL SELECT
// statement (a view definition as pg_get_viewdef returns it, or a dbt
// model's compiled SQL), resolving the relations it reads with resolve.
// It fails only when the SQL does not parse or is not a single SELECT;
// everything else it cannot attribute is in QueryLineage.Warnings.
func ColumnLineage(sql string, resolve Resolver) (QueryLineage, error) {
	return Postgres.ColumnLineage(sql, resolve)
}

// ColumnLineage derives the column lineage of a SELECT statement of
// dialect d, as the package function does for PostgreSQL: the SQL is
// first normalised into PostgreSQL's syntax (see normalize.go). SQL that
// no rewrite makes parse is a *ParseError naming the construct.
func (d Dialect) ColumnLineage(sql string, resolve Resolver) (QueryLineage, error) {
	tree, n, err := d.parse(sql)
	if err != nil {
		return QueryLineage{}, err
	}
	return columnLineage(tree, n, resolve)
}

// columnLineage is ColumnLineage of a parsed statement.
func columnLineage(tree *pg_query.ParseResult, n *normalized, resolve Resolver) (QueryLineage, error) {
	if n := len(tree.GetStmts()); n != 1 {
		return QueryLineage{}, fmt.Errorf("want one SELECT statement, got %d statements", n)
	}
	sel := tree.GetStmts()[0].GetStmt().GetSelectStmt()
	if sel == nil {
		return QueryLineage{}, fmt.Errorf("want a SELECT statement, got %s", nodeKind(tree.GetStmts()[0].GetStmt()))
	}
	x := &extractor{resolve: resolve, seen: map[string]bool{}, norm: n}
	r := x.query(sel, nil)
	var q QueryLineage
	for i, c := range r.cols {
		if c.name == unnamedColumn {
			x.warnf("column %d: PostgreSQL names it %q: skipped (give it an alias)", i+1, unnamedColumn)
			continue
		}
		q.Columns = append(q.Columns, QueryColumn{Name: c.name, Sources: c.sources})
	}
	q.Rows, q.Open, q.Warnings = r.rows, r.other != nil, x.warnings
	return q, nil
}

// unnamedColumn is what PostgreSQL names a column it can derive no name for.
const unnamedColumn = "?column?"

// flow is how an expression's value reaches the output column being
// derived: directly (with the strongest subtype on the way) or as a
// condition.
type flow struct{ typ, sub string }

// identityFlow is how a column of the target list reaches the output.
var identityFlow = flow{TypeDirect, SubtypeIdentity}

// directRank orders direct subtypes: a value that passes through a
// transformation and then an aggregation is an aggregation.
var directRank = map[string]int{SubtypeIdentity: 0, SubtypeTransformation: 1, SubtypeAggregation: 2}

// then is how a value reaches the output when it reaches u through a
// step of subtype sub: a condition stays a condition; a direct value
// takes the stronger of the two subtypes.
func (u flow) then(typ, sub string) flow {
	if u.typ == TypeIndirect {
		return u
	}
	if typ == TypeIndirect {
		return flow{TypeIndirect, sub}
	}
	if directRank[sub] > directRank[u.sub] {
		return flow{TypeDirect, sub}
	}
	return u
}

// apply composes u with how s reached the column referenced.
func (u flow) apply(s ColumnSource) ColumnSource {
	if u.typ == TypeIndirect {
		s.Type, s.Subtype = TypeIndirect, u.sub
		return s
	}
	if s.Type == TypeDirect && directRank[u.sub] > directRank[s.Subtype] {
		s.Subtype = u.sub
	}
	return s
}

// sqlColumn is a column of a relation in a FROM clause, with the input
// columns it depends on.
type sqlColumn struct {
	name    string
	sources []ColumnSource
}

// sqlRel is a relation as a query sees it in its FROM clause: a table, a
// CTE, a subquery or a function.
type sqlRel struct {
	name, schema, catalog string // as it may be qualified
	label                 string // for warnings
	cols                  []sqlColumn
	// rows are the input columns deciding which rows the relation has
	// (the filters and joins of a CTE or subquery).
	rows []ColumnSource
	// other finds a column not in cols, for relations whose columns are
	// not all known; nil when cols is complete.
	other func(name string) (sqlColumn, string)
	// unknown is set for a relation the resolver does not know.
	unknown bool
}

// listed returns the column of r named name: exactly, else the only one
// equal ignoring case (warehouses that upper-case names).
func (r *sqlRel) listed(name string) (sqlColumn, bool) {
	if i := slices.IndexFunc(r.cols, func(c sqlColumn) bool { return c.name == name }); i >= 0 {
		return r.cols[i], true
	}
	var fold []sqlColumn
	for _, c := range r.cols {
		if strings.EqualFold(c.name, name) {
			fold = append(fold, c)
		}
	}
	if len(fold) == 1 {
		return fold[0], true
	}
	return sqlColumn{}, false
}

// find returns the column of r named name, including those its columns
// known do not list. ok is false when r has no such column; a non-empty
// problem explains why.
func (r *sqlRel) find(name string) (c sqlColumn, ok bool, problem string) {
	if c, ok := r.listed(name); ok {
		return c, true, ""
	}
	switch {
	case r.unknown:
		return sqlColumn{}, false, fmt.Sprintf("relation %s is not known", r.label)
	case r.other != nil:
		c, problem := r.other(name)
		return c, problem == "", problem
	}
	return sqlColumn{}, false, fmt.Sprintf("relation %s has no column %q", r.label, name)
}

// partial reports whether r may have columns it does not list.
func (r *sqlRel) partial() bool { return r.unknown || r.other != nil }

// sqlScope is what names a query level can see: the relations of its FROM
// clause, the columns merged by JOIN USING, its CTEs, named windows, and
// the enclosing level (for correlated subqueries).
type sqlScope struct {
	parent  *sqlScope
	rels    []*sqlRel
	using   []sqlColumn
	ctes    map[string]*sqlRel
	windows map[string]*pg_query.WindowDef
	// outputs are the columns of the select list read so far, which
	// dialects with lateral column aliases let the SELECT name.
	outputs *[]sqlColumn
}

// alias returns the output column of s named name: exactly, else the
// only one equal ignoring case.
func (s *sqlScope) alias(name string) (sqlColumn, bool) {
	if s.outputs == nil {
		return sqlColumn{}, false
	}
	r := sqlRel{cols: *s.outputs}
	return r.listed(name)
}

func (s *sqlScope) cte(name string) *sqlRel {
	for ; s != nil; s = s.parent {
		if r, ok := s.ctes[name]; ok {
			return r
		}
	}
	return nil
}

type extractor struct {
	resolve  Resolver
	norm     *normalized // what the rewrites of the dialect left
	context  string      // the CTE or subquery being read, for warnings
	warnings []string
	seen     map[string]bool
}

func (x *extractor) warnf(format string, args ...any) {
	w := x.context + fmt.Sprintf(format, args...)
	if !x.seen[w] {
		x.seen[w] = true
		x.warnings = append(x.warnings, w)
	}
}

// inside reads a nested query with warnings prefixed by what it is.
func (x *extractor) inside(what string, f func()) {
	saved := x.context
	x.context += what + ": "
	f()
	x.context = saved
}

// query reads a SELECT, a set operation or a VALUES list into the
// relation it returns.
func (x *extractor) query(s *pg_query.SelectStmt, parent *sqlScope) *sqlRel {
	sc := &sqlScope{parent: parent}
	if w := s.GetWithClause(); w != nil {
		x.with(w, sc)
	}
	switch {
	case s.GetOp() != pg_query.SetOperation_SETOP_NONE && s.GetOp() != pg_query.SetOperation_SET_OPERATION_UNDEFINED:
		return x.setOp(s, sc)
	case len(s.GetValuesLists()) > 0:
		return x.values(s, sc)
	}
	return x.selectCore(s, sc)
}

// with reads the CTEs of a WITH clause into sc, each seeing those before
// it. A recursive CTE sees itself as its non-recursive part.
func (x *extractor) with(w *pg_query.WithClause, sc *sqlScope) {
	sc.ctes = map[string]*sqlRel{}
	for _, n := range w.GetCtes() {
		c := n.GetCommonTableExpr()
		q := c.GetCtequery().GetSelectStmt()
		if c == nil || q == nil {
			if c != nil {
				x.warnf("CTE %q: not a SELECT: skipped", c.GetCtename())
			}
			continue
		}
		x.inside(fmt.Sprintf("CTE %q", c.GetCtename()), func() {
			if w.GetRecursive() && q.GetLarg() != nil {
				base := x.query(q.GetLarg(), sc)
				sc.ctes[c.GetCtename()] = renamed(base, c.GetCtename(), c.GetAliascolnames())
			}
			r := renamed(x.query(q, sc), c.GetCtename(), c.GetAliascolnames())
			searchCycle(r, c)
			sc.ctes[c.GetCtename()] = r
		})
	}
}

// searchCycle adds to the relation r of a recursive CTE the columns its
// SEARCH and CYCLE clauses make: the sequence column, and the cycle mark
// and path, each a transformation of the columns the clause lists.
func searchCycle(r *sqlRel, c *pg_query.CommonTableExpr) {
	of := func(names []*pg_query.Node) []ColumnSource {
		var out []ColumnSource
		for _, n := range names {
			if col, ok := r.listed(n.GetString_().GetSval()); ok {
				out = mergeSources(out, applyFlow(flow{TypeDirect, SubtypeTransformation}, col.sources))
			}
		}
		return out
	}
	if s := c.GetSearchClause(); s.GetSearchSeqColumn() != "" {
		r.cols = append(r.cols, sqlColumn{name: s.GetSearchSeqColumn(), sources: of(s.GetSearchColList())})
	}
	if cy := c.GetCycleClause(); cy != nil {
		src := of(cy.GetCycleColList())
		for _, name := range []string{cy.GetCycleMarkColumn(), cy.GetCyclePathColumn()} {
			if name != "" {
				r.cols = append(r.cols, sqlColumn{name: name, sources: src})
			}
		}
	}
}

// renamed gives a derived relation its name and, when listed, column names.
func renamed(r *sqlRel, name string, colnames []*pg_query.Node) *sqlRel {
	out := *r
	out.name, out.label = name, strconv.Quote(name)
	out.cols = slices.Clone(r.cols)
	for i, n := range colnames {
		if i < len(out.cols) {
			out.cols[i].name = n.GetString_().GetSval()
		}
	}
	return &out
}

// setOp reads UNION, INTERSECT and EXCEPT: output columns pair up by
// position and take the name of the left side's.
func (x *extractor) setOp(s *pg_query.SelectStmt, sc *sqlScope) *sqlRel {
	l, r := x.query(s.GetLarg(), sc), x.query(s.GetRarg(), sc)
	if len(l.cols) != len(r.cols) {
		x.warnf("%s: sides return %d and %d columns", strings.ToLower(strings.TrimPrefix(s.GetOp().String(), "SETOP_")), len(l.cols), len(r.cols))
	}
	out := &sqlRel{rows: mergeSources(l.rows, r.rows), other: l.other}
	pair := func(i int) (sqlColumn, bool) {
		if i < len(r.cols) {
			return r.cols[i], true
		}
		return sqlColumn{}, false
	}
	if x.norm != nil && x.norm.byName {
		// UNION BY NAME somewhere in the SQL: pair by name where the
		// names allow (a positional set operation of the same query
		// whose sides name their columns alike pairs the same way).
		pair = func(i int) (sqlColumn, bool) { return r.listed(l.cols[i].name) }
	}
	for i, c := range l.cols {
		if rc, ok := pair(i); ok {
			c.sources = mergeSources(c.sources, rc.sources)
		}
		out.cols = append(out.cols, c)
	}
	// ORDER BY of a set operation names its output columns.
	for _, n := range s.GetSortClause() {
		out.rows = mergeSources(out.rows, x.outputRef(n.GetSortBy().GetNode(), out.cols, flow{TypeIndirect, SubtypeSort}, "ORDER BY", sc))
	}
	return out
}

// values reads a VALUES list: columns column1, column2… fed by every row.
func (x *extractor) values(s *pg_query.SelectStmt, sc *sqlScope) *sqlRel {
	out := &sqlRel{}
	for _, row := range s.GetValuesLists() {
		for i, n := range row.GetList().GetItems() {
			if i == len(out.cols) {
				out.cols = append(out.cols, sqlColumn{name: "column" + strconv.Itoa(i+1)})
			}
			out.cols[i].sources = mergeSources(out.cols[i].sources, x.expr(n, identityFlow, sc))
		}
	}
	return out
}

// selectCore reads one SELECT: its FROM clause, its clauses that choose
// rows (dataset-wide indirect lineage) and its target list.
func (x *extractor) selectCore(s *pg_query.SelectStmt, sc *sqlScope) *sqlRel {
	out := &sqlRel{}
	for _, n := range s.GetWindowClause() {
		if w := n.GetWindowDef(); w != nil && w.GetName() != "" {
			if sc.windows == nil {
				sc.windows = map[string]*pg_query.WindowDef{}
			}
			sc.windows[w.GetName()] = w
		}
	}
	var star []sqlColumn
	var partial []*sqlRel // expanded by a * without all their columns
	for _, n := range s.GetFromClause() {
		cols, rows := x.from(n, sc)
		star = append(star, cols...)
		out.rows = mergeSources(out.rows, rows)
	}
	where := func() {
		if w := s.GetWhereClause(); w != nil {
			out.rows = mergeSources(out.rows, x.clause("WHERE", w, flow{TypeIndirect, SubtypeFilter}, sc))
		}
	}
	lateral := x.norm != nil && x.norm.lateral
	if !lateral {
		where()
	}
	sc.outputs = &out.cols
	for _, t := range s.GetTargetList() {
		cols, p := x.target(t.GetResTarget(), star, sc)
		out.cols, partial = append(out.cols, cols...), append(partial, p...)
	}
	if lateral {
		// WHERE may name an alias of the select list.
		where()
	}
	out.other = passThrough(partial)
	for _, n := range s.GetGroupClause() {
		out.rows = mergeSources(out.rows, x.groupRef(n, out.cols, sc))
	}
	if h := s.GetHavingClause(); h != nil {
		out.rows = mergeSources(out.rows, x.clause("HAVING", h, flow{TypeIndirect, SubtypeFilter}, sc))
	}
	for _, n := range s.GetDistinctClause() {
		if n.GetNode() != nil { // DISTINCT ON (…); plain DISTINCT is a nil item
			out.rows = mergeSources(out.rows, x.outputRef(n, out.cols, flow{TypeIndirect, SubtypeFilter}, "DISTINCT ON", sc))
		}
	}
	for _, n := range s.GetSortClause() {
		out.rows = mergeSources(out.rows, x.outputRef(n.GetSortBy().GetNode(), out.cols, flow{TypeIndirect, SubtypeSort}, "ORDER BY", sc))
	}
	return out
}

// clause reads an expression that is not an output column.
func (x *extractor) clause(what string, n *pg_query.Node, u flow, sc *sqlScope) []ColumnSource {
	var out []ColumnSource
	x.inside(what, func() { out = x.expr(n, u, sc) })
	return out
}

// outputRef reads an ORDER BY or DISTINCT ON item, which may name an
// output column by position or by name before an input column.
func (x *extractor) outputRef(n *pg_query.Node, cols []sqlColumn, u flow, what string, sc *sqlScope) []ColumnSource {
	if c, ok := outputRefColumn(n, cols); ok {
		return applyFlow(u, c.sources)
	}
	return x.clause(what, n, u, sc)
}

// groupRef reads a GROUP BY item, which may name an output column by
// position, or by name when no input column has that name.
func (x *extractor) groupRef(n *pg_query.Node, cols []sqlColumn, sc *sqlScope) []ColumnSource {
	u := flow{TypeIndirect, SubtypeGroupBy}
	if n.GetAConst() != nil {
		if c, ok := outputRefColumn(n, cols); ok {
			return applyFlow(u, c.sources)
		}
	}
	if ref := n.GetColumnRef(); ref != nil && len(ref.GetFields()) == 1 {
		if _, problem, ok := x.lookup(ref, sc); !ok && problem == "" {
			if c, ok := outputRefColumn(n, cols); ok {
				return applyFlow(u, c.sources)
			}
		}
	}
	if gs := n.GetGroupingSet(); gs != nil && gs.GetKind() == pg_query.GroupingSetKind_GROUPING_SET_EMPTY && x.norm != nil && x.norm.groupAll[gs.GetLocation()] {
		// GROUP BY ALL: the output columns that are not aggregates.
		var out []ColumnSource
		for _, c := range cols {
			if !slices.ContainsFunc(c.sources, func(s ColumnSource) bool { return s.Type == TypeDirect && s.Subtype == SubtypeAggregation }) {
				out = mergeSources(out, applyFlow(u, c.sources))
			}
		}
		return out
	}
	if gs := n.GetGroupingSet(); gs != nil {
		var out []ColumnSource
		for _, c := range gs.GetContent() {
			out = mergeSources(out, x.groupRef(c, cols, sc))
		}
		return out
	}
	return x.clause("GROUP BY", n, u, sc)
}

// outputRefColumn finds the output column that a constant position or a bare
// name refers to.
func outputRefColumn(n *pg_query.Node, cols []sqlColumn) (sqlColumn, bool) {
	if c := n.GetAConst(); c != nil && c.GetIval() != nil {
		i := int(c.GetIval().GetIval())
		if i >= 1 && i <= len(cols) {
			return cols[i-1], true
		}
		return sqlColumn{}, false
	}
	if ref := n.GetColumnRef(); ref != nil && len(ref.GetFields()) == 1 {
		name := ref.GetFields()[0].GetString_().GetSval()
		for _, c := range cols {
			if c.name == name {
				return c, true
			}
		}
	}
	return sqlColumn{}, false
}

// target reads one item of a target list: a `*` or `t.*` expands to
// columns, and to the relations whose columns it could not all expand;
// anything else is one column.
func (x *extractor) target(t *pg_query.ResTarget, star []sqlColumn, sc *sqlScope) ([]sqlColumn, []*sqlRel) {
	if ref := t.GetVal().GetColumnRef(); ref != nil {
		fields := ref.GetFields()
		if len(fields) > 0 && fields[len(fields)-1].GetAStar() != nil {
			cols, partial := x.star(fields[:len(fields)-1], star, sc)
			if x.norm != nil {
				cols = x.norm.stars[ref.GetLocation()].apply(cols)
			}
			return cols, partial
		}
	}
	name := cmp.Or(t.GetName(), figureColname(t.GetVal()))
	var sources []ColumnSource
	x.inside(fmt.Sprintf("column %q", name), func() { sources = x.expr(t.GetVal(), identityFlow, sc) })
	return []sqlColumn{{name: name, sources: sources}}, nil
}

// star expands `*` (no qualifier: every relation of the FROM clause) or
// `t.*`. It returns the relations whose columns are not all known
// besides.
func (x *extractor) star(qual []*pg_query.Node, all []sqlColumn, sc *sqlScope) (cols []sqlColumn, partial []*sqlRel) {
	rels := sc.rels
	if len(qual) > 0 {
		r, problem := findRelation(qual, sc)
		if r == nil {
			x.warnf("%s.*: %s", joinIdents(qual), cmp.Or(problem, "no such relation in FROM"))
			return nil, nil
		}
		rels, all = []*sqlRel{r}, r.cols
	}
	for _, r := range rels {
		if r.unknown {
			x.warnf("%s*: the columns of relation %s are not known", strings.TrimPrefix(joinIdents(qual)+".", "."), r.label)
		}
		if r.partial() {
			partial = append(partial, r)
		}
	}
	return all, partial
}

// passThrough finds, for a query whose * expanded relations without all
// their columns, the columns it returns that it does not list: those of
// the one such relation; with several, a name cannot be placed.
func passThrough(partial []*sqlRel) func(string) (sqlColumn, string) {
	switch len(partial) {
	case 0:
		return nil
	case 1:
		return func(name string) (sqlColumn, string) {
			c, _, problem := partial[0].find(name)
			return c, problem
		}
	}
	return func(name string) (sqlColumn, string) {
		return sqlColumn{}, fmt.Sprintf("column %q could come from any of %s, whose columns are not all known", name, relLabels(partial))
	}
}

// figureColname is the name PostgreSQL gives an output column without an
// alias (FigureColname): a column's name, a function's, or "?column?".
func figureColname(n *pg_query.Node) string {
	switch {
	case n.GetColumnRef() != nil:
		return cmp.Or(lastIdent(n.GetColumnRef().GetFields()), unnamedColumn)
	case n.GetFuncCall() != nil:
		return cmp.Or(lastIdent(n.GetFuncCall().GetFuncname()), unnamedColumn)
	case n.GetTypeCast() != nil:
		if name := figureColname(n.GetTypeCast().GetArg()); name != unnamedColumn {
			return name
		}
		return cmp.Or(lastIdent(n.GetTypeCast().GetTypeName().GetNames()), unnamedColumn)
	case n.GetCaseExpr() != nil:
		return "case"
	case n.GetCoalesceExpr() != nil:
		return "coalesce"
	case n.GetMinMaxExpr() != nil:
		if n.GetMinMaxExpr().GetOp() == pg_query.MinMaxOp_IS_GREATEST {
			return "greatest"
		}
		return "least"
	case n.GetAExpr() != nil && n.GetAExpr().GetKind() == pg_query.A_Expr_Kind_AEXPR_NULLIF:
		return "nullif"
	case n.GetSubLink() != nil:
		switch n.GetSubLink().GetSubLinkType() {
		case pg_query.SubLinkType_EXISTS_SUBLINK:
			return "exists"
		case pg_query.SubLinkType_ARRAY_SUBLINK:
			return "array"
		case pg_query.SubLinkType_EXPR_SUBLINK:
			if t := n.GetSubLink().GetSubselect().GetSelectStmt().GetTargetList(); len(t) > 0 {
				rt := t[0].GetResTarget()
				return cmp.Or(rt.GetName(), figureColname(rt.GetVal()))
			}
		}
	case n.GetAArrayExpr() != nil:
		return "array"
	case n.GetRowExpr() != nil:
		return "row"
	case n.GetSqlvalueFunction() != nil:
		return strings.ToLower(strings.TrimPrefix(n.GetSqlvalueFunction().GetOp().String(), "SVFOP_"))
	case n.GetCollateClause() != nil:
		return figureColname(n.GetCollateClause().GetArg())
	case n.GetAIndirection() != nil:
		if name := lastIdent(n.GetAIndirection().GetIndirection()); name != "" {
			return name
		}
		return figureColname(n.GetAIndirection().GetArg())
	}
	return unnamedColumn
}

// from reads one item of a FROM clause into sc. It returns the columns it
// adds to `*`, and the input columns deciding its rows.
func (x *extractor) from(n *pg_query.Node, sc *sqlScope) (star []sqlColumn, rows []ColumnSource) {
	switch {
	case n.GetRangeVar() != nil:
		r := x.rangeVar(n.GetRangeVar(), sc)
		sc.rels = append(sc.rels, r)
		return r.cols, r.rows
	case n.GetRangeSubselect() != nil:
		rs := n.GetRangeSubselect()
		alias := rs.GetAlias().GetAliasname()
		inner := sc.parent
		if rs.GetLateral() {
			inner = sc
		}
		q := rs.GetSubquery().GetSelectStmt()
		if q == nil {
			x.warnf("subquery %q in FROM: not a SELECT: skipped", alias)
			return nil, nil
		}
		var r *sqlRel
		x.inside(fmt.Sprintf("subquery %q", alias), func() { r = x.query(q, withCTEs(inner, sc)) })
		r = renamed(r, alias, rs.GetAlias().GetColnames())
		sc.rels = append(sc.rels, r)
		return r.cols, r.rows
	case n.GetRangeFunction() != nil:
		r := x.rangeFunction(n.GetRangeFunction(), sc)
		sc.rels = append(sc.rels, r)
		return r.cols, nil
	case n.GetJoinExpr() != nil:
		return x.join(n.GetJoinExpr(), sc)
	case n.GetRangeTableSample() != nil:
		// t TABLESAMPLE SYSTEM (10): a sample of t's rows, its columns.
		return x.from(n.GetRangeTableSample().GetRelation(), sc)
	}
	x.warnf("FROM: %s is not supported: skipped", nodeKind(n))
	return nil, nil
}

// withCTEs is the scope a subquery in FROM sees: the CTEs of its level
// and, when lateral, the relations before it.
func withCTEs(inner, level *sqlScope) *sqlScope {
	if inner == level {
		return level
	}
	return &sqlScope{parent: inner, ctes: level.ctes}
}

// rangeVar resolves a relation named in FROM: a CTE of an enclosing
// level, else a table of the resolver.
func (x *extractor) rangeVar(rv *pg_query.RangeVar, sc *sqlScope) *sqlRel {
	alias := rv.GetAlias().GetAliasname()
	if rv.GetSchemaname() == "" {
		if c := sc.cte(rv.GetRelname()); c != nil {
			r := renamed(c, cmp.Or(alias, rv.GetRelname()), rv.GetAlias().GetColnames())
			return r
		}
	}
	rn := Relation{Catalog: rv.GetCatalogname(), Schema: rv.GetSchemaname(), Name: rv.GetRelname()}
	label := strings.Trim(rn.Catalog+"."+rn.Schema+"."+rn.Name, ".")
	r := &sqlRel{name: cmp.Or(alias, rn.Name), label: label}
	if alias == "" {
		r.schema, r.catalog = rn.Schema, rn.Catalog
	}
	t, ok := x.resolve(rn)
	if !ok {
		// Warned about where its columns are used: the caller knows the
		// relations it could not resolve.
		r.unknown = true
		return r
	}
	for _, c := range t.Columns {
		r.cols = append(r.cols, sqlColumn{name: c, sources: []ColumnSource{{Input: t.Key, Column: c, Type: TypeDirect, Subtype: SubtypeIdentity}}})
	}
	if t.Open {
		r.other = func(name string) (sqlColumn, string) {
			return sqlColumn{name: name, sources: []ColumnSource{{Input: t.Key, Column: name, Type: TypeDirect, Subtype: SubtypeIdentity}}}, ""
		}
	}
	for i, n := range rv.GetAlias().GetColnames() {
		if i < len(r.cols) {
			r.cols[i].name = n.GetString_().GetSval()
		}
	}
	return r
}

// rangeFunction reads a function in FROM (generate_series, unnest…): its
// columns, whatever their names, are transformations of its arguments.
func (x *extractor) rangeFunction(rf *pg_query.RangeFunction, sc *sqlScope) *sqlRel {
	var args []ColumnSource
	name := ""
	for _, item := range rf.GetFunctions() {
		for _, f := range item.GetList().GetItems() {
			if f.GetNode() == nil {
				continue
			}
			if name == "" && f.GetFuncCall() != nil {
				name = figureColname(f)
			}
			args = mergeSources(args, x.clause("FROM "+cmp.Or(name, "function"), f, identityFlow, sc))
		}
	}
	name = cmp.Or(rf.GetAlias().GetAliasname(), name)
	r := &sqlRel{name: name, label: strconv.Quote(name)}
	col := func(n string) sqlColumn {
		return sqlColumn{name: n, sources: applyFlow(flow{TypeDirect, SubtypeTransformation}, args)}
	}
	for _, n := range rf.GetAlias().GetColnames() {
		r.cols = append(r.cols, col(n.GetString_().GetSval()))
	}
	for _, n := range rf.GetColdeflist() {
		r.cols = append(r.cols, col(n.GetColumnDef().GetColname()))
	}
	if len(r.cols) == 0 {
		r.cols = []sqlColumn{col(name)}
	}
	r.other = func(n string) (sqlColumn, string) { return col(n), "" }
	return r
}

// join reads a JOIN: its sides into sc, its condition as input columns
// deciding the rows. Columns joined with USING (or NATURAL) come first
// in `*`, once, fed by both sides.
func (x *extractor) join(j *pg_query.JoinExpr, sc *sqlScope) (star []sqlColumn, rows []ColumnSource) {
	lstar, lrows := x.from(j.GetLarg(), sc)
	rstar, rrows := x.from(j.GetRarg(), sc)
	rows = mergeSources(lrows, rrows)
	var using []string
	for _, n := range j.GetUsingClause() {
		using = append(using, n.GetString_().GetSval())
	}
	if j.GetIsNatural() {
		for _, l := range lstar {
			if slices.ContainsFunc(rstar, func(r sqlColumn) bool { return r.name == l.name }) {
				using = append(using, l.name)
			}
		}
	}
	for _, name := range using {
		li := slices.IndexFunc(lstar, func(c sqlColumn) bool { return c.name == name })
		ri := slices.IndexFunc(rstar, func(c sqlColumn) bool { return c.name == name })
		if li < 0 || ri < 0 {
			x.warnf("JOIN USING (%s): column not found on both sides", name)
			continue
		}
		merged := sqlColumn{name: name, sources: mergeSources(lstar[li].sources, rstar[ri].sources)}
		sc.using = append(sc.using, merged)
		star = append(star, merged)
		rows = mergeSources(rows, applyFlow(flow{TypeIndirect, SubtypeJoin}, merged.sources))
		lstar, rstar = slices.Delete(slices.Clone(lstar), li, li+1), slices.Delete(slices.Clone(rstar), ri, ri+1)
	}
	star = append(append(star, lstar...), rstar...)
	if q := j.GetQuals(); q != nil {
		rows = mergeSources(rows, x.clause("JOIN", q, flow{TypeIndirect, SubtypeJoin}, sc))
	}
	if a := j.GetAlias(); a != nil {
		sc.rels = append(sc.rels, renamed(&sqlRel{cols: star}, a.GetAliasname(), a.GetColnames()))
	}
	return star, rows
}

// findRelation finds the relation a qualifier names (t, s.t or db.s.t) at the
// nearest query level that has it.
func findRelation(qual []*pg_query.Node, sc *sqlScope) (*sqlRel, string) {
	names := make([]string, len(qual))
	for i, q := range qual {
		names[i] = q.GetString_().GetSval()
	}
	if len(names) == 0 || len(names) > 3 {
		return nil, "unsupported qualifier"
	}
	name := names[len(names)-1]
	for s := sc; s != nil; s = s.parent {
		var found []*sqlRel
		for _, r := range s.rels {
			if r.name != name {
				continue
			}
			if len(names) >= 2 && r.schema != names[len(names)-2] {
				continue
			}
			if len(names) == 3 && r.catalog != names[0] {
				continue
			}
			found = append(found, r)
		}
		switch len(found) {
		case 1:
			return found[0], ""
		case 0:
			continue
		}
		return nil, fmt.Sprintf("relation name %q is ambiguous", name)
	}
	return nil, ""
}

// lookup resolves a column reference, qualified or not, at the nearest
// query level that has it. ok is false when it resolves to nothing;
// problem then says why, or is "" when no relation has the name.
func (x *extractor) lookup(ref *pg_query.ColumnRef, sc *sqlScope) (c sqlColumn, problem string, ok bool) {
	fields := ref.GetFields()
	name := lastIdent(fields)
	if name == "" {
		return sqlColumn{}, "unsupported column reference", false
	}
	if len(fields) > 1 {
		r, problem := findRelation(fields[:len(fields)-1], sc)
		if r == nil && problem == "" && x.norm != nil && x.norm.lateral {
			if c, ok := x.field(fields, sc); ok {
				return c, "", true
			}
		}
		if r == nil {
			return sqlColumn{}, cmp.Or(problem, fmt.Sprintf("no relation %s in FROM", joinIdents(fields[:len(fields)-1]))), false
		}
		c, ok, problem := r.find(name)
		if !ok && pseudoColumns[name] {
			return sqlColumn{name: name}, "", true
		}
		return c, problem, ok
	}
	for s := sc; s != nil; s = s.parent {
		if i := slices.IndexFunc(s.using, func(c sqlColumn) bool { return c.name == name }); i >= 0 {
			return s.using[i], "", true
		}
		var found []sqlColumn
		var in, partial []*sqlRel
		for _, r := range s.rels {
			if c, ok := r.listed(name); ok {
				found, in = append(found, c), append(in, r)
			} else if r.partial() {
				partial = append(partial, r)
			}
		}
		if len(found) == 0 && s == sc && x.norm != nil && x.norm.lateral {
			// A lateral column alias, or an alias in WHERE, GROUP BY or
			// QUALIFY, before a column a relation may or may not have.
			if c, ok := s.alias(name); ok {
				return c, "", true
			}
		}
		switch {
		case len(found) == 1:
			return found[0], "", true
		case len(found) > 1:
			return sqlColumn{}, fmt.Sprintf("column %q is ambiguous: in %s", name, relLabels(in)), false
		case len(partial) == 1:
			c, ok, problem := partial[0].find(name)
			return c, problem, ok
		case len(partial) > 1:
			return sqlColumn{}, fmt.Sprintf("column %q could be in any of %s, whose columns are not all known", name, relLabels(partial)), false
		}
	}
	if pseudoColumns[name] {
		return sqlColumn{name: name}, "", true
	}
	return sqlColumn{}, "", false
}

// pseudoColumns are the columns warehouses give every table without
// listing them (PostgreSQL's system columns, DuckDB's and Oracle's rowid,
// BigQuery's ingestion-time partition and wildcard columns, Snowflake's
// staged-file and stream metadata): a reference to one that no relation
// lists reads nothing lineage can name, and is no error.
var pseudoColumns = map[string]bool{
	"ctid": true, "xmin": true, "xmax": true, "cmin": true, "cmax": true, "tableoid": true,
	"rowid": true, "rownum": true,
	"_partitiontime": true, "_partitiondate": true, "_table_suffix": true, "_file_name": true,
	"metadata$filename": true, "metadata$file_row_number": true, "metadata$file_content_key": true,
	"metadata$file_last_modified": true, "metadata$start_scan_time": true,
	"metadata$action": true, "metadata$isupdate": true, "metadata$row_id": true,
}

// field resolves a reference to a field of a struct column, which
// dialects other than PostgreSQL write as a qualified name: t.col.field
// or col.field. Its value is a transformation of the column's.
func (x *extractor) field(fields []*pg_query.Node, sc *sqlScope) (sqlColumn, bool) {
	try := func(ref *pg_query.ColumnRef) (sqlColumn, bool) {
		c, _, ok := x.lookup(ref, sc)
		if !ok {
			return sqlColumn{}, false
		}
		c.sources = applyFlow(flow{TypeDirect, SubtypeTransformation}, c.sources)
		return c, true
	}
	if len(fields) >= 3 && fields[1].GetString_() != nil {
		if c, ok := try(&pg_query.ColumnRef{Fields: fields[:2]}); ok {
			return c, true
		}
	}
	return try(&pg_query.ColumnRef{Fields: fields[:1]})
}

func relLabels(rs []*sqlRel) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.label)
	}
	return strings.Join(s, ", ")
}

// lastIdent is the last of a list of names (a qualified name's own), or ""
// when it is not a name.
func lastIdent(ns []*pg_query.Node) string {
	if len(ns) == 0 {
		return ""
	}
	return ns[len(ns)-1].GetString_().GetSval()
}

func joinIdents(ns []*pg_query.Node) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.GetString_().GetSval())
	}
	return strings.Join(s, ".")
}

// expr returns the input columns that the expression n depends on, as
// they reach the output through u.
func (x *extractor) expr(n *pg_query.Node, u flow, sc *sqlScope) []ColumnSource {
	switch {
	case n == nil || n.GetNode() == nil:
		return nil
	case n.GetColumnRef() != nil:
		ref := n.GetColumnRef()
		if f := ref.GetFields(); len(f) > 0 && f[len(f)-1].GetAStar() != nil {
			// t.* as a value (row_to_json(t.*)): every column of t.
			var out []ColumnSource
			cols, _ := x.star(f[:len(f)-1], nil, sc)
			for _, c := range cols {
				out = mergeSources(out, applyFlow(u, c.sources))
			}
			return out
		}
		c, problem, ok := x.lookup(ref, sc)
		if !ok {
			x.warnf("%s", cmp.Or(problem, fmt.Sprintf("column %s not found", joinIdents(ref.GetFields()))))
			return nil
		}
		return applyFlow(u, c.sources)
	case n.GetFuncCall() != nil:
		return x.funcCall(n.GetFuncCall(), u, sc)
	case n.GetCaseExpr() != nil:
		c := n.GetCaseExpr()
		cond := u.then(TypeIndirect, SubtypeConditional)
		out := x.expr(c.GetArg(), cond, sc)
		for _, w := range c.GetArgs() {
			out = mergeSources(out, x.expr(w.GetCaseWhen().GetExpr(), cond, sc))
			out = mergeSources(out, x.expr(w.GetCaseWhen().GetResult(), u.then(TypeDirect, SubtypeTransformation), sc))
		}
		return mergeSources(out, x.expr(c.GetDefresult(), u.then(TypeDirect, SubtypeTransformation), sc))
	case n.GetSubLink() != nil:
		return x.subLink(n.GetSubLink(), u, sc)
	case n.GetAConst() != nil, n.GetParamRef() != nil:
		return nil
	}
	// Any other expression (operators, casts, COALESCE…) transforms the
	// values of what it contains.
	var out []ColumnSource
	childNodes(n.ProtoReflect(), func(c *pg_query.Node) {
		out = mergeSources(out, x.expr(c, u.then(TypeDirect, SubtypeTransformation), sc))
	})
	return out
}

// childNodes calls f for each node directly below m, looking through the
// messages that are not nodes (CaseWhen, TypeName…).
func childNodes(m protoreflect.Message, f func(*pg_query.Node)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		visit := func(pm protoreflect.Message) {
			if n, ok := pm.Interface().(*pg_query.Node); ok {
				f(n)
				return
			}
			childNodes(pm, f)
		}
		if fd.IsList() {
			for i := range v.List().Len() {
				visit(v.List().Get(i).Message())
			}
		} else {
			visit(v.Message())
		}
		return true
	})
}

// aggregateFuncs are PostgreSQL's built-in aggregate functions. A call with
// DISTINCT, ORDER BY, FILTER or WITHIN GROUP, or count(*), is an
// aggregate whatever its name; a user-defined aggregate called plainly is
// taken for a function (a transformation).
var aggregateFuncs = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "array_agg": true, "string_agg": true,
	"bool_and": true, "bool_or": true, "every": true, "bit_and": true, "bit_or": true, "bit_xor": true,
	"json_agg": true, "jsonb_agg": true, "json_object_agg": true, "jsonb_object_agg": true, "xmlagg": true,
	"stddev": true, "stddev_pop": true, "stddev_samp": true, "variance": true, "var_pop": true, "var_samp": true,
	"corr": true, "covar_pop": true, "covar_samp": true, "regr_avgx": true, "regr_avgy": true, "regr_count": true,
	"regr_intercept": true, "regr_r2": true, "regr_slope": true, "regr_sxx": true, "regr_sxy": true, "regr_syy": true,
	"percentile_cont": true, "percentile_disc": true, "mode": true, "any_value": true, "range_agg": true,
	"range_intersect_agg": true, "json_agg_strict": true, "json_object_agg_strict": true, "json_objectagg": true, "json_arrayagg": true,
}

// dialectAggregates are the built-in aggregate functions of the other
// dialects (Snowflake, BigQuery, Spark, DuckDB, Trino, Redshift). In
// PostgreSQL's SQL the same names are user-defined, and taken for
// functions.
var dialectAggregates = map[string]bool{
	"countif": true, "count_if": true, "sum_if": true, "avg_if": true, "approx_count_distinct": true, "approx_distinct": true,
	"approx_percentile": true, "approx_quantiles": true, "approx_top_count": true, "approx_top_sum": true, "logical_and": true,
	"logical_or": true, "listagg": true, "median": true, "collect_list": true, "collect_set": true, "arg_max": true, "arg_min": true,
	"argmax": true, "argmin": true, "max_by": true, "min_by": true, "group_concat": true, "kurtosis": true, "skewness": true,
	"object_agg": true, "array_concat_agg": true, "array_union_agg": true, "array_unique_agg": true, "booland_agg": true,
	"boolor_agg": true, "bitand_agg": true, "bitor_agg": true, "hll": true, "hll_count.init": true, "percentile": true,
	"percentile_approx": true, "approx_median": true, "product": true, "string_agg_distinct": true, "list": true,
	"histogram": true, "first": true, "last": true, "favg": true, "fsum": true, "bool_and_agg": true, "sumif": true,
	"stddev_samp_agg": true, "corr_agg": true, "anyvalue": true, "list_agg": true, "array_agg_distinct": true,
}

// funcCall reads a function call: its arguments are transformed, or
// aggregated when it is an aggregate; a FILTER, an aggregate's ORDER BY
// and a window's PARTITION BY and ORDER BY are conditions of the value.
func (x *extractor) funcCall(f *pg_query.FuncCall, u flow, sc *sqlScope) []ColumnSource {
	name := lastIdent(f.GetFuncname())
	sub := SubtypeTransformation
	lower := strings.ToLower(name)
	if aggregateFuncs[lower] || dialectAggregates[lower] && x.norm != nil && x.norm.lateral || f.GetAggStar() || f.GetAggDistinct() || f.GetAggFilter() != nil || f.GetAggWithinGroup() || len(f.GetAggOrder()) > 0 {
		sub = SubtypeAggregation
	}
	val := u.then(TypeDirect, sub)
	var out []ColumnSource
	for _, a := range f.GetArgs() {
		out = mergeSources(out, x.expr(a, val, sc))
	}
	order := u.then(TypeIndirect, SubtypeSort)
	if f.GetAggWithinGroup() {
		order = val // percentile_cont(0.5) WITHIN GROUP (ORDER BY x) aggregates x
	}
	for _, o := range f.GetAggOrder() {
		out = mergeSources(out, x.expr(o.GetSortBy().GetNode(), order, sc))
	}
	out = mergeSources(out, x.expr(f.GetAggFilter(), u.then(TypeIndirect, SubtypeFilter), sc))
	if w := f.GetOver(); w != nil {
		out = mergeSources(out, x.window(w, u.then(TypeIndirect, SubtypeWindow), sc))
	}
	return out
}

// window reads the PARTITION BY and ORDER BY of a window, and of the
// named windows it refers to (OVER w, OVER (w ORDER BY x)).
func (x *extractor) window(w *pg_query.WindowDef, u flow, sc *sqlScope) []ColumnSource {
	var out []ColumnSource
	for hops := 0; w != nil && hops < 16; hops++ {
		for _, p := range w.GetPartitionClause() {
			out = mergeSources(out, x.expr(p, u, sc))
		}
		for _, o := range w.GetOrderClause() {
			out = mergeSources(out, x.expr(o.GetSortBy().GetNode(), u, sc))
		}
		ref := w.GetRefname()
		if ref == "" && len(w.GetPartitionClause()) == 0 && len(w.GetOrderClause()) == 0 {
			ref = w.GetName() // OVER w
		}
		if ref == "" {
			break
		}
		var next *pg_query.WindowDef
		for s := sc; s != nil && next == nil; s = s.parent {
			next = s.windows[ref]
		}
		if next == nil {
			x.warnf("window %q not found", ref)
		}
		if next == w {
			break
		}
		w = next
	}
	return out
}

// subLink reads a subquery in an expression. A scalar subquery passes on
// its column's value (an ARRAY subquery aggregates it), and what decides
// the rows it reads decides that value; EXISTS, IN, ANY and ALL test a
// condition on the subquery's columns.
func (x *extractor) subLink(l *pg_query.SubLink, u flow, sc *sqlScope) []ColumnSource {
	q := l.GetSubselect().GetSelectStmt()
	if q == nil {
		x.warnf("subquery: not a SELECT: skipped")
		return nil
	}
	var r *sqlRel
	x.inside("subquery", func() { r = x.query(q, sc) })
	out := applyFlow(u, r.rows)
	val := u
	switch l.GetSubLinkType() {
	case pg_query.SubLinkType_EXPR_SUBLINK:
	case pg_query.SubLinkType_ARRAY_SUBLINK:
		val = u.then(TypeDirect, SubtypeAggregation)
	default:
		val = u.then(TypeIndirect, SubtypeFilter)
		out = mergeSources(out, x.expr(l.GetTestexpr(), val, sc))
	}
	for _, c := range r.cols {
		out = mergeSources(out, applyFlow(val, c.sources))
	}
	return out
}

// applyFlow composes u with each source.
func applyFlow(u flow, sources []ColumnSource) []ColumnSource {
	out := make([]ColumnSource, 0, len(sources))
	for _, s := range sources {
		out = mergeSources(out, []ColumnSource{u.apply(s)})
	}
	return out
}

// mergeSources appends to a the sources of b it lacks.
func mergeSources(a, b []ColumnSource) []ColumnSource {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

// nodeKind names the kind of a parse tree node, for messages.
func nodeKind(n *pg_query.Node) string {
	if n == nil || n.GetNode() == nil {
		return "an empty statement"
	}
	name := string(n.ProtoReflect().WhichOneof(n.ProtoReflect().Descriptor().Oneofs().Get(0)).Message().Name())
	return name
}

// apply removes the columns r excepts from cols, and renames those it
// renames. Names compare ignoring case, as the dialects that write
// star modifiers compare them.
func (r *starRule) apply(cols []sqlColumn) []sqlColumn {
	if r == nil {
		return cols
	}
	var out []sqlColumn
	for _, c := range cols {
		if slices.ContainsFunc(r.except, func(e string) bool { return strings.EqualFold(e, c.name) }) {
			continue
		}
		if to, ok := r.rename[strings.ToLower(c.name)]; ok {
			c.name = to
		}
		out = append(out, c)
	}
	return out
}
