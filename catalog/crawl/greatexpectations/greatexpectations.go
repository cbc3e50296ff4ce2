// Package greatexpectations owns the Great Expectations crawler: it reads
// the validation results that Great Expectations (0.x and GX 1.x) writes
// to its validations store (uncommitted/validations/…) or that a
// checkpoint run is saved as, and returns them as quality checks and
// check results. It never writes to Almanac's store; the ingest step does.
//
// Each expectation of a validated suite is a catalog.QualityCheck on the
// dataset the validation's batch came from, and each outcome of it a
// catalog.QualityResult of the validation's run. Results are history:
// every file read adds the results it holds, and a validation found twice
// (in the store and in a saved checkpoint result) is recorded once. The
// checks are those of the newest validation of each suite on each
// dataset, so an expectation removed from a suite is no longer a check
// (its past results stay).
//
// # Datasets
//
// Great Expectations names batches, not datasets, so the configuration
// says which namespace they live in (Config.Namespace, the warehouse's
// OpenLineage namespace, like a dbt source's), and the name is taken from
// the first of these the validation's meta holds (see datasetOf):
//
//  1. a table: batch_spec.table_name (1.x, 0.13+) or batch_kwargs.table
//     (0.x), with schema_name or schema before it and Config.Database
//     before both: "database.schema.table";
//  2. the data asset: active_batch_definition.data_asset_name or
//     batch_kwargs.data_asset_name (meta.data_asset_name in 0.10 and
//     before; of 0.8's datasource/generator/asset, the asset), after
//     Config.Database — a file asset rather than each file it batches, a
//     query asset;
//  3. a file without an asset: batch_spec.path or batch_kwargs.path (or
//     s3), as it is;
//  4. the suite's name, after Config.Database: the last resort for
//     validations of data that has no name (an in-memory data frame), so
//     that their checks still land on one dataset run after run.
//
// The check's "dataset_from" property says which it was.
//
// # Checks and results
//
// A check's name is "<suite>: <expectation type>(<column>) on <dataset>",
// with " #<hash of its kwargs>" before " on" when a suite holds two
// expectations of one type on one column. Its definition is its kwargs as
// JSON, without those that vary by run (result_format, catch_exceptions,
// include_config, and 1.x's batch_id); its severity is GX 1.x's
// (critical, warning, info).
//
// A result is an error when its exception_info says an exception was
// raised, a pass when success is true, and a failure otherwise — a warning
// when its severity is warning or info. Failures is result.unexpected_count,
// Observed result.observed_value as JSON. The run id is Great Expectations'
// own ValidationResultIdentifier, "<suite path>/<run name>/<run
// time>/<batch id>": a checkpoint result's run_results key, a store file's
// path, or built from the meta of a standalone file.
//
// A file that is not JSON, or JSON of another layout, is a crawl error
// naming the file; the other files are read on.
package greatexpectations

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// Config says what to crawl.
type Config struct {
	// Source is the provenance name, e.g. "great_expectations:warehouse".
	Source string
	// Paths are directories searched for *.json validation results (a
	// validations store, a folder of saved checkpoint results), or single
	// files.
	Paths []string
	// Namespace is the OpenLineage namespace of the datasets the
	// validations ran on, e.g. "postgres://warehouse.internal:5432": the
	// one the warehouse's own crawler uses. Required.
	Namespace string
	// Database, when set, is put before the schema and table names Great
	// Expectations reports (which do not include the database), and
	// before data asset and suite names, so that the datasets are named
	// as the warehouse crawler names them ("database.schema.table").
	Database string
}

// Property keys the crawler sets on checks.
const (
	PropSuite         = "suite"
	PropDatasource    = "datasource"
	PropDataAsset     = "data_asset"
	PropDatasetFrom   = "dataset_from"
	PropExpectationID = "expectation_id"
	PropDescription   = "description"
)

// Values of PropDatasetFrom: where the dataset's name came from.
const (
	FromTable     = "table"
	FromPath      = "path"
	FromDataAsset = "data_asset"
	FromSuite     = "suite"
)

