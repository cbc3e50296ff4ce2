package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"almanac/catalog"
	"almanac/catalog/store"
)

// pageSize is how many datasets one page of the listing shows.
const pageSize = 50

// maxPage bounds ?page so that the offset cannot overflow.
const maxPage = 1_000_000

// listFilter is the home page's listing filters, as in its query string.
type listFilter struct {
	Namespace      string
	Kind           catalog.Kind
	Prefix         string
	IncludeRemoved bool
	Page           int // from 1
}

// parseListFilter reads the listing filters from a query string.
func parseListFilter(q url.Values) (listFilter, error) {
	f := listFilter{
		Namespace: q.Get("namespace"),
		Kind:      catalog.Kind(q.Get("kind")),
		Prefix:    q.Get("prefix"),
		Page:      1,
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, invalid(fmt.Sprintf("Unknown dataset kind %q.", f.Kind))
	}
	for _, p := range []struct{ name, value string }{{"namespace", f.Namespace}, {"prefix", f.Prefix}} {
		if strings.ContainsRune(p.value, 0) || !utf8.ValidString(p.value) {
			return f, invalid(fmt.Sprintf("Parameter %s %q contains a NUL character or is not valid UTF-8.", p.name, p.value))
		}
	}
	removed, err := parseRemoved(q.Get("removed"))
	if err != nil {
		return f, err
	}
	f.IncludeRemoved = removed
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return f, invalid(fmt.Sprintf("Page must be a number from 1 to %d, not %q.", maxPage, v))
		}
		f.Page = n
	}
	return f, nil
}

// parseRemoved reads the removed parameter of the listing and the search
// page, which includes removed datasets.
func parseRemoved(v string) (bool, error) {
	switch v {
	case "", "0", "false", "off":
		return false, nil
	case "1", "true", "on":
		return true, nil
	}
	return false, invalid(fmt.Sprintf("Parameter removed must be 1 or 0, not %q.", v))
}

