package delta

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Actions of the Delta log, as far as the crawler reads them. The same
// types decode JSON commits and, by their parquet tags, checkpoints.

type protocol struct {
	MinReaderVersion int32    `json:"minReaderVersion" parquet:"minReaderVersion,optional"`
	MinWriterVersion int32    `json:"minWriterVersion" parquet:"minWriterVersion,optional"`
	ReaderFeatures   []string `json:"readerFeatures" parquet:"readerFeatures,optional,list"`
	WriterFeatures   []string `json:"writerFeatures" parquet:"writerFeatures,optional,list"`
}

type metadata struct {
	ID     string `json:"id" parquet:"id,optional"`
	Format struct {
		Provider string `json:"provider" parquet:"provider,optional"`
	} `json:"format" parquet:"format,optional"`
	Description      string            `json:"description" parquet:"description,optional"`
	SchemaString     string            `json:"schemaString" parquet:"schemaString,optional"`
	PartitionColumns []string          `json:"partitionColumns" parquet:"partitionColumns,optional,list"`
	Configuration    map[string]string `json:"configuration" parquet:"configuration,optional"`
	CreatedTime      *int64            `json:"createdTime" parquet:"createdTime,optional"`
}

type deletionVector struct {
	StorageType    string `json:"storageType" parquet:"storageType,optional"`
	PathOrInlineDv string `json:"pathOrInlineDv" parquet:"pathOrInlineDv,optional"`
	Offset         *int32 `json:"offset" parquet:"offset,optional"`
	Cardinality    int64  `json:"cardinality" parquet:"cardinality,optional"`
}

// id is the deletion vector's unique id (the protocol's "Deletion Vector
// Descriptor" id): with the file's path, what names a live file.
func (dv *deletionVector) id() string {
	if dv == nil {
		return ""
	}
	id := dv.StorageType + dv.PathOrInlineDv
	if dv.Offset != nil {
		id += "@" + strconv.Itoa(int(*dv.Offset))
	}
	return id
}

// fileID names a live file: its path, made canonical (a writer may name
// the same file "/t/a.parquet" and "file:/t/a.parquet"), and its deletion
// vector's id. A DELETE, UPDATE or MERGE with deletion vectors adds the
// file again with its new vector and removes it with the old one, in
// either order within the commit.
type fileID struct{ path, dv string }

func newFileID(p string, dv *deletionVector) fileID {
	if rest, ok := strings.CutPrefix(p, "file:"); ok && strings.HasPrefix(rest, "/") {
		// file:/t, file:///t: the local path /t.
		p = "/" + strings.TrimLeft(rest, "/")
	}
	return fileID{p, dv.id()}
}

type addFile struct {
	Path string `json:"path" parquet:"path,optional"`
	Size int64  `json:"size" parquet:"size,optional"`
	// A file's statistics come as JSON (stats) and, in a checkpoint of a
	// table with delta.checkpoint.writeStatsAsStruct, as a struct
	// (stats_parsed); writeStatsAsJson=false leaves only the struct.
	Stats          string          `json:"stats" parquet:"stats,optional"`
	StatsParsed    *statsParsed    `json:"-" parquet:"stats_parsed,optional"`
	DeletionVector *deletionVector `json:"deletionVector" parquet:"deletionVector,optional"`
}

// statsParsed is the part of add.stats_parsed the crawler reads; its
// minValues, maxValues and nullCount are typed by the table's schema.
type statsParsed struct {
	NumRecords *int64 `parquet:"numRecords,optional"`
}

// numRecords returns the rows a file's statistics count (before its
// deletion vector), from the JSON form or else the struct form; -1 when
// neither says.
func (a *addFile) numRecords() int64 {
	var st struct {
		NumRecords *int64 `json:"numRecords"`
	}
	if a.Stats == "" || json.Unmarshal([]byte(a.Stats), &st) != nil || st.NumRecords == nil {
		if a.StatsParsed == nil {
			return -1
		}
		st.NumRecords = a.StatsParsed.NumRecords
	}
	if st.NumRecords == nil || *st.NumRecords < 0 {
		return -1
	}
	return *st.NumRecords
}

type removeFile struct {
	Path           string          `json:"path" parquet:"path,optional"`
	DeletionVector *deletionVector `json:"deletionVector" parquet:"deletionVector,optional"`
}

type sidecar struct {
	Path string `json:"path" parquet:"path,optional"`
}

type commitInfo struct {
	Timestamp        int64          `json:"timestamp"`
	Operation        string         `json:"operation"`
	OperationMetrics map[string]any `json:"operationMetrics"`
}

