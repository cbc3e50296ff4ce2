package lineage

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/goccy/go-graphviz"
	"github.com/goccy/go-graphviz/cgraph"
)

// SVGOptions says how to draw a subgraph.
type SVGOptions struct {
	// Href returns the link of a node (re-centre the explorer on it);
	// nil draws no links.
	Href func(NodeID) string
	// Highlight marks nodes to draw emphasised, e.g. a path.
	Highlight map[NodeID]bool
}

// renderer is the Graphviz instance: building one compiles Graphviz's
// WebAssembly module, so it is built once and used under a lock.
var renderer struct {
	sync.Mutex
	gv  *graphviz.Graphviz
	err error
}

// SVG lays a subgraph out left to right with Graphviz's dot and returns
// it as SVG. Datasets are rounded boxes, jobs small grey boxes on the
// edges between them; nodes with neighbours left out say "+N more".
func SVG(ctx context.Context, sub Subgraph, opt SVGOptions) ([]byte, error) {
	renderer.Lock()
	defer renderer.Unlock()
	if renderer.gv == nil && renderer.err == nil {
		renderer.gv, renderer.err = graphviz.New(ctx)
	}
	if renderer.err != nil {
		return nil, fmt.Errorf("lineage svg: start graphviz: %w", renderer.err)
	}
	g, err := renderer.gv.Graph()
	if err != nil {
		return nil, fmt.Errorf("lineage svg: %w", err)
	}
	defer g.Close()
	g.SetRankDir(cgraph.LRRank).SetNodeSeparator(0.15).SetRankSeparator(0.4)
	nodes := make(map[NodeID]*cgraph.Node, len(sub.Nodes))
	for i, n := range sub.Nodes {
		gn, err := g.CreateNodeByName("n" + strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("lineage svg: node %s: %w", n.ID, err)
		}
		label := n.ID.Name
		if n.More > 0 {
			label += fmt.Sprintf("\n+%d more", n.More)
		}
		gn.SetLabel(label).SetTooltip(n.ID.String()).SetFontName("Helvetica").SetFontSize(11)
		gn.SetID(n.ID.String())
		if n.ID.Kind == JobNode {
			gn.SetShape(cgraph.BoxShape).SetStyle(cgraph.FilledNodeStyle).SetFillColor("#eeeeee").SetColor("#999999").SetFontSize(9)
		} else {
			gn.SetShape(cgraph.BoxShape).SetStyle("rounded,filled").SetFillColor("#ffffff")
		}
		if n.ID == sub.Start {
			gn.SetFillColor("#dbeafe").SetPenWidth(2)
		}
		if opt.Highlight[n.ID] {
			gn.SetColor("#d97706").SetPenWidth(2.5)
		}
		if opt.Href != nil {
			gn.SetURL(opt.Href(n.ID))
		}
		nodes[n.ID] = gn
	}
	for i, e := range sub.Edges {
		ge, err := g.CreateEdgeByName("e"+strconv.Itoa(i), nodes[e.From], nodes[e.To])
		if err != nil {
			return nil, fmt.Errorf("lineage svg: edge %s → %s: %w", e.From, e.To, err)
		}
		ge.SetColor("#777777").SetArrowSize(0.6)
		if opt.Highlight[e.From] && opt.Highlight[e.To] {
			ge.SetColor("#d97706").SetPenWidth(2.5)
		}
	}
	var buf bytes.Buffer
	if err := renderer.gv.Render(ctx, g, graphviz.SVG, &buf); err != nil {
		return nil, fmt.Errorf("lineage svg: render: %w", err)
	}
	return buf.Bytes(), nil
}
