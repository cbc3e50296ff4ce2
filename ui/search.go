package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"almanac/catalog"
	"almanac/search"
)

// searchView is the search page: the query, what it found, the facets
// that narrow it and the pages.
type searchView struct {
	Page page
	// Query is the text as typed; Empty when nothing was asked.
	Query          string
	Empty          bool
	IncludeRemoved bool
	// Error explains a query that could not run; Warnings what was taken
	// literally.
	Error    string
	Warnings []string
	Fuzzy    bool
	// Common are words so frequent in some fields that they were matched
	// only where they are rare (search.Results.Common).
	Common []string
	// Partial says that no dataset has every word and the results match
	// only some (search.Results.Partial): "no dataset has all of …;
	// showing datasets matching 2 of 3 words".
	Partial *search.Partial
	// Follow offers to follow the search as a saved search; nil when
	// the reader cannot.
	Follow   *searchFollowView
	Total    int
	From, To int
	Hits     []searchHit
	Facets   []searchFacet
	Active   []activeFilter
	Prev     string
	Next     string
	// RemovedLink toggles removed datasets.
	RemovedLink string
	// Export is the address of the results as CSV; with "&format=json",
	// as JSON.
	Export string
	// Noun is what the hits are: "datasets", or "jobs" for a search
	// with the filter kind:job.
	Noun string
	// Jobs are the first jobs matching a dataset search, JobsTotal how
	// many match, JobsLink the search for them alone (kind:job).
	Jobs      []searchHit
	JobsTotal int
	JobsLink  string
	// DidYouMean is the query with its misspelt words corrected, offered
	// when the query found nothing or little; nil otherwise.
	DidYouMean *didYouMean
	// Unsearchable explains a query that had text yet nothing that could
	// be searched ("-", "kind:", punctuation): its Warnings say which
	// part and why, instead of the help.
	Unsearchable bool
}

// didYouMean is a corrected query: its words, the corrected ones marked,
// and its address.
type didYouMean struct {
	URL   string
	Words []correctedWord
}

// correctedWord is a word of a corrected query.
type correctedWord struct {
	Text      string
	Corrected bool
}

// jobFilter is the filter that searches jobs instead of datasets.
var jobFilter = search.Filter{Key: "kind", Value: search.KindJob}

// jobsShown is how many jobs a dataset search lists beside its datasets.
const jobsShown = 5

// hitURL is the page of a hit: a job's or a dataset's.
func hitURL(h search.Hit) string {
	if h.Kind == search.KindJob {
		return jobPath(catalog.JobKey(h.Key))
	}
	return datasetPath(h.Key)
}

// addJobs shows the jobs res found beside a dataset search for q, and
// counts them in the Kind facet as the value that searches them alone.
func (v *searchView) addJobs(q search.Query, removed bool, res search.Results) {
	v.JobsTotal, v.JobsLink = res.Total, searchURL(q.WithFilter(jobFilter), removed, 1)
	for _, h := range res.Hits {
		v.Jobs = append(v.Jobs, searchHit{URL: hitURL(h), Name: h.Name, Namespace: h.Key.Namespace, Platform: h.Platform,
			Description: h.Description, Removed: h.Removed, Matched: strings.Join(h.Matched, ", ")})
	}
	if res.Total == 0 {
		return
	}
	link := facetLink{Value: search.KindJob, Label: filterValueLabel("kind", search.KindJob), Count: res.Total, URL: v.JobsLink}
	for i, f := range v.Facets {
		if f.Label == facetLabels["kind"] {
			v.Facets[i].Values = append(v.Facets[i].Values, link)
			return
		}
	}
	v.Facets = append(v.Facets, searchFacet{Label: facetLabels["kind"], Values: []facetLink{link}})
}

// searchHit is one result.
type searchHit struct {
	URL         string
	Name        search.Snippet
	Namespace   string
	Kind        string
	KindClass   string
	Platform    string
	Owners      []string
	Tags        []string
	Removed     bool
	Description search.Snippet
	Columns     []search.ColumnHit
	Matched     string
	// Health is a badge of how its checks last ended; nil without any.
	Health *healthBadge
	// Incident is a badge linking to its newest open incident; nil
	// without one.
	Incident *incidentBadge
}

// incidentBadge is a listing's word on a dataset's open incident, a
// link to it.
type incidentBadge struct{ Title, Href string }

// searchFacet is one facet with a link per value that narrows the search.
type searchFacet struct {
	Label  string
	Values []facetLink
}

// facetLink is one facet value.
type facetLink struct {
	Value string
	// Label is the value as pages write it: "materialized view" for the
	// kind materialized_view.
	Label  string
	Count  int
	URL    string
	Active bool
}

// activeFilter is a filter of the query with a link that drops it.
type activeFilter struct {
	Label  string
	Remove string
}

