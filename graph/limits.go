package graph

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"almanac/graph/model"
)

// Limits on a query document, checked by checkDocument before gqlgen
// parses and validates it. gqlparser's validation honours no deadline,
// reports every error it finds, and has rules whose work grows with the
// square of what a document holds: OverlappingFieldsCanBeMerged compares
// fields, and fragments, pairwise, and the walk behind every rule visits
// each operation and each fragment definition with all the fragments it
// reaches. Unbounded, 60,000 fragment spreads took 13 s, and 1 MiB of
// unknown directives gave a 103 MB list of errors. Within these limits the
// worst document found validates in well under a second.
//
// Real documents stay far below them: GraphiQL's introspection query has
// 176 tokens, 67 fields and 8 spreads, nests 9 levels deep and costs 228
// to validate.
const (
	// maxDocumentTokens bounds the tokens of a document, comments
	// included: the parser's work and memory grow with them (gqlparser's
	// own default limit). A string is one token, however long.
	maxDocumentTokens = 15000
	// maxDocumentDirectives bounds the directives (@name) of a document.
	maxDocumentDirectives = 500
	// maxDocumentSpreads bounds the fragment spreads (...Name) of a
	// document, defined or not: validation compares the fragments of a
	// selection set pairwise, and remembers every pair (1,000 took 1.3 s).
	maxDocumentSpreads = 250
	// maxDocumentNesting bounds how deep braces and brackets nest.
	maxDocumentNesting = 100
	// maxNameBytes bounds a name (field, alias, argument, type...):
	// validation suggests names like an unknown one by edit distance,
	// whose work grows with the product of their lengths.
	maxNameBytes = 128
	// maxDocumentFields bounds the fields written in a document, not
	// expanded: OverlappingFieldsCanBeMerged compares every pair of fields
	// that share a response name (20,000 copies of one took 14 s), and
	// holds every pair that conflicts at once: 1,000 fields made 250,000
	// conflicts and 127 MB, 500 make 62,500 and 31 MB.
	maxDocumentFields = 500
	// maxValidationWork bounds the selections, arguments, values and
	// directives that validation visits: each operation and fragment
	// definition with every fragment it reaches, once each.
	maxValidationWork = 30000
)

// checkDocument says why a query document holds too much to be parsed and
// validated in time, or returns nil. It first counts the document's tokens,
// in time and memory linear in its length, then parses it (now bounded)
// and measures what validation would walk. A document that does not parse
// passes: gqlgen reports its syntax error, in time bounded by the counts
// of the tokens before it.
func checkDocument(query string) *gqlerror.Error {
	c := countTokens(query)
	switch {
	case c.directives > maxDocumentDirectives:
		return tooLargef(codeTooLarge, "the query document has %d directives, more than the limit of %d", c.directives, maxDocumentDirectives)
	case c.spreads > maxDocumentSpreads:
		return tooLargef(codeTooLarge, "the query document has %d fragment spreads, more than the limit of %d", c.spreads, maxDocumentSpreads)
	case c.longName.Len > 0:
		return tooLargef(codeTooLarge, "the query document has a name of %d bytes at line %d, column %d, more than the limit of %d",
			c.longName.Len, c.longName.Line, c.longName.Column, maxNameBytes)
	case c.nesting > maxDocumentNesting:
		return tooLargef(codeDepthLimit, "the query document nests braces and brackets %d levels deep, more than the limit of %d", c.nesting, maxDocumentNesting)
	case c.tokens > maxDocumentTokens:
		return tooLargef(codeTooLarge, "the query document has %d tokens, more than the limit of %d", c.tokens, maxDocumentTokens)
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil
	}
	if n := countFields(doc); n > maxDocumentFields {
		return tooLargef(codeTooLarge, "the query document has %d fields, more than the limit of %d", n, maxDocumentFields)
	}
	if validationWork(doc, maxValidationWork) > maxValidationWork {
		return tooLargef(codeTooLarge, "the query document costs more than %d to validate: each operation and fragment counts its "+
			"selections, arguments and directives with those of every fragment it spreads", maxValidationWork)
	}
	return nil
}

