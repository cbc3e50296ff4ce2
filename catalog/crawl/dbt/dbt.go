// Package dbt owns the dbt crawler: it reads the artifacts that dbt writes
// to a project's target directory (manifest.json, catalog.json,
// run_results.json and sources.json) and returns them as plain catalog
// values. It never writes to Almanac's store; the ingest step does.
//
// Models, seeds, snapshots and sources become datasets keyed under the
// warehouse namespace the configuration maps the dbt target to, named
// "database.schema.relation" after the relation dbt materializes (the
// node's alias, or name; a source's identifier), so that they merge with
// the datasets the warehouse's own crawler reports rather than duplicating
// them. dbt contributes what people write in it: descriptions, owners,
// tags, tests; the warehouse's crawler stays the authority on types (see
// catalog.Merge). Column types come from catalog.json when present.
//
// Models with compiled SQL also get column lineage, derived from that SQL
// (see lineage.ColumnLineage) with the columns catalog.json, the
// manifest, or the compiled SQL of upstream models give.
//
// Each model, seed and snapshot is also a job that writes its dataset and
// reads the datasets of the nodes it depends on; ephemeral models, which
// have no relation, are looked through to what they read. Jobs are keyed
// in a namespace of the source's own (Config.JobNamespace), so that two
// sources of one project never share one, and named as openlineage-dbt
// names them (see jobName). Exposures are jobs that read and write
// nothing: downstream consumers. Tests and unit tests are quality checks;
// run_results.json gives their results and the runs of the jobs, and
// sources.json gives freshness observations. The semantic layer's
// semantic models and metrics are datasets of their own kinds, saved
// queries jobs (see semantic.go). What the manifest holds that the crawler
// does not know is named in the crawl's warnings.
//
// Artifacts are decoded as a stream, one node at a time, so a manifest of
// thousands of models is never held in memory as a whole or as a generic
// tree. Manifest schema versions v1 (dbt 0.19) to v12 (dbt 1.8+) are read;
// other versions are read best effort with a warning.
package dbt

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"almanac/catalog"
	"almanac/catalog/slo"
)

// Platform is the platform name of every dataset the crawler reports.
const Platform = "dbt"

// DefaultJobNamespace returns the namespace of the jobs of the source
// whose provenance is source ("dbt:analytics") when Config.JobNamespace is
// empty: "dbt://analytics". Each source has its own, so that two sources
// of one project (a dev and a prod target, two versions) never share a job.
func DefaultJobNamespace(source string) string {
	return "dbt://" + strings.TrimPrefix(source, Platform+":")
}

// Artifact file names in a target directory.
const (
	ManifestFile   = "manifest.json"
	CatalogFile    = "catalog.json"
	RunResultsFile = "run_results.json"
	SourcesFile    = "sources.json"
)

// Config says what to crawl.
type Config struct {
	// Source is the provenance name, e.g. "dbt:analytics".
	Source string
	// TargetDirs are dbt target directories, each holding a manifest.json
	// and optionally catalog.json, run_results.json and sources.json.
	TargetDirs []string
	// Namespace is the OpenLineage namespace of the warehouse the dbt
	// target writes to, e.g. "postgres://warehouse.internal:5432": the
	// namespace the warehouse's own crawler uses. Required.
	Namespace string
	// Database, when set, replaces the database of every node, for when
	// the warehouse crawler knows the database by another name than the
	// dbt profile (or the profile has none, as with DuckDB files).
	Database string
	// JobNamespace is the namespace of the jobs; empty means
	// DefaultJobNamespace(Source). Set it to the OPENLINEAGE_NAMESPACE
	// that dbt-ol runs of the same target use, so that their runs land on
	// the jobs the crawler reports (see jobName). No two sources may share
	// one.
	JobNamespace string
	// Teams lists owner names (as written in meta.owner) that are teams
	// rather than people. See ownerOf for the other rules.
	Teams []string
}

