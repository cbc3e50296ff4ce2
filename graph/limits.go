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

	"almanac/graph/model"
)

// operationLimits rejects, before anything runs, an operation that nests
// deeper than maxDepth or expands to more than maxFields fields. Fragments
// count at the depth they are spread, and each spread counts all of its
// fields; introspection fields count too, so the limits must leave room for
// GraphiQL's introspection query (depth 14, 209 fields).
//
// It must run before gqlgen's complexity limit, which walks the operation
// with every fragment expanded: a 1.5 KB query of fragments that each
// spread the next one twice expands to billions of fields. Measuring is
// linear in the size of the document, as each fragment is measured once.
type operationLimits struct{ maxDepth, maxFields int }

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
	s := measure(op.Operation.SelectionSet, map[string]*size{})
	if s.depth > l.maxDepth {
		err := gqlerror.Errorf("operation nests %d levels deep, more than the limit of %d", s.depth, l.maxDepth)
		errcode.Set(err, codeDepthLimit)
		return err
	}
	if s.fields > l.maxFields {
		var err *gqlerror.Error
		if s.fields == math.MaxInt {
			err = gqlerror.Errorf("operation expands to too many fields to count, more than the limit of %d", l.maxFields)
		} else {
			err = gqlerror.Errorf("operation expands to %d fields, more than the limit of %d", s.fields, l.maxFields)
		}
		errcode.Set(err, codeTooLarge)
		return err
	}
	return nil
}

// size is how deep a selection set nests and how many fields it has once
// its fragments are expanded.
type size struct{ depth, fields int }

// measure returns the size of set. fragments holds the size of each
// fragment measured so far, so that one spread many times is walked once;
// a nil entry marks a fragment being measured, guarding against cycles
// (which validation rejects anyway). Counts saturate at math.MaxInt.
func measure(set ast.SelectionSet, fragments map[string]*size) size {
	var total size
	for _, sel := range set {
		var s size
		switch sel := sel.(type) {
		case *ast.Field:
			s = measure(sel.SelectionSet, fragments)
			s.depth++
			s.fields = addSat(s.fields, 1)
		case *ast.InlineFragment:
			s = measure(sel.SelectionSet, fragments)
		case *ast.FragmentSpread:
			if sel.Definition == nil {
				continue
			}
			f, seen := fragments[sel.Name]
			if !seen {
				fragments[sel.Name] = nil
				m := measure(sel.Definition.SelectionSet, fragments)
				f = &m
				fragments[sel.Name] = f
			}
			if f == nil {
				continue // a cycle
			}
			s = *f
		}
		total.depth = max(total.depth, s.depth)
		total.fields = addSat(total.fields, s.fields)
	}
	return total
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
	c.Query.Datasets = func(child int, _ *model.DatasetFilter, first *int, _ *string) int { return page(child, first, 50) }
	c.Query.CrawlRuns = func(child int, _ *string, first *int, _ *string) int { return page(child, first, 20) }
	c.Query.Owners = func(child int, first *int, _ *string) int { return page(child, first, 100) }
	c.Query.Tags = func(child int, first *int, _ *string) int { return page(child, first, 100) }
	c.Query.AuditLog = func(child int, _ *string, first *int, _ *string) int { return page(child, first, 50) }
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
