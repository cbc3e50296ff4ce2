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
	"time"

	"almanac/catalog"
	"almanac/search"
)

// Exports: what a page lists, as CSV or JSON, for a spreadsheet or a
// script. CSV cells a source or a person wrote are defused (csvCell).

// exportFormat reads the format parameter of an export: csv (the default)
// or json.
func exportFormat(q url.Values) (string, error) {
	switch f := q.Get("format"); f {
	case "", "csv":
		return "csv", nil
	case "json":
		return "json", nil
	default:
		return "", invalid(fmt.Sprintf("Format must be csv or json, not %.40q.", f))
	}
}

// writeCSV writes a CSV download of rows under header, every cell after
// the leading numeric ones defused.
func writeCSV(w http.ResponseWriter, filename string, header []string, rows [][]string) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, filename))
	cw := csv.NewWriter(w)
	cw.Write(header) //nolint:errcheck // Error below
	for _, r := range rows {
		for i := range r {
			r[i] = csvCell(r[i])
		}
		cw.Write(r) //nolint:errcheck // Error below
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		panic(http.ErrAbortHandler) // the client went away
	}
	return nil
}

// writeJSON writes a JSON download of v.
func writeJSON(w http.ResponseWriter, filename string, v any) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, filename))
	return json.NewEncoder(w).Encode(v)
}

// maxExportHits is how many search results an export holds: as many as
// the search pages reach.
const maxExportHits = search.MaxOffset + search.MaxLimit

// serveSearchExport serves GET /search/export: the results of the search
// q (with removed datasets when removed=1), best first, as CSV or JSON.
// A search for jobs (kind:job, as on the search page) exports jobs, with
// columns of their own (serveJobSearchExport).
func (s *Server) serveSearchExport(w http.ResponseWriter, r *http.Request) error {
	params := r.URL.Query()
	format, err := exportFormat(params)
	if err != nil {
		return err
	}
	removed, err := parseRemoved(params.Get("removed"))
	if err != nil {
		return err
	}
	q, err := search.Parse(strings.TrimSpace(params.Get("q")))
	if err != nil {
		return withMessage(err, "This query cannot be searched: "+err.Error())
	}
	if q.Empty() {
		return invalid("Nothing to export: the query is empty.")
	}
	jobs := q.HasFilter(jobFilter)
	var hits []search.Hit
	for offset := 0; offset <= search.MaxOffset && len(hits) < maxExportHits; offset += search.MaxLimit {
		res, err := s.search.Search(r.Context(), search.Request{Query: q, IncludeRemoved: removed, Jobs: jobs, Offset: offset, Limit: search.MaxLimit})
		if errors.Is(err, catalog.ErrIndexRebuilding) {
			return withMessage(err, "Search is unavailable for a moment: its index is being rebuilt from the catalog.")
		}
		if err != nil {
			return withMessage(err, "This search could not run: "+err.Error())
		}
		hits = append(hits, res.Hits...)
		if len(res.Hits) < search.MaxLimit {
			break
		}
	}
	if jobs {
		return s.serveJobSearchExport(w, r, format, params.Get("q"), hits)
	}
	if format == "json" {
		type item struct {
			Rank        int      `json:"rank"`
			Namespace   string   `json:"namespace"`
			Name        string   `json:"name"`
			Kind        string   `json:"kind"`
			Platform    string   `json:"platform"`
			Owners      []string `json:"owners"`
			Tags        []string `json:"tags"`
			Matched     []string `json:"matched"`
			Description string   `json:"description"`
			Removed     bool     `json:"removed"`
			URL         string   `json:"url"`
		}
		out := struct {
			Query   string `json:"query"`
			Results []item `json:"results"`
		}{Query: params.Get("q"), Results: make([]item, 0, len(hits))}
		for i, h := range hits {
			out.Results = append(out.Results, item{Rank: i + 1, Namespace: h.Key.Namespace, Name: h.Key.Name, Kind: string(h.Kind),
				Platform: h.Platform, Owners: nonNil(h.Owners), Tags: nonNil(h.Tags), Matched: nonNil(h.Matched),
				Description: plain(h.Description), Removed: h.Removed, URL: datasetPath(h.Key)})
		}
		return writeJSON(w, "search.json", out)
	}
	rows := make([][]string, 0, len(hits))
	for i, h := range hits {
		rows = append(rows, []string{strconv.Itoa(i + 1), h.Key.Namespace, h.Key.Name, string(h.Kind), h.Platform,
			strings.Join(h.Owners, "; "), strings.Join(h.Tags, "; "), strings.Join(h.Matched, "; "), plain(h.Description),
			strconv.FormatBool(h.Removed), datasetPath(h.Key)})
	}
	return writeCSV(w, "search.csv", []string{"rank", "namespace", "name", "kind", "platform", "owners", "tags", "matched", "description", "removed", "path"}, rows)
}

