// Package delta owns the Delta Lake crawler: it finds every Delta table
// under configured root directories (a directory holding a _delta_log)
// and reads each table's transaction log (JSON commits, classic and
// multi-part parquet checkpoints, v2 checkpoints with their sidecars,
// _last_checkpoint) to report the table as of its newest version: schema,
// partition columns, table properties, protocol and features, version,
// last commit, recent history, file count, size and row count. It reads
// only the log, never the data files, and never writes to Almanac's store.
//
// Tables live on local (or locally mounted) paths, or on an object store
// with the S3 API (AWS, or an S3-compatible server): the same reader reads
// both, through a small interface (storage) over a directory tree or a
// bucket. Tables are keyed by their location as OpenLineage names them
// (catalog.LocationKey, which the Unity Catalog crawler uses too): a local
// table under namespace "file" by its absolute path, a table at
// s3://bucket/path under namespace s3://bucket by path.
package delta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"almanac/catalog"
)

// Platform is the platform name of every dataset the crawler reports.
const Platform = "delta"

// DefaultNamespace is the namespace of tables when Config.Namespace is
// empty: OpenLineage's for local files.
const DefaultNamespace = "file"

// Config says what to crawl.
type Config struct {
	// Source is the provenance name, e.g. "delta:lake".
	Source string
	// Roots are the directories under which every Delta table is
	// crawled: local paths, or s3://bucket/prefix URIs (s3a:// and s3n://
	// too), listed prefix by prefix. A root may itself be a table.
	Roots []string
	// Namespace, when not empty, replaces DefaultNamespace as the
	// namespace of local tables, whose names are their absolute paths.
	// Tables on an object store are always keyed s3://bucket.
	Namespace string
	// S3 says how to reach the object store of s3:// roots.
	S3 S3
}

// Property keys the crawler sets. Table properties (the metaData
// configuration) are kept under PropTablePrefix + their key.
const (
	PropTableID          = "delta.table_id"
	PropFormat           = "format"
	PropVersion          = "version"
	PropLastCommitTime   = "last_commit_time"
	PropLastOperation    = "last_operation"
	PropCreatedTime      = "created_time"
	PropMinReaderVersion = "min_reader_version"
	PropMinWriterVersion = "min_writer_version"
	PropReaderFeatures   = "reader_features"
	PropWriterFeatures   = "writer_features"
	PropNumFiles         = "num_files"
	// PropFilesWithoutStats counts live files without a row count; when
	// any, the dataset's row estimate is left unknown.
	PropFilesWithoutStats = "files_without_stats"
	// PropHistory is a JSON array of the newest versions (at most 20),
	// oldest first: {"version", "timestamp" (ms), "operation", "metrics"}.
	PropHistory     = "history"
	PropTablePrefix = "table."
)

// knownReaderFeatures are the table features a reader of the log may meet
// without misreading the table's metadata. Others are reported.
var knownReaderFeatures = []string{
	"columnMapping", "deletionVectors", "timestampNtz", "v2Checkpoint", "vacuumProtocolCheck",
	"typeWidening", "typeWidening-preview", "variantType", "variantType-preview",
	// Shredded variants and geospatial types change how data files are
	// read, not the schema's JSON, which names the types.
	"variantShredding", "variantShredding-preview", "geospatial",
}

// maxReaderVersion is the newest reader protocol version understood.
const maxReaderVersion = 3

