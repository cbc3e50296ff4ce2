package graph_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog/auth"
	"almanac/graph"
)

const docsDir = "../docs/graphql"

// exampleOps returns the example operations kept in docs/graphql.
func exampleOps(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(docsDir, "*.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d example operations in %s, want at least 5", len(files), docsDir)
	}
	return files
}

// TestExamples runs every example operation in docs/graphql against a
// live server holding the fixture catalog, each on a fresh database, and
// compares the responses with golden files (go test -update rewrites them).
func TestExamples(t *testing.T) {
	for _, file := range exampleOps(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".graphql")
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, graph.Options{}, auth.Dev("dev@example.com"))
			query, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var vars map[string]any
			if b, err := os.ReadFile(strings.TrimSuffix(file, ".graphql") + ".json"); err == nil {
				if err := json.Unmarshal(b, &vars); err != nil {
					t.Fatalf("variables of %s: %v", name, err)
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			r := e.post(t, string(query), vars)
			if r.Status != 200 || len(r.Errors) > 0 {
				t.Errorf("status %d, errors %+v", r.Status, r.Errors)
			}
			got := normalize(t, r)
			golden := filepath.Join("testdata", "examples", name+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("response differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// readmeBlocks returns every ```graphql block of the README, by number.
func readmeBlocks(t *testing.T) map[string]string {
	t.Helper()
	fence := regexp.MustCompile("(?s)```graphql\n(.*?)```")
	blocks := map[string]string{}
	for _, file := range []string{"../README.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fence.FindAllSubmatch(b, -1) {
			blocks[fmt.Sprintf("%s#%d", filepath.Base(file), i+1)] = string(m[1])
		}
	}
	if len(blocks) < 3 {
		t.Fatalf("found %d graphql blocks in the README, want at least 3", len(blocks))
	}
	return blocks
}

// TestREADMEExamples runs every GraphQL example of the README against a
// live server and expects data without errors, asked as the demo's user
// (`almanac demo`'s editor), as a reader pasting them into its GraphiQL
// would.
func TestREADMEExamples(t *testing.T) {
	e := newEnv(t, graph.Options{}, auth.Dev("demo"))
	for name, query := range readmeBlocks(t) {
		t.Run(name, func(t *testing.T) {
			r := e.post(t, query, nil)
			if r.Status != 200 || len(r.Errors) > 0 {
				t.Errorf("status %d, errors %+v", r.Status, r.Errors)
			}
			var data map[string]any
			if err := json.Unmarshal(r.Data, &data); err != nil || len(data) == 0 {
				t.Errorf("no data: %s", r.Data)
			}
			for field, v := range data {
				if v == nil {
					t.Errorf("%s is null: the example names nothing in the catalog", field)
				}
			}
		})
	}
}

// TestReferenceClientValidates checks the live schema with the reference
// implementation (npm package graphql): it introspects the server, builds
// a client schema and validates every example operation and README block.
func TestReferenceClientValidates(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to check the schema with graphql-js: %v", err)
	}
	dir := filepath.Join("testdata", "jsclient")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	e := newEnv(t, graph.Options{})
	docs := exampleOps(t)
	tmp := t.TempDir()
	for name, block := range readmeBlocks(t) {
		f := filepath.Join(tmp, strings.ReplaceAll(name, "#", "-")+".graphql")
		if err := os.WriteFile(f, []byte(block), 0o644); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, f)
	}
	// A document with a mistake must fail, or the check checks nothing.
	bad := filepath.Join(tmp, "bad.graphql")
	if err := os.WriteFile(bad, []byte(`{ datasets { edges { node { nosuchfield } } } }`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		docs   []string
		wantOK bool
	}{{docs, true}, {[]string{bad}, false}} {
		cmd := exec.Command(node, append([]string{"validate.mjs", e.url}, absAll(t, tt.docs)...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if ok := err == nil; ok != tt.wantOK {
			t.Errorf("validating %d documents: ok = %v, want %v: %v\n%s", len(tt.docs), ok, tt.wantOK, err, out)
		}
		if !tt.wantOK && !strings.Contains(string(out), `Cannot query field "nosuchfield"`) {
			t.Errorf("graphql-js did not name the unknown field:\n%s", out)
		}
		t.Logf("%s", out)
	}
}

func absAll(t *testing.T, files []string) []string {
	t.Helper()
	out := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}
