// Package unitycatalog owns the Unity Catalog crawler: it reads catalogs,
// schemas, tables and views with their columns, owners, comments and
// properties over the Unity Catalog REST API (/api/2.1/unity-catalog/, which
// the open-source server and Databricks share), and, on Databricks, table
// lineage from the lineage-tracking API. It returns catalog values and never
// writes to Almanac's store.
//
// Naming follows OpenLineage so that the crawl, a Spark job's events and a
// Delta crawl of the same storage land on one dataset: a table with a
// storage location is keyed by that location (see catalog.LocationKey), the key
// OpenLineage's Spark integration gives it and the one the Delta crawler
// gives a local table, and its Unity Catalog name is an alias of type TABLE
// in Config.Namespace ("unity-catalog" by default, the namespace of the
// Spark integration's symlinks for Unity Catalog tables). A view, or any
// table without a storage location, is keyed by that name.
package unitycatalog

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"almanac/catalog"
)

// Platform is the platform of every dataset the crawler reports.
const Platform = "unitycatalog"

// DefaultNamespace is the namespace of Unity Catalog names when
// Config.Namespace is empty: the one OpenLineage's Spark integration gives
// the symlinks of Unity Catalog tables.
const DefaultNamespace = "unity-catalog"

// AliasType is the type of the alias a table's Unity Catalog name is, as an
// OpenLineage symlinks facet names it.
const AliasType = "TABLE"

// Job types the crawler reports.
const (
	// JobView is a view reading the tables its definition depends on, as
	// the server lists them (view_dependencies).
	JobView = "unitycatalog_view"
	// JobLineage is the writes into one table that Databricks' table
	// lineage recorded: its inputs are the table's upstreams.
	JobLineage = "databricks_lineage"
)

// Property keys the crawler sets. Table properties are kept under
// PropTablePrefix + their key, as the Delta crawler keeps the same Delta
// properties.
const (
	PropFullName         = "uc.full_name"
	PropTableID          = "uc.table_id"
	PropTableType        = "uc.table_type"
	PropDataSourceFormat = "uc.data_source_format"
	PropStorageLocation  = "uc.storage_location"
	PropCreatedAt        = "uc.created_at"
	PropCreatedBy        = "uc.created_by"
	PropUpdatedAt        = "uc.updated_at"
	PropUpdatedBy        = "uc.updated_by"
	PropTablePrefix      = "table."
)

// Config says what to crawl.
type Config struct {
	// Source is the provenance name, e.g. "unitycatalog:lake".
	Source string
	// URL is the server: http://localhost:8080 for the open-source one,
	// https://<workspace host> for Databricks. The API path is added; a URL
	// that already ends in it is taken as it is.
	URL string
	// Token is sent as a Bearer token; empty sends none (an open-source
	// server without authentication).
	Token string
	// Namespace is the namespace of Unity Catalog names (views, and the
	// aliases of tables); empty means DefaultNamespace.
	Namespace string
	// Include and Exclude are path.Match globs over "catalog",
	// "catalog.schema" and "catalog.schema.table"; Exclude wins, an empty
	// Include includes everything.
	Include, Exclude []string
	// Lineage asks Databricks' table lineage API about every table crawled
	// (one request each); the open-source server has no such API.
	Lineage bool

	// HTTPClient sends the requests; nil means one with a 60 s timeout.
	HTTPClient *http.Client
	// PageSize is the max_results of list requests; 0 lets the server
	// choose, as Databricks recommends.
	PageSize int
	// Attempts bounds the tries of one request on 429, 5xx and broken
	// connections (default 5); RetryDelay is the wait before the second
	// (default 1 s, doubling after), MaxRetryDelay the longest wait,
	// Retry-After included (default 30 s).
	Attempts      int
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Parallel is how many requests run at once (default 4).
	Parallel int
}

