// Package delta owns the Delta Lake crawler: it finds every Delta table
// under configured root directories (a directory holding a _delta_log)
// and reads each table's transaction log (JSON commits, classic and
// multi-part parquet checkpoints, v2 checkpoints with their sidecars,
// _last_checkpoint) to report the table as of its newest version: schema,
// partition columns, table properties, protocol and features, version,
// last commit, recent history, file count, size and row count. It reads
// only the log, never the data files, and never writes to Almanac's store.
//
// Storage: local (or locally mounted) paths only. Tables are keyed under
// the namespace Config.Namespace ("file" by default, the OpenLineage
// convention for local files) by their absolute path.
package delta

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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
	// Roots are directories under which every Delta table is crawled.
	// A root may itself be a table.
	Roots []string
	// Namespace is the OpenLineage namespace of the tables; empty means
	// DefaultNamespace. Dataset names are absolute paths.
	Namespace string
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
}

// maxReaderVersion is the newest reader protocol version understood.
const maxReaderVersion = 3

// Crawl finds and reads every table under cfg.Roots.
//
// A table whose log has a gap, or that needs a reader feature this
// crawler does not know, is reported as far as it could be read, with a
// CrawlError naming the file and field. A table that could not be read at
// all is left out, and so is the scope of its root, so that nothing is
// marked removed because of it. Crawl returns an error only for an invalid
// Config or when no root could be read.
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
	ns := cmp.Or(cfg.Namespace, DefaultNamespace)
	read := 0
	var failures []error
	for _, root := range cfg.Roots {
		abs, err := filepath.Abs(root)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: root, Message: err.Error()})
			failures = append(failures, err)
			continue
		}
		read++
		tables, walkErrs := discover(ctx, abs)
		complete := len(walkErrs) == 0
		for _, e := range walkErrs {
			hv.Errors = append(hv.Errors, catalog.CrawlError{Object: abs, Message: e.Error()})
		}
		for _, dir := range tables {
			if err := ctx.Err(); err != nil {
				return hv, fmt.Errorf("crawl %s: %w", cfg.Source, err)
			}
			f, problems := readTable(dir, ns)
			for _, p := range problems {
				hv.Errors = append(hv.Errors, catalog.CrawlError{Object: filepath.Join(dir, "_delta_log"), Message: p.Error()})
			}
			if f == nil {
				complete = false
				continue
			}
			hv.Datasets = append(hv.Datasets, *f)
		}
		if complete {
			hv.Scopes = append(hv.Scopes, catalog.Scope{Namespace: ns, Prefix: strings.TrimSuffix(abs, string(filepath.Separator)) + string(filepath.Separator)})
			if len(tables) == 1 && tables[0] == abs {
				// The root is itself a table: the prefix above does not
				// cover its name.
				hv.Scopes[len(hv.Scopes)-1].Prefix = abs
			}
		}
	}
	slices.SortFunc(hv.Datasets, func(a, b catalog.DatasetFacts) int { return strings.Compare(a.Key.Name, b.Key.Name) })
	if read == 0 {
		return hv, fmt.Errorf("crawl %s: no root could be read: %w", cfg.Source, errors.Join(failures...))
	}
	return hv, nil
}

// discover returns the tables under root: every directory holding a
// _delta_log directory. It does not descend into a table.
func discover(ctx context.Context, root string) (tables []string, errs []error) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if st, err := os.Stat(filepath.Join(path, "_delta_log")); err == nil && st.IsDir() {
			tables = append(tables, path)
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return tables, errs
}

// readTable reads one table's log into dataset facts.
func readTable(dir, ns string) (*catalog.DatasetFacts, []error) {
	s, problems := readLog(dir)
	if s == nil {
		return nil, problems
	}
	f := &catalog.DatasetFacts{
		Key:         catalog.Key{Namespace: ns, Name: dir},
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
