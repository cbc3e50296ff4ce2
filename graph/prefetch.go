package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Loaders batch what concurrent resolvers ask for within a short wait,
// which under load may split one page's keys over several batches. The
// resolvers that return datasets therefore look ahead at what the
// operation selects on them and read it for the whole page at once, priming
// the loaders: a page costs the same statements however many datasets it
// holds, and a dataset page waits on no loader.

// prime hands datasets to the request's loaders, then reads in bulk the
// fields selected on them (sel) that are not part of a dataset's facts.
func (r *Resolver) prime(ctx context.Context, ds []catalog.Dataset, sel []graphql.CollectedField) error {
	l := loadersFrom(ctx)
	for i := range ds {
		l.datasets.Prime(ds[i].ID, &ds[i])
		l.ids.Prime(ds[i].Key, ds[i].ID)
	}
	if len(ds) == 0 {
		return nil
	}
	op := graphql.GetOperationContext(ctx)
	var pages []store.HistoryPage
	keys := make([]catalog.Key, len(ds))
	for i, d := range ds {
		keys[i] = d.Key
	}
	for _, f := range sel {
		switch f.Name {
		case "qualityChecks":
			checks, err := r.store.ChecksOf(ctx, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.checks.Prime(k, checks[k])
			}
		case "referencedBy":
			refs, err := r.store.ReferencedBy(ctx, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				l.referenced.Prime(k, refs[k])
			}
		case "schemaHistory":
			args := f.ArgumentMap(op.Variables)
			first, _ := args["first"].(int64)
			if v, ok := args["first"].(int); ok {
				first = int64(v)
			}
			if args["first"] == nil {
				first = 10
			}
			var after *string
			if s, ok := args["after"].(string); ok {
				after = &s
			}
			before, err := parseIntCursor(after)
			if err != nil || first < 0 || first > maxFirst {
				continue // the resolver reports it
			}
			cols := selectsColumns(op, f.Selections)
			for _, d := range ds {
				pages = append(pages, store.HistoryPage{DatasetID: d.ID, Limit: int(first) + 1, Before: int(before), Columns: cols})
			}
		}
	}
	if len(pages) > 0 {
		hist, err := r.store.SchemaHistories(ctx, pages)
		if err != nil {
			return err
		}
		for _, p := range pages {
			l.history.Prime(p, hist[p])
		}
	}
	return nil
}

// selectsColumns reports whether a schemaHistory selection asks for the
// versions' full column lists (edges { node { columns } }).
func selectsColumns(op *graphql.OperationContext, sel ast.SelectionSet) bool {
	return selectsOnNodes(op, sel, "columns")
}

// selectsOnNodes reports whether a connection's selection asks for field
// on its nodes (edges { node { field } }).
func selectsOnNodes(op *graphql.OperationContext, sel ast.SelectionSet, field string) bool {
	for _, edges := range graphql.CollectFields(op, sel, nil) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(op, edges.Selections, nil) {
			if node.Name != "node" {
				continue
			}
			for _, f := range graphql.CollectFields(op, node.Selections, nil) {
				if f.Name == field {
					return true
				}
			}
		}
	}
	return false
}

// nodeFields returns the fields selected on the nodes of the connection
// being resolved (edges { node { … } }).
func nodeFields(ctx context.Context) []graphql.CollectedField {
	op := graphql.GetOperationContext(ctx)
	var out []graphql.CollectedField
	for _, edges := range graphql.CollectFieldsCtx(ctx, nil) {
		if edges.Name != "edges" {
			continue
		}
		for _, node := range graphql.CollectFields(op, edges.Selections, nil) {
			if node.Name == "node" {
				out = append(out, graphql.CollectFields(op, node.Selections, nil)...)
			}
		}
	}
	return out
}
