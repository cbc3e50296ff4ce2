package ui

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/search"
	"almanac/ui/markdown"
)

// historyLimit is how many schema versions a dataset page shows.
const historyLimit = 50

// openPartitions is the most partitions shown without folding them.
const openPartitions = 10

// datasetView is a dataset's page.
type datasetView struct {
	Page              page
	Name              string
	Namespace         string
	Kind              string
	KindClass         string
	Platform          string
	Removed           moment // zero unless removed
	Description       string
	DescriptionHTML   markdown.HTML
	DescriptionSource string
	// DescriptionBy is the login of the person whose description shows;
	// "" for a source's.
	DescriptionBy string
	// OtherDescriptions are what other sources say, where they differ.
	OtherDescriptions []sourcedText
	Rows              string // "≈ 1.2M rows", empty when unknown
	// RowsExact and RowsFrom say, for a row count a run measured, the
	// exact count and when and by what: one row count on the page.
	RowsExact, RowsFrom string
	Size                string // "3.4 GiB", empty when unknown
	// Updated is when the catalog last learned something of the dataset;
	// DataChanged when its data last changed, as a source saw it (a Delta
	// commit, a run writing it, a row count moving), with how it is
	// known; zero when no source says.
	Updated         moment
	DataChanged     moment
	DataChangedHow  string
	Owners          []ownerView
	Tags            []sourcedText
	Properties      []property
	PartitionKey    string
	Partitions      []catalog.Partition
	PartitionsOpen  bool
	Columns         []columnView
	PrimaryKey      []string
	ForeignKeys     []keyView
	Referenced      []keyView
	DefinitionLabel string // "View definition"
	Definition      string
	History         []versionView
	Sources         []provenanceView
	// Warnings are what each source's last crawl could not do for this
	// dataset, such as view SQL whose lineage it could not resolve.
	Warnings []warningView
	// Edit says whether the reader may edit, and holds a form posted
	// back to the page.
	Edit editView
	// DocURL is the dataset's page in the configured wiki; "" for none.
	DocURL string
	// Links are the external links people added.
	Links []catalog.Link
	// Health sums up checks, freshness and SLOs at the top of the page.
	Health healthView
	// SLOs are the dataset's SLOs, as evaluated at SLOsEvaluated (by the
	// evaluator that follows the change log, or for this view).
	SLOs          []sloView
	SLOsEvaluated moment
	// Incidents are the dataset's open incidents, shown as banners;
	// PastIncidents its latest resolved ones.
	Incidents     []incidentView
	PastIncidents []incidentView
	// Anomalies are its recent observations outside their expected range.
	Anomalies anomaliesView
	// Follow is the reader's follow button; nil when it has none.
	Follow *followView
	// Key is the dataset's key, for links.
	Key catalog.Key
	// Runs are the latest runs of the jobs that write it, newest first.
	Runs []writerRunView
	// OlderHistory are the schema versions past the first few, folded.
	OlderHistory []versionView
	// ColumnsOpen says whether the columns table starts unfolded.
	ColumnsOpen bool
}

// writerRunView is one run of a job writing the dataset.
type writerRunView struct {
	Job         string
	State       string
	StateClass  string
	Started     moment
	Duration    string
	Error       string
	ParentJob   string
	NominalTime moment
}

// openHistory is how many schema versions show before the rest fold;
// openColumns the most columns shown unfolded.
const (
	openHistory = 3
	openColumns = 40
)