// Crawl finds and reads every table under cfg.Roots.
//
// A table whose log has a gap, or that needs a reader feature this
// crawler does not know, is reported as far as it could be read, with a
// CrawlError naming the file and field. A table that could not be read at
// all is left out, and so is the scope of its root, so that nothing is
// marked removed because of it; the other tables are reported. Crawl
// returns an error only for an invalid Config or when no root could be
// read, naming the roots and why (a bucket that refused the credentials,
// say).
func Crawl(ctx context.Context, cfg Config) (catalog.Harvest, error) {
	hv := catalog.Harvest{Source: cfg.Source}
	fail := func(err error) (catalog.Harvest, error) {
		hv.Errors = append(hv.Errors, catalog.CrawlError{Object: "config", Message: err.Error()})
		return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
	}
	if cfg.Source == "" {
		return fail(fmt.Errorf("empty source name: %w", catalog.ErrInvalid))
	}
	if len(cfg.Roots) == 0 {
		return fail(fmt.Errorf("no roots: %w", catalog.ErrInvalid))
	}
	var s3Client *s3.Client
	var roots []root
	for _, r := range cfg.Roots {
		bucket, prefix, isS3, err := parseS3Root(r)
		switch {
		case err != nil:
			return fail(err)
		case !isS3:
			roots = append(roots, root{given: r, st: localStorage{}, dir: r})
			continue
		case s3Client == nil:
			if s3Client, err = newS3Client(ctx, cfg.S3); err != nil {
				return fail(fmt.Errorf("read %s: %w", r, err))
			}
		}
		roots = append(roots, root{given: r, st: &s3Storage{client: s3Client, bucket: bucket}, dir: prefix, remote: true})
	}

	read := 0
	var failures []error
	for _, rt := range roots {
		if err := ctx.Err(); err != nil {
			return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
		}
		if err := rt.check(ctx); err != nil {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: rt.given, Message: err.Error()})
			failures = append(failures, err)
			continue
		}
		read++
		tables, walkErrs := discover(ctx, rt.st, rt.dir)
		complete := len(walkErrs) == 0
		for _, e := range walkErrs {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: rt.st.location(rt.dir), Message: e.Error()})
		}
		results := readTables(ctx, rt.st, tables, cfg.Namespace)
		if err := ctx.Err(); err != nil {
			return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
		}
		for i, res := range results {
			for _, p := range res.problems {
				hv.Errors = append(hv.Errors, catalog.CrawlError{Object: rt.st.location(path.Join(tables[i], "_delta_log")), Message: p.Error()})
			}
			if res.facts == nil {
				complete = false
				continue
			}
			hv.Datasets = append(hv.Datasets, *res.facts)
			hv.Freshness = append(hv.Freshness, commits(*res.facts)...)
		}
		if complete {
			sc, err := rt.scope(cfg.Namespace, len(tables) == 1 && tables[0] == rt.dir)
			if err != nil {
				hv.Errors = append(hv.Errors, catalog.CrawlError{Object: rt.given, Message: err.Error()})
			} else {
				hv.Scopes = append(hv.Scopes, sc)
			}
		}
	}
	slices.SortFunc(hv.Datasets, func(a, b catalog.DatasetFacts) int { return a.Key.Compare(b.Key) })
	if read == 0 {
		return hv, fmt.Errorf("crawl %s: no root could be read: %w", cfg.Source, errors.Join(failures...))
	}
	return hv, nil
}

// root is one of Config.Roots: a directory of a storage.
type root struct {
	given  string // as configured
	st     storage
	dir    string // the directory in st: an absolute path, or a key prefix
	remote bool
}

// check makes a local root's directory absolute and checks that the root
// can be read: a local directory exists, a bucket answers a listing.
func (r *root) check(ctx context.Context) error {
	if r.remote {
		_, err := r.st.list(ctx, r.dir, "")
		return err
	}
	abs, err := filepath.Abs(r.dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return err
	}
	r.dir = filepath.ToSlash(abs)
	return nil
}

// scope returns the scope that a complete crawl of the root covers: the
// names below its directory, or its directory itself when that is a
// table. ns, when not empty, replaces the namespace of local tables, as it
// does their keys.
func (r *root) scope(ns string, isTable bool) (catalog.Scope, error) {
	k, err := r.st.key(r.dir)
	if err != nil {
		return catalog.Scope{}, err
	}
	if ns != "" && !r.remote {
		k.Namespace = ns
	}
	switch {
	case isTable:
		return catalog.Scope{Namespace: k.Namespace, Prefix: k.Name}, nil
	case r.remote && r.dir == "":
		return catalog.Scope{Namespace: k.Namespace}, nil // the whole bucket
	}
	return catalog.Scope{Namespace: k.Namespace, Prefix: strings.TrimSuffix(k.Name, "/") + "/"}, nil
}

// tableResult is what reading one table gave.
type tableResult struct {
	facts    *catalog.DatasetFacts
	problems []error
}