// Property keys the crawler sets on datasets and jobs.
const (
	PropUniqueID         = "unique_id"
	PropResourceType     = "resource_type"
	PropMaterialization  = "materialization"
	PropPackage          = "package"
	PropPath             = "path"
	PropDBTVersion       = "dbt_version"
	PropSchemaVersion    = "dbt_schema_version"
	PropSourceName       = "source_name"
	PropLoader           = "loader"
	PropExposureType     = "exposure_type"
	PropURL              = "url"
	PropMaturity         = "maturity"
	PropOwnerName        = "owner_name"
	PropOwnerEmail       = "owner_email"
	PropLabel            = "label"
	PropTestKwargs       = "kwargs"
	PropDependsOnUnknown = "depends_on_unknown"
	// PropSLO holds the SLOs a model or source declares in meta.slo (see
	// slo.Declaration), as a JSON list, for the store to evaluate.
	PropSLO = "slo"
)

// Crawl reads every target directory of cfg and returns what it found.
//
// What could not be read is reported in Harvest.Errors, naming the file
// and, for malformed JSON, the byte offset and the member: a truncated
// manifest yields the nodes before the damage; a missing catalog.json
// yields datasets without column types; an unknown manifest schema version
// is read best effort. The harvest carries scopes (so that the ingest marks
// removed what dbt no longer reports) only when every manifest was read to
// its end.
//
// Crawl returns an error only when nothing could be read: an invalid
// Config, or no manifest could be opened.
func Crawl(ctx context.Context, cfg Config) (catalog.Harvest, error) {
	hv := catalog.Harvest{Source: cfg.Source}
	fail := func(err error) (catalog.Harvest, error) {
		hv.Errors = append(hv.Errors, catalog.CrawlError{Object: "config", Message: err.Error()})
		return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
	}
	switch {
	case cfg.Source == "":
		return fail(fmt.Errorf("empty source name: %w", catalog.ErrInvalid))
	case cfg.Namespace == "":
		return fail(fmt.Errorf("empty warehouse namespace: %w", catalog.ErrInvalid))
	case len(cfg.TargetDirs) == 0:
		return fail(fmt.Errorf("no target directories: %w", catalog.ErrInvalid))
	}
	c := &crawler{cfg: cfg, hv: &hv, datasets: map[catalog.Key]int{}}
	if c.cfg.JobNamespace == "" {
		c.cfg.JobNamespace = DefaultJobNamespace(cfg.Source)
	}
	complete, read := true, 0
	var failures []error
	for _, dir := range cfg.TargetDirs {
		ok, err := c.target(ctx, dir)
		if err != nil {
			failures = append(failures, err)
			complete = false
			continue
		}
		read++
		complete = complete && ok
	}
	if err := ctx.Err(); err != nil {
		return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
	}
	if read == 0 {
		return hv, fmt.Errorf("crawl %s: no manifest could be read: %w", cfg.Source, errors.Join(failures...))
	}
	if complete {
		// The source's jobs are all in the harvest: those it reported
		// before under other keys (the namespace "dbt" and unique_id names
		// of earlier versions, or another job_namespace) are gone.
		hv.Scopes = []catalog.Scope{{Namespace: cfg.Namespace}, {Namespace: c.cfg.JobNamespace}}
		hv.JobsComplete = true
	}
	return hv, nil
}

type crawler struct {
	cfg      Config
	hv       *catalog.Harvest
	datasets map[catalog.Key]int // index in hv.Datasets, across target directories
	// jobs are the jobs of the target being read, by unique_id, for its
	// run results.
	jobs map[string]catalog.JobKey
}

func (c *crawler) warn(object, format string, args ...any) {
	// Errors of the readers name the file, which is already the object.
	msg := strings.TrimPrefix(fmt.Sprintf(format, args...), object+": ")
	c.hv.Errors = append(c.hv.Errors, catalog.CrawlError{Object: object, Message: msg})
}

// target reads one target directory. It reports whether the manifest was
// read completely; an error means the manifest could not be opened.
func (c *crawler) target(ctx context.Context, dir string) (complete bool, err error) {
	path := filepath.Join(dir, ManifestFile)
	f, err := os.Open(path)
	if err != nil {
		c.warn(path, "%v", unwrapPath(err))
		return false, err
	}
	m, merr := readManifest(ctx, path, f)
	f.Close()
	if merr != nil && len(m.order) == 0 {
		c.warn(path, "%v", merr)
		return false, merr
	}
	if merr != nil {
		c.warn(path, "%v; the %d nodes read before are harvested", merr, len(m.order))
	}
	for _, w := range m.warnings {
		c.warn(path, "%s", w)
	}
	if w := m.meta.checkVersion(path); w != "" {
		c.warn(path, "%s", w)
	}

	c.reportUnread(path, m)
	cat := c.readCatalog(ctx, dir)
	c.jobs = map[string]catalog.JobKey{}
	c.convert(m, cat)
	c.columnLineage(m, cat)
	// Results and freshness need the manifest to map ids to datasets; what
	// was read of it is enough.
	c.readRunResults(ctx, dir, m)
	c.readSources(ctx, dir, m)
	return m.complete && merr == nil, nil
}