// plain is a snippet's text without its highlights.
func plain(sn search.Snippet) string {
	var b strings.Builder
	for _, sp := range sn {
		b.WriteString(sp.Text)
	}
	return b.String()
}

// serveJobSearchExport writes the jobs a search found (hits), best
// first, with what a job listing shows: namespace, name, type, the state
// of the latest run ("" when the job never ran) and the job's page.
func (s *Server) serveJobSearchExport(w http.ResponseWriter, r *http.Request, format, query string, hits []search.Hit) error {
	keys := make([]catalog.JobKey, len(hits))
	for i, h := range hits {
		keys[i] = catalog.JobKey(h.Key)
	}
	latest, err := s.store.LatestRuns(r.Context(), keys)
	if err != nil {
		return err
	}
	state := func(k catalog.JobKey) (string, string) {
		run, ok := latest[k]
		if !ok {
			return "", ""
		}
		return string(run.State), run.StateAt.UTC().Format(time.RFC3339)
	}
	if format == "json" {
		type item struct {
			Rank        int      `json:"rank"`
			Namespace   string   `json:"namespace"`
			Name        string   `json:"name"`
			Type        string   `json:"type"`
			LatestRun   string   `json:"latest_run_state"`
			LatestRunAt string   `json:"latest_run_at"`
			Matched     []string `json:"matched"`
			Description string   `json:"description"`
			Removed     bool     `json:"removed"`
			URL         string   `json:"url"`
		}
		out := struct {
			Query   string `json:"query"`
			Results []item `json:"results"`
		}{Query: query, Results: make([]item, 0, len(hits))}
		for i, h := range hits {
			k := catalog.JobKey(h.Key)
			st, at := state(k)
			out.Results = append(out.Results, item{Rank: i + 1, Namespace: k.Namespace, Name: k.Name, Type: h.Platform,
				LatestRun: st, LatestRunAt: at, Matched: nonNil(h.Matched), Description: plain(h.Description),
				Removed: h.Removed, URL: jobPath(k)})
		}
		return writeJSON(w, "search-jobs.json", out)
	}
	rows := make([][]string, 0, len(hits))
	for i, h := range hits {
		k := catalog.JobKey(h.Key)
		st, at := state(k)
		rows = append(rows, []string{strconv.Itoa(i + 1), k.Namespace, k.Name, h.Platform, st, at,
			strings.Join(h.Matched, "; "), plain(h.Description), strconv.FormatBool(h.Removed), jobPath(k)})
	}
	return writeCSV(w, "search-jobs.csv", []string{"rank", "namespace", "name", "type", "latest_run_state", "latest_run_at", "matched", "description", "removed", "path"}, rows)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// columnsExportPath is the address of a dataset's columns export.
func columnsExportPath(k catalog.Key, format string) string {
	return "/columns" + strings.TrimPrefix(datasetPath(k), "/datasets") + "?format=" + format
}

// serveColumnsExport serves GET /columns/{ns}/{name...}: a dataset's
// columns as its page shows them (merged across sources), as CSV or JSON.
func (s *Server) serveColumnsExport(w http.ResponseWriter, r *http.Request) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A columns address needs a namespace and a name: /columns/{namespace}/{name}.")
	}
	format, err := exportFormat(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := s.dataset(r.Context(), key)
	if err != nil {
		return err
	}
	file := downloadName(d.Key) + "-columns." + format
	if format == "json" {
		type column struct {
			catalog.Column
			TypeSource        string `json:"type_source,omitempty"`
			DescriptionSource string `json:"description_source,omitempty"`
		}
		out := struct {
			Namespace string   `json:"namespace"`
			Name      string   `json:"name"`
			Columns   []column `json:"columns"`
		}{Namespace: d.Key.Namespace, Name: d.Key.Name, Columns: make([]column, 0, len(d.Columns))}
		for _, c := range d.Columns {
			out.Columns = append(out.Columns, column{Column: c.Column, TypeSource: c.TypeSource, DescriptionSource: c.DescriptionSource})
		}
		return writeJSON(w, file, out)
	}
	rows := make([][]string, 0, len(d.Columns))
	for _, c := range d.Columns {
		rows = append(rows, []string{strconv.Itoa(c.Ordinal), c.Name, c.Type, strconv.FormatBool(c.Nullable), c.Default,
			strconv.FormatBool(c.PrimaryKey), c.Description, c.DescriptionSource})
	}
	return writeCSV(w, file, []string{"ordinal", "name", "type", "nullable", "default", "primary_key", "description", "description_source"}, rows)
}
