package search

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
)

// The relevance benchmark on corpora nobody on the team designed: the
// table and column names and comments of public sample databases, in
// their own naming styles, with queries written as users would type them.
// TestCorpora holds Almanac to its targets on every corpus;
// BenchmarkRelevance reports the same figures beside PostgreSQL full-text
// search and pg_trgm.
//
// The corpora are the directories under testdata/corpora (see SOURCES.md
// there), and those under $ALMANAC_RELEVANCE_CORPORA when it is set: the
// same layout (schema.txt and queries.txt), so that a corpus that may not
// be committed here, or one held out from the team, is scored the same
// way.

// corporaEnv names a directory of further corpora.
const corporaEnv = "ALMANAC_RELEVANCE_CORPORA"

// corpusDirs returns the directory of every corpus by its name.
func corpusDirs(t testing.TB) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, root := range []string{filepath.Join("testdata", "corpora"), os.Getenv(corporaEnv)} {
		if root == "" {
			continue
		}
		entries, err := os.ReadDir(root)
		if err != nil {
			t.Fatalf("corpora: %v", err)
		}
		for _, e := range entries {
			if e.IsDir() {
				if prev, ok := dirs[e.Name()]; ok {
					t.Fatalf("corpus %s is both %s and %s", e.Name(), prev, filepath.Join(root, e.Name()))
				}
				dirs[e.Name()] = filepath.Join(root, e.Name())
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatal("no corpora in testdata/corpora")
	}
	return dirs
}

// Targets for the queries that name an existing table.
const (
	targetP1   = 0.90
	targetMRR  = 0.93
	targetZero = 0.02
)

// corpusQuery is one line of a corpus's queries.txt.
type corpusQuery struct {
	line    int
	text    string
	want    []string // schema.table as in schema.txt; any counts
	heldOut bool
}

// loadCorpus reads the corpus name in dir: its datasets, named
// "<name>.<schema>.<table>", and its queries.
func loadCorpus(t testing.TB, name, dir string) ([]Dataset, []corpusQuery) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "schema.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ds []Dataset
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		if col, ok := strings.CutPrefix(line, "\t"); ok {
			if len(ds) == 0 {
				t.Fatalf("%s/schema.txt:%d: a column before any table", dir, n)
			}
			cname, desc, _ := strings.Cut(col, "\t")
			d := &ds[len(ds)-1]
			d.Columns = append(d.Columns, catalog.Column{Name: cname, Ordinal: len(d.Columns) + 1, Description: desc})
			continue
		}
		tname, desc, _ := strings.Cut(line, "\t")
		ds = append(ds, Dataset{
			ID: int64(len(ds) + 1), Key: catalog.Key{Namespace: "postgres://samples:5432", Name: name + "." + tname},
			Platform: "postgres", Kind: catalog.KindTable, Description: desc, UpdatedAt: corpusNow,
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	qf, err := os.Open(filepath.Join(dir, "queries.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer qf.Close()
	var qs []corpusQuery
	held := false
	sc = bufio.NewScanner(qf)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "# held-out" {
			held = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		text, want, ok := strings.Cut(line, "==>")
		if !ok {
			t.Fatalf("%s/queries.txt:%d: no ==> in %q", dir, n, line)
		}
		q := corpusQuery{line: n, text: strings.TrimSpace(text), heldOut: held}
		for _, w := range strings.Split(want, ",") {
			w = strings.TrimSpace(w)
			if !hasDataset(ds, name+"."+w) {
				t.Fatalf("%s/queries.txt:%d: no table %s in the corpus", dir, n, w)
			}
			q.want = append(q.want, w)
		}
		qs = append(qs, q)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ds, qs
}

func hasDataset(ds []Dataset, name string) bool {
	for _, d := range ds {
		if d.Key.Name == name {
			return true
		}
	}
	return false
}

// scores accumulates P@1, MRR@5 and the share of queries with no result.
type scores struct {
	n, zero   int
	p1, rr5   float64
	misses    []string // queries whose first result was not wanted, for the log
	heldOutOf string   // "tuned", "held-out" or "all"
}

// add scores one query's ranked results (names without the corpus prefix).
func (s *scores) add(q corpusQuery, got []string) {
	s.n++
	if len(got) == 0 {
		s.zero++
	}
	for i, g := range got[:min(len(got), 5)] {
		if containsString(q.want, g) {
			if i == 0 {
				s.p1++
			}
			s.rr5 += 1 / float64(i+1)
			break
		}
	}
	if len(got) == 0 || !containsString(q.want, got[0]) {
		s.misses = append(s.misses, fmt.Sprintf("line %d %q: want %v, got %v", q.line, q.text, q.want, got[:min(len(got), 3)]))
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (s scores) P1() float64       { return s.p1 / float64(max(s.n, 1)) }
func (s scores) MRR5() float64     { return s.rr5 / float64(max(s.n, 1)) }
func (s scores) ZeroRate() float64 { return float64(s.zero) / float64(max(s.n, 1)) }

func (s scores) String() string {
	return fmt.Sprintf("%d queries: P@1 %.3f, MRR@5 %.3f, zero-result rate %.3f", s.n, s.P1(), s.MRR5(), s.ZeroRate())
}

// engine runs a query over one corpus and returns the names of its first
// five results, without the corpus prefix.
type engine func(ctx context.Context, q string) ([]string, error)

// almanacEngine searches an index of the corpus.
func almanacEngine(t testing.TB, name string, ds []Dataset) engine {
	dir := filepath.Join(t.TempDir(), name)
	x, err := Build(dir, func(yield func(Dataset) error) error {
		for _, d := range ds {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, Options{Now: func() time.Time { return corpusNow }, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return func(ctx context.Context, text string) ([]string, error) {
		q, err := Parse(text)
		if err != nil {
			return nil, err
		}
		res, err := x.Search(ctx, Request{Query: q, Limit: 5})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, h := range res.Hits {
			out = append(out, strings.TrimPrefix(h.Key.Name, name+"."))
		}
		return out, nil
	}
}

// score runs every query of a corpus and scores the tuned and held-out
// ones apart and together.
func score(ctx context.Context, e engine, qs []corpusQuery) (tuned, heldOut, all scores, err error) {
	tuned.heldOutOf, heldOut.heldOutOf, all.heldOutOf = "tuned", "held-out", "all"
	for _, q := range qs {
		got, err := e(ctx, q.text)
		if err != nil {
			return tuned, heldOut, all, fmt.Errorf("%q: %w", q.text, err)
		}
		all.add(q, got)
		if q.heldOut {
			heldOut.add(q, got)
		} else {
			tuned.add(q, got)
		}
	}
	return tuned, heldOut, all, nil
}

// TestCorpora holds the search to its relevance targets on every corpus:
// P@1 ≥ 0.90, MRR@5 ≥ 0.93 and at most 2 % of queries without a result,
// tuned and held-out queries together.
func TestCorpora(t *testing.T) {
	dirs := corpusDirs(t)
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		dir := dirs[name]
		t.Run(name, func(t *testing.T) {
			ds, qs := loadCorpus(t, name, dir)
			if len(qs) < 30 {
				t.Errorf("%d queries, want at least 30", len(qs))
			}
			tuned, held, all, err := score(t.Context(), almanacEngine(t, name, ds), qs)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range all.misses {
				t.Log(m)
			}
			t.Logf("tuned: %v", tuned)
			t.Logf("held-out: %v", held)
			if all.P1() < targetP1 || all.MRR5() < targetMRR || all.ZeroRate() > targetZero {
				t.Errorf("%v; want P@1 ≥ %.2f, MRR@5 ≥ %.2f, zero-result rate ≤ %.2f", all, targetP1, targetMRR, targetZero)
			}
		})
	}
}

// BenchmarkRelevance reports P@1, MRR@5 and the zero-result rate of
// every corpus's tuned and held-out queries for Almanac, PostgreSQL
// full-text search and pg_trgm on the same corpus. Run it with make
// bench, or:
//
//	go test ./search -run '^$' -bench Relevance -benchtime 1x
func BenchmarkRelevance(b *testing.B) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
		b.Fatalf("pg_trgm (in PostgreSQL's contrib): %v", err)
	}
	dirs := corpusDirs(b)
	for _, name := range slices.Sorted(maps.Keys(dirs)) {
		dir := dirs[name]
		ds, qs := loadCorpus(b, name, dir)
		if err := loadRelevanceCorpus(ctx, pool, name, ds); err != nil {
			b.Fatal(err)
		}
		engines := []struct {
			name string
			e    engine
		}{
			{"almanac", almanacEngine(b, name, ds)},
			{"postgres-fts", pgFTSEngine(pool, name)},
			{"pg-trgm", pgTrgmEngine(pool, name)},
		}
		for _, e := range engines {
			tuned, held, _, err := score(ctx, e.e, qs)
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range []scores{tuned, held} {
				if s.n == 0 {
					continue
				}
				b.Run(fmt.Sprintf("corpus=%s/engine=%s/queries=%s", name, e.name, s.heldOutOf), func(b *testing.B) {
					for range b.N {
					}
					b.ReportMetric(s.P1(), "P@1")
					b.ReportMetric(s.MRR5(), "MRR@5")
					b.ReportMetric(s.ZeroRate(), "zero-rate")
					b.ReportMetric(float64(s.n), "queries")
				})
			}
		}
	}
}

// loadRelevanceCorpus loads a corpus into a table for the PostgreSQL
// engines: the name, the column names and every comment, a weighted
// tsvector (name A, columns B, comments C) and trigram indexes.
func loadRelevanceCorpus(ctx context.Context, pool *pgxpool.Pool, name string, ds []Dataset) error {
	tbl := pgx.Identifier{"rel_" + name}.Sanitize()
	_, err := pool.Exec(ctx, `CREATE TABLE `+tbl+` (
		name text, columns text, comments text,
		doc text GENERATED ALWAYS AS (name || ' ' || columns || ' ' || comments) STORED,
		tsv tsvector GENERATED ALWAYS AS (
			setweight(to_tsvector('english', replace(name, '.', ' ')), 'A') ||
			setweight(to_tsvector('english', columns), 'B') ||
			setweight(to_tsvector('english', comments), 'C')) STORED)`)
	if err != nil {
		return err
	}
	rows := make([][]any, 0, len(ds))
	for _, d := range ds {
		var cols, comments []string
		if d.Description != "" {
			comments = append(comments, d.Description)
		}
		for _, c := range d.Columns {
			cols = append(cols, c.Name)
			if c.Description != "" {
				comments = append(comments, c.Description)
			}
		}
		rows = append(rows, []any{strings.TrimPrefix(d.Key.Name, name+"."), strings.Join(cols, " "), strings.Join(comments, " ")})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"rel_" + name}, []string{"name", "columns", "comments"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `CREATE INDEX ON `+tbl+` USING gin (tsv); CREATE INDEX ON `+tbl+` USING gin (doc gin_trgm_ops)`)
	return err
}

// pgFTSEngine is PostgreSQL full-text search as one would set it up:
// websearch_to_tsquery over the weighted tsvector, ranked by ts_rank.
func pgFTSEngine(pool *pgxpool.Pool, name string) engine {
	tbl := pgx.Identifier{"rel_" + name}.Sanitize()
	return func(ctx context.Context, q string) ([]string, error) {
		return pgNames(ctx, pool, `
			SELECT name FROM `+tbl+`, websearch_to_tsquery('english', $1) q
			WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, name LIMIT 5`, q)
	}
}

// pgTrgmEngine is pg_trgm: tables whose name is similar to the query,
// or whose name, columns and comments hold words similar to its words,
// the most similar first.
func pgTrgmEngine(pool *pgxpool.Pool, name string) engine {
	tbl := pgx.Identifier{"rel_" + name}.Sanitize()
	return func(ctx context.Context, q string) ([]string, error) {
		return pgNames(ctx, pool, `
			SELECT name FROM `+tbl+`
			WHERE lower(name) % lower($1) OR lower($1) <% lower(doc)
			ORDER BY greatest(similarity(lower(name), lower($1)), word_similarity(lower($1), lower(doc))) DESC, name
			LIMIT 5`, q)
	}
}

func pgNames(ctx context.Context, pool *pgxpool.Pool, sql, q string) ([]string, error) {
	rows, err := pool.Query(ctx, sql, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