// unwrapPath drops the *PathError wrapping, whose path the error's object
// already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (c *crawler) readCatalog(ctx context.Context, dir string) map[string]*catalogEntry {
	path := filepath.Join(dir, CatalogFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.warn(path, "not found: column types are unknown (run `dbt docs generate` to write it)")
		return nil
	}
	if err != nil {
		c.warn(path, "%v", unwrapPath(err))
		return nil
	}
	defer f.Close()
	cat, warnings, err := readCatalog(ctx, path, f)
	for _, w := range warnings {
		c.warn(path, "%s", w)
	}
	if err != nil {
		c.warn(path, "%v; column types of the nodes after it are unknown", err)
	}
	return cat
}

func (c *crawler) readSources(ctx context.Context, dir string, m *manifest) {
	path := filepath.Join(dir, SourcesFile)
	f := c.openOptional(path)
	if f == nil {
		return
	}
	defer f.Close()
	var pending []*freshnessResult
	meta, warnings, err := readResults(ctx, path, f, func(r *freshnessResult) { pending = append(pending, r) })
	for _, w := range warnings {
		c.warn(path, "%s", w)
	}
	if err != nil {
		c.warn(path, "%v; the observations before it are harvested", err)
	}
	generated, _ := parseTime(meta.GeneratedAt)
	var unknown []string
	for _, r := range pending {
		n := m.nodes[r.UniqueID]
		if n == nil || n.ResourceType != "source" {
			unknown = append(unknown, r.UniqueID)
			continue
		}
		o := catalog.FreshnessObservation{
			Dataset: c.key(n), Status: strings.ToLower(r.Status), RunID: meta.runID(), Message: r.Error.s,
			WarnAfter: r.Criteria.WarnAfter.String(), ErrorAfter: r.Criteria.ErrorAfter.String(),
		}
		if r.Criteria.Filter != nil {
			o.Criteria = "filter: " + *r.Criteria.Filter
		}
		if t, ok := parseTime(r.MaxLoadedAt); ok {
			o.MaxLoadedAt = &t
		}
		o.ObservedAt, _ = parseTime(r.SnapshottedAt)
		if o.ObservedAt.IsZero() {
			_, o.ObservedAt = phase(r.Timing, "execute")
		}
		if o.ObservedAt.IsZero() {
			o.ObservedAt = generated
		}
		if err := o.Validate(); err != nil {
			c.warn(path, "freshness of %s: %v; skipped", r.UniqueID, err)
			continue
		}
		c.hv.Freshness = append(c.hv.Freshness, o)
	}
	if len(unknown) > 0 && m.complete {
		c.warn(path, "%d freshness results name sources the manifest does not have (first %s); skipped", len(unknown), unknown[0])
	}
}

// key is the dataset key of the relation a node materializes, or of a
// semantic model or metric.
func (c *crawler) key(n *node) catalog.Key {
	if n.ResourceType == "semantic_model" || n.ResourceType == "metric" {
		return c.semanticKey(n)
	}
	db := n.Database
	if c.cfg.Database != "" {
		db = c.cfg.Database
	}
	rel := cmp.Or(n.Alias, n.Name)
	if n.ResourceType == "source" {
		rel = cmp.Or(n.Identifier, n.Name)
	}
	var parts []string
	for _, p := range []string{db, n.Schema, rel} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return catalog.Key{Namespace: c.cfg.Namespace, Name: strings.Join(parts, ".")}
}

// isDataset reports whether a node is a dataset: a relation in the
// warehouse, a semantic model or a metric.
func isDataset(n *node) bool {
	switch n.ResourceType {
	case "model":
		return n.Config.Materialized != "ephemeral"
	case "seed", "snapshot", "source", "semantic_model", "metric":
		return true
	}
	return false
}