// lastPart is the last dotted part of a name: the table of db.schema.table.
func lastPart(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// ownerLink is the home page's list of the datasets of an owner.
func ownerLink(name string) string { return "/?owner=" + url.QueryEscape(name) }

// tagLink is the search for a tag.
func tagLink(tag string) string {
	return searchURL(search.Query{Filters: []search.Filter{{Key: "tag", Value: tag}}}, false, 1)
}

// sourceLink is the sources page at a source.
func sourceLink(source string) string { return "/sources#" + sourceAnchor(source) }

// sourceAnchor is the id of a source's row on the sources page.
func sourceAnchor(source string) string { return "source-" + source }

// columnAnchor is the id of a column's row on the dataset page.
func columnAnchor(col string) string { return "col-" + col }

// columnTraceLink is the explorer tracing the column col of k.
func columnTraceLink(k catalog.Key, col string) string {
	st := lineageState{Depth: 1, Columns: true, Column: lineage.SVGColumn{Dataset: k, Column: col}}
	return st.url(k)
}

// shownElsewhere are properties the page shows in their own place: the
// primary key, the last Delta commit (as when the data changed), dbt's
// owner (as an owner).
var shownElsewhere = map[string]bool{
	"primary_key": true, "last_commit_time": true, "last_operation": true, "owner_name": true, "owner_email": true,
}

// dataChanged is when the data of d last changed as its sources saw it:
// the newest of its last Delta commit, the end of the last successful
// run writing it and the last observation at which its row count moved;
// with a phrase saying which.
func dataChanged(d catalog.Dataset, runs []catalog.Run, counts []catalog.RowCount) (time.Time, string) {
	var at time.Time
	var how string
	consider := func(t time.Time, what string) {
		if t.After(at) {
			at, how = t, what
		}
	}
	for _, f := range d.Sources {
		if f.RemovedAt != nil || f.Platform != "delta" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, f.Properties["last_commit_time"]); err == nil {
			what := "Delta commit"
			if op := f.Properties["last_operation"]; op != "" {
				what += " (" + op + ")"
			}
			consider(t, what)
		}
	}
	for _, r := range runs {
		if r.State == catalog.RunComplete && r.EndedAt != nil {
			consider(*r.EndedAt, "run of "+r.Job.Name)
		}
	}
	// counts are newest first: the newest that differs from the one
	// before it.
	for i := 0; i+1 < len(counts); i++ {
		if counts[i].Rows != counts[i+1].Rows {
			consider(counts[i].ObservedAt, "row count changed")
			break
		}
	}
	return at, how
}

// warningView is one error a source's last crawl recorded on the
// dataset, with a link to that run.
type warningView struct {
	Source  string
	Run     int64
	RunLink string
	At      moment
	Message string
}

// ownerView is an owner with who said so.
type ownerView struct {
	Name   string
	Kind   string // user, team, role
	Type   string // technical, business…
	Source string
	// ByPerson says a person gave the owner: it can be removed here.
	ByPerson bool
}

// detail is the owner's kind and ownership type: "team, business".
func (o ownerView) detail() string {
	if o.Type == "" {
		return o.Kind
	}
	return o.Kind + ", " + o.Type
}

// sourcedText is a value with the source that asserted it.
type sourcedText struct {
	Text   string
	Source string
	// HTML is Text rendered, for descriptions.
	HTML markdown.HTML
}

// byPerson reports whether a person's edit gave the value, which can
// then be removed here.
func (t sourcedText) byPerson() bool { return catalog.IsUserSource(t.Source) }

// property is one key and value of a dataset's properties.
type property struct {
	Key, Value string
}

// columnView is one row of the columns table.
type columnView struct {
	Ordinal           int
	Name              string
	Type              string
	TypeSource        string
	Nullable          bool
	Default           string
	PrimaryKey        bool
	Description       string
	DescriptionHTML   markdown.HTML
	DescriptionSource string
	// Others are what other sources say the column means, shown when
	// sources disagree.
	Others []sourcedText
	// Inherited is what the column means by the upstream column it
	// copies, for a column no source describes; nil otherwise.
	Inherited *inheritedView
}

// inheritedView is a description inherited from an upstream column.
type inheritedView struct {
	HTML   markdown.HTML
	Source string
	// Column is "dataset.column", linked to the column's row on its
	// dataset's page.
	Column string
	Link   string
}

// keyView is a foreign key, seen from either end. Link and Dataset name
// the other end.
type keyView struct {
	Name       string
	Columns    []string // on the dataset that holds the key
	Link       string
	Dataset    string
	Namespace  string
	TargetCols []string // on the referenced dataset
	Source     string
}

// versionView is one schema version.
type versionView struct {
	Version int
	At      moment
	Source  string
	Columns int
	// Initial is set on the first version a source reported: its diff
	// only adds every column, which says nothing worth listing.
	Initial bool
	Changes []changeView
}

// changeView is one line of a schema diff: a kind of change and the
// columns it touched.
type changeView struct {
	Kind  string // added, removed, retyped, renamed, changed
	Items []string
}

// provenanceView is one source that reports the dataset.
type provenanceView struct {
	Source   string
	Platform string
	Kind     string
	Columns  int
	Updated  moment
	Removed  moment // zero unless this source removed it
	UserEdit bool
	// Person is the login of a person's edits, with the dataset's edit
	// history; "" for a crawled source.
	Person  string
	History string
}

