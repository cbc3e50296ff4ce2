// Package search owns Almanac's full-text search: a bleve (scorch) index
// of the catalog's datasets with their columns, the query language that
// reads what people type, ranking, highlighting, facets and the
// suggestions of the search box, and the sync that keeps the index in step
// with the catalog's change log.
//
// The index is a local, derived copy of PostgreSQL. It remembers the last
// change log sequence it applied (in the index itself, committed with the
// documents), catches up when opened, follows LISTEN/NOTIFY while Run
// runs, and is rebuilt from PostgreSQL when its directory is missing,
// damaged or of an older layout: a missing one before Open returns, the
// others in the background while searches answer ErrRebuilding (see
// damage.go). Any number of server replicas each keep their own.
//
// Columns are indexed inside their dataset's document rather than as
// documents of their own (a million columns would multiply the index);
// a hit says which columns matched, so that a column name finds its
// column and its table.
package search

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"almanac/catalog/store"
)

// Internal keys kept in the index beside the documents.
var (
	keySeq     = []byte("almanac.seq")     // last change log sequence applied
	keyVersion = []byte("almanac.mapping") // mappingVersion the index was built with
	keyVocab   = []byte("almanac.vocab")   // the catalog's words the index was built with (vocabulary.encode)
	// keyVocabSum is the checksum of keyVocab's value (vocabSum): bbolt
	// keeps none of the values in root.bolt, and a vocabulary damaged
	// there would split queries otherwise than the documents were.
	keyVocabSum = []byte("almanac.vocab.crc32")
	// keyMark is the catalog.Change.Mark of the change at keySeq, which
	// Open compares with the catalog's, followed by its checksum
	// (vocabSum): a value damaged in root.bolt is damage, not another
	// catalog.
	keyMark = []byte("almanac.seq.mark")
)

// vocabSum is the checksum kept under keyVocabSum: the CRC-32 (IEEE) of
// an encoded vocabulary, in hexadecimal.
func vocabSum(vocab []byte) []byte {
	return fmt.Appendf(nil, "%08x", crc32.ChecksumIEEE(vocab))
}

// Options configure an Index.
type Options struct {
	// Logger receives sync progress (info) and failures (warn, error). Nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock freshness is judged against; nil is time.Now.
	Now func() time.Time
	// NoCache turns off the in-process cache of results (for benchmarks
	// that measure the index itself).
	NoCache bool
	// Abbreviations replace or add to DefaultAbbreviations: short form →
	// the words it stands for; an entry without words removes a default.
	Abbreviations map[string][]string
	// Background makes Open build a missing index in the background, as
	// it rebuilds a damaged one, rather than before it returns: a new
	// server replica listens at once and says, through Ready, that it is
	// not ready until its index has caught up.
	Background bool
	// Progress, when set, is called as a build or rebuild goes, after
	// every batch of datasets and once at the end (Done == Total).
	Progress func(Progress)
}

// Progress is how far a build of the whole index, or a long catch-up
// with the change log, has come.
type Progress struct {
	// Stage is StageBuild or StageCatchUp.
	Stage string
	// Done and Total count datasets while building (Total is 0 while the
	// catalog's vocabulary is being learned, before they are counted)
	// and change log entries while catching up.
	Done, Total int64
}

// The stages of Progress.
const (
	StageBuild   = "build"
	StageCatchUp = "catch up"
)