// Crawl reads every *.json file under cfg.Paths and returns the checks
// and results it found.
//
// Files that could not be read or are of no known layout are reported in
// Harvest.Errors, naming the file; the harvest carries a scope over
// cfg.Namespace (so that the ingest marks removed the checks no longer
// reported) only when every file was read without error.
//
// Crawl returns an error only when nothing could be read: an invalid
// Config, or no path could be opened.
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
		return fail(fmt.Errorf("empty dataset namespace: %w", catalog.ErrInvalid))
	case len(cfg.Paths) == 0:
		return fail(fmt.Errorf("no paths to read: %w", catalog.ErrInvalid))
	}
	c := &crawler{cfg: cfg, hv: &hv, suites: map[suiteKey]*suiteChecks{}, results: map[[2]string]bool{}}
	read := 0
	var failures []error
	for _, root := range cfg.Paths {
		files, err := jsonFiles(root)
		if err != nil {
			c.warn(root, "%v", err)
			failures = append(failures, err)
			continue
		}
		read++
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
			}
			c.file(f)
		}
	}
	if read == 0 {
		return hv, fmt.Errorf("crawl %s: no path could be read: %w", cfg.Source, errors.Join(failures...))
	}
	c.finish()
	if len(hv.Errors) == 0 {
		hv.Scopes = []catalog.Scope{{Namespace: cfg.Namespace}}
	}
	return hv, nil
}

// jsonFiles lists the *.json files under root in lexical order, skipping
// hidden folders, or root itself when it is a file.
func jsonFiles(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, unwrapPath(err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".json") && d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, unwrapPath(err)
	}
	return files, nil
}

// unwrapPath drops the *PathError wrapper, whose path the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

type crawler struct {
	cfg Config
	hv  *catalog.Harvest
	// suites holds the checks of the newest validation of each suite on
	// each dataset.
	suites  map[suiteKey]*suiteChecks
	results map[[2]string]bool // (check, run) recorded
}

type suiteKey struct {
	suite   string
	dataset catalog.Key
}

type suiteChecks struct {
	at     time.Time
	checks []catalog.QualityCheck
}

func (c *crawler) warn(object, format string, args ...any) {
	c.hv.Errors = append(c.hv.Errors, catalog.CrawlError{Object: object, Message: fmt.Sprintf(format, args...)})
}

// file reads the validations of one file.
func (c *crawler) file(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		c.warn(path, "%v", errors.Unwrap(err))
		return
	}
	vs, err := decode(data)
	if err != nil {
		c.warn(path, "%v", err)
		return
	}
	for _, v := range vs {
		if err := c.validation(path, v); err != nil {
			if v.Key != "" {
				err = fmt.Errorf("run_results[%q]: %w", v.Key, err)
			}
			c.warn(path, "%v", err)
		}
	}
}

