package catalog_test

import (
	"errors"
	"go/build"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the import path of the repository root, one folder up.
const module = "almanac"

// TestLayering keeps the catalog below the packages that read it: nothing
// under catalog/, its tests included, imports lineage/, search/, graph/ or
// ui/, directly or through another package of the module. Crawlers sit
// under catalog/ and must build without the read side (see DESIGN.md).
func TestLayering(t *testing.T) {
	forbidden := []string{"lineage", "search", "graph", "ui"}
	banned := func(path string) bool {
		return slices.ContainsFunc(forbidden, func(top string) bool {
			p := module + "/" + top
			return path == p || strings.HasPrefix(path, p+"/")
		})
	}

	// via[p] is the package through which p was first reached; roots map
	// to "".
	via := map[string]string{}
	var queue []string
	reach := func(path, from string) {
		if _, ok := via[path]; !ok {
			via[path] = from
			queue = append(queue, path)
		}
	}
	imports := func(dir string, tests bool) []string {
		t.Helper()
		pkg, err := build.ImportDir(dir, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			t.Fatalf("read imports of %s: %v", dir, err)
		}
		out := slices.Clone(pkg.Imports)
		if tests {
			out = append(out, pkg.TestImports...)
			out = append(out, pkg.XTestImports...)
		}
		return out
	}
	own := func(path string) bool { return path == module || strings.HasPrefix(path, module+"/") }

	// The packages under catalog/ with their tests are the roots; what
	// they need is followed without tests.
	roots := map[string]string{} // import path → folder
	err := filepath.WalkDir(".", func(dir string, e fs.DirEntry, err error) error {
		if err != nil || !e.IsDir() {
			return err
		}
		if name := e.Name(); dir != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		path := module + "/" + filepath.ToSlash(filepath.Join("catalog", dir))
		roots[path] = dir
		via[path] = ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range slices.Sorted(maps.Keys(roots)) {
		for _, p := range imports(roots[path], true) {
			if own(p) {
				reach(p, path)
			}
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if banned(p) {
			continue
		}
		dir := filepath.Join("..", filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, module), "/")))
		for _, q := range imports(dir, false) {
			if own(q) {
				reach(q, p)
			}
		}
	}

	var bad []string
	for p := range via {
		if banned(p) {
			bad = append(bad, p)
		}
	}
	slices.Sort(bad)
	for _, p := range bad {
		chain := []string{p}
		for q := via[p]; q != ""; q = via[q] {
			chain = append(chain, q)
		}
		slices.Reverse(chain)
		t.Errorf("catalog/ depends on %s: %s", p, strings.Join(chain, " → "))
	}
	if len(roots) < 5 || len(via) == len(roots) {
		t.Fatalf("%d packages under catalog/ import %d others: the walk is broken", len(roots), len(via)-len(roots))
	}
}
