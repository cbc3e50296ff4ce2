package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Damage. The index is a derived copy of the catalog, so a damaged one is
// never repaired: it is moved aside (to dir.damaged, replacing an older
// one) and built again from PostgreSQL in the background, while the server
// keeps serving; searches meanwhile fail with ErrRebuilding.
//
// Damage must be found before bleve reads it, because bleve and zap read
// their files through memory maps and unchecked offsets: a damaged file
// makes them panic or fault (SIGSEGV), often in goroutines of their own
// (the merger, the persister, the introducer of new segments, the
// per-segment dictionary readers), where no recover can reach. So Open
// checks every file before bleve opens the index for writing: the
// structure of root.bolt (checkBolt), that bleve loaded the newest
// snapshot it lists rather than skip it for an older one (checkNewest),
// the checksum of every segment file the index uses (checkSegments) and
// what index_meta.json and the mapping say. What Open and searches still hit (a panic, a fault, an error not
// caused by the request) runs on a goroutine of ours with
// debug.SetPanicOnFault and a recover (searches read segments only on
// their own goroutine: see fuzzyQuery and prefixQuery), and has the
// segment files checked again: damage found there is handled as at Open.
// A failure with the files intact is a bug, not damage: it is logged and
// returned, and rebuilds nothing.
//
// What remains: files damaged while the server runs (not at rest) and
// read by bleve's own goroutines first, when a catch-up writes new
// segments and bleve merges them with the damaged ones, can still crash
// the process; the restart then finds the damage at Open.

// ErrRebuilding is returned by searches while the index is being rebuilt
// after damage was found. It is catalog.ErrIndexRebuilding, declared there
// for the table of error kinds (catalog/errkind), and wraps
// catalog.ErrUnavailable.
var ErrRebuilding = catalog.ErrIndexRebuilding

// errDamaged marks the errors of checks that found the index damaged.
var errDamaged = errors.New("search index is damaged")

// errInUse is Open's error when another process has the index open.
var errInUse = errors.New("search index is in use by another process")

// lockWait is how long an open waits for another process to release the
// index before failing with errInUse.
var lockWait = 5 * time.Second

// openChecked checks the index in dir and opens it: errors wrap
// bleve.ErrorIndexPathDoesNotExist for a missing directory, errInUse,
// errLayout for an index of another version, or errDamaged.
func openChecked(dir string) (idx bleve.Index, seq int64, err error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, 0, bleve.ErrorIndexPathDoesNotExist
	}
	err = guard(func() error {
		if err := checkMeta(dir); err != nil {
			return err
		}
		if err := checkBolt(filepath.Join(dir, "store", "root.bolt")); err != nil {
			return err
		}
		// Read-only first: bleve starts no merger or persister, and
		// deletes no file, on an index it only reads.
		ro, err := bleve.OpenUsing(dir, map[string]any{"read_only": true, "bolt_timeout": lockWait.String()})
		if err != nil {
			return openError(err)
		}
		err = guard(func() error { return checkIndex(ro, dir) })
		if cerr := guard(ro.Close); err == nil && cerr != nil {
			err = fmt.Errorf("%w: close: %w", errDamaged, cerr)
		}
		if err != nil {
			return err
		}
		// A batch of changes returns once it is on disk.
		idx, err = bleve.OpenUsing(dir, map[string]any{"unsafe_batch": false, "bolt_timeout": lockWait.String()})
		if err != nil {
			return openError(err)
		}
		if seq, err = readSeq(idx); err != nil {
			return fmt.Errorf("%w: %w", errDamaged, err)
		}
		return nil
	})
	if err != nil {
		if idx != nil {
			_ = guard(idx.Close)
		}
		return nil, 0, err
	}
	return idx, seq, nil
}

// openError classifies an error of bleve.OpenUsing.
func openError(err error) error {
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("%w: %w", errInUse, err)
	}
	return fmt.Errorf("%w: %w", errDamaged, err)
}

// errMissing is the cause of a background build of an index that is not
// there yet (Options.Background).
var errMissing = errors.New("search index is missing")

// errForeign is Open's finding that the catalog does not hold the change
// the index applied last as the index recorded it: the database was
// restored from a backup older than the index, or is another one. Its
// change log may reuse the sequences the index has applied, so catching
// up would skip changes; the index is rebuilt instead.
var errForeign = errors.New("the catalog does not hold the change the search index applied last (restored from a backup, or another database)")

