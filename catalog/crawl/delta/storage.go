package delta

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"almanac/catalog"
)

// storage is a tree of files that tables are read from: a local directory
// tree (localStorage) or an object store's bucket (s3Storage). The same
// reader of the Delta log runs on both. Names are slash-separated: a local
// storage takes absolute paths, an object store the keys of its bucket
// ("" is the bucket's top).
type storage interface {
	// list returns the files (with their sizes) and the subdirectories
	// directly under dir, sorted by name. A non-empty startAfter leaves out
	// the names up to it, which an object store then need not send.
	list(ctx context.Context, dir, startAfter string) ([]entry, error)
	// open opens the file name for reading. A missing file is an error
	// wrapping fs.ErrNotExist.
	open(ctx context.Context, name string) (file, error)
	// location returns name as people know it, for messages: the path, or
	// s3://bucket/key.
	location(name string) string
	// key returns the dataset key of the table stored at dir, by
	// catalog.LocationKey, which Unity Catalog crawls key tables with.
	key(dir string) (catalog.Key, error)
	// resolve returns the name of a file that the log gives by its
	// absolute path or URI (a v2 checkpoint's sidecar); false when that is
	// not in this storage.
	resolve(ref string) (string, bool)
}

// entry is a file or a subdirectory in a listing.
type entry struct {
	name string // base name
	dir  bool
	size int64
}

// file is an open file: read in sequence (a JSON commit) or at offsets (a
// parquet checkpoint).
type file interface {
	io.ReadCloser
	io.ReaderAt
	Size() int64
}

// localStorage is the local file system.
type localStorage struct{}

func (localStorage) list(ctx context.Context, dir, startAfter string) ([]entry, error) {
	des, err := os.ReadDir(filepath.FromSlash(dir))
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		if de.Name() <= startAfter {
			continue
		}
		e := entry{name: de.Name(), dir: de.IsDir()}
		if de.Type()&fs.ModeSymlink != 0 && de.Name() == "_delta_log" {
			// A table's log may be a link to a directory. Other links
			// are not followed, so that a link to a parent cannot make
			// discovery loop.
			if st, err := os.Stat(filepath.Join(filepath.FromSlash(dir), de.Name())); err == nil {
				e.dir = st.IsDir()
			}
		}
		if !e.dir {
			if info, err := de.Info(); err == nil {
				e.size = info.Size()
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (localStorage) open(ctx context.Context, name string) (file, error) {
	f, err := os.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return localFile{f, st.Size()}, nil
}

type localFile struct {
	*os.File
	size int64
}

func (f localFile) Size() int64 { return f.size }

func (localStorage) location(name string) string { return filepath.FromSlash(name) }

func (localStorage) key(dir string) (catalog.Key, error) {
	return catalog.LocationKey((&url.URL{Scheme: "file", Path: dir}).String())
}

func (localStorage) resolve(ref string) (string, bool) {
	if u, err := url.Parse(ref); err == nil && u.Scheme == "file" {
		return u.Path, path.IsAbs(u.Path)
	}
	return filepath.ToSlash(ref), filepath.IsAbs(ref)
}

// discoverConcurrency bounds the listings that discovery has under way at
// once, and readConcurrency the tables read at once: an object store
// answers each request in milliseconds, so requests in flight, not CPU,
// bound a crawl.
const (
	discoverConcurrency = 16
	readConcurrency     = 16
)

// discover returns the tables under root, sorted: every directory holding
// a _delta_log directory, root included. It does not descend into a
// table. Directories are listed in parallel; one that cannot be listed is
// an error, and the others go on.
func discover(ctx context.Context, st storage, root string) (tables []string, errs []error) {
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, discoverConcurrency)
	)
	var visit func(dir string)
	visit = func(dir string) {
		defer wg.Done()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			errs = append(errs, ctx.Err())
			mu.Unlock()
			return
		}
		entries, err := st.list(ctx, dir, "")
		<-sem
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		if slices.ContainsFunc(entries, func(e entry) bool { return e.dir && e.name == "_delta_log" }) {
			tables = append(tables, dir)
			return
		}
		for _, e := range entries {
			if e.dir {
				wg.Add(1)
				go visit(path.Join(dir, e.name))
			}
		}
	}
	wg.Add(1)
	visit(root)
	wg.Wait()
	slices.Sort(tables)
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	errs = slices.CompactFunc(errs, func(a, b error) bool { return a.Error() == b.Error() })
	return tables, errs
}

// readAll reads the whole file name.
func readAll(ctx context.Context, st storage, name string) ([]byte, error) {
	f, err := st.open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path.Base(name), err)
	}
	return b, nil
}