var facetLabels = map[string]string{
	"platform": "Platform", "kind": "Kind", "owner": "Owner", "tag": "Tag", "schema": "Schema",
}

// searchURL is the address of a search, page from 1.
func searchURL(q search.Query, removed bool, page int) string {
	v := url.Values{}
	v.Set("q", q.String())
	if removed {
		v.Set("removed", "1")
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return "/search?" + v.Encode()
}

// newSearchView builds the page from a query and its results.
func newSearchView(text string, q search.Query, removed bool, pageNum int, res search.Results) searchView {
	v := searchView{
		Page:           page{Title: "Search", Query: text},
		Query:          text,
		IncludeRemoved: removed,
		Export:         "/search/export" + strings.TrimPrefix(searchURL(q, removed, 1), "/search"),
		Warnings:       q.Warnings,
		Fuzzy:          res.Fuzzy,
		Common:         res.Common,
		Partial:        res.Partial,
		Total:          res.Total,
		RemovedLink:    searchURL(q, !removed, 1),
		Noun:           "datasets",
	}
	if q.HasFilter(jobFilter) {
		v.Noun = "jobs"
	}
	if text != "" {
		v.Page.Title = text + " – Search"
	}
	for _, h := range res.Hits {
		v.Hits = append(v.Hits, searchHit{
			URL:         hitURL(h),
			Name:        h.Name,
			Namespace:   h.Key.Namespace,
			Kind:        kindLabel(h.Kind),
			KindClass:   "kind-" + string(h.Kind),
			Platform:    h.Platform,
			Owners:      h.Owners,
			Tags:        h.Tags,
			Removed:     h.Removed,
			Description: h.Description,
			Columns:     h.Columns,
			Matched:     strings.Join(h.Matched, ", "),
		})
	}
	if len(v.Hits) > 0 {
		v.From = (pageNum-1)*search.DefaultLimit + 1
		v.To = v.From + len(v.Hits) - 1
	}
	if pageNum > 1 {
		v.Prev = searchURL(q, removed, pageNum-1)
	}
	if pageNum*search.DefaultLimit < min(res.Total, search.MaxOffset+search.DefaultLimit) {
		v.Next = searchURL(q, removed, pageNum+1)
	}
	for _, f := range res.Facets {
		sf := searchFacet{Label: facetLabels[f.Key]}
		for _, fv := range f.Values {
			filter := search.Filter{Key: f.Key, Value: fv.Value}
			link := facetLink{Value: fv.Value, Label: filterValueLabel(f.Key, fv.Value), Count: fv.Count}
			if q.HasFilter(filter) {
				link.Active = true
				link.URL = searchURL(q.WithoutFilter(filter), removed, 1)
			} else {
				link.URL = searchURL(q.WithFilter(filter), removed, 1)
			}
			sf.Values = append(sf.Values, link)
		}
		if len(sf.Values) > 0 {
			v.Facets = append(v.Facets, sf)
		}
	}
	for _, f := range q.Filters {
		label := f.Key + ": " + filterValueLabel(f.Key, f.Value)
		if f.Exclude {
			label = "-" + label
		}
		v.Active = append(v.Active, activeFilter{Label: label, Remove: searchURL(q.WithoutFilter(f), removed, 1)})
	}
	return v
}

// filterValueLabel is a filter's value as the pages write it: kinds as
// kindLabel writes them, everything else as it is.
func filterValueLabel(key, value string) string {
	if key == "kind" {
		return kindLabel(catalog.Kind(value))
	}
	return value
}

// newDidYouMean is the correction c of a query as the page offers it.
func newDidYouMean(c search.Correction, removed bool) *didYouMean {
	d := &didYouMean{URL: searchURL(c.Query, removed, 1)}
	corrected := map[string]bool{}
	for _, w := range c.Corrected {
		corrected[w] = true
	}
	for _, w := range strings.Fields(c.Query.String()) {
		d.Words = append(d.Words, correctedWord{Text: w, Corrected: corrected[w]})
	}
	return d
}

// maxSearchPage is the last page of results search serves: its offset is
// search.MaxOffset at most.
const maxSearchPage = search.MaxOffset/search.DefaultLimit + 1

// serveSearchPage serves the search page. A query that cannot run is
// shown on the page with status 400, so that it can be corrected in place.
func (s *Server) serveSearchPage(w http.ResponseWriter, r *http.Request) error {
	params := r.URL.Query()
	text := strings.TrimSpace(params.Get("q"))
	removed, err := parseRemoved(params.Get("removed"))
	if err != nil {
		return err
	}
	pageNum := 1
	if v := params.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchPage {
			return invalid(fmt.Sprintf("Page must be a number from 1 to %d, not %q.", maxSearchPage, v))
		}
		pageNum = n
	}
	q, err := search.Parse(text)
	if err != nil {
		if !errors.Is(err, catalog.ErrInvalid) {
			return err
		}
		shown := text
		if len(shown) > 100 {
			cut := 100
			for cut > 0 && !utf8.RuneStart(shown[cut]) {
				cut--
			}
			shown = shown[:cut] + "…"
		}
		v := searchView{Page: page{Title: "Search", Query: shown}, Query: shown, Error: fmt.Sprintf("This query is too long: %d characters; at most %d are searched.", len(text), search.MaxQueryLen)}
		return s.renderStatus(w, r, http.StatusBadRequest, searchPage(v))
	}
	if q.Empty() {
		v := newSearchView(text, q, removed, 1, search.Results{})
		if text == "" {
			v.Empty = true
			return s.render(w, r, searchPage(v))
		}
		// Text with nothing searchable in it: say which part and why.
		v.Unsearchable = true
		if len(v.Warnings) == 0 {
			v.Warnings = []string{fmt.Sprintf("%q has nothing to search for.", text)}
		}
		return s.renderStatus(w, r, http.StatusBadRequest, searchPage(v))
	}
	jobs := q.HasFilter(jobFilter)
	res, err := s.search.Search(r.Context(), search.Request{
		Query:          q,
		IncludeRemoved: removed,
		Jobs:           jobs,
		Offset:         (pageNum - 1) * search.DefaultLimit,
		Limit:          search.DefaultLimit,
	})
	if errors.Is(err, catalog.ErrIndexRebuilding) {
		// The index is being rebuilt after damage; every other page works.
		v := newSearchView(text, q, removed, pageNum, search.Results{})
		v.Error = "Search is unavailable for a moment: its index is being rebuilt from the catalog. Try again shortly."
		return s.renderStatus(w, r, http.StatusServiceUnavailable, searchPage(v))
	}
	if err != nil {
		return withMessage(err, "This search could not run: "+err.Error())
	}
	v := newSearchView(text, q, removed, pageNum, res)
	v.Follow = s.searchFollow(r.Context(), text)
	if jobs {
		return s.render(w, r, searchPage(v))
	}
	// The jobs that match, beside the datasets: a search of their own,
	// so that the datasets rank as they would without them.
	found, err := s.search.Search(r.Context(), search.Request{Query: q, IncludeRemoved: removed, Jobs: true, Limit: jobsShown})
	if err != nil {
		return withMessage(err, "This search could not run: "+err.Error())
	}
	v.addJobs(q, removed, found)
	keys := make([]catalog.Key, len(res.Hits))
	for i, h := range res.Hits {
		keys[i] = h.Key
	}
	badges, err := s.healthBadges(r.Context(), keys)
	if err != nil {
		return err
	}
	var open map[catalog.Key][]catalog.Incident
	if len(keys) > 0 {
		if open, err = s.store.IncidentsOf(r.Context(), keys, true, 1); err != nil {
			return err
		}
	}
	for i, h := range res.Hits {
		v.Hits[i].Health = badges[h.Key]
		if inc := open[h.Key]; len(inc) > 0 {
			v.Hits[i].Incident = &incidentBadge{Title: "Open incident: " + inc[0].Title, Href: incidentPath(inc[0].ID)}
		}
	}
	// Nothing, or only a few near matches: offer the query spelt as the
	// catalog spells its words.
	if res.Total < fewResults || res.Fuzzy || res.Partial != nil {
		c, ok, err := s.search.DidYouMean(r.Context(), q)
		if err != nil && !errors.Is(err, catalog.ErrIndexRebuilding) {
			return err
		}
		if ok && c.Query.String() != q.String() {
			v.DidYouMean = newDidYouMean(c, removed)
		}
	}
	return s.render(w, r, searchPage(v))
}

// fewResults: a search finding fewer datasets offers a corrected query.
const fewResults = 3

// suggestion is one entry of the search box's suggestions.
type suggestion struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Kind      string `json:"kind,omitempty"`
	URL       string `json:"url"`
}

// serveSuggest answers the search box's suggestions as JSON: datasets
// whose names start with what was typed, then jobs (kind "job", linking
// their job pages).
func (s *Server) serveSuggest(w http.ResponseWriter, r *http.Request) error {
	found, err := s.search.Suggest(r.Context(), r.URL.Query().Get("q"), 8)
	if err != nil {
		return err
	}
	out := make([]suggestion, 0, len(found))
	for _, f := range found {
		sg := suggestion{Name: f.Key.Name, Namespace: f.Key.Namespace, Kind: string(f.Kind), URL: datasetPath(f.Key)}
		if f.IsJob() {
			sg.URL = jobPath(catalog.JobKey(f.Key))
		}
		out = append(out, sg)
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(out); err != nil {
		return fmt.Errorf("encode suggestions: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = buf.WriteTo(w)
	return nil
}
