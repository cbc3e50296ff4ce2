package search_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/search"
)

// damageCatalog is a catalog of a few datasets, crawled, edited and
// crawled again, so that its index has several segments, deleted
// documents and several snapshots in root.bolt.
func damageCatalog(t *testing.T, st *store.Store, dir string) {
	t.Helper()
	x := open(t, dir, st)
	more := append(shop(),
		catalog.DatasetFacts{Key: key("shop.public.refunds"), Platform: "postgres", Kind: catalog.KindTable, Description: "Money given back.",
			Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint"}, {Name: "order_id", Ordinal: 2, Type: "bigint"}}},
		catalog.DatasetFacts{Key: key("shop.marts.revenue_daily"), Platform: "postgres", Kind: catalog.KindView, Description: "Revenue per day.",
			Columns: []catalog.Column{{Name: "day", Ordinal: 1, Type: "date"}, {Name: "revenue", Ordinal: 2, Type: "numeric"}}, Tags: []string{"finance"}},
	)
	for i, ds := range [][]catalog.DatasetFacts{shop(), more, more[1:]} {
		crawl(t, st, "postgres:shop", ds...)
		if err := x.CatchUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			orders, err := st.Dataset(t.Context(), key("shop.public.orders"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.SetDatasetDescription(t.Context(), catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}, orders.ID, "Every webshop purchase."); err != nil {
				t.Fatal(err)
			}
			if err := x.CatchUp(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
}

// answers is what an index answers to a few searches and suggestions.
func answers(ctx context.Context, x *search.Index) (string, error) {
	var b strings.Builder
	for _, s := range []string{"orders", "customer_email", "webshop purchase", "tag:finance", "refunds", "custmer", "shop", "-pii"} {
		q, err := search.Parse(s)
		if err != nil {
			return "", err
		}
		for _, removed := range []bool{false, true} {
			res, err := x.Search(ctx, search.Request{Query: q, IncludeRemoved: removed})
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&b, "%s (removed %v): %d", s, removed, res.Total)
			for _, h := range res.Hits {
				fmt.Fprintf(&b, " %s %v %v %v", h.Key.Name, h.Description, h.Columns, h.Matched)
			}
			for _, f := range res.Facets {
				fmt.Fprintf(&b, " %s%v", f.Key, f.Values)
			}
			b.WriteString("\n")
		}
	}
	for _, s := range []string{"sh", "shop.public.o", "revenue"} {
		found, err := x.Suggest(ctx, s, 5)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "suggest %s: %v\n", s, found)
	}
	return b.String(), nil
}

// answersAfterRebuild returns x's answers, waiting for x to be rebuilt
// if it is being rebuilt; waited says whether it was.
func answersAfterRebuild(t *testing.T, x *search.Index, st *store.Store) (got string, waited bool) {
	t.Helper()
	got, err := answers(t.Context(), x)
	if errors.Is(err, search.ErrRebuilding) {
		if !errors.Is(err, catalog.ErrUnavailable) {
			t.Errorf("ErrRebuilding is not a catalog.ErrUnavailable")
		}
		seq, serr := st.LastChangeSeq(t.Context())
		if serr != nil {
			t.Fatal(serr)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		if err := x.WaitFor(ctx, seq); err != nil {
			t.Fatalf("waiting for the rebuild: %v", err)
		}
		got, err = answers(t.Context(), x)
		waited = true
	}
	if err != nil {
		t.Fatal(err)
	}
	return got, waited
}

// offsets returns where to damage a file of content b: its first and
// last bytes (headers, footers, checksums) and bytes spread over the rest
// that are not zero (bbolt's files are mostly empty pages).
func offsets(b []byte) []int {
	n := len(b)
	var out []int
	for _, o := range []int{0, 1, 3, 4, 8, 12, 16, 24, 32, 48, 63} {
		out = append(out, o, n-1-o)
	}
	var data []int
	for i, c := range b {
		if c != 0 && i >= 64 && i < n-64 {
			data = append(data, i)
		}
	}
	const spread = 24
	for i := range spread {
		if len(data) > 0 {
			out = append(out, data[i*len(data)/spread])
		}
	}
	slices.Sort(out)
	return slices.Compact(slices.DeleteFunc(out, func(o int) bool { return o < 0 || o >= n }))
}

// logs keeps the messages logged, by level.
type logs struct {
	mu  sync.Mutex
	msg map[slog.Level][]string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.msg == nil {
		l.msg = map[slog.Level][]string{}
	}
	l.msg[r.Level] = append(l.msg[r.Level], r.Message)
	if os.Getenv("DEBUGLOG") != "" {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s=%v", a.Key, a.Value); return true })
		fmt.Fprintln(os.Stderr, r.Level, r.Message, b.String())
	}
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

// has reports whether a message at level containing s was logged.
func (l *logs) has(level slog.Level, s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.msg[level], func(m string) bool { return strings.Contains(m, s) })
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// settle opens and closes the index in dir until it answers as it did the
// time before and the open changed none of its segment files, and
// returns those answers. Bleve merges segments in the background once it
// has opened an index, and a merge changes scores (BM25 counts deleted
// documents until they are merged away): until the index is settled, the
// order of its hits depends on when they are asked for.
func settle(t *testing.T, dir string, st *store.Store) string {
	t.Helper()
	segments := func() string {
		m, err := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(m, " ")
	}
	last := ""
	for range 10 {
		before := segments()
		x := open(t, dir, st)
		got, waited := answersAfterRebuild(t, x, st)
		if waited {
			t.Fatal("an intact index was rebuilt")
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		if got == last && segments() == before {
			return got
		}
		last = got
	}
	t.Fatal("the index kept changing")
	return ""
}

// TestDamagedIndexRebuilt damages every file of an index, a byte at a
// time at many places, and opens it: every damage must be either harmless
// (the answers are right) or found, the index moved aside and rebuilt
// while Open has returned and searches say so; never a panic or a fault,
// never a wrong answer.
func TestDamagedIndexRebuilt(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	pristine := filepath.Join(t.TempDir(), "index")
	damageCatalog(t, st, pristine)
	want := settle(t, pristine, st)
	// A rebuilt index learns the vocabulary of the catalog as it is now,
	// which splits names differently from the pristine index's, learnt
	// when the catalog was empty: it answers as an index built afresh.
	fresh, err := search.Create(t.Context(), filepath.Join(t.TempDir(), "fresh"), st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantRebuilt, _ := answersAfterRebuild(t, fresh, st)
	fresh.Close()

	var files []string
	err = filepath.WalkDir(pristine, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(pristine, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		kinds[filepath.Ext(f)] = true
	}
	if !kinds[".zap"] || !kinds[".bolt"] || !kinds[".json"] {
		t.Fatalf("index files %q: want index_meta.json, root.bolt and segments", files)
	}

	start := time.Now()
	work := t.TempDir()
	trials, found := 0, 0
	for _, f := range files {
		content, err := os.ReadFile(filepath.Join(pristine, f))
		if err != nil {
			t.Fatal(err)
		}
		foundHere := 0
		for i, off := range offsets(content) {
			// Every byte flipped, or one bit.
			mask := byte(0xFF)
			if i%2 == 1 {
				mask = 0x10
			}
			dir := filepath.Join(work, fmt.Sprint(trials), "index")
			trials++
			copyDir(t, pristine, dir)
			damaged := bytes.Clone(content)
			damaged[off] ^= mask
			if err := os.WriteFile(filepath.Join(dir, f), damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			l := &logs{}
			x, err := search.Open(t.Context(), dir, st, search.Options{Logger: slog.New(l)})
			if err != nil {
				t.Errorf("%s, byte %d ^ %#x: Open: %v", f, off, mask, err)
				continue
			}
			got, _ := answersAfterRebuild(t, x, st)
			if err := x.Close(); err != nil {
				t.Errorf("%s, byte %d ^ %#x: Close: %v", f, off, mask, err)
			}
			rebuilt := l.has(slog.LevelInfo, "search index rebuilt")
			wantHere := want
			if rebuilt {
				wantHere = wantRebuilt
			}
			if diff := cmp.Diff(wantHere, got); diff != "" {
				t.Errorf("%s, byte %d ^ %#x (rebuilt %v): answers (-want +got):\n%s", f, off, mask, rebuilt, diff)
			}
			_, err = os.Stat(dir + ".damaged")
			aside := err == nil
			switch {
			case !rebuilt:
				if aside || len(l.msg[slog.LevelError]) > 0 {
					t.Errorf("%s, byte %d ^ %#x: not rebuilt, but moved aside (%v) or logged %q", f, off, mask, aside, l.msg[slog.LevelError])
				}
			case l.has(slog.LevelInfo, "built by another version"):
				found++ // its layout version was damaged
				foundHere++
			case !aside || !l.has(slog.LevelError, "damaged"):
				t.Errorf("%s, byte %d ^ %#x: rebuilt, but not moved aside (%v) or logged as damaged", f, off, mask, aside)
			default:
				found++
				foundHere++
			}
			os.RemoveAll(filepath.Dir(dir))
		}
		t.Logf("%s (%d bytes): damage found %d times", f, len(content), foundHere)
	}
	t.Logf("%d damaged indexes in %v, %d found damaged and rebuilt, the others answered right", trials, time.Since(start).Round(time.Millisecond), found)
	if found == 0 {
		t.Error("no damage was found")
	}
}

// TestDamageFoundBySearch damages an open index, as a disk or another
// program could: its segment files are cut short under bleve's memory
// maps, so that reading them faults. The search that finds the damage
// fails, the index is rebuilt, and searches answer right again.
func TestDamageFoundBySearch(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	dir := filepath.Join(t.TempDir(), "index")
	damageCatalog(t, st, dir)
	// Built afresh, in one segment, so that no merge replaces segments
	// while they are damaged.
	x, err := search.Create(t.Context(), dir, st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	l := &logs{}
	x, err = search.Open(t.Context(), dir, st, search.Options{Logger: slog.New(l)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	want, _ := answersAfterRebuild(t, x, st)

	for _, q := range []func(attempt int) error{
		func(attempt int) error {
			// Not a request answers made: that is cached.
			_, err := x.Search(t.Context(), search.Request{Query: search.Query{Words: []string{"money"}}, Limit: 1 + attempt})
			return err
		},
		func(int) error {
			_, err := x.Suggest(t.Context(), "shop", 5)
			return err
		},
	} {
		// A segment written since (by a catch-up) is read intact: damage
		// until the search reads a damaged one.
		for attempt := 0; ; attempt++ {
			segs, err := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range segs {
				if err := os.Truncate(s, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
			}
			err = q(attempt)
			if errors.Is(err, search.ErrRebuilding) {
				break
			}
			if err != nil || attempt == 20 {
				t.Fatalf("search of a damaged index: %v, want ErrRebuilding", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		got, _ := answersAfterRebuild(t, x, st)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("answers after the rebuild (-want +got):\n%s", diff)
		}
		if !l.has(slog.LevelError, "damaged") {
			t.Errorf("damage not logged: %q", l.msg[slog.LevelError])
		}
	}
}