// Crawl reads every catalog, schema and table that cfg's patterns include.
//
// What could not be read is reported as a CrawlError naming the object (a
// catalog, a schema, a table): the crawl goes on with the rest, claims no
// completeness for it (no Scope, no DatasetsComplete), so that nothing
// stored is removed because of it. Crawl returns an error, naming the
// server, only for an invalid Config or when the catalogs cannot be listed
// (unreachable server, refused token, a page that is not JSON).
func Crawl(ctx context.Context, cfg Config) (catalog.Harvest, error) {
	hv := catalog.Harvest{Source: cfg.Source}
	fail := func(err error) (catalog.Harvest, error) {
		return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
	}
	if cfg.Source == "" {
		return fail(fmt.Errorf("empty source name: %w", catalog.ErrInvalid))
	}
	base, err := baseURL(cfg.URL)
	if err != nil {
		return fail(err)
	}
	flt, err := newFilter(cfg.Include, cfg.Exclude)
	if err != nil {
		return fail(err)
	}
	c := &client{
		base: base, token: cfg.Token, http: cfg.HTTPClient,
		attempts: cmp.Or(cfg.Attempts, 5), delay: cmp.Or(cfg.RetryDelay, time.Second),
		maxDelay: cmp.Or(cfg.MaxRetryDelay, 30*time.Second), sleep: sleepCtx,
	}
	w := &walker{c: c, flt: flt, ns: cmp.Or(cfg.Namespace, DefaultNamespace), par: max(cfg.Parallel, 0)}
	if w.par == 0 {
		w.par = 4
	}
	if c.http == nil {
		// As many idle connections kept as requests run at once, so that
		// none is closed and dialled again between two pages.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = w.par
		c.http = &http.Client{Timeout: 60 * time.Second, Transport: tr}
		defer tr.CloseIdleConnections()
	}
	server := base.Scheme + "://" + base.Host

	var cats []catalogInfo
	if err := listAll(ctx, c, APIPath+"/catalogs", url.Values{}, cfg.PageSize, &cats); err != nil {
		return fail(fmt.Errorf("list catalogs of %s: %w", server, err))
	}
	complete := true
	slices.SortFunc(cats, func(a, b catalogInfo) int { return strings.Compare(a.Name, b.Name) })
	var work []schemaWork
	for _, cat := range cats {
		if cat.Name == "" || !flt.touches(cat.Name) {
			continue
		}
		var schemas []schemaInfo
		err := listAll(ctx, c, APIPath+"/schemas", url.Values{"catalog_name": {cat.Name}}, cfg.PageSize, &schemas)
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: cat.Name, Message: "list schemas: " + err.Error()})
			complete = false
			continue
		}
		slices.SortFunc(schemas, func(a, b schemaInfo) int { return strings.Compare(a.Name, b.Name) })
		for _, s := range schemas {
			// Every Databricks catalog has an information_schema of
			// system views describing the catalog itself.
			if s.Name == "" || s.Name == "information_schema" || !flt.touches(cat.Name+"."+s.Name) {
				continue
			}
			work = append(work, schemaWork{catalog: cat.Name, schema: s.Name})
		}
	}

	w.each(ctx, len(work), func(i int) {
		sw := &work[i]
		q := url.Values{"catalog_name": {sw.catalog}, "schema_name": {sw.schema}}
		sw.err = listAll(ctx, c, APIPath+"/tables", q, cfg.PageSize, &sw.tables)
	})
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	var tables []tableInfo
	for i := range work {
		sw := &work[i]
		prefix := sw.catalog + "." + sw.schema + "."
		if sw.err != nil {
			// The tables of the pages read are reported; the schema is
			// not claimed complete.
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: sw.catalog + "." + sw.schema, Message: "list tables: " + sw.err.Error()})
			complete = false
		} else {
			hv.Scopes = append(hv.Scopes,
				catalog.Scope{Namespace: w.ns, Prefix: prefix},
				catalog.Scope{Namespace: w.ns, Prefix: viewJobPrefix + prefix})
		}
		for _, t := range sw.tables {
			t.CatalogName, t.SchemaName = cmp.Or(t.CatalogName, sw.catalog), cmp.Or(t.SchemaName, sw.schema)
			if t.Name == "" || !flt.table(t.CatalogName, t.SchemaName, t.Name) {
				continue
			}
			tables = append(tables, t)
		}
	}

	w.viewDependencies(ctx, &hv, tables)
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	keys := make(map[string]catalog.Key, len(tables)) // by full name
	for _, t := range tables {
		f, warn := w.facts(t)
		if warn != "" {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: t.fullName(), Message: warn})
		}
		keys[t.fullName()] = f.Key
		hv.Datasets = append(hv.Datasets, f)
	}
	for _, t := range tables {
		if j, ok := w.viewJob(t, keys); ok {
			hv.Jobs = append(hv.Jobs, j)
		}
	}
	lineageComplete := true
	if cfg.Lineage {
		var scopes []catalog.Scope
		scopes, lineageComplete = w.lineage(ctx, &hv, tables, keys, server)
		hv.Scopes = append(hv.Scopes, scopes...)
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
	}
	slices.SortFunc(hv.Datasets, func(a, b catalog.DatasetFacts) int { return a.Key.Compare(b.Key) })
	slices.SortFunc(hv.Jobs, func(a, b catalog.JobFacts) int {
		return cmp.Or(strings.Compare(a.Key.Namespace, b.Key.Namespace), strings.Compare(a.Key.Name, b.Key.Name))
	})
	slices.SortFunc(hv.Scopes, func(a, b catalog.Scope) int { return cmp.Compare(a.Prefix, b.Prefix) })
	hv.DatasetsComplete = complete
	hv.JobsComplete = complete && lineageComplete
	return hv, nil
}

