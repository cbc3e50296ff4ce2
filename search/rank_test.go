package search

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// rankCase is one line of testdata/rank.txt.
type rankCase struct {
	line  int
	query string
	want  []string
}

func readRankCases(t *testing.T) []rankCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "rank.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []rankCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, want, ok := strings.Cut(line, "==>")
		if !ok {
			t.Fatalf("rank.txt:%d: no ==> in %q", n, line)
		}
		c := rankCase{line: n, query: strings.TrimSpace(q)}
		for _, w := range strings.Split(want, ",") {
			c.want = append(c.want, strings.TrimSpace(w))
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// shortName drops the corpus's database name.
func shortName(name string) string { return strings.TrimPrefix(name, "warehouse.") }

// TestRank is the relevance suite: each query of testdata/rank.txt over
// the fixed corpus must return its expected first results in order, every
// hit with a finite score (exact and typo passes) and saying where it
// matched, and the top five of every query are compared with
// testdata/rank.golden.
func TestRank(t *testing.T) {
	x := buildCorpus(t)
	cases := readRankCases(t)
	if len(cases) < 40 {
		t.Errorf("rank.txt has %d queries, want at least 40", len(cases))
	}
	var golden strings.Builder
	for _, c := range cases {
		q, err := Parse(c.query)
		if err != nil {
			t.Errorf("rank.txt:%d: Parse(%q): %v", c.line, c.query, err)
			continue
		}
		res, err := x.Search(t.Context(), Request{Query: q, Limit: 5})
		if err != nil {
			t.Errorf("rank.txt:%d: Search(%q): %v", c.line, c.query, err)
			continue
		}
		var got []string
		fmt.Fprintf(&golden, "## %s\n", c.query)
		if res.Fuzzy {
			golden.WriteString("(typo tolerance)\n")
		}
		for i, h := range res.Hits {
			if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
				// Hits beyond the first page are chosen by score.
				t.Errorf("rank.txt:%d: %q: %s has score %v", c.line, c.query, h.Key.Name, h.Score)
			}
			if len(q.Words)+len(q.Phrases) > 0 && len(h.Matched) == 0 {
				// The highlighter must find what the query matched.
				t.Errorf("rank.txt:%d: %q: %s matched nowhere", c.line, c.query, h.Key.Name)
			}
			got = append(got, shortName(h.Key.Name))
			fmt.Fprintf(&golden, "%d. %s  [%s]", i+1, h.Name.Marked(), strings.Join(h.Matched, ", "))
			for _, c := range h.Columns {
				fmt.Fprintf(&golden, "  col %s", c.Highlighted.Marked())
			}
			golden.WriteString("\n")
		}
		golden.WriteString("\n")
		if len(got) > len(c.want) {
			got = got[:len(c.want)]
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("rank.txt:%d: %q: first results (-want +got):\n%s", c.line, c.query, diff)
		}
	}
	checkGolden(t, "rank.golden", golden.String())
}

// checkGolden compares got with testdata/name; -update rewrites it.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./search -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\nrun go test ./search -update if the change is intended", path, diff)
	}
}