// readTables reads the tables, readConcurrency at a time; the results are
// in the order of tables.
func readTables(ctx context.Context, st storage, tables []string, ns string) []tableResult {
	out := make([]tableResult, len(tables))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(readConcurrency, len(tables)) {
		wg.Go(func() {
			for i := range next {
				f, problems := readTable(ctx, st, tables[i], ns)
				out[i] = tableResult{f, problems}
			}
		})
	}
	for i := range tables {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// readTable reads the log of the table at dir into dataset facts. The
// table is keyed by its location; ns, when not empty, replaces the
// namespace of a local table.
func readTable(ctx context.Context, st storage, dir, ns string) (*catalog.DatasetFacts, []error) {
	key, err := st.key(dir)
	if err != nil {
		return nil, []error{err}
	}
	if _, local := st.(localStorage); local && ns != "" {
		key.Namespace = ns
	}
	s, problems := readLog(ctx, st, dir)
	if s == nil {
		return nil, problems
	}
	f := &catalog.DatasetFacts{
		Key:         key,
		Platform:    Platform,
		Kind:        catalog.KindTable,
		Description: s.meta.Description,
		Properties:  map[string]string{},
	}
	set := func(k, v string) {
		if v != "" {
			f.Properties[k] = v
		}
	}
	set(PropTableID, s.meta.ID)
	set(PropFormat, s.meta.Format.Provider)
	set(PropVersion, strconv.FormatInt(s.version, 10))
	if s.meta.CreatedTime != nil {
		set(PropCreatedTime, time.UnixMilli(*s.meta.CreatedTime).UTC().Format(time.RFC3339Nano))
	}
	for k, v := range s.meta.Configuration {
		set(PropTablePrefix+k, v)
	}
	if p := s.protocol; p != nil {
		set(PropMinReaderVersion, strconv.Itoa(int(p.MinReaderVersion)))
		set(PropMinWriterVersion, strconv.Itoa(int(p.MinWriterVersion)))
		set(PropReaderFeatures, strings.Join(slices.Sorted(slices.Values(p.ReaderFeatures)), ", "))
		set(PropWriterFeatures, strings.Join(slices.Sorted(slices.Values(p.WriterFeatures)), ", "))
		if p.MinReaderVersion > maxReaderVersion {
			problems = append(problems, fmt.Errorf("%s: field protocol.minReaderVersion is %d, newer than this crawler reads (%d); the metadata may be misread",
				s.protocolFile, p.MinReaderVersion, maxReaderVersion))
		}
		var unknown []string
		for _, feat := range p.ReaderFeatures {
			if !slices.Contains(knownReaderFeatures, feat) {
				unknown = append(unknown, feat)
			}
		}
		if len(unknown) > 0 {
			problems = append(problems, fmt.Errorf("%s: field protocol.readerFeatures has %s, unknown to this crawler; the metadata may be misread",
				s.protocolFile, strings.Join(unknown, ", ")))
		}
	}
	if n := len(s.history); n > 0 {
		last := s.history[n-1]
		if last.Timestamp > 0 {
			set(PropLastCommitTime, time.UnixMilli(last.Timestamp).UTC().Format(time.RFC3339Nano))
		}
		set(PropLastOperation, last.Operation)
		b, _ := json.Marshal(s.history) // map keys sorted: stable
		set(PropHistory, string(b))
	}
	var size, rows int64
	noStats := 0
	for _, fl := range s.files {
		size += fl.size
		if fl.rows < 0 {
			noStats++
		} else {
			rows += fl.rows
		}
	}
	set(PropNumFiles, strconv.Itoa(len(s.files)))
	f.SizeBytes = &size
	if noStats == 0 {
		f.RowEstimate = &rows
	} else {
		set(PropFilesWithoutStats, strconv.Itoa(noStats))
	}
	f.PartitionKey = strings.Join(s.meta.PartitionColumns, ", ")
	cols, err := parseSchema(s.meta.SchemaString)
	if err != nil {
		problems = append(problems, fmt.Errorf("metaData.schemaString: %w", err))
	}
	f.Columns = cols
	return f, problems
}

// maintenance are the Delta operations that commit without changing the
// table's data: they are not updates of it.
var maintenance = []string{
	"OPTIMIZE", "VACUUM START", "VACUUM END", "REORG", "SET TBLPROPERTIES", "UNSET TBLPROPERTIES",
	"ADD COLUMNS", "CHANGE COLUMN", "RENAME COLUMN", "DROP COLUMNS", "REPLACE COLUMNS",
	"ADD CONSTRAINT", "DROP CONSTRAINT", "UPGRADE PROTOCOL", "UPGRADE SCHEMA", "SET TABLE COMMENT",
	"ADD FEATURE", "DROP FEATURE", "CLUSTER BY",
}

// commits are the commits of the table's recent history (PropHistory)
// that changed its data, as freshness observations: each is an update at
// its commit time, for freshness and on-time SLOs (slo.UpdatesDeltaCommits)
// and anomalies. An observation is recorded once however often crawls
// see its commit, so the history outlives the log's recent versions.
// They carry no thresholds: their status is pass.
func commits(f catalog.DatasetFacts) []catalog.FreshnessObservation {
	var history []version
	if err := json.Unmarshal([]byte(f.Properties[PropHistory]), &history); err != nil {
		return nil
	}
	var out []catalog.FreshnessObservation
	for _, v := range history {
		if v.Timestamp <= 0 || slices.Contains(maintenance, v.Operation) {
			continue
		}
		at := time.UnixMilli(v.Timestamp).UTC()
		msg := fmt.Sprintf("commit of version %d", v.Version)
		if v.Operation != "" {
			msg += " (" + v.Operation + ")"
		}
		out = append(out, catalog.FreshnessObservation{Dataset: f.Key, ObservedAt: at, MaxLoadedAt: &at,
			Status: catalog.FreshnessPass, Criteria: "delta commit", Message: msg, RunID: "version " + strconv.FormatInt(v.Version, 10)})
	}
	return out
}