func tooLargef(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// tokenCounts is what countTokens finds in a document.
type tokenCounts struct {
	tokens, directives, spreads int
	nesting                     int // the deepest braces and brackets go
	longName                    struct{ Len, Line, Column int }
}

// countTokens counts the tokens of a query document with gqlparser's own
// lexer, up to the end or the first that is not valid.
func countTokens(query string) tokenCounts {
	var c tokenCounts
	lex := lexer.New(&ast.Source{Input: query})
	depth := 0
	prev := lexer.Invalid // the token before, comments aside
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return c
		}
		c.tokens++
		switch tok.Kind {
		case lexer.Comment:
			continue
		case lexer.At:
			c.directives++
		case lexer.BraceL, lexer.BracketL:
			depth++
			c.nesting = max(c.nesting, depth)
		case lexer.BraceR, lexer.BracketR:
			depth = max(depth-1, 0)
		case lexer.Name:
			// "... on T" starts an inline fragment; a fragment cannot be
			// named "on".
			if prev == lexer.Spread && tok.Value != "on" {
				c.spreads++
			}
			if len(tok.Value) > maxNameBytes && c.longName.Len == 0 {
				c.longName.Len, c.longName.Line, c.longName.Column = len(tok.Value), tok.Pos.Line, tok.Pos.Column
			}
		}
		prev = tok.Kind
	}
}

// countFields counts the fields written in doc, in its operations and
// fragment definitions, fragments not expanded.
func countFields(doc *ast.QueryDocument) int {
	n := 0
	var count func(ast.SelectionSet)
	count = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				n++
				count(s.SelectionSet)
			case *ast.InlineFragment:
				count(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		count(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		count(f.SelectionSet)
	}
	return n
}

// validationWork returns what validating doc costs, or a number above
// limit once it passes it. gqlparser's validation walks every operation
// and every fragment definition, each with the fragments it reaches
// (directly or through other fragments) once: a fragment reached from many
// of them is walked as many times. The cost of a walk is the number of
// selections, arguments and values, and directives it visits, a field
// counting one more for every 16 bytes of its name. Working it out costs
// no more than limit, as each step adds at least one.
func validationWork(doc *ast.QueryDocument, limit int) int {
	type fragment struct {
		cost    int
		spreads []string
	}
	// Spreads name the first fragment of a name, as in gqlparser.
	fragments := make(map[string]*fragment, len(doc.Fragments))
	for _, f := range doc.Fragments {
		if _, dup := fragments[f.Name]; !dup {
			var fr fragment
			fr.cost = 1 + directivesCost(f.Directives) + selectionCost(f.SelectionSet, &fr.spreads)
			fragments[f.Name] = &fr
		}
	}
	work := 0
	walked := map[string]int{} // by fragment name, the walk that last reached it
	walk := 0
	reach := func(spreads []string) {
		walk++
		stack := append([]string(nil), spreads...)
		for len(stack) > 0 && work <= limit {
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			f := fragments[name]
			if f == nil || walked[name] == walk {
				continue
			}
			walked[name] = walk
			work += f.cost
			stack = append(stack, f.spreads...)
		}
	}
	for _, op := range doc.Operations {
		var spreads []string
		work += 1 + directivesCost(op.Directives) + selectionCost(op.SelectionSet, &spreads)
		for _, v := range op.VariableDefinitions {
			work += 1 + directivesCost(v.Directives) + valueCost(v.DefaultValue)
		}
		reach(spreads)
		if work > limit {
			return work
		}
	}
	for _, f := range doc.Fragments {
		if fr := fragments[f.Name]; fr != nil {
			work += fr.cost
			reach(fr.spreads)
		}
		if work > limit {
			return work
		}
	}
	return work
}

// selectionCost counts the selections of set, with their arguments,
// values and directives, and adds the fragments it spreads to spreads.
func selectionCost(set ast.SelectionSet, spreads *[]string) int {
	n := 0
	for _, sel := range set {
		n++
		switch sel := sel.(type) {
		case *ast.Field:
			// Validation suggests names like an unknown field's, by an
			// edit distance whose work grows with the name's length.
			n += len(sel.Name) / 16
			for _, a := range sel.Arguments {
				n += 1 + valueCost(a.Value)
			}
			n += directivesCost(sel.Directives) + selectionCost(sel.SelectionSet, spreads)
		case *ast.InlineFragment:
			n += directivesCost(sel.Directives) + selectionCost(sel.SelectionSet, spreads)
		case *ast.FragmentSpread:
			n += directivesCost(sel.Directives)
			*spreads = append(*spreads, sel.Name)
		}
	}
	return n
}

func directivesCost(ds ast.DirectiveList) int {
	n := 0
	for _, d := range ds {
		n++
		for _, a := range d.Arguments {
			n += 1 + valueCost(a.Value)
		}
	}
	return n
}

func valueCost(v *ast.Value) int {
	if v == nil {
		return 0
	}
	n := 1
	for _, c := range v.Children {
		n += valueCost(c.Value)
	}
	return n
}

// operationLimits rejects, before anything runs, an operation that nests
// deeper than maxDepth, expands to more than maxFields fields, or passes
// its fields more than maxArgumentBytes of argument values. Fragments
// count at the depth they are spread, and each spread counts all of its
// fields and arguments; introspection fields count too, so the limits must
// leave room for GraphiQL's introspection query (depth 14, 209 fields).
//
// It must run before gqlgen's complexity limit, which walks the operation
// with every fragment expanded: a 1.5 KB query of fragments that each
// spread the next one twice expands to billions of fields. Measuring is
// linear in the size of the document, as each fragment is measured once.
type operationLimits struct{ maxDepth, maxFields int }

// maxArgumentBytes bounds the argument values an operation passes to its
// fields, a variable counting its value at each use and a fragment its
// arguments at each spread: an error may quote the argument it was given,
// so that one 1 MiB variable passed to a thousand fields that each fail
// would otherwise make a gigabyte of error messages. Real operations pass
// a few kilobytes; the largest, a description, fits in a request body.
const maxArgumentBytes = 2 << 20

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

// Codes of operations that ask too much, in extensions.code.
const (
	codeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	codeTooLarge   = "QUERY_TOO_LARGE"
)

func init() {
	// Operations refused before they run answer 422 like those that fail
	// validation (gqlgen answers 200 for the complexity limit otherwise).
	errcode.RegisterErrorType(codeDepthLimit, errcode.KindProtocol)
	errcode.RegisterErrorType(codeTooLarge, errcode.KindProtocol)
	errcode.RegisterErrorType("COMPLEXITY_LIMIT_EXCEEDED", errcode.KindProtocol)
}

func (operationLimits) ExtensionName() string { return "OperationLimits" }

func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	m := measurer{vars: op.Variables, varBytes: map[string]int{}, fragments: map[string]*size{}}
	s := m.measure(op.Operation.SelectionSet)
	if s.depth > l.maxDepth {
		return tooLargef(codeDepthLimit, "operation nests %d levels deep, more than the limit of %d", s.depth, l.maxDepth)
	}
	if s.fields > l.maxFields {
		if s.fields == math.MaxInt {
			return tooLargef(codeTooLarge, "operation expands to too many fields to count, more than the limit of %d", l.maxFields)
		}
		return tooLargef(codeTooLarge, "operation expands to %d fields, more than the limit of %d", s.fields, l.maxFields)
	}
	if s.argBytes > maxArgumentBytes {
		return tooLargef(codeTooLarge, "operation passes %d bytes of arguments to its fields, more than the limit of %d "+
			"(a variable counts at each use, a fragment at each spread)", s.argBytes, maxArgumentBytes)
	}
	return nil
}