// viewJobPrefix starts the name of a view's job; lineageJobPrefix the name
// of the job writing a table in Databricks' lineage.
const (
	viewJobPrefix    = "view:"
	lineageJobPrefix = "lineage:"
)

// baseURL parses Config.URL, dropping the API path if it was given.
func baseURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("empty server URL: %w", catalog.ErrInvalid)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http(s)://host[:port]: %w", raw, catalog.ErrInvalid)
	}
	if u.User != nil {
		return nil, fmt.Errorf("server URL %q: put the token in token, not in the URL: %w", u.Redacted(), catalog.ErrInvalid)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), APIPath)
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// walker holds what one crawl shares.
type walker struct {
	c   *client
	flt filter
	ns  string
	par int
}

// schemaWork is the listing of one schema's tables.
type schemaWork struct {
	catalog, schema string
	tables          []tableInfo
	err             error
}

// each calls fn(0), …, fn(n-1) on w.par goroutines, stopping early when
// ctx ends.
func (w *walker) each(ctx context.Context, n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(w.par, n) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// listAll reads every page of a list endpoint into *out, following
// next_page_token until a page has none (Databricks leaves it out, the
// open-source server sends null). A page may be empty and still have a
// next one.
func listAll[T any](ctx context.Context, c *client, path string, q url.Values, pageSize int, out *[]T) error {
	seen := map[string]bool{}
	for n := 1; ; n++ {
		q.Set("max_results", strconv.Itoa(pageSize))
		var p page[T]
		if err := c.get(ctx, path, q, &p); err != nil {
			if n > 1 {
				return fmt.Errorf("page %d: %w", n, err)
			}
			return err
		}
		*out = append(*out, p.Catalogs...)
		*out = append(*out, p.Schemas...)
		*out = append(*out, p.Tables...)
		if p.NextPageToken == "" {
			return nil
		}
		if seen[p.NextPageToken] {
			return fmt.Errorf("page %d: next_page_token %q was given before: the listing goes round in circles", n, p.NextPageToken)
		}
		seen[p.NextPageToken] = true
		q.Set("page_token", p.NextPageToken)
	}
}

// page is one page of a list response; one of its lists is set.
type page[T any] struct {
	Catalogs      []T    `json:"catalogs"`
	Schemas       []T    `json:"schemas"`
	Tables        []T    `json:"tables"`
	NextPageToken string `json:"next_page_token"`
}

// catalogInfo and schemaInfo hold what the crawl needs of CatalogInfo and
// SchemaInfo; JSON null reads as empty.
type catalogInfo struct {
	Name string `json:"name"`
}

type schemaInfo struct {
	Name string `json:"name"`
}

// tableInfo is TableInfo of the API.
type tableInfo struct {
	Name             string            `json:"name"`
	CatalogName      string            `json:"catalog_name"`
	SchemaName       string            `json:"schema_name"`
	TableType        string            `json:"table_type"`
	DataSourceFormat string            `json:"data_source_format"`
	Columns          []columnInfo      `json:"columns"`
	StorageLocation  string            `json:"storage_location"`
	Comment          string            `json:"comment"`
	Properties       map[string]string `json:"properties"`
	Owner            string            `json:"owner"`
	CreatedAt        *int64            `json:"created_at"`
	CreatedBy        string            `json:"created_by"`
	UpdatedAt        *int64            `json:"updated_at"`
	UpdatedBy        string            `json:"updated_by"`
	TableID          string            `json:"table_id"`
	ViewDefinition   string            `json:"view_definition"`
	ViewDependencies *struct {
		Dependencies []struct {
			Table *struct {
				TableFullName string `json:"table_full_name"`
			} `json:"table"`
		} `json:"dependencies"`
	} `json:"view_dependencies"`
}

func (t tableInfo) fullName() string { return t.CatalogName + "." + t.SchemaName + "." + t.Name }

// columnInfo is ColumnInfo of the API.
type columnInfo struct {
	Name           string `json:"name"`
	TypeText       string `json:"type_text"`
	TypeName       string `json:"type_name"`
	Position       *int   `json:"position"`
	Comment        string `json:"comment"`
	Nullable       *bool  `json:"nullable"`
	PartitionIndex *int   `json:"partition_index"`
}

// kinds maps table types to dataset kinds; other types are tables.
var kinds = map[string]catalog.Kind{
	"VIEW":              catalog.KindView,
	"METRIC_VIEW":       catalog.KindView,
	"MATERIALIZED_VIEW": catalog.KindMaterializedView,
	"FOREIGN":           catalog.KindForeign,
}

// facts turns a table into dataset facts. warn says what was odd about it
// (a storage location that is no URI) without keeping it out.
func (w *walker) facts(t tableInfo) (f catalog.DatasetFacts, warn string) {
	name := catalog.Key{Namespace: w.ns, Name: t.fullName()}
	f = catalog.DatasetFacts{
		Key:         name,
		Platform:    Platform,
		Kind:        cmp.Or(kinds[t.TableType], catalog.KindTable),
		Description: t.Comment,
		Definition:  t.ViewDefinition,
		Properties:  map[string]string{},
	}
	if t.StorageLocation != "" {
		if k, err := catalog.LocationKey(t.StorageLocation); err != nil {
			warn = err.Error() + "; the table is keyed by its name"
		} else {
			f.Key = k
			f.Aliases = []catalog.Alias{{Key: name, Type: AliasType}}
		}
	}
	set := func(k, v string) {
		if v != "" {
			f.Properties[k] = v
		}
	}
	at := func(ms *int64) string {
		if ms == nil {
			return ""
		}
		return time.UnixMilli(*ms).UTC().Format(time.RFC3339Nano)
	}
	set(PropFullName, t.fullName())
	set(PropTableID, t.TableID)
	set(PropTableType, t.TableType)
	set(PropDataSourceFormat, t.DataSourceFormat)
	set(PropStorageLocation, t.StorageLocation)
	set(PropCreatedAt, at(t.CreatedAt))
	set(PropCreatedBy, t.CreatedBy)
	set(PropUpdatedAt, at(t.UpdatedAt))
	set(PropUpdatedBy, t.UpdatedBy)
	for k, v := range t.Properties {
		set(PropTablePrefix+k, v)
	}
	if o, ok := owner(t.Owner); ok {
		f.Owners = []catalog.Owner{o}
	}

	cols := slices.Clone(t.Columns)
	slices.SortStableFunc(cols, func(a, b columnInfo) int { return cmp.Compare(position(a, -1), position(b, -1)) })
	var parts []columnInfo
	for i, c := range cols {
		typ := c.TypeText
		if typ == "" {
			typ = strings.ToLower(c.TypeName)
		}
		f.Columns = append(f.Columns, catalog.Column{
			Name:        c.Name,
			Ordinal:     position(c, i) + 1,
			Type:        typ,
			Nullable:    c.Nullable == nil || *c.Nullable,
			Description: c.Comment,
		})
		if c.PartitionIndex != nil {
			parts = append(parts, c)
		}
	}
	slices.SortStableFunc(parts, func(a, b columnInfo) int { return cmp.Compare(*a.PartitionIndex, *b.PartitionIndex) })
	for i, c := range parts {
		if i > 0 {
			f.PartitionKey += ", "
		}
		f.PartitionKey += c.Name
	}
	return f, warn
}

// position is a column's 0-based position, or def when the server gave
// none.
func position(c columnInfo, def int) int {
	if c.Position == nil {
		return def
	}
	return *c.Position
}

// servicePrincipal matches the application id that names a Databricks
// service principal.
var servicePrincipal = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// owner reads the owner of a securable: a user's e-mail address or a
// service principal's application id is a user, anything else names a
// group, which is a team. Databricks' "System user" owns what nobody does.
func owner(name string) (catalog.Owner, bool) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "System user":
		return catalog.Owner{}, false
	case strings.Contains(name, "@"), servicePrincipal.MatchString(name):
		return catalog.Owner{Name: name, Kind: catalog.OwnerUser, Type: "technical"}, true
	}
	return catalog.Owner{Name: name, Kind: catalog.OwnerTeam, Type: "technical"}, true
}