// checkFollowed checks that the catalog holds the change idx applied
// last, seq, as idx recorded it (keyMark); an index from before marks
// were kept is checked only for the change existing.
func (x *Index) checkFollowed(ctx context.Context, idx bleve.Index, seq int64) error {
	x.mark = ""
	if seq == 0 {
		return nil
	}
	var value []byte
	if err := guard(func() (err error) { value, err = idx.GetInternal(keyMark); return err }); err != nil {
		return fmt.Errorf("%w: read change mark: %w", errDamaged, err)
	}
	var stored []byte
	if len(value) > 0 {
		i := bytes.LastIndexByte(value, ' ')
		if i < 0 || !bytes.Equal(vocabSum(value[:i]), value[i+1:]) {
			return fmt.Errorf("%w: change mark %q does not match its checksum", errDamaged, value)
		}
		stored = value[:i]
	}
	_, err := x.store.ChangesSince(ctx, seq, string(stored), 0)
	if errors.Is(err, store.ErrChangeLogDiverged) {
		return fmt.Errorf("%w: %w", errForeign, err)
	}
	if err != nil {
		return err
	}
	x.mark = string(stored)
	return nil
}

// errLayout is checkIndex's error for an index built by another version
// of this package: not damage, but rebuilt all the same.
var errLayout = errors.New("search index has another layout")

// checkIndex checks an index in dir just opened: its layout version, its
// mapping, its vocabulary, that it loaded the newest snapshot, and its
// segment files.
func checkIndex(idx bleve.Index, dir string) error {
	v, err := idx.GetInternal(keyVersion)
	if err != nil {
		return fmt.Errorf("%w: read layout version: %w", errDamaged, err)
	}
	if string(v) != mappingVersion {
		return fmt.Errorf("%w: %q, want %q", errLayout, v, mappingVersion)
	}
	// The mapping is stored in root.bolt, which has no checksum.
	got, err := json.Marshal(idx.Mapping())
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	want, err := json.Marshal(newMapping())
	if err != nil {
		return fmt.Errorf("check search index mapping: %w", err)
	}
	if string(got) != string(want) {
		return fmt.Errorf("%w: its mapping is not this version's", errDamaged)
	}
	// So is the vocabulary, which carries a checksum of its own.
	vocab, err := idx.GetInternal(keyVocab)
	if err != nil {
		return fmt.Errorf("%w: read vocabulary: %w", errDamaged, err)
	}
	sum, err := idx.GetInternal(keyVocabSum)
	if err != nil {
		return fmt.Errorf("%w: read vocabulary checksum: %w", errDamaged, err)
	}
	if want := vocabSum(vocab); !bytes.Equal(sum, want) {
		return fmt.Errorf("%w: its vocabulary has checksum %s, its content %s", errDamaged, sum, want)
	}
	if err := checkNewest(idx, dir); err != nil {
		return err
	}
	return checkSegments(idx)
}