// size is how deep a selection set nests, and how many fields it has and
// how many bytes of arguments it passes them once its fragments are
// expanded.
type size struct{ depth, fields, argBytes int }

// measurer measures the selection sets of one operation.
type measurer struct {
	vars     map[string]any
	varBytes map[string]int // of each variable measured so far
	// fragments holds the size of each fragment measured so far, so that
	// one spread many times is walked once; a nil entry marks a fragment
	// being measured, guarding against cycles (which validation rejects
	// anyway).
	fragments map[string]*size
}

// measure returns the size of set. Counts saturate at math.MaxInt.
func (m *measurer) measure(set ast.SelectionSet) size {
	var total size
	for _, sel := range set {
		var s size
		switch sel := sel.(type) {
		case *ast.Field:
			s = m.measure(sel.SelectionSet)
			s.depth++
			s.fields = addSat(s.fields, 1)
			for _, a := range sel.Arguments {
				s.argBytes = addSat(s.argBytes, m.valueBytes(a.Value))
			}
		case *ast.InlineFragment:
			s = m.measure(sel.SelectionSet)
		case *ast.FragmentSpread:
			if sel.Definition == nil {
				continue
			}
			f, seen := m.fragments[sel.Name]
			if !seen {
				m.fragments[sel.Name] = nil
				s := m.measure(sel.Definition.SelectionSet)
				f = &s
				m.fragments[sel.Name] = f
			}
			if f == nil {
				continue // a cycle
			}
			s = *f
		}
		total.depth = max(total.depth, s.depth)
		total.fields = addSat(total.fields, s.fields)
		total.argBytes = addSat(total.argBytes, s.argBytes)
	}
	return total
}

// valueBytes returns the size of an argument's value as written, or of
// the value of the variable it names.
func (m *measurer) valueBytes(v *ast.Value) int {
	switch v.Kind {
	case ast.Variable:
		n, ok := m.varBytes[v.Raw]
		if !ok {
			n = goValueBytes(m.vars[v.Raw])
			m.varBytes[v.Raw] = n
		}
		return n
	case ast.ListValue, ast.ObjectValue:
		n := 0
		for _, c := range v.Children {
			n = addSat(n, addSat(len(c.Name), m.valueBytes(c.Value)))
		}
		return n
	}
	return len(v.Raw)
}