// validation turns one suite validation result into checks and results.
func (c *crawler) validation(path string, v validation) error {
	r, m := v.Result, v.Result.Meta
	suite := cmp.Or(r.SuiteName, m.SuiteName)
	if suite == "" {
		return errors.New("no suite name (suite_name or meta.expectation_suite_name)")
	}
	run, err := parseRunID(m.RunID)
	if err != nil {
		return err
	}
	at := run.Time
	if m.ValidationTime != "" {
		t, err := parseTime(m.ValidationTime)
		if err != nil {
			return fmt.Errorf("meta.validation_time: %w", err)
		}
		at = t
	}
	if at.IsZero() {
		return errors.New("no meta.validation_time or run_id.run_time: the results cannot be placed in time")
	}
	if run.Time.IsZero() {
		run.Time = at
	}
	ds, from := c.datasetOf(m, suite)
	if err := ds.Validate(); err != nil {
		return err
	}
	runID := v.Key
	if runID == "" {
		runID = storeKey(path, suite)
	}
	if runID == "" {
		batch := cmp.Or(stringOf(m.BatchKwargs, "ge_batch_id"), kwargsBatchID(r.Results), r.ID, "__none__")
		runID = strings.ReplaceAll(suite, ".", "/") + "/" + cmp.Or(run.Name, "__none__") + "/" + compactTime(run.Time) + "/" + batch
	}

	props := map[string]string{PropSuite: suite, PropDatasetFrom: from}
	if s := cmp.Or(activeBatch(m).Datasource, stringOf(m.BatchKwargs, "datasource"), stringOf(m.BatchSpec, "datasource_name")); s != "" {
		props[PropDatasource] = s
	}
	if s := dataAsset(m); s != "" {
		props[PropDataAsset] = s
	}

	// Name the checks first: two expectations of one type on one column
	// get their kwargs' hash in their names.
	type expectation struct {
		res        expectationResult
		typ        string
		column     string
		definition string
		base       string
	}
	exps := make([]expectation, 0, len(r.Results))
	count := map[string]int{}
	var problems []string
	for i, er := range r.Results {
		if er.Config == nil || er.Config.typeName() == "" {
			problems = append(problems, fmt.Sprintf("results[%d]: no expectation_config type", i))
			continue
		}
		def, column, err := definition(er.Config.Kwargs)
		if err != nil {
			problems = append(problems, fmt.Sprintf("results[%d] (%s): %v", i, er.Config.typeName(), err))
			continue
		}
		e := expectation{res: er, typ: er.Config.typeName(), column: column, definition: def}
		e.base = suite + ": " + e.typ
		if column != "" {
			e.base += "(" + column + ")"
		}
		count[e.base]++
		exps = append(exps, e)
	}
	checks := make([]catalog.QualityCheck, 0, len(exps))
	for _, e := range exps {
		name := e.base
		if count[e.base] > 1 {
			sum := sha256.Sum256([]byte(e.definition))
			name += " #" + hex.EncodeToString(sum[:4])
		}
		name += " on " + ds.Name
		cfg := e.res.Config
		check := catalog.QualityCheck{
			Dataset: ds, Column: e.column, Name: name, Type: e.typ,
			Severity: cfg.Severity, Definition: e.definition, Properties: maps.Clone(props),
		}
		if cfg.ID != "" {
			check.Properties[PropExpectationID] = cfg.ID
		}
		if cfg.Description != "" {
			check.Properties[PropDescription] = cfg.Description
		}
		checks = append(checks, check)
		c.result(check, e.res, runID, at)
	}

	k := suiteKey{suite, ds}
	if prev, ok := c.suites[k]; !ok || !at.Before(prev.at) {
		c.suites[k] = &suiteChecks{at: at, checks: checks}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// result records the outcome of one expectation in one run, once.
func (c *crawler) result(check catalog.QualityCheck, er expectationResult, runID string, at time.Time) {
	k := [2]string{check.Name, runID}
	if c.results[k] {
		return
	}
	c.results[k] = true
	res := catalog.QualityResult{Check: check.Name, Dataset: check.Dataset, StartedAt: at, RunID: runID}
	raised, msg := exception(er.ExceptionInfo)
	switch {
	case raised:
		res.Status, res.Message = catalog.QualityError, msg
	case er.Success == nil:
		res.Status = catalog.QualitySkipped
	case *er.Success:
		res.Status = catalog.QualityPass
	case check.Severity == "warning" || check.Severity == "info":
		res.Status = catalog.QualityWarn
	default:
		res.Status = catalog.QualityFail
	}
	if raw, ok := er.Result["observed_value"]; ok && string(raw) != "null" {
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			res.Observed = b.String()
		}
	}
	unexpected, hasUnexpected := integer(er.Result["unexpected_count"])
	if hasUnexpected {
		res.Failures = &unexpected
	}
	if res.Status == catalog.QualityFail || res.Status == catalog.QualityWarn {
		res.Message = summary(er.Result, res.Observed)
	}
	c.hv.Results = append(c.hv.Results, res)
}

// summary says in words what a failed expectation found.
func summary(result map[string]json.RawMessage, observed string) string {
	unexpected, ok := integer(result["unexpected_count"])
	if !ok {
		if observed != "" {
			return "observed " + observed
		}
		return ""
	}
	elements, ok := integer(result["element_count"])
	if !ok || elements == 0 {
		return fmt.Sprintf("%d unexpected values", unexpected)
	}
	pct := strconv.FormatFloat(float64(unexpected)/float64(elements)*100, 'f', 2, 64)
	return fmt.Sprintf("%d unexpected values of %d (%s %%)", unexpected, elements, pct)
}

// finish adds the checks of the newest validation of each suite on each
// dataset, in name order.
func (c *crawler) finish() {
	seen := map[string]bool{}
	for _, sc := range c.suites {
		for _, ch := range sc.checks {
			if !seen[ch.Name] {
				seen[ch.Name] = true
				c.hv.Checks = append(c.hv.Checks, ch)
			}
		}
	}
	slices.SortFunc(c.hv.Checks, func(a, b catalog.QualityCheck) int { return strings.Compare(a.Name, b.Name) })
}

// datasetOf returns the dataset a validation ran on and where its name
// came from (a From constant). See the package documentation.
func (c *crawler) datasetOf(m suiteMeta, suite string) (catalog.Key, string) {
	key := func(parts ...string) catalog.Key {
		var nonEmpty []string
		for _, p := range parts {
			if p != "" {
				nonEmpty = append(nonEmpty, p)
			}
		}
		return catalog.Key{Namespace: c.cfg.Namespace, Name: strings.Join(nonEmpty, ".")}
	}
	if table := cmp.Or(stringOf(m.BatchSpec, "table_name"), stringOf(m.BatchKwargs, "table")); table != "" {
		schema := cmp.Or(stringOf(m.BatchSpec, "schema_name"), stringOf(m.BatchKwargs, "schema"))
		return key(c.cfg.Database, schema, table), FromTable
	}
	if asset := dataAsset(m); asset != "" {
		if asset == m.DataAssetName {
			// 0.8 named it datasource/generator/asset: the asset is the
			// table or file set.
			if parts := strings.Split(asset, "/"); len(parts) == 3 && parts[2] != "" {
				asset = parts[2]
			}
		}
		return key(c.cfg.Database, asset), FromDataAsset
	}
	if path := cmp.Or(stringOf(m.BatchSpec, "path"), stringOf(m.BatchKwargs, "path"), stringOf(m.BatchKwargs, "s3")); path != "" {
		return catalog.Key{Namespace: c.cfg.Namespace, Name: path}, FromPath
	}
	return key(c.cfg.Database, suite), FromSuite
}

// dataAsset is the name of the validation's data asset, wherever its
// generation of Great Expectations put it; "" when it has none.
func dataAsset(m suiteMeta) string {
	return cmp.Or(activeBatch(m).DataAsset, stringOf(m.BatchKwargs, "data_asset_name"), stringOf(m.BatchSpec, "data_asset_name"), m.DataAssetName)
}

func activeBatch(m suiteMeta) batchDefinition {
	if m.ActiveBatch == nil {
		return batchDefinition{}
	}
	return *m.ActiveBatch
}

// storeKey returns the ValidationResultIdentifier a validations store gives
// the file at path, "<suite parts>/<run name>/<run time>/<batch id>", or ""
// when path is not laid out so.
func storeKey(path, suite string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	// 0.x splits the suite's name at its dots into folders.
	for _, suiteParts := range [][]string{strings.Split(suite, "."), {suite}} {
		n := len(suiteParts) + 3
		if len(parts) < n {
			continue
		}
		tail := slices.Clone(parts[len(parts)-n:])
		if slices.Equal(tail[:len(suiteParts)], suiteParts) && storeRunTime.MatchString(tail[len(suiteParts)+1]) {
			tail[n-1] = strings.TrimSuffix(tail[n-1], ".json")
			return strings.Join(tail, "/")
		}
	}
	return ""
}

// runtimeKwargs are kwargs that say how to report a result or which batch
// was read, not what is checked.
var runtimeKwargs = []string{"result_format", "catch_exceptions", "include_config", "batch_id"}

// definition returns an expectation's kwargs as JSON with sorted members
// and without runtimeKwargs, and the column it checks, if one.
func definition(raw json.RawMessage) (def, column string, err error) {
	kw := map[string]any{}
	if len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&kw); err != nil {
			return "", "", errors.New("kwargs is not an object")
		}
	}
	for _, k := range runtimeKwargs {
		delete(kw, k)
	}
	column, _ = kw["column"].(string)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(kw); err != nil {
		return "", "", fmt.Errorf("kwargs: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), column, nil
}

// integer reads a JSON number that holds an integer.
func integer(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	if f, err := n.Float64(); err == nil && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// stringOf returns m[key] when it is a non-empty string.
func stringOf(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// kwargsBatchID is the batch_id GX 1.x puts in every expectation's kwargs,
// which is the batch identifier of the key GX stores the result under
// (its ValidationDefinition's run): a result read from a store and the
// same one read as a file of its own get one run id. "" when none has
// one.
func kwargsBatchID(results []expectationResult) string {
	for _, e := range results {
		if e.Config == nil || len(e.Config.Kwargs) == 0 {
			continue
		}
		var kw struct {
			BatchID string `json:"batch_id"`
		}
		if json.Unmarshal(e.Config.Kwargs, &kw) == nil && kw.BatchID != "" {
			return kw.BatchID
		}
	}
	return ""
}