// viewDependencies asks for each view listed without view_dependencies
// on its own (GET /tables/{full_name}): Databricks leaves them out of its
// listings, so its views would have no job. A view that cannot be read
// is an error naming it; its dataset is reported all the same.
func (w *walker) viewDependencies(ctx context.Context, hv *catalog.Harvest, tables []tableInfo) {
	var views []int
	for i, t := range tables {
		if t.ViewDependencies == nil && t.ViewDefinition != "" {
			views = append(views, i)
		}
	}
	errs := make([]error, len(views))
	w.each(ctx, len(views), func(j int) {
		t := &tables[views[j]]
		var full tableInfo
		if errs[j] = w.c.get(ctx, APIPath+"/tables/"+t.fullName(), url.Values{}, &full); errs[j] == nil {
			t.ViewDependencies = full.ViewDependencies
		}
	})
	for j, err := range errs {
		if err != nil && ctx.Err() == nil {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: tables[views[j]].fullName(), Message: "get the view for its dependencies: " + err.Error()})
		}
	}
}

// viewJob returns the job of a view that lists its dependencies: it reads
// them and writes the view. Dependencies crawled are named by their key,
// others by their Unity Catalog name.
func (w *walker) viewJob(t tableInfo, keys map[string]catalog.Key) (catalog.JobFacts, bool) {
	if t.ViewDependencies == nil {
		return catalog.JobFacts{}, false
	}
	j := catalog.JobFacts{
		Key:     catalog.JobKey{Namespace: w.ns, Name: viewJobPrefix + t.fullName()},
		Type:    JobView,
		SQL:     t.ViewDefinition,
		Outputs: []catalog.Key{keys[t.fullName()]},
	}
	for _, d := range t.ViewDependencies.Dependencies {
		if d.Table == nil || d.Table.TableFullName == "" {
			continue
		}
		j.Inputs = append(j.Inputs, w.keyOf(d.Table.TableFullName, keys))
	}
	return j, len(j.Inputs) > 0
}

// keyOf is the key of the table named full: the crawled one's, else its
// Unity Catalog name.
func (w *walker) keyOf(full string, keys map[string]catalog.Key) catalog.Key {
	if k, ok := keys[full]; ok {
		return k
	}
	return catalog.Key{Namespace: w.ns, Name: full}
}