// inputs resolves a node's depends_on to dataset keys, looking through
// ephemeral models. It returns the ids it could not resolve.
func (c *crawler) inputs(m *manifest, n *node) (keys []catalog.Key, unknown []string) {
	seen := map[string]bool{}
	var walk func(ids []string)
	walk = func(ids []string) {
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			dep := m.nodes[id]
			switch {
			case dep == nil:
				if !notNode(id) {
					unknown = append(unknown, id)
				}
			case isDataset(dep):
				keys = append(keys, c.key(dep))
			case dep.ResourceType == "model": // ephemeral
				walk(dep.DependsOn.Nodes)
			}
		}
	}
	walk(n.DependsOn.Nodes)
	return keys, unknown
}

// convert turns the nodes of a manifest into datasets, jobs and checks.
func (c *crawler) convert(m *manifest, cat map[string]*catalogEntry) {
	for _, id := range m.order {
		n := m.nodes[id]
		switch n.ResourceType {
		case "test":
			c.check(m, n)
		case "unit_test":
			c.unitTest(m, n)
		case "exposure":
			c.exposure(m, n)
		case "semantic_model":
			c.semanticModel(m, n)
		case "metric":
			c.metric(m, n)
		case "saved_query":
			c.savedQuery(m, n)
		default:
			if isDataset(n) {
				c.dataset(m, n, cat[id])
			}
		}
	}
}

func (c *crawler) dataset(m *manifest, n *node, ce *catalogEntry) {
	key := c.key(n)
	props := c.nodeProps(m, n)
	if n.Config.Materialized != "" {
		props[PropMaterialization] = n.Config.Materialized
	}
	if n.ResourceType == "source" {
		props[PropSourceName], props[PropLoader] = n.SourceName, n.Loader
	}
	props[PropSLO] = c.slos(n, key)
	dropEmpty(props)
	f := catalog.DatasetFacts{
		Key: key, Platform: Platform, Kind: kindOf(n, ce), Description: n.Description, Properties: props,
		Columns: columns(n, ce), Tags: tags(n), Owners: c.owners(m, n),
	}
	if ce != nil {
		f.RowEstimate = ce.stat("row_count", "num_rows", "rows")
		f.SizeBytes = ce.stat("bytes", "num_bytes", "size_bytes")
	}
	c.addDataset(f)

	if n.ResourceType == "source" {
		return
	}
	job := catalog.JobFacts{
		Key:         catalog.JobKey{Namespace: c.cfg.JobNamespace, Name: jobName(n)},
		Type:        "dbt_" + n.ResourceType,
		Description: n.Description, SQL: n.rawSQL(), CompiledSQL: n.compiledSQL(),
		Properties: map[string]string{
			PropUniqueID: n.UniqueID, PropMaterialization: n.Config.Materialized, PropPackage: n.PackageName, PropPath: n.OriginalFilePath,
		},
		Outputs: []catalog.Key{key},
	}
	c.finishJob(m, n, &job)
}

