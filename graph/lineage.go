package graph

import (
	"fmt"

	"almanac/catalog"
	"almanac/graph/model"
	"almanac/lineage"
)

// This file reads the arguments that the lineage and impact queries, of
// datasets and of columns, share, so that both levels accept and refuse
// the same values with the same messages.

// lineageDepth checks a depth argument: from least (1 for a traversal, 0,
// meaning no limit, for impact) to lineage.MaxDepth; def when absent.
func lineageDepth(depth *int, least, def int) (int, error) {
	if depth == nil {
		return def, nil
	}
	if *depth < least || *depth > lineage.MaxDepth {
		return 0, fmt.Errorf("depth must be between %d and %d, got %d: %w", least, lineage.MaxDepth, *depth, catalog.ErrInvalid)
	}
	return *depth, nil
}

// lineageMaxNodes checks a maxNodes argument; 0 (the lineage package's
// default) when absent.
func lineageMaxNodes(maxNodes *int) (int, error) {
	if maxNodes == nil {
		return 0, nil
	}
	if *maxNodes < 1 || *maxNodes > maxFirst*10 {
		return 0, fmt.Errorf("maxNodes must be between 1 and %d, got %d: %w", maxFirst*10, *maxNodes, catalog.ErrInvalid)
	}
	return *maxNodes, nil
}

func lineageDirection(d *model.LineageDirection) lineage.Direction {
	if d == nil {
		return lineage.Both
	}
	switch *d {
	case model.LineageDirectionUpstream:
		return lineage.Upstream
	case model.LineageDirectionDownstream:
		return lineage.Downstream
	}
	return lineage.Both
}

func columnLineageGraph(sub lineage.ColumnSubgraph) *model.ColumnLineageGraph {
	g := &model.ColumnLineageGraph{Start: sub.Start.String(), Truncated: sub.Truncated,
		Nodes: make([]model.ColumnLineageNode, 0, len(sub.Nodes)), Edges: make([]model.ColumnLineageEdge, 0, len(sub.Edges))}
	for _, n := range sub.Nodes {
		g.Nodes = append(g.Nodes, model.ColumnLineageNode{ID: n.ID.String(), Namespace: n.ID.Dataset.Namespace, Name: n.ID.Dataset.Name,
			Column: n.ID.Column, Distance: n.Distance, More: n.More})
	}
	for _, e := range sub.Edges {
		g.Edges = append(g.Edges, model.ColumnLineageEdge{From: e.From.String(), To: e.To.String(), Type: e.Type, Subtype: e.Subtype, Indirect: e.Indirect()})
	}
	return g
}
