package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"almanac/graph/model"
)

// depthLimit rejects an operation whose selections nest deeper than max,
// before anything runs. Fragments count at the depth they are spread;
// introspection fields count too, so the limit must leave room for
// GraphiQL's introspection query (depth 13).
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

// codeDepthLimit is the extensions.code of an operation that nests too
// deep.
const codeDepthLimit = "DEPTH_LIMIT_EXCEEDED"

func init() {
	// Operations refused before they run answer 422 like those that fail
	// validation (gqlgen answers 200 for the complexity limit otherwise).
	errcode.RegisterErrorType(codeDepthLimit, errcode.KindProtocol)
	errcode.RegisterErrorType("COMPLEXITY_LIMIT_EXCEEDED", errcode.KindProtocol)
}

func (depthLimit) ExtensionName() string { return "DepthLimit" }

func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l depthLimit) MutateOperationContext(_ context.Context, op *graphql.OperationContext) *gqlerror.Error {
	if op.Operation == nil {
		return nil
	}
	if d := selectionDepth(op.Operation.SelectionSet, map[string]bool{}); d > l.max {
		err := gqlerror.Errorf("operation nests %d levels deep, more than the limit of %d", d, l.max)
		errcode.Set(err, codeDepthLimit)
		return err
	}
	return nil
}

// selectionDepth is the deepest nesting of fields in set; visiting guards
// against fragment cycles (which validation rejects anyway).
func selectionDepth(set ast.SelectionSet, visiting map[string]bool) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1 + selectionDepth(s.SelectionSet, visiting)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, visiting)
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			d = selectionDepth(s.Definition.SelectionSet, visiting)
			delete(visiting, s.Name)
		}
		deepest = max(deepest, d)
	}
	return deepest
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
	c.Query.Lineage = func(child int, _ string, _ string, _ *model.LineageDirection, _ *int, maxNodes *int) int {
		return page(child, maxNodes, 100)
	}
	c.Query.Impact = func(child int, _ string, _ string, _ *int) int { return page(child, nil, 100) }
	c.Query.ColumnLineage = func(child int, _ string, _ string, _ string, _ *model.LineageDirection, _ *int, maxNodes *int, _ *bool) int {
		return page(child, maxNodes, 100)
	}
	c.Query.ColumnImpact = func(child int, _ string, _ string, _ string, _ *int, _ *bool) int { return page(child, nil, 100) }
	c.Query.Search = func(child int, _ string, _ *bool, first *int, _ *string) int { return page(child, first, 20) }
	c.Dataset.SchemaHistory = func(child int, first *int, _ *string) int { return page(child, first, 10) }
	return c
}
