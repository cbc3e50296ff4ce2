package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"almanac/catalog"
)

// table summarizes one harvested table.
type table struct {
	Columns    int
	Partitions string
	Version    string
	Files      string
	Size       int64
	Rows       int64 // -1 when unknown
	Operation  string
	Features   string
}

func summarize(d catalog.DatasetFacts) table {
	t := table{Columns: len(d.Columns), Partitions: d.PartitionKey, Version: d.Properties[PropVersion], Files: d.Properties[PropNumFiles],
		Operation: d.Properties[PropLastOperation], Features: d.Properties[PropReaderFeatures], Rows: -1}
	if d.SizeBytes != nil {
		t.Size = *d.SizeBytes
	}
	if d.RowEstimate != nil {
		t.Rows = *d.RowEstimate
	}
	return t
}

// crawlWant crawls the tables under root and checks that each is a local
// Delta table, that their summaries by path below root are want, and
// that the crawl met no error. It returns the harvest and root's
// absolute path.
func crawlWant(t *testing.T, root string, want map[string]table) (catalog.Harvest, string) {
	t.Helper()
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Crawl(context.Background(), Config{Source: "delta:test", Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]table{}
	for _, d := range h.Datasets {
		if d.Key.Namespace != "file" || d.Platform != "delta" || d.Kind != catalog.KindTable {
			t.Errorf("%s: namespace %q, platform %q, kind %q", d.Key.Name, d.Key.Namespace, d.Platform, d.Kind)
		}
		got[strings.TrimPrefix(d.Key.Name, abs+"/")] = summarize(d)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if len(h.Errors) > 0 {
		t.Errorf("errors under %s: %v", root, h.Errors)
	}
	return h, abs
}

func TestCrawlFixtures(t *testing.T) {
	h, abs := crawlWant(t, "testdata", map[string]table{
		// v2 checkpoint at 8 (JSON + parquet sidecar), then commit 9.
		"checkpoint-v2-table": {Columns: 3, Version: "9", Files: "8", Size: 8924, Rows: 44, Operation: "WRITE", Features: "v2Checkpoint"},
		// Classic checkpoint at 3; files written without statistics.
		"delta-0.2.0":                  {Columns: 1, Version: "3", Files: "3", Size: 1200, Rows: -1, Operation: "STREAMING UPDATE"},
		"delta-0.8.0-partitioned":      {Columns: 4, Partitions: "year, month, day", Version: "0", Files: "6", Size: 2477, Rows: -1, Operation: "WRITE"},
		"simple_table":                 {Columns: 1, Version: "4", Files: "5", Size: 1811, Rows: -1, Operation: "DELETE"},
		"simple_table_with_checkpoint": {Columns: 1, Version: "10", Files: "11", Size: 4862, Rows: -1, Operation: "WRITE"},
		"table_with_column_mapping":    {Columns: 2, Partitions: "Company Very Short", Version: "0", Files: "2", Size: 1700, Rows: 5, Operation: "WRITE"},
		// 100 rows less the 2 that deletion vectors mark deleted.
		"table_with_deletion_logs":     {Columns: 7, Version: "20", Files: "1", Size: 10499, Rows: 98, Operation: "UPDATE", Features: "deletionVectors"},
		"table_with_liquid_clustering": {Columns: 1, Version: "0", Files: "10", Size: 5259, Rows: 10, Operation: "CREATE OR REPLACE TABLE AS SELECT", Features: "deletionVectors"},
	})
	if diff := cmp.Diff([]catalog.Scope{{Namespace: "file", Prefix: abs + "/"}}, h.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}

	// One table in full.
	d := h.Datasets[slices.IndexFunc(h.Datasets, func(d catalog.DatasetFacts) bool {
		return strings.HasSuffix(d.Key.Name, "/table_with_liquid_clustering")
	})]
	for k, v := range map[string]string{
		PropTablePrefix + "delta.liquid.clusteringColumns": "id",
		PropMinReaderVersion: "3",
		PropMinWriterVersion: "7",
		PropWriterFeatures:   "deletionVectors, domainMetadata, liquid, rowTracking",
	} {
		if got := d.Properties[k]; got != v {
			t.Errorf("property %s = %q, want %q", k, got, v)
		}
	}
	if got := d.Properties[PropLastCommitTime]; !regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(got) {
		t.Errorf("last commit time = %q", got)
	}
	if hist := d.Properties[PropHistory]; !strings.Contains(hist, `"operation":"CREATE OR REPLACE TABLE AS SELECT"`) || !strings.Contains(hist, `"metrics":{`) {
		t.Errorf("history = %s", hist)
	}
}

// TestCrawlReplayCases crawls real tables of Delta's and delta-kernel-rs's
// own tests (testdata-replay/README.md) whose logs need the replay rules
// that a simpler reader gets wrong, silently: counts that are wrong, not
// errors.
func TestCrawlReplayCases(t *testing.T) {
	crawlWant(t, "testdata-replay", map[string]table{
		// A DELETE with deletion vectors adds each file again with its
		// new vector and removes it with the old one, in one commit: the
		// file stays (keyed by path and vector). 2 files, 10 rows less 2.
		"basic-dv-no-checkpoint": {Columns: 1, Version: "1", Files: "2", Size: 1003, Rows: 8, Operation: "DELETE", Features: "deletionVectors"},
		// Delta's own log-replay key cases: adds and removes of one path
		// with and without vectors, in both orders. 1 file of 47 rows.
		"log-replay-dv-key-cases": {Columns: 1, Version: "3", Files: "1", Size: 765, Rows: 47, Operation: "DELETE", Features: "deletionVectors"},
		// A v2 checkpoint under a classic name (1.checkpoint.parquet),
		// its files in a sidecar.
		"v2-classic-checkpoint-parquet": {Columns: 1, Version: "1", Files: "4", Size: 2009, Rows: 20, Operation: "WRITE", Features: "v2Checkpoint"},
	})
}

// TestCrawlKnownReaderFeatures: reader features that change how data files
// are read but not the schema (shredded variants, geospatial types) are
// read without a warning, as Delta's own test tables use them.
func TestCrawlKnownReaderFeatures(t *testing.T) {
	root, dir := copyTable(t, "table_with_deletion_logs")
	commit := `{"commitInfo":{"timestamp":1700000000000,"operation":"SET TBLPROPERTIES"}}` + "\n" +
		`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors","variantShredding-preview","geospatial"],"writerFeatures":[]}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "_delta_log", "00000000000000000021.json"), []byte(commit), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := crawlOne(t, root).Properties[PropVersion]; v != "21" {
		t.Errorf("version %s, want 21", v)
	}
}

// crawlOne crawls root, which holds one table, and returns it, failing
// the test on any crawl error.
func crawlOne(t *testing.T, root string) catalog.DatasetFacts {
	t.Helper()
	h, err := Crawl(context.Background(), Config{Source: "delta:test", Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Errors) > 0 {
		t.Errorf("errors: %v", h.Errors)
	}
	if len(h.Datasets) != 1 {
		t.Fatalf("datasets %v, want the one table", h.Datasets)
	}
	return h.Datasets[0]
}

// TestCrawlStaleLastCheckpoint: _last_checkpoint names checkpoint 10 but
// the log has a complete checkpoint 20, and log cleanup removed the
// commits between (11 to 19): the table is read from checkpoint 20 at
// version 20, with no gap reported.
func TestCrawlStaleLastCheckpoint(t *testing.T) {
	root, dir := copyTable(t, "table_with_deletion_logs")
	log := filepath.Join(dir, "_delta_log")
	if err := os.WriteFile(filepath.Join(log, "_last_checkpoint"), []byte(`{"version":10,"size":5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for v := 11; v <= 19; v++ {
		for _, ext := range []string{"json", "crc"} {
			if err := os.Remove(filepath.Join(log, fmt.Sprintf("%020d.%s", v, ext))); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := summarize(crawlOne(t, root))
	if got.Version != "20" || got.Files != "1" || got.Rows != 98 {
		t.Errorf("table %+v, want version 20, 1 file, 98 rows", got)
	}
}

func TestParseSchemaNested(t *testing.T) {
	schema := `{"type":"struct","fields":[
		{"name":"id","type":"long","nullable":false,"metadata":{"comment":"the key"}},
		{"name":"address","type":{"type":"struct","fields":[
			{"name":"city","type":"string","nullable":true,"metadata":{}},
			{"name":"geo","type":{"type":"struct","fields":[{"name":"lat","type":"double","nullable":true,"metadata":{}}]},"nullable":true,"metadata":{}}
		]},"nullable":true,"metadata":{}},
		{"name":"tags","type":{"type":"array","elementType":{"type":"struct","fields":[{"name":"k","type":"string","nullable":true,"metadata":{}}]},"containsNull":true},"nullable":true,"metadata":{}},
		{"name":"attrs","type":{"type":"map","keyType":"string","valueType":"decimal(10,2)","valueContainsNull":true},"nullable":true,"metadata":{}}
	]}`
	got, err := parseSchema(schema)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "long", Description: "the key"},
		{Name: "address", Ordinal: 2, Type: "struct", Nullable: true},
		{Name: "address.city", Ordinal: 3, Type: "string", Nullable: true},
		{Name: "address.geo", Ordinal: 4, Type: "struct", Nullable: true},
		{Name: "address.geo.lat", Ordinal: 5, Type: "double", Nullable: true},
		{Name: "tags", Ordinal: 6, Type: "array<struct<k:string>>", Nullable: true},
		{Name: "attrs", Ordinal: 7, Type: "map<string,decimal(10,2)>", Nullable: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
}

// copyTable copies a testdata table to a temporary root.
func copyTable(t *testing.T, name string) (root, dir string) {
	t.Helper()
	root = t.TempDir()
	err := os.CopyFS(filepath.Join(root, name), os.DirFS(filepath.Join("testdata", name)))
	if err != nil {
		t.Fatal(err)
	}
	return root, filepath.Join(root, name)
}

func TestCrawlBadLogs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		table   string
		damage  func(t *testing.T, log string)
		wantErr string // pattern of one error message
		// wantVersion is the version the table is still reported at; ""
		// when it cannot be reported.
		wantVersion string
	}{
		{
			name: "gap in the log", table: "simple_table",
			damage:      func(t *testing.T, log string) { os.Remove(filepath.Join(log, "00000000000000000002.json")) },
			wantErr:     `^00000000000000000002\.json: gap in the log: version 2 is missing \(the newest is 4\); the table is read as of version 1$`,
			wantVersion: "1",
		},
		{
			name: "unknown reader feature", table: "table_with_deletion_logs",
			damage: func(t *testing.T, log string) {
				commit := `{"commitInfo":{"timestamp":1700000000000,"operation":"SET TBLPROPERTIES"}}` + "\n" +
					`{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["deletionVectors","quantumFolding"],"writerFeatures":[]}}` + "\n"
				if err := os.WriteFile(filepath.Join(log, "00000000000000000021.json"), []byte(commit), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^00000000000000000021\.json: field protocol\.readerFeatures has quantumFolding, unknown to this crawler; the metadata may be misread$`,
			wantVersion: "21",
		},
		{
			name: "truncated commit", table: "simple_table",
			damage: func(t *testing.T, log string) {
				if err := os.Truncate(filepath.Join(log, "00000000000000000003.json"), 100); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^00000000000000000003\.json: line 1: unexpected end of JSON input; the table is read as of version 2$`,
			wantVersion: "2",
		},
		{
			name: "_last_checkpoint names a missing checkpoint", table: "simple_table_with_checkpoint",
			damage: func(t *testing.T, log string) {
				os.Remove(filepath.Join(log, "00000000000000000010.checkpoint.parquet"))
			},
			wantErr:     `^_last_checkpoint: field version names checkpoint 10, which is missing or incomplete; looking for others$`,
			wantVersion: "10",
		},
		{
			name: "corrupt checkpoint", table: "simple_table_with_checkpoint",
			damage: func(t *testing.T, log string) {
				if err := os.WriteFile(filepath.Join(log, "00000000000000000010.checkpoint.parquet"), []byte("PAR1 not really"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^00000000000000000010\.checkpoint\.parquet: `,
			wantVersion: "10", // replayed from commit 0
		},
		{
			// _last_checkpoint names a version the log does not have yet:
			// the listing, which started after version 20, is done again
			// from the start, and finds checkpoint 20.
			name: "_last_checkpoint ahead of the log", table: "table_with_deletion_logs",
			damage: func(t *testing.T, log string) {
				if err := os.WriteFile(filepath.Join(log, "_last_checkpoint"), []byte(`{"version":40,"size":5}`), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^_last_checkpoint: field version names checkpoint 40, which is missing or incomplete; looking for others$`,
			wantVersion: "20",
		},
		{
			// The listing started at version 1, for the history; the
			// replay without the checkpoint needs commit 0 too.
			name: "corrupt checkpoint after a partial listing", table: "table_with_deletion_logs",
			damage: func(t *testing.T, log string) {
				if err := os.WriteFile(filepath.Join(log, "00000000000000000020.checkpoint.parquet"), []byte("PAR1 not really"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^00000000000000000020\.checkpoint\.parquet: `,
			wantVersion: "20",
		},
		{
			name: "unreadable _last_checkpoint", table: "simple_table_with_checkpoint",
			damage: func(t *testing.T, log string) {
				if err := os.WriteFile(filepath.Join(log, "_last_checkpoint"), []byte(`{"version":`), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr:     `^_last_checkpoint: unexpected end of JSON input; looking for checkpoints in the listing$`,
			wantVersion: "10",
		},
		{
			name: "no metadata", table: "simple_table",
			damage: func(t *testing.T, log string) {
				for _, v := range []string{"0", "1", "2", "3", "4"} {
					os.Remove(filepath.Join(log, "0000000000000000000"+v+".json"))
				}
			},
			wantErr: `^_delta_log: no commit or checkpoint with the table's metadata$`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, dir := copyTable(t, tc.table)
			tc.damage(t, filepath.Join(dir, "_delta_log"))
			h, err := Crawl(context.Background(), Config{Source: "delta:test", Roots: []string{root}})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, e := range h.Errors {
				if e.Object != filepath.Join(dir, "_delta_log") {
					t.Errorf("error object %q, want the table's log", e.Object)
				}
				msgs = append(msgs, e.Message)
			}
			if !slices.ContainsFunc(msgs, regexp.MustCompile(tc.wantErr).MatchString) {
				t.Errorf("no error matches %s; errors:\n%s", tc.wantErr, strings.Join(msgs, "\n"))
			}
			switch {
			case tc.wantVersion == "" && len(h.Datasets) > 0:
				t.Errorf("an unreadable table was reported: %+v", h.Datasets)
			case tc.wantVersion != "" && (len(h.Datasets) != 1 || h.Datasets[0].Properties[PropVersion] != tc.wantVersion):
				t.Errorf("datasets %v, want the table at version %s", h.Datasets, tc.wantVersion)
			}
			if tc.wantVersion == "" && len(h.Scopes) > 0 {
				t.Errorf("scopes %v: a root with an unreadable table must not remove anything", h.Scopes)
			}
		})
	}
}

func TestCrawlRootIsTable(t *testing.T) {
	_, dir := copyTable(t, "simple_table")
	h, err := Crawl(context.Background(), Config{Source: "delta:test", Roots: []string{dir}, Namespace: "s3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Datasets) != 1 || h.Datasets[0].Key != (catalog.Key{Namespace: "s3", Name: dir}) {
		t.Fatalf("datasets %+v", h.Datasets)
	}
	if len(h.Scopes) != 1 || !h.Scopes[0].Covers(h.Datasets[0].Key) {
		t.Errorf("scopes %v do not cover the table", h.Scopes)
	}
}

// TestCrawlSymlinks: discovery does not follow links to directories, so
// that a link to a parent cannot make it loop, except a table's
// _delta_log, which may be one.
func TestCrawlSymlinks(t *testing.T) {
	root, _ := copyTable(t, "simple_table")
	if err := os.Symlink(root, filepath.Join(root, "loop")); err != nil {
		t.Fatal(err)
	}
	logs := t.TempDir()
	if err := os.CopyFS(filepath.Join(logs, "log"), os.DirFS("testdata/delta-0.2.0/_delta_log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "linked"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(logs, "log"), filepath.Join(root, "linked", "_delta_log")); err != nil {
		t.Fatal(err)
	}
	h, err := Crawl(context.Background(), Config{Source: "delta:test", Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range h.Datasets {
		names = append(names, strings.TrimPrefix(d.Key.Name, root+"/"))
	}
	if diff := cmp.Diff([]string{"linked", "simple_table"}, names); diff != "" || len(h.Errors) > 0 {
		t.Errorf("tables (-want +got):\n%s\nerrors: %v", diff, h.Errors)
	}
}

func TestCrawlConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Roots: []string{"testdata"}},
		{Source: "delta:x"},
		{Source: "delta:x", Roots: []string{"testdata/nowhere"}},
	} {
		if _, err := Crawl(context.Background(), cfg); err == nil {
			t.Errorf("Crawl(%+v) succeeded", cfg)
		}
	}
}

// FuzzCommit feeds the commit reader and the schema parser with mutations
// of the fixtures' commits: they must never panic.
func FuzzCommit(f *testing.F) {
	files, err := filepath.Glob("testdata/*/_delta_log/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed commits: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSnapshot()
		_ = s.readCommit(bytes.NewReader(data), 0, "00000000000000000000.json", false)
		if s.meta != nil {
			_, _ = parseSchema(s.meta.SchemaString)
		}
		_, _ = parseSchema(string(data))
	})
}

// TestHistoryAcrossCheckpoint checks that the history holds the commits
// before the checkpoint a table is read from, with their commitInfo, the
// newest historyLimit of them, oldest first.
func TestHistoryAcrossCheckpoint(t *testing.T) {
	for name, want := range map[string][2]int64{
		"simple_table_with_checkpoint": {0, 10}, // checkpoint at 10
		"table_with_deletion_logs":     {1, 20}, // checkpoints at 10 and 20
	} {
		dir, err := filepath.Abs(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		f, problems := readTable(context.Background(), localStorage{}, dir, "")
		if f == nil || len(problems) > 0 {
			t.Fatalf("%s: %v", name, problems)
		}
		var hist []version
		if err := json.Unmarshal([]byte(f.Properties[PropHistory]), &hist); err != nil {
			t.Fatalf("%s: history %q: %v", name, f.Properties[PropHistory], err)
		}
		var got, wantVersions []int64
		for v := want[0]; v <= want[1]; v++ {
			wantVersions = append(wantVersions, v)
		}
		for _, h := range hist {
			got = append(got, h.Version)
			if h.Operation == "" || h.Timestamp == 0 {
				t.Errorf("%s: version %d without its commitInfo: %+v", name, h.Version, h)
			}
		}
		if diff := cmp.Diff(wantVersions, got); diff != "" {
			t.Errorf("%s: history versions (-want +got):\n%s", name, diff)
		}
	}
}

// TestStatsParsedOnly reads tables whose checkpoints carry file
// statistics only as a struct (add.stats_parsed), as Spark writes them
// with delta.checkpoint.writeStatsAsJson=false: the row counts must be
// those the same tables give with JSON statistics.
func TestStatsParsedOnly(t *testing.T) {
	for name, rows := range map[string]int64{
		"table_with_deletion_logs": 98, // checkpoint at 20, deletion vectors
		"checkpoint-v2-table":      44, // v2 checkpoint with parquet sidecars, then a commit
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), name)
			if n := copyWithoutJSONStats(t, filepath.Join("testdata", name), dir); n == 0 {
				t.Fatal("no checkpoint file rewritten")
			}
			f, problems := readTable(context.Background(), localStorage{}, dir, "")
			if f == nil || len(problems) > 0 {
				t.Fatalf("read: %v", problems)
			}
			if f.RowEstimate == nil || *f.RowEstimate != rows {
				t.Errorf("rows = %v, want %d (files without statistics: %s)", f.RowEstimate, rows, f.Properties[PropFilesWithoutStats])
			}
		})
	}
}

// copyWithoutJSONStats copies the _delta_log of the table src to dst,
// rewriting each parquet checkpoint (and sidecar) with add.stats null and
// everything else, add.stats_parsed included, as it was. It returns how
// many files it rewrote.
func copyWithoutJSONStats(t *testing.T, src, dst string) int {
	t.Helper()
	rewritten := 0
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".parquet") {
			if b, err = nullJSONStats(b); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			rewritten++
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rewritten
}

// nullJSONStats rewrites a checkpoint with the column add.stats null in
// every row, keeping the file's schema.
func nullJSONStats(b []byte) ([]byte, error) {
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	schema := pf.Schema()
	col, ok := schema.Lookup("add", "stats")
	if !ok {
		return nil, errors.New("no column add.stats")
	}
	if _, ok := schema.Lookup("add", "stats_parsed", "numRecords"); !ok {
		return nil, errors.New("no column add.stats_parsed.numRecords")
	}
	var out bytes.Buffer
	// The file's leaves name the encodings it was written with, which
	// the writer may not support: write them with the defaults.
	w := parquet.NewWriter(&out, parquet.NewSchema(schema.Name(), defaultEncoding{schema}))
	r := parquet.NewReader(pf)
	rows := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(rows)
		for _, row := range rows[:n] {
			for i, v := range row {
				// add present (level 1), stats present (level 2): make it
				// a null of a present add.
				if v.Column() == col.ColumnIndex && v.DefinitionLevel() == col.MaxDefinitionLevel {
					row[i] = parquet.Value{}.Level(v.RepetitionLevel(), col.MaxDefinitionLevel-1, col.ColumnIndex)
				}
			}
		}
		if _, werr := w.WriteRows(rows[:n]); werr != nil {
			return nil, werr
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// defaultEncoding is a schema node, and its fields, with no encoding set.
type defaultEncoding struct{ parquet.Node }

func (n defaultEncoding) Encoding() encoding.Encoding { return nil }

func (n defaultEncoding) Fields() []parquet.Field {
	fs := n.Node.Fields()
	out := make([]parquet.Field, len(fs))
	for i, f := range fs {
		out[i] = defaultEncodingField{f}
	}
	return out
}

type defaultEncodingField struct{ parquet.Field }

func (f defaultEncodingField) Encoding() encoding.Encoding { return nil }

func (f defaultEncodingField) Fields() []parquet.Field { return defaultEncoding{f.Field}.Fields() }
