package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"almanac/catalog"
	"almanac/lineage"
)

// lineageView is the lineage explorer of one dataset.
type lineageView struct {
	Page      page
	Key       catalog.Key
	Dataset   string // the dataset page's address
	Depth     int
	Direction string
	Depths    []int
	// SVG is the drawing Graphviz made, trusted: node labels are escaped
	// by Graphviz's SVG writer.
	SVG       string
	Nodes     int
	Truncated bool
	// Path names the dataset whose path from Key is highlighted.
	Path string
}

// lineagePath is the explorer's address of a dataset, like datasetPath.
func lineagePath(k catalog.Key) string {
	return "/lineage" + strings.TrimPrefix(datasetPath(k), "/datasets")
}

// LineagePage serves the lineage explorer over g at
// GET /lineage/{ns}/{name...}, with query parameters depth (1–10),
// direction (upstream, downstream, both) and path (a dataset
// "namespace/name" whose path from this one is highlighted).
func (s *Server) LineagePage(g *lineage.Graph) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return s.serveLineage(w, r, g)
	})
}

func (s *Server) serveLineage(w http.ResponseWriter, r *http.Request, g *lineage.Graph) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A lineage address needs a namespace and a name: /lineage/{namespace}/{name}.")
	}
	q := r.URL.Query()
	depth := 1
	if d := q.Get("depth"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 10 {
			return invalid(fmt.Sprintf("Depth %q is not a number from 1 to 10.", d))
		}
		depth = n
	}
	dir, err := lineage.ParseDirection(q.Get("direction"))
	if err != nil {
		return invalid(fmt.Sprintf("Direction %q is not upstream, downstream or both.", q.Get("direction")))
	}
	sub, err := g.Traverse(lineage.Query{Start: key, Depth: depth, Direction: dir})
	if errors.Is(err, catalog.ErrNotFound) {
		return withMessage(err, fmt.Sprintf("No job reads or writes %s in namespace %s.", key.Name, key.Namespace))
	}
	if err != nil {
		return err
	}
	v := lineageView{
		Page: page{Title: "Lineage of " + key.Name, Section: "datasets"},
		Key:  key, Dataset: datasetPath(key), Depth: depth, Direction: q.Get("direction"),
		Depths: []int{1, 2, 3, 5, 10}, Nodes: len(sub.Nodes), Truncated: sub.Truncated,
	}
	highlight := map[lineage.NodeID]bool{}
	if p := q.Get("path"); p != "" {
		i := strings.LastIndex(p, "/")
		if i > 0 {
			to := catalog.Key{Namespace: p[:i], Name: p[i+1:]}
			steps, err := g.Path(key, to)
			if err != nil {
				steps, err = g.Path(to, key)
			}
			if err == nil {
				v.Path = p
				for _, st := range steps {
					highlight[lineage.DatasetID(st.Dataset)] = true
					if st.Job.Name != "" {
						highlight[lineage.JobID(st.Job)] = true
					}
				}
			}
		}
	}
	svg, err := lineage.SVG(r.Context(), sub, lineage.SVGOptions{
		Highlight: highlight,
		Href: func(n lineage.NodeID) string {
			if n.Kind == lineage.JobNode {
				return ""
			}
			return lineagePath(n.Dataset()) + "?depth=" + strconv.Itoa(depth) + "&direction=" + v.Direction
		},
	})
	if err != nil {
		return err
	}
	// Drop the XML prologue: the SVG is inlined in HTML.
	out := string(svg)
	if i := strings.Index(out, "<svg"); i > 0 {
		out = out[i:]
	}
	v.SVG = out
	return s.render(w, r, lineagePage(v))
}