// newDatasetView builds a dataset's page from the merged dataset and its
// schema history.
func newDatasetView(d catalog.Dataset, history []catalog.SchemaVersion, now time.Time) datasetView {
	v := datasetView{
		Page:              page{Title: d.Key.Name, Section: "datasets"},
		Key:               d.Key,
		ColumnsOpen:       len(d.Columns) <= openColumns,
		Name:              d.Key.Name,
		Namespace:         d.Key.Namespace,
		Kind:              kindLabel(d.Kind),
		KindClass:         "kind-" + string(d.Kind),
		Platform:          d.Platform,
		Description:       strings.TrimSpace(d.Description),
		DescriptionHTML:   markdown.Render(d.Description),
		DescriptionSource: d.DescriptionSource,
		Updated:           newMoment(d.UpdatedAt, now),
		PartitionKey:      d.PartitionKey,
		Partitions:        d.Partitions,
		PartitionsOpen:    len(d.Partitions) <= openPartitions,
		Definition:        strings.TrimSpace(d.Definition),
	}
	if d.RemovedAt != nil {
		v.Removed = newMoment(*d.RemovedAt, now)
	}
	if d.RowEstimate != nil && *d.RowEstimate >= 0 {
		v.Rows = "≈ " + humanCount(*d.RowEstimate) + " rows"
	}
	if d.SizeBytes != nil && *d.SizeBytes >= 0 {
		v.Size = humanBytes(*d.SizeBytes)
	}
	for _, o := range d.Owners {
		v.Owners = append(v.Owners, ownerView{Name: o.Value.Name, Kind: string(o.Value.Kind), Type: o.Value.Type, Source: o.Source,
			ByPerson: catalog.IsUserSource(o.Source)})
	}
	for _, t := range d.Tags {
		v.Tags = append(v.Tags, sourcedText{Text: t.Value, Source: t.Source})
	}
	v.DescriptionBy, _ = catalog.UserLogin(d.DescriptionSource)
	for k, val := range d.Properties {
		if shownElsewhere[k] {
			continue
		}
		v.Properties = append(v.Properties, property{k, val})
	}
	slices.SortFunc(v.Properties, func(a, b property) int { return cmp.Compare(a.Key, b.Key) })

	for _, c := range d.Columns {
		cv := columnView{
			Ordinal:           c.Ordinal,
			Name:              c.Name,
			Type:              c.Type,
			TypeSource:        c.TypeSource,
			Nullable:          c.Nullable,
			Default:           c.Default,
			PrimaryKey:        c.PrimaryKey,
			Description:       c.Description,
			DescriptionHTML:   markdown.Render(c.Description),
			DescriptionSource: c.DescriptionSource,
		}
		for _, o := range c.Descriptions {
			if o.Source != c.DescriptionSource && o.Value != c.Description {
				cv.Others = append(cv.Others, sourcedText{Text: o.Value, Source: o.Source, HTML: markdown.Render(o.Value)})
			}
		}
		if c.PrimaryKey {
			v.PrimaryKey = append(v.PrimaryKey, c.Name)
		}
		v.Columns = append(v.Columns, cv)
	}
	for _, fk := range d.ForeignKeys {
		v.ForeignKeys = append(v.ForeignKeys, keyView{
			Name:       fk.Value.Name,
			Columns:    fk.Value.Columns,
			Link:       datasetPath(fk.Value.Target),
			Dataset:    fk.Value.Target.Name,
			Namespace:  fk.Value.Target.Namespace,
			TargetCols: fk.Value.TargetCol,
			Source:     fk.Source,
		})
	}
	for _, rk := range d.Referenced {
		v.Referenced = append(v.Referenced, keyView{
			Name:       rk.Value.Name,
			Columns:    rk.Value.Columns,
			Link:       datasetPath(rk.Value.From),
			Dataset:    rk.Value.From.Name,
			Namespace:  rk.Value.From.Namespace,
			TargetCols: rk.Value.TargetCol,
			Source:     rk.Source,
		})
	}
	if v.Definition != "" {
		switch d.Kind {
		case catalog.KindView:
			v.DefinitionLabel = "View definition"
		case catalog.KindMaterializedView:
			v.DefinitionLabel = "Materialized view definition"
		default:
			v.DefinitionLabel = "Definition"
		}
	}
	for i, sv := range history {
		if i < openHistory {
			v.History = append(v.History, newVersionView(sv, now))
		} else {
			v.OlderHistory = append(v.OlderHistory, newVersionView(sv, now))
		}
	}
	for _, f := range d.Sources {
		p := provenanceView{
			Source:   f.Source,
			Platform: f.Platform,
			Kind:     kindLabel(f.Kind),
			Columns:  len(f.Columns),
			Updated:  newMoment(f.UpdatedAt, now),
			UserEdit: catalog.IsUserSource(f.Source),
		}
		if login, ok := catalog.UserLogin(f.Source); ok {
			p.Person, p.History = login, historyPath(d.Key)
		}
		if f.RemovedAt != nil {
			p.Removed = newMoment(*f.RemovedAt, now)
		}
		v.Sources = append(v.Sources, p)
		desc := strings.TrimSpace(f.Description)
		if desc != "" && desc != v.Description && f.Source != d.DescriptionSource && (f.RemovedAt == nil || d.RemovedAt != nil) {
			v.OtherDescriptions = append(v.OtherDescriptions, sourcedText{Text: desc, Source: f.Source, HTML: markdown.Render(desc)})
		}
	}
	return v
}