// jobName names the job of a model, seed or snapshot as openlineage-dbt
// (dbt-ol) names it: "database.schema." and the unique_id without its
// "model." prefix ("analytics.marts.jaffle_shop.orders"); a snapshot's
// ends in ".snapshot", a seed's keeps its "seed." prefix. The database and
// schema are the manifest's, as dbt-ol reads them, whatever
// Config.Database says. (dbt-ol adds ".build.run" under `dbt build`: those
// runs land on jobs of their own.)
func jobName(n *node) string {
	id := n.UniqueID
	switch n.ResourceType {
	case "model":
		id = strings.TrimPrefix(id, "model.")
	case "snapshot":
		id = strings.TrimPrefix(id, "snapshot.") + ".snapshot"
	}
	var parts []string
	for _, p := range []string{n.Database, n.Schema, id} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// addDataset adds f to the harvest, or merges it into the dataset of the
// same key: two nodes name one relation, typically a seed and the source
// declared over the table it loads, or a model and the export of a saved
// query. They describe one dataset.
func (c *crawler) addDataset(f catalog.DatasetFacts) {
	if i, dup := c.datasets[f.Key]; dup {
		mergeFacts(&c.hv.Datasets[i], f)
		return
	}
	c.datasets[f.Key] = len(c.hv.Datasets)
	c.hv.Datasets = append(c.hv.Datasets, f)
}

func (c *crawler) exposure(m *manifest, n *node) {
	job := catalog.JobFacts{
		Key:         catalog.JobKey{Namespace: c.cfg.JobNamespace, Name: n.UniqueID},
		Type:        catalog.JobDBTExposure,
		Description: n.Description,
		Properties: map[string]string{
			PropExposureType: n.Type, PropURL: n.URL, PropMaturity: n.Maturity, PropLabel: n.Label,
			PropOwnerName: n.Owner.Name, PropOwnerEmail: strings.Join(n.Owner.Email, ", "), PropPackage: n.PackageName, PropPath: n.OriginalFilePath,
		},
	}
	c.finishJob(m, n, &job)
}

func (c *crawler) finishJob(m *manifest, n *node, job *catalog.JobFacts) {
	var unknown []string
	job.Inputs, unknown = c.inputs(m, n)
	if len(unknown) > 0 {
		slices.Sort(unknown)
		job.Properties[PropDependsOnUnknown] = strings.Join(unknown, ", ")
		if m.complete {
			c.warn(n.UniqueID, "depends on %s, which the manifest does not have", strings.Join(unknown, ", "))
		}
	}
	dropEmpty(job.Properties)
	c.hv.Jobs = append(c.hv.Jobs, *job)
	if c.jobs == nil {
		c.jobs = map[string]catalog.JobKey{}
	}
	c.jobs[n.UniqueID] = job.Key
}

// kindOf maps a node to a dataset kind: by materialization for what dbt
// builds, by the warehouse's relation type (catalog.json) for sources.
// Seeds and snapshots are tables; custom materializations are models.
func kindOf(n *node, ce *catalogEntry) catalog.Kind {
	switch n.ResourceType {
	case "seed", "snapshot":
		return catalog.KindTable
	case "source":
		if ce != nil {
			switch t := strings.ToLower(ce.Metadata.Type); {
			case strings.Contains(t, "materialized"):
				return catalog.KindMaterializedView
			case strings.Contains(t, "view"):
				return catalog.KindView
			}
		}
		return catalog.KindTable
	}
	switch n.Config.Materialized {
	case "table", "incremental", "snapshot", "seed":
		return catalog.KindTable
	case "view":
		return catalog.KindView
	case "materialized_view", "materializedview":
		return catalog.KindMaterializedView
	}
	return catalog.KindModel
}

// columns merges the documented columns of the manifest with the columns
// the warehouse reported in catalog.json (matched case-insensitively, since
// warehouses such as Snowflake upper-case them). Types come from
// catalog.json, or from a declared data_type; ordinals from catalog.json,
// with documented columns it lacks numbered after. dbt does not know
// nullability, so every column is reported nullable.
func columns(n *node, ce *catalogEntry) []catalog.Column {
	var out []catalog.Column
	byName := map[string]int{}
	if ce != nil {
		for name, cc := range ce.Columns {
			out = append(out, catalog.Column{Name: cmp.Or(cc.Name, name), Ordinal: cc.Index, Type: cc.Type, Nullable: true})
		}
		slices.SortFunc(out, func(a, b catalog.Column) int {
			return cmp.Or(cmp.Compare(a.Ordinal, b.Ordinal), strings.Compare(a.Name, b.Name))
		})
		for i, c := range out {
			byName[strings.ToLower(c.Name)] = i
		}
	}
	next := 0
	for _, c := range out {
		next = max(next, c.Ordinal)
	}
	for _, mc := range n.Columns {
		if mc.Name == "" {
			continue
		}
		if i, ok := byName[strings.ToLower(mc.Name)]; ok {
			out[i].Description = mc.Description
			if out[i].Type == "" {
				out[i].Type = mc.DataType
			}
			continue
		}
		next++
		byName[strings.ToLower(mc.Name)] = len(out)
		out = append(out, catalog.Column{Name: mc.Name, Ordinal: next, Type: mc.DataType, Nullable: true, Description: mc.Description})
	}
	return out
}

func tags(n *node) []string {
	t := append(slices.Clone([]string(n.Tags)), n.Config.Tags...)
	slices.Sort(t)
	return slices.Compact(t)
}

// slos reads the SLOs of meta.slo and config.meta.slo, warning of each
// one that is not valid (naming its key), and returns the valid ones as
// a JSON list; "" when there are none.
func (c *crawler) slos(n *node, key catalog.Key) string {
	var out []slo.Declaration
	seen := map[string]bool{}
	for _, where := range []struct {
		path string
		meta map[string]json.RawMessage
	}{{"config.meta.slo", n.Config.Meta}, {"meta.slo", n.Meta}} {
		raw, ok := where.meta["slo"]
		if !ok {
			continue
		}
		decls, err := slo.ParseDeclarations(raw)
		if err != nil {
			c.warn(n.UniqueID, "%s: %v", where.path, err)
			continue
		}
		for i, d := range decls {
			if _, err := d.Build(key, "", ""); err != nil {
				c.warn(n.UniqueID, "%s[%d].%v; skipped", where.path, i, err)
				continue
			}
			if seen[d.Name] { // config.meta repeats meta in dbt 1.x manifests
				continue
			}
			seen[d.Name] = true
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return ""
	}
	b, _ := json.Marshal(out) // declarations always marshal
	return string(b)
}

// owners reads meta.owner and config.meta.owner (a string or a list),
// and the owner of the node's group.
func (c *crawler) owners(m *manifest, n *node) []catalog.Owner {
	var out []catalog.Owner
	for _, meta := range []map[string]json.RawMessage{n.Meta, n.Config.Meta} {
		raw, ok := meta["owner"]
		if !ok {
			continue
		}
		var names stringList
		if err := json.Unmarshal(raw, &names); err != nil {
			c.warn(n.UniqueID, "meta.owner: want a string or a list of strings, got %s", truncate(string(raw), 60))
			continue
		}
		for _, name := range names {
			if o, ok := c.ownerOf(name); ok && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	if o, ok := c.groupOwner(m, n); ok && !slices.Contains(out, o) {
		out = append(out, o)
	}
	return out
}

var teamWord = regexp.MustCompile(`(?i)(^|[^a-z])(team|squad|group)([^a-z]|$)`)

// ownerOf reads one owner. The rule: a name listed in Config.Teams, one
// prefixed "team:" or "group:" (prefix dropped), or one containing the
// word team, squad or group ("data-team", "Team Finance") is a team;
// anything else, an e-mail address or a plain name, is a person. The
// ownership type is "technical": dbt owners maintain the model.
func (c *crawler) ownerOf(name string) (catalog.Owner, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return catalog.Owner{}, false
	}
	o := catalog.Owner{Name: name, Kind: catalog.OwnerUser, Type: "technical"}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "team:"), strings.HasPrefix(lower, "group:"):
		_, o.Name, _ = strings.Cut(name, ":")
		o.Name, o.Kind = strings.TrimSpace(o.Name), catalog.OwnerTeam
	case slices.Contains(c.cfg.Teams, name):
		o.Kind = catalog.OwnerTeam
	case !strings.Contains(name, "@") && teamWord.MatchString(name):
		o.Kind = catalog.OwnerTeam
	}
	return o, o.Name != ""
}

var (
	refRE    = regexp.MustCompile(`ref\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?`)
	sourceRE = regexp.MustCompile(`source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]`)
)

// testDataset finds the dataset a test checks: attached_node (dbt 1.5+),
// else the node the test's model argument (a unit test's model) names,
// else its first dataset dependency.
func (c *crawler) testDataset(m *manifest, n *node) (catalog.Key, bool) {
	if a := m.nodes[n.AttachedNode]; a != nil && isDataset(a) {
		return c.key(a), true
	}
	var deps []*node
	for _, id := range n.DependsOn.Nodes {
		if d := m.nodes[id]; d != nil && isDataset(d) {
			deps = append(deps, d)
		}
	}
	if n.TestMetadata != nil {
		var model string
		_ = json.Unmarshal(n.TestMetadata.Kwargs["model"], &model)
		if sm := sourceRE.FindStringSubmatch(model); sm != nil {
			for _, d := range deps {
				if d.ResourceType == "source" && d.SourceName == sm[1] && d.Name == sm[2] {
					return c.key(d), true
				}
			}
		}
		if sm := refRE.FindStringSubmatch(model); sm != nil {
			name := sm[1]
			if sm[2] != "" {
				name = sm[2] // ref('package', 'model')
			}
			for _, d := range deps {
				if d.ResourceType != "source" && d.Name == name {
					return c.key(d), true
				}
			}
		}
	}
	if n.Model != "" && n.ResourceType == "unit_test" {
		for _, d := range deps {
			if d.ResourceType == "model" && d.Name == n.Model {
				return c.key(d), true
			}
		}
	}
	if len(deps) > 0 {
		return c.key(deps[0]), true
	}
	return catalog.Key{}, false
}

func (c *crawler) check(m *manifest, n *node) {
	ds, ok := c.testDataset(m, n)
	if !ok {
		if m.complete {
			c.warn(n.UniqueID, "test depends on no model, seed, snapshot or source; skipped")
		}
		return
	}
	qc := catalog.QualityCheck{
		Dataset: ds, Column: n.ColumnName, Name: n.UniqueID, Type: "singular",
		Severity:   strings.ToLower(cmp.Or(n.Config.Severity, "error")),
		Definition: cmp.Or(n.compiledSQL(), n.rawSQL()),
		Properties: map[string]string{PropPackage: n.PackageName, PropPath: n.OriginalFilePath},
	}
	if tm := n.TestMetadata; tm != nil && tm.Name != "" {
		qc.Type = tm.Name
		if tm.Namespace != "" {
			qc.Type = tm.Namespace + "." + tm.Name
		}
		if qc.Column == "" {
			_ = json.Unmarshal(tm.Kwargs["column_name"], &qc.Column)
		}
		args := map[string]json.RawMessage{}
		for k, v := range tm.Kwargs {
			if k != "model" && k != "column_name" {
				args[k] = v
			}
		}
		if len(args) > 0 {
			b, _ := json.Marshal(args) // sorted keys: stable
			qc.Properties[PropTestKwargs] = string(b)
		}
	}
	dropEmpty(qc.Properties)
	c.hv.Checks = append(c.hv.Checks, qc)
}

// mergeFacts adds to d what another node naming the same relation says:
// the first non-empty description, columns and their descriptions it
// lacks, tags, owners and properties. PropUniqueID lists both nodes.
func mergeFacts(d *catalog.DatasetFacts, o catalog.DatasetFacts) {
	d.Description = cmp.Or(d.Description, o.Description)
	for _, oc := range o.Columns {
		i := slices.IndexFunc(d.Columns, func(c catalog.Column) bool { return strings.EqualFold(c.Name, oc.Name) })
		if i < 0 {
			oc.Ordinal = len(d.Columns) + 1
			for _, c := range d.Columns {
				oc.Ordinal = max(oc.Ordinal, c.Ordinal+1)
			}
			d.Columns = append(d.Columns, oc)
			continue
		}
		d.Columns[i].Description = cmp.Or(d.Columns[i].Description, oc.Description)
		d.Columns[i].Type = cmp.Or(d.Columns[i].Type, oc.Type)
	}
	d.Tags = append(d.Tags, o.Tags...)
	slices.Sort(d.Tags)
	d.Tags = slices.Compact(d.Tags)
	for _, ow := range o.Owners {
		if !slices.Contains(d.Owners, ow) {
			d.Owners = append(d.Owners, ow)
		}
	}
	ids := append(strings.Split(d.Properties[PropUniqueID], ", "), o.Properties[PropUniqueID])
	for k, v := range o.Properties {
		if _, ok := d.Properties[k]; !ok {
			d.Properties[k] = v
		}
	}
	slices.Sort(ids)
	d.Properties[PropUniqueID] = strings.Join(slices.Compact(ids), ", ")
}

// dropEmpty deletes the properties without a value.
func dropEmpty(props map[string]string) {
	maps.DeleteFunc(props, func(_, v string) bool { return v == "" })
}

// openOptional opens an artifact a target may lack: nil when it is absent,
// and a warning besides when it exists but cannot be read.
func (c *crawler) openOptional(path string) *os.File {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		c.warn(path, "%v", unwrapPath(err))
		return nil
	}
	return f
}
