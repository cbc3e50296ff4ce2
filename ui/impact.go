package ui

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"almanac/catalog"
	"almanac/lineage"
)

// impactHTMLRows is how many rows the impact page shows; the CSV and JSON
// exports hold every one.
const impactHTMLRows = 1000

// impactRow is one dataset or job downstream of the dataset analysed.
type impactRow struct {
	Depth     int
	Kind      string // "dataset" or "job"
	Namespace string
	Name      string
	URL       string // the dataset's page; "" for a job
	Owners    []catalog.Owner
	// Path is how it is reached from the dataset analysed: dataset, job,
	// dataset, … ending with the row itself.
	Path []string
}

// ownerText lists the owners as "kind:name", separated by "; ".
func (r impactRow) ownerText() string {
	var parts []string
	for _, o := range r.Owners {
		parts = append(parts, string(o.Kind)+":"+o.Name)
	}
	return strings.Join(parts, "; ")
}

// impactFilter is the impact page's query string.
type impactFilter struct {
	Depth  int    // 0: every depth
	Kind   string // "", "dataset" or "job"
	Name   string // part of a name, any case
	Owner  string // part of an owner's name, any case
	Format string // "", "csv" or "json"
}

func parseImpactFilter(q url.Values) (impactFilter, error) {
	f := impactFilter{Kind: q.Get("kind"), Name: q.Get("q"), Owner: q.Get("owner"), Format: q.Get("format")}
	if v := q.Get("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return f, invalid(fmt.Sprintf("Depth must be a number from 0 (every depth) to 100, not %q.", v))
		}
		f.Depth = n
	}
	switch f.Kind {
	case "", "dataset", "job":
	default:
		return f, invalid(fmt.Sprintf("Kind must be dataset or job, not %.40q.", f.Kind))
	}
	switch f.Format {
	case "", "html", "csv", "json":
	default:
		return f, invalid(fmt.Sprintf("Format must be csv or json, not %.40q.", f.Format))
	}
	for _, p := range []struct{ name, value string }{{"q", f.Name}, {"owner", f.Owner}} {
		if err := checkParam(p.name, p.value); err != nil {
			return f, err
		}
	}
	return f, nil
}

// keeps reports whether f keeps row r.
func (f impactFilter) keeps(r impactRow) bool {
	if f.Kind != "" && r.Kind != f.Kind {
		return false
	}
	if f.Name != "" && !strings.Contains(strings.ToLower(r.Name), strings.ToLower(f.Name)) {
		return false
	}
	if f.Owner != "" {
		for _, o := range r.Owners {
			if strings.Contains(strings.ToLower(o.Name), strings.ToLower(f.Owner)) {
				return true
			}
		}
		return false
	}
	return true
}

// export is the address of f's rows in another format.
func (f impactFilter) export(base, format string) string {
	q := url.Values{}
	if f.Depth > 0 {
		q.Set("depth", strconv.Itoa(f.Depth))
	}
	for k, v := range map[string]string{"kind": f.Kind, "q": f.Name, "owner": f.Owner} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("format", format)
	return base + "?" + q.Encode()
}

// impactView is the impact analysis page.
type impactView struct {
	Page    page
	Key     catalog.Key
	Dataset string // the dataset's page
	Lineage string // its lineage explorer
	Filter  impactFilter
	Depths  []int
	Rows    []impactRow
	// Total is how many rows the filter keeps, Datasets and Jobs how many
	// of each are downstream at all, and Owners how many distinct owners
	// the kept datasets have.
	Total, Datasets, Jobs, Owners int
	CSV, JSON                     string
}

// impactPath is the impact page's address of a dataset, like datasetPath.
func impactPath(k catalog.Key) string {
	return "/impact" + strings.TrimPrefix(datasetPath(k), "/datasets")
}