// query encodes the filters for a link, with the given page.
func (f listFilter) query(page int) string {
	q := url.Values{}
	if f.Namespace != "" {
		q.Set("namespace", f.Namespace)
	}
	if f.Kind != "" {
		q.Set("kind", string(f.Kind))
	}
	if f.Prefix != "" {
		q.Set("prefix", f.Prefix)
	}
	if f.IncludeRemoved {
		q.Set("removed", "1")
	}
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

// active reports whether any filter narrows the listing.
func (f listFilter) active() bool {
	return f.Namespace != "" || f.Kind != "" || f.Prefix != "" || f.IncludeRemoved
}

// homeView is the home page: what the catalog holds, a filtered listing
// of datasets and the sources that fill it.
type homeView struct {
	Page       page
	Stats      []stat
	Filter     listFilter
	Namespaces []option
	Kinds      []option
	Datasets   []datasetRow
	Pager      pager
	Sources    []sourceRow
}

// stat is one headline number.
type stat struct {
	Label string
	Value string
}

// option is one choice of a select box.
type option struct {
	Value, Label string
	Selected     bool
}

// datasetRow is a dataset in a listing.
type datasetRow struct {
	URL       string
	Name      string
	Namespace string
	Kind      string // label, "materialized view"
	KindClass string // CSS class, "kind-materialized_view"
	Platform  string
	Summary   string
	Columns   string // "12 columns"
	Owners    []string
	Tags      []string
	Removed   bool
	// Health is a badge of how its checks last ended; nil without any.
	Health *healthBadge
}

// pager links the pages of a listing.
type pager struct {
	// From and To are the 1-based positions shown; Total matches.
	From, To, Total int
	Page, Pages     int
	Prev, Next      string // empty on the first and last page
}

// newHomeView builds the home page from what the store returned.
func newHomeView(f listFilter, st store.Stats, namespaces []store.NamespaceCount, list []catalog.Dataset, total int, sources []store.Source, now time.Time) homeView {
	v := homeView{
		Page:   page{Title: "Datasets", Section: "datasets"},
		Filter: f,
		Stats: []stat{
			{"Datasets", strconv.Itoa(st.Datasets)},
			{"Columns", strconv.Itoa(st.Columns)},
			{"Namespaces", strconv.Itoa(st.Namespaces)},
			{"Sources", strconv.Itoa(st.Sources)},
		},
	}
	if st.Removed > 0 {
		v.Stats = append(v.Stats, stat{"Removed", strconv.Itoa(st.Removed)})
	}
	v.Namespaces = append(v.Namespaces, option{Value: "", Label: "All namespaces", Selected: f.Namespace == ""})
	found := f.Namespace == ""
	for _, ns := range namespaces {
		sel := ns.Namespace == f.Namespace
		found = found || sel
		v.Namespaces = append(v.Namespaces, option{Value: ns.Namespace, Label: fmt.Sprintf("%s (%d)", ns.Namespace, ns.Datasets), Selected: sel})
	}
	if !found {
		// A namespace with only removed datasets is not listed; keep the
		// filter visible all the same.
		v.Namespaces = append(v.Namespaces, option{Value: f.Namespace, Label: f.Namespace, Selected: true})
	}
	v.Kinds = append(v.Kinds, option{Value: "", Label: "All kinds", Selected: f.Kind == ""})
	for _, k := range kinds {
		v.Kinds = append(v.Kinds, option{Value: string(k), Label: kindLabel(k), Selected: k == f.Kind})
	}
	for _, d := range list {
		v.Datasets = append(v.Datasets, newDatasetRow(d))
	}
	v.Pager = newPager(f, total, len(list))
	for _, src := range sources {
		v.Sources = append(v.Sources, newSourceRow(src, now))
	}
	return v
}

// newDatasetRow lists a dataset as its page shows it: the merged kind,
// description and columns, and its owners' and tags' names, each once, in
// the order of the merge.
func newDatasetRow(d catalog.Dataset) datasetRow {
	row := datasetRow{
		URL:       datasetPath(d.Key),
		Name:      d.Key.Name,
		Namespace: d.Key.Namespace,
		Kind:      kindLabel(d.Kind),
		KindClass: "kind-" + string(d.Kind),
		Platform:  d.Platform,
		Summary:   summary(d.Description, summaryLen),
		Columns:   plural(len(d.Columns), "column"),
		Removed:   d.RemovedAt != nil,
	}
	for _, o := range d.Owners {
		if !slices.Contains(row.Owners, o.Value.Name) {
			row.Owners = append(row.Owners, o.Value.Name)
		}
	}
	for _, t := range d.Tags {
		row.Tags = append(row.Tags, t.Value)
	}
	return row
}

func newPager(f listFilter, total, shown int) pager {
	p := pager{Total: total, Page: f.Page, Pages: max((total+pageSize-1)/pageSize, 1)}
	if shown > 0 {
		p.From = (f.Page-1)*pageSize + 1
		p.To = p.From + shown - 1
	}
	if f.Page > 1 {
		p.Prev = f.query(min(f.Page-1, p.Pages))
	}
	if f.Page < p.Pages {
		p.Next = f.query(f.Page + 1)
	}
	return p
}

// serveHome serves the home page.
func (s *Server) serveHome(w http.ResponseWriter, r *http.Request) error {
	f, err := parseListFilter(r.URL.Query())
	if err != nil {
		return err
	}
	v, err := s.home(r.Context(), f)
	if err != nil {
		return err
	}
	return s.render(w, r, homePage(v))
}

// home reads what the home page shows for the filters f. The listing
// reads a page of ids, then the datasets in one batch, as the API does.
func (s *Server) home(ctx context.Context, f listFilter) (homeView, error) {
	st, err := s.store.Stats(ctx)
	if err != nil {
		return homeView{}, err
	}
	namespaces, err := s.store.Namespaces(ctx)
	if err != nil {
		return homeView{}, err
	}
	found, err := s.store.FindDatasets(ctx, store.DatasetFilter{
		Namespace:      f.Namespace,
		Prefix:         f.Prefix,
		Kind:           f.Kind,
		IncludeRemoved: f.IncludeRemoved,
	}, store.Paging{Offset: (f.Page - 1) * pageSize, Limit: pageSize, Total: true})
	if err != nil {
		return homeView{}, err
	}
	list, err := s.store.DatasetsByIDs(ctx, found.IDs)
	if err != nil {
		return homeView{}, err
	}
	sources, err := s.store.Sources(ctx)
	if err != nil {
		return homeView{}, err
	}
	v := newHomeView(f, st, namespaces, list, found.Total, sources, s.now())
	keys := make([]catalog.Key, len(list))
	for i, d := range list {
		keys[i] = d.Key
	}
	badges, err := s.healthBadges(ctx, keys)
	if err != nil {
		return homeView{}, err
	}
	for i := range v.Datasets {
		v.Datasets[i].Health = badges[list[i].Key]
	}
	return v, nil
}