// goValueBytes returns the size of a variable's value decoded from JSON.
func goValueBytes(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		n := 0
		for _, e := range v {
			n = addSat(n, goValueBytes(e))
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range v {
			n = addSat(n, addSat(len(k), goValueBytes(e)))
		}
		return n
	}
	return 8
}

// addSat adds two counts that are not negative, saturating at math.MaxInt.
func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// nulArguments refuses an operation that has a NUL character in a string
// argument, whether written in the query or passed as a variable:
// PostgreSQL cannot store one in text, so no name, tag or description may
// hold one, and lookups by one would fail in the database.
type nulArguments struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = nulArguments{}

func (nulArguments) ExtensionName() string { return "NULArguments" }

func (nulArguments) Validate(graphql.ExecutableSchema) error { return nil }

func (nulArguments) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	// Each fragment is searched where it is defined, not where it is
	// spread, so that this is linear in the size of the document.
	if err := findNULArgument(op.Operation.SelectionSet, op.Variables); err != nil {
		return err
	}
	for _, f := range op.Doc.Fragments {
		if err := findNULArgument(f.SelectionSet, op.Variables); err != nil {
			return err
		}
	}
	return nil
}

func findNULArgument(set ast.SelectionSet, vars map[string]any) *gqlerror.Error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			for _, a := range sel.Arguments {
				v, err := a.Value.Value(vars)
				if err != nil {
					continue // not a string; validation has checked it
				}
				if where, ok := nulIn(a.Name, v); ok {
					err := gqlerror.ErrorPosf(a.Position, "argument %s of %s contains a NUL character", where, sel.Name)
					errcode.Set(err, CodeBadUserInput)
					return err
				}
			}
			if err := findNULArgument(sel.SelectionSet, vars); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := findNULArgument(sel.SelectionSet, vars); err != nil {
				return err
			}
		}
	}
	return nil
}

// nulIn reports whether v, the value of an argument at path, holds a
// string with a NUL character, and where ("input.tag").
func nulIn(path string, v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return path, strings.ContainsRune(v, 0)
	case map[string]any:
		for k, e := range v {
			if where, ok := nulIn(path+"."+k, e); ok {
				return where, true
			}
		}
	case []any:
		for i, e := range v {
			if where, ok := nulIn(fmt.Sprintf("%s[%d]", path, i), e); ok {
				return where, true
			}
		}
	}
	return "", false
}

// complexity prices connections by the page they ask for: a field under a
// connection runs once per item. Plain lists (columns, owners, tags) keep
// gqlgen's default of one per field, as they are read with their dataset.
func complexity() ComplexityRoot {
	var c ComplexityRoot
	page := func(child int, first *int, def int) int {
		n := def
		if first != nil && *first > 0 {
			n = *first
		}
		return 1 + child*n
	}
	c.Query.Datasets = func(child int, _ *model.DatasetFilter, _ *model.DatasetOrder, first *int, _ *string) int {
		return page(child, first, 50)
	}
	c.Query.CrawlRuns = func(child int, _ *string, first *int, _ *string) int { return page(child, first, 20) }
	c.Query.Owners = func(child int, first *int, _ *string) int { return page(child, first, 100) }
	c.Query.Tags = func(child int, first *int, _ *string) int { return page(child, first, 100) }
	c.Query.AuditLog = func(child int, _, _, _ *string, _ *model.AuditFilter, first *int, _ *string) int {
		return page(child, first, 50)
	}
	// Lineage nodes come from memory and are small: a tenth of maxNodes,
	// so that the documented maximum (5,000) fits the default limit.
	tenth := func(n *int) *int {
		if n == nil {
			return nil
		}
		t := max(1, *n/10)
		return &t
	}
	c.Query.Lineage = func(child int, _ string, _ string, _ *model.LineageDirection, _ *int, maxNodes *int) int {
		return page(child, tenth(maxNodes), 10)
	}
	c.Query.Impact = func(child int, _ string, _ string, _ *int) int { return page(child, nil, 100) }
	c.Query.ColumnLineage = func(child int, _ string, _ string, _ string, _ *model.LineageDirection, _ *int, maxNodes *int, _ *bool) int {
		return page(child, tenth(maxNodes), 10)
	}
	c.Query.ColumnImpact = func(child int, _ string, _ string, _ string, _ *int, _ *bool) int { return page(child, nil, 100) }
	c.Query.Search = func(child int, _ string, _ *bool, first *int, _ *string) int { return page(child, first, 20) }
	c.Dataset.SchemaHistory = func(child int, first *int, _ *string) int { return page(child, first, 10) }
	c.Query.Jobs = func(child int, _ *string, _ *bool, first *int, _ *string) int { return page(child, first, 50) }
	c.Job.Runs = func(child int, first *int, _ *string) int { return page(child, first, 20) }
	return c
}
