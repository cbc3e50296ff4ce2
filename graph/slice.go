package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// marshalSlice marshals the elements of a list. gqlgen gives each element
// its own goroutine so that the dataloader calls of their resolvers meet
// in one batch; when nothing selected under the list is resolved
// concurrently (see concurrentFields, which graph/internal/inlinelists
// writes), there is nothing to batch and the elements are marshalled one
// after another on this goroutine, which on a busy machine is much faster
// than waking a goroutine per element. The generated code calls it in
// place of graphql.MarshalSliceConcurrently.
func marshalSlice(ctx context.Context, sel ast.SelectionSet, length int, workerLimit int64, omitPanicHandler bool,
	marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if length > 1 && selectsConcurrent(sel) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshal)
	}
	ret := make(graphql.Array, length)
	for i := range length {
		ctx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = marshal(ctx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(ctx, graphql.Recover(ctx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = marshal(ctx, i)
		}()
	}
	return ret
}

// selectsConcurrent reports whether sel, at any depth, selects a field that
// gqlgen resolves concurrently. A field of an interface or union counts as
// one: which object it lands on is known only per element.
func selectsConcurrent(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if d := s.ObjectDefinition; d != nil && (d.Kind != ast.Object || concurrentFields[d.Name+"."+s.Name]) {
				return true
			}
			if selectsConcurrent(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if selectsConcurrent(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && selectsConcurrent(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}