// newVersionView summarizes one schema version's diff.
func newVersionView(sv catalog.SchemaVersion, now time.Time) versionView {
	v := versionView{
		Version: sv.Version,
		At:      newMoment(sv.At, now),
		Source:  sv.Source,
		Columns: len(sv.Columns),
	}
	d := sv.Diff
	if d.Empty() || len(d.Added) == len(sv.Columns) && len(d.Removed)+len(d.Retyped)+len(d.Renamed)+len(d.Changed) == 0 {
		v.Initial = true
		return v
	}
	add := func(kind string, items []string) {
		if len(items) > 0 {
			v.Changes = append(v.Changes, changeView{kind, items})
		}
	}
	add("added", mapItems(d.Added, func(c catalog.Column) string { return typed(c.Name, c.Type) }))
	add("removed", mapItems(d.Removed, func(c catalog.Column) string { return typed(c.Name, c.Type) }))
	add("retyped", mapItems(d.Retyped, func(c catalog.ColumnChange) string {
		return fmt.Sprintf("%s: %s → %s", c.Name, c.Before.Type, c.After.Type)
	}))
	add("renamed", mapItems(d.Renamed, func(r catalog.ColumnRename) string {
		return fmt.Sprintf("%s → %s", r.From, r.To)
	}))
	add("changed", mapItems(d.Changed, func(c catalog.ColumnChange) string {
		return c.Name + ": " + strings.Join(attributeChanges(c.Before, c.After), ", ")
	}))
	return v
}

func mapItems[T any](in []T, f func(T) string) []string {
	var out []string
	for _, x := range in {
		out = append(out, f(x))
	}
	return out
}

// typed is "name (type)", or the name alone when the type is unknown.
func typed(name, typ string) string {
	if typ == "" {
		return name
	}
	return name + " (" + typ + ")"
}

// attributeChanges says which attributes other than the type changed.
func attributeChanges(before, after catalog.Column) []string {
	var out []string
	if before.Nullable != after.Nullable {
		if after.Nullable {
			out = append(out, "now nullable")
		} else {
			out = append(out, "now not null")
		}
	}
	if before.Default != after.Default {
		switch {
		case after.Default == "":
			out = append(out, "default dropped")
		case before.Default == "":
			out = append(out, "default "+after.Default)
		default:
			out = append(out, "default "+before.Default+" → "+after.Default)
		}
	}
	if before.PrimaryKey != after.PrimaryKey {
		if after.PrimaryKey {
			out = append(out, "now in primary key")
		} else {
			out = append(out, "no longer in primary key")
		}
	}
	if before.Description != after.Description {
		out = append(out, "description edited")
	}
	return out
}

// serveDataset serves a dataset's page.
func (s *Server) serveDataset(w http.ResponseWriter, r *http.Request) error {
	key := catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
	if err := key.Validate(); err != nil {
		return withMessage(err, "A dataset address needs a namespace and a name: /datasets/{namespace}/{name}.")
	}
	d, err := s.dataset(r.Context(), key)
	if err != nil {
		return err
	}
	if d.Key != key {
		// A name an OpenLineage symlink made an alias of another dataset
		// (and that no source describes itself) shows that dataset, as
		// the API, the edit forms and the explorer take it.
		http.Redirect(w, r, datasetPath(d.Key), http.StatusFound)
		return nil
	}
	v, act, err := s.datasetPage(r.Context(), d)
	if err != nil {
		return err
	}
	return s.render(w, r, datasetPage(v, act))
}