// action is one line of a JSON commit or one row of a checkpoint; exactly
// one field is set.
type action struct {
	Add        *addFile    `json:"add" parquet:"add,optional"`
	Remove     *removeFile `json:"remove" parquet:"remove,optional"`
	MetaData   *metadata   `json:"metaData" parquet:"metaData,optional"`
	Protocol   *protocol   `json:"protocol" parquet:"protocol,optional"`
	Sidecar    *sidecar    `json:"sidecar" parquet:"sidecar,optional"`
	CommitInfo *commitInfo `json:"commitInfo" parquet:"-"`
}

// liveFile is what the snapshot keeps of a live data file.
type liveFile struct {
	size int64
	rows int64 // -1 when the file has no statistics
}

// version is one entry of a table's history.
type version struct {
	Version   int64          `json:"version"`
	Timestamp int64          `json:"timestamp,omitempty"` // milliseconds since the epoch
	Operation string         `json:"operation,omitempty"`
	Metrics   map[string]any `json:"metrics,omitempty"`
}

// snapshot is the state of a table at one version, replayed from its log.
type snapshot struct {
	version  int64 // -1 before any commit
	protocol *protocol
	// protocolFile is the file the protocol was read from, for errors.
	protocolFile string
	meta         *metadata
	files        map[fileID]liveFile
	history      []version // oldest first
}

func newSnapshot() *snapshot { return &snapshot{version: -1, files: map[fileID]liveFile{}} }

// apply applies one action of version v.
func (s *snapshot) apply(a *action, v int64, fromCheckpoint bool, src string) {
	switch {
	case a.Add != nil:
		f := liveFile{size: a.Add.Size, rows: a.Add.numRecords()}
		if dv := a.Add.DeletionVector; dv != nil && f.rows >= 0 {
			f.rows = max(0, f.rows-dv.Cardinality)
		}
		s.files[newFileID(a.Add.Path, a.Add.DeletionVector)] = f
	case a.Remove != nil:
		if !fromCheckpoint { // a checkpoint's removes are tombstones of files already gone
			delete(s.files, newFileID(a.Remove.Path, a.Remove.DeletionVector))
		}
	case a.MetaData != nil:
		s.meta = a.MetaData
	case a.Protocol != nil:
		s.protocol, s.protocolFile = a.Protocol, src
	case a.CommitInfo != nil:
		ci := a.CommitInfo
		s.history = append(s.history, version{Version: v, Timestamp: ci.Timestamp, Operation: ci.Operation, Metrics: ci.OperationMetrics})
	}
}

// readCommit applies the actions of one JSON commit (newline-delimited
// JSON). With historyOnly, only its commitInfo is applied: the commit is
// older than the checkpoint the snapshot starts from, which holds its
// other actions already. An error names the line.
func (s *snapshot) readCommit(r io.Reader, v int64, name string, historyOnly bool) error {
	var info bool
	err := readActions(r, name, func(a *action) {
		info = info || a.CommitInfo != nil
		if !historyOnly || a.CommitInfo != nil {
			s.apply(a, v, false, name)
		}
	})
	if err != nil {
		return err
	}
	if !info { // a commit without commitInfo still makes a version
		s.history = append(s.history, version{Version: v})
	}
	s.version = v
	return nil
}

// readActions calls apply for each action of newline-delimited JSON, a
// commit or a v2 checkpoint. An error names the file and line.
func readActions(r io.Reader, name string, apply func(*action)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var a action
		if err := json.Unmarshal(b, &a); err != nil {
			return fmt.Errorf("%s: line %d: %w", name, line, err)
		}
		apply(&a)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// maxBuffered is the size up to which a parquet file is read whole, in
// one request, rather than at the offsets the reader asks for: on an
// object store each of those is a request. A variable for tests.
var maxBuffered int64 = 64 << 20

// readParquetActions applies the rows of a parquet checkpoint or sidecar.
// It returns the sidecar files a v2 checkpoint names.
func (s *snapshot) readParquetActions(ctx context.Context, st storage, name string, v int64) (sidecars []string, err error) {
	f, err := st.open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ra io.ReaderAt = f
	if f.Size() <= maxBuffered {
		b, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		ra = bytes.NewReader(b)
	}
	defer func() {
		// The parquet library panics on some corrupt files.
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt parquet file: %v", p)
		}
	}()
	pf, err := parquet.OpenFile(ra, f.Size())
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	r := parquet.NewGenericReader[action](pf)
	defer r.Close()
	buf := make([]action, 256)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			if sc := buf[i].Sidecar; sc != nil {
				sidecars = append(sidecars, sc.Path)
				continue
			}
			s.apply(&buf[i], v, true, path.Base(name))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sidecars, fmt.Errorf("read parquet rows: %w", err)
		}
		clear(buf)
	}
	return sidecars, nil
}