// Index is the search index of one server process. Its methods are safe
// for concurrent use.
type Index struct {
	dir   string
	store *store.Store // nil for an index built from plain values
	log   *slog.Logger
	now   func() time.Time

	// mu guards idx, which Rebuild replaces; searches hold it shared.
	mu  sync.RWMutex
	idx bleve.Index
	// facets is idx's facet table, replaced with it.
	facets *facetTable
	// lex is how idx's documents were analysed (its catalog's vocabulary
	// and the abbreviations), replaced with it: nil while idx is.
	lex *lexicon
	// abbrev is the abbreviation table of Options.
	abbrev *abbreviations
	// rebuilding says that idx, nil, is being rebuilt after damage; closed
	// that Close was called. Both are guarded by mu.
	rebuilding, closed bool
	// bg counts background rebuilds; bgCtx ends them, when stop is
	// called by Close.
	bg    sync.WaitGroup
	bgCtx context.Context
	stop  context.CancelFunc
	// checkMu serialises the checks of the index after failures; intact
	// is the last index a check found intact, at intactAt.
	checkMu  sync.Mutex
	intact   bleve.Index
	intactAt time.Time
	// applyMu serialises writers: catching up and rebuilding.
	applyMu sync.Mutex
	// mark is the catalog.Change.Mark of the last change applied ("" for
	// an index from before marks were kept), under applyMu: a catch-up
	// checks that the catalog still holds it.
	mark string
	seq  atomic.Int64
	// popular is how far the index has applied popularity (see
	// applyPopularity), guarded by applyMu.
	popular popularState
	// gen advances with every write, invalidating cached results.
	gen   atomic.Uint64
	cache *resultCache // nil when off
	// explainAll explains every candidate of the re-ranking window in
	// full, as search did before it explained only the page: tests
	// compare the two.
	explainAll bool
	// applied is closed and replaced whenever seq advances, so that a
	// caller can wait for a sequence.
	appliedMu sync.Mutex
	applied   chan struct{}
	// progress reports builds (Options.Progress); built and toBuild
	// count the datasets of the build under way, for Ready.
	progress       func(Progress)
	built, toBuild atomic.Int64
	// readyAt is the change log's last sequence when the index was
	// opened; caughtUp latches once the index has applied it.
	readyAt  int64
	caughtUp atomic.Bool
}