// datasetPage reads what the page of the dataset d shows besides d,
// through the batched reads the API's loaders use, one dataset each, with
// the forms the request's principal may edit it with.
func (s *Server) datasetPage(ctx context.Context, d catalog.Dataset) (datasetView, activityView, error) {
	key := d.Key
	page := store.HistoryPage{DatasetID: d.ID, Limit: historyLimit, Columns: true}
	history, err := s.store.SchemaHistories(ctx, []store.HistoryPage{page})
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	jobs, err := s.datasetJobs(ctx, key)
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	checks, err := s.store.ChecksOf(ctx, []catalog.Key{key})
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	fp := store.FreshnessPage{Dataset: key, Limit: freshnessLimit}
	fresh, err := s.store.FreshnessPages(ctx, []store.FreshnessPage{fp})
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	warnings, err := s.store.DatasetCrawlWarnings(ctx, key)
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	now := s.now()
	// SLO reports and anomalies as the evaluator stored them, when they
	// are current; else evaluated now.
	evals, err := s.store.Evaluations(ctx, []catalog.Key{key}, s.slos, now)
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	eval := evals[key]
	var pages []store.ResultPage
	for _, c := range checks[key] {
		if c.RemovedAt == nil && c.Latest != nil {
			pages = append(pages, store.ResultPage{Source: c.Source, Check: c.Name, Limit: checkHistoryLimit})
		}
	}
	var results map[store.ResultPage][]catalog.QualityResult
	if len(pages) > 0 {
		if results, err = s.store.ResultPages(ctx, pages); err != nil {
			return datasetView{}, activityView{}, err
		}
	}
	links, err := s.store.DatasetLinks(ctx, []int64{d.ID})
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	inherited, err := s.store.InheritedDescriptionsOf(ctx, []catalog.Dataset{d})
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	v := newDatasetView(d, history[page], now)
	for i, c := range v.Columns {
		if in, ok := inherited[key][c.Name]; ok && c.Description == "" {
			v.Columns[i].Inherited = &inheritedView{
				HTML: markdown.Render(in.Text), Source: in.Source,
				Column: lastPart(in.From.Name) + "." + in.Column, Link: datasetPath(in.From) + "#" + url.PathEscape(columnAnchor(in.Column)),
			}
		}
	}
	v.Edit = s.newEditView(auth.PrincipalFrom(ctx), d)
	v.DocURL = s.links.WikiURL(key)
	v.Links = links[d.ID]
	if v.Follow, err = s.newFollowView(ctx, key); err != nil {
		return datasetView{}, activityView{}, err
	}
	if v.Incidents, v.PastIncidents, err = s.incidentViews(ctx, d, now); err != nil {
		return datasetView{}, activityView{}, err
	}
	for _, w := range warnings {
		v.Warnings = append(v.Warnings, warningView{
			Source: w.Source, Run: w.RunID, RunLink: runPath(w.RunID), At: newMoment(w.StartedAt, now), Message: w.Message,
		})
	}
	v.Health = newHealthView(checks[key], fresh[fp], eval.SLOs, now)
	v.SLOs = newSLOViews(eval.SLOs)
	v.SLOsEvaluated = newMoment(eval.EvaluatedAt, now)
	v.Anomalies = newAnomaliesView(eval.Anomalies, now)
	v.Health.addAnomalies(v.Anomalies)
	act := newActivityView(jobs, checks[key], fresh[fp], now)
	s.addCodeLinks(&act, jobs)
	for i, c := range act.Checks {
		chart := newHistoryChart(results[store.ResultPage{Source: c.Source, Check: c.Name, Limit: checkHistoryLimit}], now)
		act.Checks[i].History = &chart
	}
	counts, err := s.addMetrics(ctx, key, now, &act)
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	if m := act.Metrics; m != nil && m.Rows != "" {
		// One row count: what a run measured, over the source's estimate.
		v.Rows, v.RowsExact = m.Rows+" rows", m.RowsExact
		v.RowsFrom = "measured " + m.At.Relative + " by " + m.Source
	}
	runs, err := s.writerRuns(ctx, jobs)
	if err != nil {
		return datasetView{}, activityView{}, err
	}
	for _, r := range runs {
		v.Runs = append(v.Runs, newWriterRunView(r, now))
	}
	if at, how := dataChanged(d, runs, counts); !at.IsZero() {
		v.DataChanged, v.DataChangedHow = newMoment(at, now), how
	}
	if err := s.addUsage(ctx, d.ID, &act, now); err != nil {
		return datasetView{}, activityView{}, err
	}
	if s.lineage != nil {
		act.Explore = lineagePath(key)
		act.Impact = impactPath(key)
	}
	return v, act, nil
}