// Names of files in _delta_log.
var (
	commitRE     = regexp.MustCompile(`^(\d{20})\.json$`)
	checkpointRE = regexp.MustCompile(`^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$`)
	// v2 checkpoints are named after a UUID and are JSON or parquet.
	checkpointV2RE = regexp.MustCompile(`^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$`)
)

// checkpointFiles are the files of one checkpoint version.
type checkpointFiles struct {
	version int64
	parts   []string // classic: one file, or the parts of a multi-part one
	v2      string   // a v2 (UUID-named) top-level checkpoint
	nParts  int      // parts declared by multi-part names
}

// logListing is what a _delta_log directory holds, stray files ignored.
type logListing struct {
	commits     map[int64]string
	checkpoints map[int64]*checkpointFiles
}

// listLog lists the log directory dir from the name after startAfter
// ("" for all of it).
func listLog(ctx context.Context, st storage, dir, startAfter string) (logListing, error) {
	l := logListing{commits: map[int64]string{}, checkpoints: map[int64]*checkpointFiles{}}
	entries, err := st.list(ctx, dir, startAfter)
	if err != nil {
		return l, err
	}
	cp := func(v int64) *checkpointFiles {
		if l.checkpoints[v] == nil {
			l.checkpoints[v] = &checkpointFiles{version: v}
		}
		return l.checkpoints[v]
	}
	for _, e := range entries {
		name := e.name
		if e.dir {
			continue // .tmp, _sidecars (read through their checkpoint), _autostats…
		}
		if m := commitRE.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			l.commits[v] = path.Join(dir, name)
			continue
		}
		if m := checkpointRE.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			c := cp(v)
			c.parts = append(c.parts, path.Join(dir, name))
			if m[3] != "" {
				c.nParts, _ = strconv.Atoi(m[3])
			} else {
				c.nParts = 1
			}
			continue
		}
		if m := checkpointV2RE.FindStringSubmatch(name); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			cp(v).v2 = path.Join(dir, name)
		}
		// Anything else (.crc, _last_checkpoint, temporary and hidden
		// files) is not part of the listing the replay needs.
	}
	for _, c := range l.checkpoints {
		slices.Sort(c.parts)
	}
	return l, nil
}

// complete reports whether every part of the checkpoint is present.
func (c *checkpointFiles) complete() bool {
	return c.v2 != "" || (len(c.parts) > 0 && len(c.parts) == c.nParts)
}

// lastCheckpoint is the content of _last_checkpoint.
type lastCheckpoint struct {
	Version int64 `json:"version"`
	Parts   *int  `json:"parts"`
}

// errGap is a missing version of the log.
var errGap = errors.New("gap in the log")