// serveImpact serves GET /impact/{ns}/{name...}: every dataset and job
// downstream of a dataset, with its depth, owners and the path it is
// reached by, filterable by depth, kind, name and owner, as a page or
// (format=csv or json) a download of every row the filter keeps.
func (s *Server) serveImpact(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "An impact address needs a namespace and a name: /impact/{namespace}/{name}.")
	}
	f, err := parseImpactFilter(r.URL.Query())
	if err != nil {
		return err
	}
	reached, err := s.lineage.Reach(key, f.Depth)
	if errors.Is(err, catalog.ErrNotFound) {
		ids, err2 := s.store.DatasetIDs(ctx, []catalog.Key{key})
		if err2 != nil {
			return err2
		}
		if _, ok := ids[key]; !ok {
			return withMessage(err, fmt.Sprintf("The catalog has no dataset %s in namespace %s, and no job reads or writes one.", key.Name, key.Namespace))
		}
		reached, err = nil, nil // catalogued, but nothing reads it
	}
	if err != nil {
		return err
	}
	var keys []catalog.Key
	for _, x := range reached {
		if x.Kind == lineage.DatasetNode {
			keys = append(keys, x.Dataset)
		}
	}
	owners, err := s.store.DatasetOwners(ctx, keys)
	if err != nil {
		return err
	}
	v := impactView{
		Page: page{Title: "Impact of " + key.Name, Section: "datasets"},
		Key:  key, Dataset: datasetPath(key), Lineage: lineagePath(key),
		Filter: f, Depths: []int{0, 1, 2, 3, 5, 10},
	}
	base := impactPath(key)
	v.CSV, v.JSON = f.export(base, "csv"), f.export(base, "json")
	rows := impactRows(key, reached, owners)
	kept := rows[:0]
	distinct := map[catalog.Owner]bool{}
	for _, row := range rows {
		if row.Kind == "dataset" {
			v.Datasets++
		} else {
			v.Jobs++
		}
		if f.keeps(row) {
			kept = append(kept, row)
			for _, o := range row.Owners {
				o.Type = ""
				distinct[o] = true
			}
		}
	}
	v.Total, v.Owners = len(kept), len(distinct)
	switch f.Format {
	case "csv":
		return writeImpactCSV(w, key, kept, s.now().UTC().Format("20060102-150405"))
	case "json":
		return writeImpactJSON(w, key, kept)
	}
	v.Rows = kept[:min(len(kept), impactHTMLRows)]
	return s.render(w, r, impactPage(v))
}

// impactRows turns a walk downstream of start into rows, each with its
// path back to start.
func impactRows(start catalog.Key, reached []lineage.Reached, owners map[catalog.Key][]catalog.Owner) []impactRow {
	from := make(map[catalog.Key]lineage.Reached, len(reached))
	for _, x := range reached {
		if x.Kind == lineage.DatasetNode {
			from[x.Dataset] = x
		}
	}
	// path returns the path from start to the dataset k: start, job,
	// dataset, …, k. The walk recorded one shortest path per dataset, so
	// following it back always ends at start.
	path := func(k catalog.Key) []string {
		var rev []string
		for k != start {
			x, ok := from[k]
			if !ok {
				break
			}
			rev = append(rev, k.Name, x.Via.Name)
			k = x.From
		}
		rev = append(rev, start.Name)
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		return rev
	}
	rows := make([]impactRow, 0, len(reached))
	for _, x := range reached {
		if x.Kind == lineage.DatasetNode {
			rows = append(rows, impactRow{Depth: x.Distance, Kind: "dataset", Namespace: x.Dataset.Namespace, Name: x.Dataset.Name,
				URL: datasetPath(x.Dataset), Owners: owners[x.Dataset], Path: path(x.Dataset)})
		} else {
			rows = append(rows, impactRow{Depth: x.Distance, Kind: "job", Namespace: x.Via.Namespace, Name: x.Via.Name,
				Path: append(path(x.From), x.Via.Name)})
		}
	}
	return rows
}

// downloadName is a file name for an export about k: its name's safe
// characters.
func downloadName(k catalog.Key) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, k.Name)
	return name[:min(len(name), 100)]
}

func writeImpactCSV(w http.ResponseWriter, k catalog.Key, rows []impactRow, stamp string) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="impact-%s-%s.csv"`, downloadName(k), stamp))
	cw := csv.NewWriter(w)
	cw.Write([]string{"depth", "kind", "namespace", "name", "owners", "path"}) //nolint:errcheck // Error below
	for _, r := range rows {
		cw.Write([]string{strconv.Itoa(r.Depth), r.Kind, csvCell(r.Namespace), csvCell(r.Name), csvCell(r.ownerText()), //nolint:errcheck // Error below
			csvCell(strings.Join(r.Path, " > "))})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		panic(http.ErrAbortHandler) // the client went away
	}
	return nil
}

func writeImpactJSON(w http.ResponseWriter, k catalog.Key, rows []impactRow) error {
	type owner struct {
		Name string `json:"name"`
		Kind string `json:"kind"`
		Type string `json:"type,omitempty"`
	}
	type item struct {
		Depth     int      `json:"depth"`
		Kind      string   `json:"kind"`
		Namespace string   `json:"namespace"`
		Name      string   `json:"name"`
		Owners    []owner  `json:"owners"`
		Path      []string `json:"path"`
	}
	out := struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Impacted  []item `json:"impacted"`
	}{Namespace: k.Namespace, Name: k.Name, Impacted: make([]item, 0, len(rows))}
	for _, r := range rows {
		it := item{Depth: r.Depth, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Owners: []owner{}, Path: r.Path}
		for _, o := range r.Owners {
			it.Owners = append(it.Owners, owner{Name: o.Name, Kind: string(o.Kind), Type: o.Type})
		}
		out.Impacted = append(out.Impacted, it)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="impact-%s.json"`, downloadName(k)))
	return json.NewEncoder(w).Encode(out)
}
