package ui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	Platform       string
	Team           string // an owner of kind team
	Owner          string // an owner of kind user
	Attention      store.Attention
	Sort           store.DatasetSort
	IncludeRemoved bool
	Page           int // from 1
}

// sortLabels names the listing's orders.
var sortLabels = map[store.DatasetSort]string{
	store.SortName:    "Name",
	store.SortChanged: "Recently changed",
	store.SortPopular: "Most read",
	store.SortHealth:  "Needs attention first",
}

// attentionLabels names the reasons a dataset needs attention.
var attentionLabels = map[store.Attention]string{
	store.AttentionFailing:      "Failing checks",
	store.AttentionStale:        "Stale",
	store.AttentionUndocumented: "Undocumented",
}

// parseListFilter reads the listing filters from a query string.
func parseListFilter(q url.Values) (listFilter, error) {
	f := listFilter{
		Namespace: q.Get("namespace"),
		Kind:      catalog.Kind(q.Get("kind")),
		Prefix:    q.Get("prefix"),
		Platform:  q.Get("platform"),
		Team:      q.Get("team"),
		Owner:     q.Get("owner"),
		Attention: store.Attention(q.Get("attention")),
		Sort:      store.DatasetSort(q.Get("sort")),
		Page:      1,
	}
	if f.Sort == "name" {
		f.Sort = store.SortName
	}
	if f.Kind != "" && !f.Kind.Valid() {
		return f, invalid(fmt.Sprintf("Unknown dataset kind %q.", f.Kind))
	}
	if f.Attention != "" && !f.Attention.Valid() {
		return f, invalid(fmt.Sprintf("Parameter attention must be failing, stale or undocumented, not %.40q.", f.Attention))
	}
	if _, ok := sortLabels[f.Sort]; !ok {
		return f, invalid(fmt.Sprintf("Parameter sort must be name, changed, popular or health, not %.40q.", f.Sort))
	}
	for _, p := range []struct{ name, value string }{
		{"namespace", f.Namespace}, {"prefix", f.Prefix}, {"platform", f.Platform}, {"team", f.Team}, {"owner", f.Owner},
	} {
		if err := checkParam(p.name, p.value); err != nil {
			return f, err
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

// maxParam bounds a text parameter of a listing: longer than any name a
// catalog holds, short enough that a page echoing it stays small.
const maxParam = 1000

// checkParam refuses a text parameter no name could match: too long, with
// a NUL character, or not UTF-8. The message does not echo it.
func checkParam(name, value string) error {
	switch {
	case len(value) > maxParam:
		return invalid(fmt.Sprintf("Parameter %s is %d bytes long; at most %d are accepted.", name, len(value), maxParam))
	case strings.ContainsRune(value, 0) || !utf8.ValidString(value):
		return invalid(fmt.Sprintf("Parameter %s contains a NUL character or is not valid UTF-8.", name))
	}
	return nil
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
	for k, v := range map[string]string{"platform": f.Platform, "team": f.Team, "owner": f.Owner,
		"attention": string(f.Attention), "sort": string(f.Sort)} {
		if v != "" {
			q.Set(k, v)
		}
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
	return f.Namespace != "" || f.Kind != "" || f.Prefix != "" || f.Platform != "" || f.Team != "" ||
		f.Owner != "" || f.Attention != "" || f.IncludeRemoved
}

// storeFilter is the filter the store applies.
func (f listFilter) storeFilter() store.DatasetFilter {
	sf := store.DatasetFilter{Namespace: f.Namespace, Prefix: f.Prefix, Kind: f.Kind, Platform: f.Platform,
		Attention: f.Attention, IncludeRemoved: f.IncludeRemoved}
	switch {
	case f.Team != "":
		sf.Owner, sf.OwnerKind = f.Team, catalog.OwnerTeam
	case f.Owner != "":
		sf.Owner, sf.OwnerKind = f.Owner, catalog.OwnerUser
	}
	return sf
}

// with returns the first page of f changed by change: a link that keeps
// the other filters.
func (f listFilter) with(change func(*listFilter)) string {
	change(&f)
	return f.query(1)
}

// homeView is the home page: what the catalog holds, a filtered listing
// of datasets and the sources that fill it.
type homeView struct {
	Page       page
	Stats      []stat
	Filter     listFilter
	Namespaces []option
	Kinds      []option
	Platforms  []option
	Sorts      []option
	// Narrowed lists the filters in use that the form has no field for
	// (a team, an owner, an attention reason), each with a link that
	// drops it.
	Narrowed []narrowed
	Datasets []datasetRow
	Pager    pager
	Sources  []sourceRow
	// Browse lists the facets to browse by; Recent and Attention are the
	// side lists of the unfiltered first page.
	Browse    []browseGroup
	Recent    []datasetRow
	Popular   []datasetRow
	Attention []attentionGroup
}

// stat is one headline number, linked to the list it counts when there is
// one.
type stat struct {
	Label string
	Value string
	URL   string
	Class string
}

// narrowed is a filter in use, and the listing without it.
type narrowed struct {
	Label, Clear string
}

// browseGroup is one facet to browse by: platforms, schemas, teams, people.
type browseGroup struct {
	ID, Title string
	// Link is the page of the whole facet (/teams), if it has one.
	Link  string
	Links []browseLink
}

// browseLink is a value of a facet, linked to its listing.
type browseLink struct {
	Label string
	Count int
	URL   string
}

// attentionGroup is the datasets that need attention for one reason.
type attentionGroup struct {
	Label    string
	Count    int
	URL      string
	Datasets []datasetRow
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
	// OwnerLinks[i] is the team page of Owners[i] when it is a team, else
	// "".
	OwnerLinks []string
	Tags       []string
	Removed    bool
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

// homeData is what the home page reads from the store.
type homeData struct {
	Stats      store.Stats
	Namespaces []store.NamespaceCount
	Browse     store.Browse
	List       []catalog.Dataset
	Total      int
	Recent     []catalog.Dataset
	Popular    []catalog.Dataset
	Attention  map[store.Attention][]catalog.Dataset
	Sources    []store.Source
}

// newHomeView builds the home page from what the store returned.
func newHomeView(f listFilter, d homeData, now time.Time) homeView {
	st := d.Stats
	v := homeView{
		Page:   page{Title: "Datasets", Section: "datasets"},
		Filter: f,
		Stats: []stat{
			{Label: "Datasets", Value: strconv.Itoa(st.Datasets), URL: "/"},
			{Label: "Columns", Value: strconv.Itoa(st.Columns)},
			{Label: "Namespaces", Value: strconv.Itoa(st.Namespaces), URL: "#browse-namespaces"},
			{Label: "Sources", Value: strconv.Itoa(st.Sources), URL: "/sources"},
		},
	}
	if st.Removed > 0 {
		v.Stats = append(v.Stats, stat{Label: "Removed", Value: strconv.Itoa(st.Removed), URL: listFilter{IncludeRemoved: true}.query(1)})
	}
	for _, a := range store.Attentions {
		n := d.Browse.Attention[a]
		class := "stat-attention"
		if n == 0 || a == store.AttentionUndocumented {
			class = ""
		}
		v.Stats = append(v.Stats, stat{Label: attentionLabels[a], Value: strconv.Itoa(n),
			URL: listFilter{Attention: a, Sort: store.SortName}.query(1), Class: class})
	}

	v.Namespaces = append(v.Namespaces, option{Value: "", Label: "All namespaces", Selected: f.Namespace == ""})
	found := f.Namespace == ""
	for _, ns := range d.Namespaces {
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
	present := map[catalog.Kind]int{}
	for _, c := range d.Browse.Kinds {
		present[catalog.Kind(c.Value)] = c.Datasets
	}
	for _, k := range kinds {
		// Only the kinds the catalog holds, and the one asked for.
		if n, ok := present[k]; ok || k == f.Kind {
			v.Kinds = append(v.Kinds, option{Value: string(k), Label: fmt.Sprintf("%s (%d)", kindLabel(k), n), Selected: k == f.Kind})
		}
	}
	v.Platforms = append(v.Platforms, option{Value: "", Label: "All platforms", Selected: f.Platform == ""})
	found = f.Platform == ""
	for _, c := range d.Browse.Platforms {
		sel := c.Value == f.Platform
		found = found || sel
		v.Platforms = append(v.Platforms, option{Value: c.Value, Label: fmt.Sprintf("%s (%d)", c.Value, c.Datasets), Selected: sel})
	}
	if !found {
		v.Platforms = append(v.Platforms, option{Value: f.Platform, Label: f.Platform, Selected: true})
	}
	for _, srt := range store.DatasetSorts {
		value := string(srt)
		if srt == store.SortName {
			value = ""
		}
		v.Sorts = append(v.Sorts, option{Value: value, Label: sortLabels[srt], Selected: srt == f.Sort})
	}
	if f.Team != "" {
		v.Narrowed = append(v.Narrowed, narrowed{"Team " + f.Team, f.with(func(f *listFilter) { f.Team = "" })})
	}
	if f.Owner != "" {
		v.Narrowed = append(v.Narrowed, narrowed{"Owner " + f.Owner, f.with(func(f *listFilter) { f.Owner = "" })})
	}
	if f.Attention != "" {
		v.Narrowed = append(v.Narrowed, narrowed{attentionLabels[f.Attention], f.with(func(f *listFilter) { f.Attention = "" })})
	}

	for _, ds := range d.List {
		v.Datasets = append(v.Datasets, newDatasetRow(ds))
	}
	v.Pager = newPager(f, d.Total, len(d.List))
	for _, src := range d.Sources {
		v.Sources = append(v.Sources, newSourceRow(src, now))
	}
	for _, ds := range d.Recent {
		v.Recent = append(v.Recent, newDatasetRow(ds))
	}
	for _, ds := range d.Popular {
		v.Popular = append(v.Popular, newDatasetRow(ds))
	}
	for _, a := range store.Attentions {
		if a == store.AttentionUndocumented || d.Browse.Attention[a] == 0 {
			continue
		}
		g := attentionGroup{Label: attentionLabels[a], Count: d.Browse.Attention[a], URL: listFilter{Attention: a}.query(1)}
		for _, ds := range d.Attention[a] {
			g.Datasets = append(g.Datasets, newDatasetRow(ds))
		}
		v.Attention = append(v.Attention, g)
	}
	v.Browse = newBrowse(d)
	return v
}

// newBrowse lists the facets of the catalog as links to their listings.
func newBrowse(d homeData) []browseGroup {
	var groups []browseGroup
	add := func(id, title string, counts []store.Count, link func(store.Count) listFilter, label func(store.Count) string) {
		if len(counts) == 0 {
			return
		}
		g := browseGroup{ID: id, Title: title}
		for _, c := range counts {
			g.Links = append(g.Links, browseLink{Label: label(c), Count: c.Datasets, URL: link(c).query(1)})
		}
		groups = append(groups, g)
	}
	value := func(c store.Count) string { return c.Value }
	add("browse-platforms", "Platforms", d.Browse.Platforms, func(c store.Count) listFilter { return listFilter{Platform: c.Value} }, value)
	var ns []store.Count
	for _, n := range d.Namespaces {
		ns = append(ns, store.Count{Value: n.Namespace, Datasets: n.Datasets})
	}
	add("browse-namespaces", "Namespaces", ns, func(c store.Count) listFilter { return listFilter{Namespace: c.Value} }, value)
	add("browse-schemas", "Schemas", d.Browse.Schemas,
		func(c store.Count) listFilter { return listFilter{Namespace: c.Namespace, Prefix: c.Value + "."} }, value)
	add("browse-teams", "Teams", d.Browse.Teams, func(c store.Count) listFilter { return listFilter{Team: c.Value} }, value)
	for i := range groups {
		if groups[i].ID == "browse-teams" {
			groups[i].Link = "/teams"
		}
	}
	add("browse-people", "People", d.Browse.People, func(c store.Count) listFilter { return listFilter{Owner: c.Value} }, value)
	return groups
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
		if i := slices.Index(row.Owners, o.Value.Name); i < 0 {
			row.Owners = append(row.Owners, o.Value.Name)
			row.OwnerLinks = append(row.OwnerLinks, "")
		}
		if o.Value.Kind == catalog.OwnerTeam {
			row.OwnerLinks[slices.Index(row.Owners, o.Value.Name)] = teamPath(o.Value.Name)
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

// counts is what the home page counts over the whole catalog.
type counts struct {
	Stats      store.Stats
	Namespaces []store.NamespaceCount
	Browse     store.Browse
}

// countsCache keeps the home page's counts, which scan the whole catalog
// (tens of milliseconds at 10,000 datasets, linear beyond), and reads them
// again only when the change log has moved since, and then at most once
// per maxAge (a negative maxAge: every time it moved). Reading the change
// log's position is one index probe.
type countsCache struct {
	maxAge time.Duration

	mu  sync.Mutex
	ok  bool
	seq int64
	at  time.Time
	v   counts
}

func (c *countsCache) get(ctx context.Context, st *store.Store, now time.Time) (counts, error) {
	seq, err := st.LastChangeSeq(ctx)
	if err != nil {
		return counts{}, err
	}
	// One reader at a time: requests arriving during a read wait for it
	// rather than each scanning the catalog.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && (seq == c.seq || c.maxAge > 0 && now.Sub(c.at) < c.maxAge) {
		return c.v, nil
	}
	var v counts
	if v.Stats, err = st.Stats(ctx); err != nil {
		return counts{}, err
	}
	if v.Namespaces, err = st.Namespaces(ctx); err != nil {
		return counts{}, err
	}
	if v.Browse, err = st.Browse(ctx, browseLimit); err != nil {
		return counts{}, err
	}
	c.ok, c.seq, c.at, c.v = true, seq, now, v
	return v, nil
}

// browseLimit is how many values of each facet the home page lists, and
// sideLimit how many datasets each of its side lists shows.
const (
	browseLimit = 12
	sideLimit   = 5
)

// home reads what the home page shows for the filters f. The listing
// reads a page of ids, then the datasets in one batch, as the API does;
// the side lists of the unfiltered first page read their ids too, and
// their datasets in the same batch.
func (s *Server) home(ctx context.Context, f listFilter) (homeView, error) {
	var d homeData
	c, err := s.counts.get(ctx, s.store, s.now())
	if err != nil {
		return homeView{}, err
	}
	d.Stats, d.Namespaces, d.Browse = c.Stats, c.Namespaces, c.Browse
	// Unfiltered, the listing's total is the live datasets' count card,
	// as recent as the counts: counting 100,000 datasets again on every
	// view took 10 ms.
	found, err := s.store.FindDatasets(ctx, f.storeFilter(),
		store.Paging{Offset: (f.Page - 1) * pageSize, Limit: pageSize, Total: f.active(), Sort: f.Sort})
	if err != nil {
		return homeView{}, err
	}
	if !f.active() {
		found.Total = c.Stats.Datasets
	}
	ids := slices.Clone(found.IDs)
	var recent, popular []int64
	attention := map[store.Attention][]int64{}
	if !f.active() && f.Page == 1 {
		p, err := s.store.FindDatasets(ctx, store.DatasetFilter{}, store.Paging{Limit: sideLimit, Sort: store.SortChanged})
		if err != nil {
			return homeView{}, err
		}
		recent = p.IDs
		for _, a := range []store.Attention{store.AttentionFailing, store.AttentionStale} {
			if d.Browse.Attention[a] == 0 {
				continue
			}
			p, err := s.store.FindDatasets(ctx, store.DatasetFilter{Attention: a}, store.Paging{Limit: sideLimit, Sort: store.SortChanged})
			if err != nil {
				return homeView{}, err
			}
			attention[a] = p.IDs
			ids = append(ids, p.IDs...)
		}
		ids = append(ids, recent...)
		if popular, err = s.store.PopularDatasets(ctx, sideLimit); err != nil {
			return homeView{}, err
		}
		ids = append(ids, popular...)
	}
	slices.Sort(ids)
	all, err := s.store.DatasetsByIDs(ctx, slices.Compact(ids))
	if err != nil {
		return homeView{}, err
	}
	byID := make(map[int64]catalog.Dataset, len(all))
	for _, ds := range all {
		byID[ds.ID] = ds
	}
	pick := func(ids []int64) []catalog.Dataset {
		var out []catalog.Dataset
		for _, id := range ids {
			if ds, ok := byID[id]; ok {
				out = append(out, ds)
			}
		}
		return out
	}
	d.List, d.Total, d.Recent, d.Popular = pick(found.IDs), found.Total, pick(recent), pick(popular)
	d.Attention = map[store.Attention][]catalog.Dataset{}
	for a, ids := range attention {
		d.Attention[a] = pick(ids)
	}
	if d.Sources, err = s.store.Sources(ctx); err != nil {
		return homeView{}, err
	}
	v := newHomeView(f, d, s.now())
	keys := make([]catalog.Key, len(d.List))
	for i, ds := range d.List {
		keys[i] = ds.Key
	}
	badges, err := s.healthBadges(ctx, keys)
	if err != nil {
		return homeView{}, err
	}
	for i := range v.Datasets {
		v.Datasets[i].Health = badges[d.List[i].Key]
	}
	return v, nil
}