// dataset reads the dataset a lookup by key means, as the API does: the
// dataset itself, or the one it is an alias of (see
// store.ResolveAliases); then the dataset, and the foreign keys of other
// datasets that point at it.
func (s *Server) dataset(ctx context.Context, key catalog.Key) (catalog.Dataset, error) {
	notFound := func(err error) error {
		return withMessage(err, fmt.Sprintf("There is no dataset %s in namespace %s.", key.Name, key.Namespace))
	}
	id, err := s.store.FindDataset(ctx, key)
	if err != nil {
		return catalog.Dataset{}, notFound(err)
	}
	if id == 0 {
		return catalog.Dataset{}, notFound(fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound))
	}
	ds, err := s.store.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 { // gone since its id was read
		return catalog.Dataset{}, notFound(fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound))
	}
	d := ds[0]
	refs, err := s.store.ReferencedBy(ctx, []catalog.Key{d.Key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	d.Referenced = refs[d.Key]
	return d, nil
}

// datasetJobs reads the jobs around the dataset key as the API does: the
// keys of the jobs its live sources say write or read it, then the jobs,
// merged.
func (s *Server) datasetJobs(ctx context.Context, key catalog.Key) (catalog.DatasetJobs, error) {
	around, err := s.store.JobsOfDatasets(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.DatasetJobs{}, err
	}
	a := around[key]
	jobs, err := s.store.JobsByKeys(ctx, append(slices.Clone(a.Producers), a.Consumers...))
	if err != nil {
		return catalog.DatasetJobs{}, err
	}
	var d catalog.DatasetJobs
	for _, k := range a.Producers {
		if j := jobs[k]; j != nil {
			d.Producers = append(d.Producers, *j)
		}
	}
	for _, k := range a.Consumers {
		if j := jobs[k]; j != nil {
			d.Consumers = append(d.Consumers, *j)
		}
	}
	return d, nil
}

// runsLimit is how many runs of the jobs writing a dataset its page
// shows; runJobsLimit of how many of those jobs.
const (
	runsLimit    = 10
	runJobsLimit = 5
)

// writerRuns reads the latest runs of the live jobs that write a dataset,
// newest first, at most runsLimit.
func (s *Server) writerRuns(ctx context.Context, jobs catalog.DatasetJobs) ([]catalog.Run, error) {
	var pages []store.RunPage
	for _, j := range jobs.Producers {
		if j.RemovedAt == nil && len(pages) < runJobsLimit {
			pages = append(pages, store.RunPage{Job: j.Key, Limit: runsLimit})
		}
	}
	if len(pages) == 0 {
		return nil, nil
	}
	got, err := s.store.RunPages(ctx, pages)
	if err != nil {
		return nil, err
	}
	var runs []catalog.Run
	for _, p := range pages {
		runs = append(runs, got[p]...)
	}
	slices.SortStableFunc(runs, func(a, b catalog.Run) int { return b.StateAt.Compare(a.StateAt) })
	if len(runs) > runsLimit {
		runs = runs[:runsLimit]
	}
	return runs, nil
}

// newWriterRunView shows a run.
func newWriterRunView(r catalog.Run, now time.Time) writerRunView {
	v := writerRunView{Job: r.Job.Name, State: strings.ToLower(string(r.State)), Error: r.ErrorMessage, ParentJob: r.ParentJob.Name}
	switch r.State {
	case catalog.RunComplete:
		v.StateClass = "status-succeeded"
	case catalog.RunFail, catalog.RunAbort:
		v.StateClass = "status-failed"
	default:
		v.StateClass = "status-partial"
	}
	start := r.StateAt
	if r.StartedAt != nil {
		start = *r.StartedAt
	}
	v.Started = newMoment(start, now)
	if r.StartedAt != nil && r.EndedAt != nil {
		v.Duration = humanDuration(r.EndedAt.Sub(*r.StartedAt))
	}
	if r.NominalStart != nil {
		v.NominalTime = newMoment(*r.NominalStart, now)
	}
	return v
}

// freshnessLimit is how many freshness observations the page shows.
const freshnessLimit = 5

// joinCols lists column names.
func joinCols(cols []string) string { return strings.Join(cols, ", ") }

// sourceTitle is a tooltip naming the source of a value.
func sourceTitle(source string) string {
	if source == "" {
		return ""
	}
	return "from " + source
}