// readLog replays a table's log: from the newest complete checkpoint
// (the one _last_checkpoint names, when present and readable), then every
// commit after it. It returns the snapshot at the newest version it could
// reach and the problems met on the way; the snapshot is nil only when
// nothing could be read.
//
// _last_checkpoint is read before the log is listed: the listing then
// starts with the commits of the history kept before that checkpoint, so
// that a long log's old commits, which an object store would list a
// thousand to a request, are not listed at all.
func readLog(ctx context.Context, st storage, dir string) (*snapshot, []error) {
	logDir := path.Join(dir, "_delta_log")
	var problems []error
	problem := func(err error) { problems = append(problems, err) }

	var last *lastCheckpoint
	b, err := readAll(ctx, st, path.Join(logDir, "_last_checkpoint"))
	if err == nil {
		last = &lastCheckpoint{}
		if err = json.Unmarshal(b, last); err != nil {
			last = nil
		}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		problem(fmt.Errorf("_last_checkpoint: %w; looking for checkpoints in the listing", err))
	}
	startAfter := ""
	if last != nil && last.Version >= historyLimit {
		// Every name of an older version sorts before this one.
		startAfter = fmt.Sprintf("%020d~", last.Version-historyLimit)
	}
	l, err := listLog(ctx, st, logDir, startAfter)
	if err != nil {
		return nil, append(problems, err)
	}

	// Choose the checkpoint: the newest complete one listed.
	// _last_checkpoint is a hint of where to list from, and may be stale
	// (log cleanup after a later checkpoint); when the checkpoint it
	// names is not there, the listing is done again from the start.
	if last != nil {
		if c := l.checkpoints[last.Version]; c == nil || !c.complete() {
			problem(fmt.Errorf("_last_checkpoint: field version names checkpoint %d, which is missing or incomplete; looking for others", last.Version))
			if startAfter != "" {
				if l, err = listLog(ctx, st, logDir, ""); err != nil {
					return nil, append(problems, err)
				}
			}
		}
	}
	var start *checkpointFiles
	for _, c := range l.checkpoints {
		if c.complete() && (start == nil || c.version > start.version) {
			start = c
		}
	}
	maxCommit := int64(-1)
	for v := range l.commits {
		maxCommit = max(maxCommit, v)
	}

	s := newSnapshot()
	if start != nil {
		if err := s.readCheckpoint(ctx, st, logDir, start); err != nil {
			problem(err)
			s = newSnapshot()
			start = nil
			if startAfter != "" { // replay from the first commit
				if l, err = listLog(ctx, st, logDir, ""); err != nil {
					return nil, append(problems, err)
				}
			}
		} else {
			s.version = start.version
		}
	}
	// History: commitInfo of the commits before the checkpoint still in
	// the log, newest historyLimit of them.
	from := s.version + 1
	if start != nil {
		for v := max(0, start.version-historyLimit+1); v <= start.version; v++ {
			if name, ok := l.commits[v]; ok {
				h := newSnapshot()
				if f, err := st.open(ctx, name); err == nil {
					if h.readCommit(f, v, path.Base(name), true) == nil {
						s.history = append(s.history, h.history...)
					}
					f.Close()
				}
			}
		}
	}
	for v := from; v <= maxCommit; v++ {
		name, ok := l.commits[v]
		if !ok {
			problem(fmt.Errorf("%s: %w: version %d is missing (the newest is %d)%s",
				fmt.Sprintf("%020d.json", v), errGap, v, maxCommit, readAs(v-1)))
			break
		}
		f, err := st.open(ctx, name)
		if err != nil {
			problem(err)
			break
		}
		err = s.readCommit(f, v, path.Base(name), false)
		f.Close()
		if err != nil {
			problem(fmt.Errorf("%w%s", err, readAs(v-1)))
			break
		}
	}
	if s.version < 0 || s.meta == nil {
		if len(problems) == 0 {
			problems = append(problems, errors.New("_delta_log: no commit or checkpoint with the table's metadata"))
		}
		return nil, problems
	}
	if len(s.history) > historyLimit {
		s.history = s.history[len(s.history)-historyLimit:]
	}
	return s, problems
}

// readAs says which version a table whose next one could not be read is
// reported at; nothing when there is none.
func readAs(v int64) string {
	if v < 0 {
		return ""
	}
	return fmt.Sprintf("; the table is read as of version %d", v)
}

// historyLimit is how many versions of history a table keeps.
const historyLimit = 20

// readCheckpoint loads a checkpoint: the parts of a classic one, or a v2
// one (JSON or parquet) with its sidecars.
func (s *snapshot) readCheckpoint(ctx context.Context, st storage, logDir string, c *checkpointFiles) error {
	var sidecars []string
	top := c.v2 // the file naming the sidecars, for errors
	if top == "" {
		top = c.parts[0]
	}
	name := path.Base(top)
	switch {
	case c.v2 == "":
		// A classic name may hold a v2 checkpoint too, whose sidecars
		// hold the files.
		for _, p := range c.parts {
			sc, err := s.readParquetActions(ctx, st, p, c.version)
			if err != nil {
				return fmt.Errorf("%s: %w", path.Base(p), err)
			}
			sidecars = append(sidecars, sc...)
		}
	case strings.HasSuffix(c.v2, ".json"):
		f, err := st.open(ctx, c.v2)
		if err != nil {
			return err
		}
		defer f.Close()
		err = readActions(f, name, func(a *action) {
			if a.Sidecar != nil {
				sidecars = append(sidecars, a.Sidecar.Path)
				return
			}
			s.apply(a, c.version, true, name)
		})
		if err != nil {
			return err
		}
	default:
		var err error
		if sidecars, err = s.readParquetActions(ctx, st, c.v2, c.version); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, sc := range sidecars {
		p := path.Join(logDir, "_sidecars", path.Base(sc))
		if strings.Contains(sc, "://") || strings.HasPrefix(sc, "/") {
			var ok bool
			if p, ok = st.resolve(sc); !ok {
				return fmt.Errorf("%s: sidecar %s: not in the table's storage", name, sc)
			}
		}
		if _, err := s.readParquetActions(ctx, st, p, c.version); err != nil {
			return fmt.Errorf("%s: sidecar %s: %w", name, sc, err)
		}
	}
	return nil
}