// Open opens the index in dir and brings it up to date with st's change
// log. A missing directory is built from PostgreSQL before Open returns,
// which takes as long as reading the whole catalog. A damaged one, or one
// built by another version of this package, is rebuilt in the background:
// Open returns at once, and searches fail with ErrRebuilding until the
// index is ready (WaitFor the catalog's last change to wait for it). Open
// fails if another process has the index open.
func Open(ctx context.Context, dir string, st *store.Store, opts Options) (*Index, error) {
	if st == nil {
		return nil, errors.New("open search index: no store")
	}
	if _, err := newAbbreviations(opts.Abbreviations); err != nil {
		return nil, fmt.Errorf("open search index: %w", err)
	}
	x := newIndex(dir, st, opts)
	if opts.Background {
		// Ready waits for this; without Background, Open does.
		readyAt, err := st.LastChangeSeq(ctx)
		if err != nil {
			return nil, fmt.Errorf("open search index: %w", err)
		}
		x.readyAt = readyAt
	}
	idx, seq, err := openChecked(dir)
	if err == nil {
		// Only now that the checks found root.bolt sound.
		if err = guard(func() error { return x.loadLexicon(idx) }); err != nil {
			_ = guard(idx.Close)
			err = fmt.Errorf("%w: %w", errDamaged, err)
		}
	}
	if err == nil {
		if err = x.checkFollowed(ctx, idx, seq); err != nil {
			_ = guard(idx.Close)
			if !errors.Is(err, errForeign) && !errors.Is(err, errDamaged) {
				return nil, fmt.Errorf("open search index: %w", err)
			}
		}
	}
	switch {
	case err == nil:
		x.idx = idx
		x.setSeq(seq)
		x.warmFacets()
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist) && opts.Background:
		x.damaged(nil, errMissing)
		return x, nil
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist):
		if err := x.Rebuild(ctx); err != nil {
			return nil, err
		}
	case errors.Is(err, errInUse):
		return nil, fmt.Errorf("open search index %s: %w", dir, err)
	default:
		x.damaged(nil, err)
		return x, nil
	}
	if opts.Background {
		return x, nil // Run catches up first thing
	}
	if err := x.CatchUp(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// Create builds the index in dir afresh from PostgreSQL, replacing
// whatever dir holds without reading it, and returns it open: for
// `almanac reindex`, which must work however damaged the index is. It
// fails if another process has the index open.
func Create(ctx context.Context, dir string, st *store.Store, opts Options) (*Index, error) {
	if st == nil {
		return nil, errors.New("create search index: no store")
	}
	if err := checkNotInUse(dir); err != nil {
		return nil, fmt.Errorf("create search index %s: %w", dir, err)
	}
	x := newIndex(dir, st, opts)
	if err := x.Rebuild(ctx); err != nil {
		return nil, err
	}
	if err := x.CatchUp(ctx); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func newIndex(dir string, st *store.Store, opts Options) *Index {
	x := &Index{dir: dir, store: st, log: opts.Logger, now: opts.Now, applied: make(chan struct{}), facets: newFacetTable(), progress: opts.Progress}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	if x.now == nil {
		x.now = time.Now
	}
	if !opts.NoCache {
		x.cache = newResultCache(cacheSize)
	}
	// Open and Build report a bad table; the defaults stand in here.
	x.abbrev, _ = newAbbreviations(opts.Abbreviations)
	if x.abbrev == nil {
		x.abbrev, _ = newAbbreviations(nil)
	}
	x.bgCtx, x.stop = context.WithCancel(context.Background())
	return x
}

// loadLexicon reads the vocabulary idx was built with, for Open to put
// idx in place.
func (x *Index) loadLexicon(idx bleve.Index) error {
	b, err := idx.GetInternal(keyVocab)
	if err != nil {
		return fmt.Errorf("read vocabulary: %w", err)
	}
	x.lex = newLexicon(decodeVocabulary(b), x.abbrev)
	return nil
}

// openDir opens an index this package has just built.
func openDir(dir string) (bleve.Index, error) {
	// A batch of changes returns once it is on disk.
	idx, err := bleve.OpenUsing(dir, map[string]any{"unsafe_batch": false, "bolt_timeout": lockWait.String()})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

func readSeq(idx bleve.Index) (int64, error) {
	b, err := idx.GetInternal(keySeq)
	if err != nil {
		return 0, fmt.Errorf("read applied sequence: %w", err)
	}
	if len(b) == 0 {
		return 0, errors.New("index has no applied sequence")
	}
	seq, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read applied sequence %q: %w", b, err)
	}
	return seq, nil
}

// createDir creates an empty index in dir, replacing whatever is there.
func createDir(dir string) (bleve.Index, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("remove old search index: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	// Batches return before they are on disk: a build waits only for its
	// last one (batchWriter.waitPersisted). openDir turns this off again.
	idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	return idx, nil
}

// Close closes the index, stopping a rebuild in the background; searches
// after it fail.
func (x *Index) Close() error {
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	x.stop()
	x.bg.Wait()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rebuilding = false
	if x.idx == nil {
		return nil
	}
	err := x.idx.Close()
	x.idx, x.lex = nil, nil
	if err != nil {
		return fmt.Errorf("close search index: %w", err)
	}
	return nil
}

// Seq returns the last change log sequence the index applied.
func (x *Index) Seq() int64 { return x.seq.Load() }

func (x *Index) setSeq(seq int64) {
	x.gen.Add(1)
	x.seq.Store(seq)
	x.appliedMu.Lock()
	close(x.applied)
	x.applied = make(chan struct{})
	x.appliedMu.Unlock()
}

// WaitFor waits until the index has applied sequence seq, or ctx ends.
func (x *Index) WaitFor(ctx context.Context, seq int64) error {
	for {
		x.appliedMu.Lock()
		ch := x.applied
		x.appliedMu.Unlock()
		if x.seq.Load() >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for search index to apply change %d: %w", seq, ctx.Err())
		case <-ch:
		}
	}
}

// indexBatchSize is how many datasets one bleve batch carries, and
// buildBatchSize when building a whole index. Every batch becomes a
// segment; big ones leave the merger little to do (100,000 datasets make
// ten segments, which it leaves alone). Builds do not merge them into one
// either: that took a quarter of the build and made no search faster.
const (
	indexBatchSize = 1000
	buildBatchSize = 10000
)

// batchWriter adds documents to an index in batches. While the caller
// fills the next batch, earlier ones are written: bleve analyses a batch
// on its worker pool but builds its segment on the calling goroutine, so
// a build writes two at once to use two cores.
type batchWriter struct {
	idx   bleve.Index
	batch *bleve.Batch
	size  int // datasets a batch carries
	// parallel is how many batches may be written at once. Their order
	// is then not kept, which only a build, adding each dataset once, can
	// afford; the default 1 applies batches in order.
	parallel int
	// writing holds the outcome channels of the batches being written,
	// oldest first.
	writing []chan error
	// waitPersisted makes flushSeq wait until its batch is on disk: for
	// an index opened with unsafe_batch, whose batches return before.
	waitPersisted bool
	// seg splits the words of names written without separators.
	seg *segmenter
	// vocab, when set, is written with the last batch: the vocabulary
	// of a new index.
	vocab []byte
	// fields make bleve's documents without its mapping's reflection;
	// nil if the mapping is not newMapping's, to use the mapping.
	fields *docFields
	// mark, when set, is written with the sequence by flushSeq: the
	// catalog.Change.Mark of the change at it.
	mark string
}

func newBatchWriter(idx bleve.Index) *batchWriter {
	fields, _ := newDocFields(idx.Mapping())
	return &batchWriter{idx: idx, batch: idx.NewBatch(), size: indexBatchSize, parallel: 1, fields: fields}
}

// forBuild sets w up to write a whole new index.
func (w *batchWriter) forBuild() *batchWriter {
	w.size, w.parallel, w.waitPersisted = buildBatchSize, 2, true
	return w
}

func (w *batchWriter) add(d Dataset) error {
	doc := toDocument(d, w.seg)
	var err error
	if w.fields != nil {
		err = w.batch.IndexAdvanced(w.fields.bleveDocument(docIDOf(d), &doc))
	} else {
		err = w.batch.Index(docIDOf(d), doc)
	}
	if err != nil {
		return fmt.Errorf("index dataset %s: %w", d.Key, err)
	}
	if w.batch.Size() >= w.size {
		return w.flushAsync()
	}
	return nil
}

func (w *batchWriter) delete(id int64) { w.batch.Delete(docID(id)) }

func (w *batchWriter) deleteJob(id int64) { w.batch.Delete(jobDocID(id)) }

// flushSeq commits the batch together with the sequence it brings the
// index to, after every batch before it, so that the two never disagree
// after a crash.
func (w *batchWriter) flushSeq(seq int64) error {
	w.batch.SetInternal(keySeq, []byte(strconv.FormatInt(seq, 10)))
	if w.mark != "" {
		w.batch.SetInternal(keyMark, fmt.Appendf(nil, "%s %s", w.mark, vocabSum([]byte(w.mark))))
	}
	// The layout version too: an index is complete once it has one.
	w.batch.SetInternal(keyVersion, []byte(mappingVersion))
	if w.vocab != nil {
		w.batch.SetInternal(keyVocab, w.vocab)
		w.batch.SetInternal(keyVocabSum, vocabSum(w.vocab))
	}
	var persisted chan error
	if w.waitPersisted {
		persisted = make(chan error, 1)
		w.batch.SetPersistedCallback(func(err error) { persisted <- err })
	}
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.flushAsync(); err != nil {
		return err
	}
	if err := w.wait(); err != nil {
		return err
	}
	if persisted != nil {
		if err := <-persisted; err != nil {
			return fmt.Errorf("write search index: %w", err)
		}
	}
	return nil
}

// flushAsync starts writing the batch, once fewer than w.parallel are
// being written.
func (w *batchWriter) flushAsync() error {
	if w.batch.Size() == 0 {
		return nil
	}
	for len(w.writing) >= w.parallel {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	b, done := w.batch, make(chan error, 1)
	w.batch = w.idx.NewBatch()
	w.writing = append(w.writing, done)
	go func() { done <- guard(func() error { return w.idx.Batch(b) }) }()
	return nil
}

func (w *batchWriter) waitOldest() error {
	err := <-w.writing[0]
	w.writing = w.writing[1:]
	if err != nil {
		return fmt.Errorf("write search index: %w", err)
	}
	return nil
}

// wait waits for every batch being written and returns the first error.
func (w *batchWriter) wait() error {
	var first error
	for len(w.writing) > 0 {
		if err := w.waitOldest(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Build creates an index in dir, replacing what is there, from plain
// values rather than the catalog: for tests, benchmarks and tools. It
// calls datasets twice: once to learn the catalog's vocabulary, once to
// index. The index it returns has no store, so it cannot sync; Close it
// when done.
func Build(dir string, datasets func(yield func(Dataset) error) error, opts Options) (*Index, error) {
	if _, err := newAbbreviations(opts.Abbreviations); err != nil {
		return nil, fmt.Errorf("build search index: %w", err)
	}
	x := newIndex(dir, nil, opts)
	v := newVocabulary()
	if err := datasets(func(d Dataset) error { v.learn(d); return nil }); err != nil {
		return nil, fmt.Errorf("build search index: %w", err)
	}
	x.lex = newLexicon(v, x.abbrev)
	idx, err := createDir(dir)
	if err != nil {
		return nil, err
	}
	w := newBatchWriter(idx).forBuild()
	w.seg, w.vocab = x.lex.seg, v.encode()
	err = datasets(w.add)
	if err != nil {
		// Let the batch being written finish before closing.
		_ = w.wait()
	}
	if err == nil {
		err = w.flushSeq(0)
	}
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("build search index: %w", err)
	}
	x.idx = idx
	return x, nil
}

var errClosed = errors.New("search index is closed")