// checkMeta checks index_meta.json: bleve takes the storage and index
// type from it.
func checkMeta(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "index_meta.json"))
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	var meta struct {
		Storage   string `json:"storage"`
		IndexType string `json:"index_type"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return fmt.Errorf("%w: index_meta.json: %w", errDamaged, err)
	}
	if meta.Storage != scorch.Name || meta.IndexType != scorch.Name {
		return fmt.Errorf("%w: index_meta.json names storage %q and index type %q, want %q", errDamaged, meta.Storage, meta.IndexType, scorch.Name)
	}
	return nil
}

// checkSegments compares the checksum zap writes at the end of every
// segment file of idx's current snapshot with the file's content. It
// reads the files, not their memory maps, so that a file cut short
// cannot fault.
func checkSegments(idx bleve.Index) error {
	paths, err := segmentFiles(idx)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := checkSegmentFile(p); err != nil {
			return err
		}
	}
	return nil
}

// segmentFiles returns the paths of the segment files of idx's current
// snapshot.
func segmentFiles(idx bleve.Index) ([]string, error) {
	adv, err := idx.Advanced()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDamaged, err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil, fmt.Errorf("check search index: index is a %T, not scorch", adv)
	}
	r, err := s.Reader()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDamaged, err)
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, fmt.Errorf("check search index: reader is a %T, not scorch's", r)
	}
	var paths []string
	for _, ss := range snap.Segments() {
		if seg, ok := ss.Segment().(interface{ Path() string }); ok { // else in memory, not yet written
			paths = append(paths, seg.Path())
		}
	}
	return paths, nil
}

// checkNewest checks that idx, just opened, has loaded the newest
// snapshot that root.bolt lists. Scorch skips a snapshot it cannot load
// (a segment damaged, a bucket missing) and loads the one before it, which
// root.bolt keeps for a while after every change: checkSegments would then
// find the older snapshot's segments intact, and the index would serve an
// older state than the one it was closed with, as if nothing were wrong.
func checkNewest(idx bleve.Index, dir string) error {
	paths, err := segmentFiles(idx)
	if err != nil {
		return err
	}
	snaps, err := snapshotSegments(filepath.Join(dir, "store", "root.bolt"))
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return nil // nothing persisted yet
	}
	loaded := make([]string, len(paths))
	for i, p := range paths {
		loaded[i] = filepath.Base(p)
	}
	slices.Sort(loaded)
	newest := slices.Sorted(slices.Values(snaps[0]))
	if !slices.Equal(loaded, newest) {
		return fmt.Errorf("%w: the newest snapshot in root.bolt, of segments %q, did not load; bleve loaded an older one, of %q", errDamaged, newest, loaded)
	}
	return nil
}

// snapshotSegments returns the names of the segment files of every
// snapshot that the root.bolt at path lists, newest first, as scorch
// keeps them (index/scorch/persister.go): in bucket "s", a bucket per
// snapshot, keyed by its epoch in ascending order; in it a bucket per
// segment, whose "p" is its file's name in the directory of root.bolt,
// beside the buckets of internal values ("i") and metadata ("m").
func snapshotSegments(path string) ([][]string, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: lockWait})
	if err != nil {
		return nil, openError(err)
	}
	defer db.Close()
	var snaps [][]string
	err = db.View(func(tx *bbolt.Tx) error {
		s := tx.Bucket([]byte("s"))
		if s == nil {
			return nil
		}
		c := s.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			snap := s.Bucket(k)
			if v != nil || snap == nil || string(k) == "t" {
				continue // a value, or the bucket of a vector index's trainer
			}
			segs := []string{}
			err := snap.ForEachBucket(func(sk []byte) error {
				if sk[0] == 'i' || sk[0] == 'm' {
					return nil
				}
				p := snap.Bucket(sk).Get([]byte("p"))
				if len(p) == 0 {
					return fmt.Errorf("%w: root.bolt: a segment of snapshot %x names no file", errDamaged, k)
				}
				segs = append(segs, string(p))
				return nil
			})
			if err != nil {
				return err
			}
			snaps = append(snaps, segs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return snaps, nil
}

// checkSegmentFile checks a zap segment file against its checksum: the
// CRC-32 (IEEE) of everything before it, in its last four bytes.
func checkSegmentFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %w", errDamaged, err)
	}
	n := fi.Size() - 4
	if n < 0 {
		return fmt.Errorf("%w: segment %s is %d bytes long", errDamaged, filepath.Base(path), fi.Size())
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("%w: read segment %s: %w", errDamaged, filepath.Base(path), err)
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], n); err != nil {
		return fmt.Errorf("%w: read segment %s: %w", errDamaged, filepath.Base(path), err)
	}
	if got, want := h.Sum32(), uint32(sum[0])<<24|uint32(sum[1])<<16|uint32(sum[2])<<8|uint32(sum[3]); got != want {
		return fmt.Errorf("%w: segment %s has checksum %08x, its content %08x", errDamaged, filepath.Base(path), want, got)
	}
	return nil
}

// panicError is a panic (or memory fault) recovered from bleve.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("search index panicked: %v", e.value) }

// guard runs f on this goroutine, turning a panic, and a memory fault
// that debug.SetPanicOnFault turns into one, into a *panicError.
func guard(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f()
}

// use runs f, which uses x.idx (op says for what: "search"), under the
// read lock and guard. A failure that ctx did not cause has the index
// checked: if it is damaged it is rebuilt, and use returns ErrRebuilding.
func (x *Index) use(ctx context.Context, op string, f func() error) error {
	err := x.useLocked(f)
	if err == nil || ctx.Err() != nil || errors.Is(err, ErrRebuilding) || errors.Is(err, errClosed) || errors.Is(err, catalog.ErrInvalid) {
		return err
	}
	if x.check(ctx, op, err) {
		return ErrRebuilding
	}
	return err
}

func (x *Index) useLocked(f func() error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.idx == nil {
		if x.rebuilding {
			return ErrRebuilding
		}
		return errClosed
	}
	return guard(f)
}

// recheckAfter is how long an index found intact after a failure is
// trusted: failures within it are returned without checking it again, so
// that a query that fails for another reason cannot keep the server
// reading its whole index.
const recheckAfter = time.Minute

// check checks the index after a failure of op and has it rebuilt if it
// is damaged, which it reports.
func (x *Index) check(ctx context.Context, op string, failure error) bool {
	x.checkMu.Lock()
	defer x.checkMu.Unlock()
	x.mu.RLock()
	idx := x.idx
	var err error
	if idx != nil && (idx != x.intact || time.Since(x.intactAt) > recheckAfter) {
		err = guard(func() error { return checkSegments(idx) })
	}
	x.mu.RUnlock()
	attrs := []any{"op", op, "dir", x.dir, "err", failure}
	if pe, ok := errors.AsType[*panicError](failure); ok {
		attrs = append(attrs, "stack", string(pe.stack))
	}
	switch {
	case idx == nil:
		return x.isRebuilding()
	case err == nil:
		x.intact, x.intactAt = idx, time.Now()
		x.log.ErrorContext(ctx, "search index failed, but is intact", attrs...)
		return false
	}
	x.log.ErrorContext(ctx, "search index failed and is damaged", append(attrs, "damage", err)...)
	x.damaged(idx, err)
	return true
}

func (x *Index) isRebuilding() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.rebuilding
}

// damaged closes idx, when it is still the index in use, moves its
// directory aside and rebuilds it in the background. idx is nil when Open
// found the damage.
func (x *Index) damaged(idx bleve.Index, cause error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed || x.rebuilding || x.idx != idx {
		return
	}
	x.rebuilding = true
	x.idx, x.lex = nil, nil
	x.facets = newFacetTable()
	x.setSeq(0) // WaitFor waits for the rebuilt index
	x.bg.Add(1)
	go x.rebuildDamaged(idx, cause)
}

// closeWait is how long a damaged index is given to close before it is
// left to itself and rebuilt regardless.
const closeWait = 10 * time.Second

// rebuildDamaged closes the damaged index, moves it aside and rebuilds
// it, trying again with backoff until it succeeds or x is closed.
func (x *Index) rebuildDamaged(idx bleve.Index, cause error) {
	defer x.bg.Done()
	ctx := x.bgCtx
	if idx != nil {
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			if err := guard(idx.Close); err != nil {
				x.log.WarnContext(ctx, "close damaged search index", "err", err)
			}
		}()
		select {
		case <-closed:
		case <-time.After(closeWait):
			x.log.WarnContext(ctx, "damaged search index did not close; rebuilding regardless", "dir", x.dir)
		}
	}
	level, msg := slog.LevelError, "search index damaged; moved aside and rebuilding it from the catalog"
	aside := x.dir + ".damaged"
	switch {
	case errors.Is(cause, errLayout):
		level, msg, aside = slog.LevelInfo, "search index built by another version; rebuilding it from the catalog", ""
	case errors.Is(cause, errMissing):
		level, msg, aside = slog.LevelInfo, "no search index yet; building it from the catalog", ""
	case errors.Is(cause, errForeign):
		level, msg, aside = slog.LevelWarn, "search index followed another catalog; rebuilding it from this one", ""
	}
	if aside != "" {
		if err := os.RemoveAll(aside); err != nil {
			x.log.WarnContext(ctx, "remove old damaged search index", "dir", aside, "err", err)
		}
		if err := os.Rename(x.dir, aside); err != nil {
			x.log.WarnContext(ctx, "move damaged search index aside; removing it", "dir", x.dir, "err", err)
			aside = ""
		}
	}
	x.log.Log(ctx, level, msg, "dir", x.dir, "aside", aside, "err", cause)
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		err := x.Rebuild(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		x.log.ErrorContext(ctx, "rebuild search index failed; trying again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
	if err := x.CatchUp(ctx); err != nil && ctx.Err() == nil {
		x.log.WarnContext(ctx, "catch up rebuilt search index", "err", err)
	}
}

// checkNotInUse fails with errInUse if another process has the index in
// dir open: bleve holds a lock on its root.bolt while it does.
func checkNotInUse(dir string) error {
	path := filepath.Join(dir, "store", "root.bolt")
	if _, err := os.Stat(path); err != nil {
		return nil // no index, or none bleve could open
	}
	var db *bbolt.DB
	err := guard(func() (err error) {
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: lockWait})
		return err
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return errInUse
	}
	if db != nil {
		_ = guard(db.Close)
	}
	return nil // unlocked, if damaged
}
