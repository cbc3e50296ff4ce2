package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/search"
)

// newSearchPortal serves the fixture with a search index built from it.
func newSearchPortal(t *testing.T) *portal {
	t.Helper()
	return newPortal(t, func(o *Options) {
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
}

func TestSearchPage(t *testing.T) {
	t.Parallel()
	p := newSearchPortal(t)
	for _, tc := range []struct {
		name   string
		path   string
		status int
		golden string
		want   []string
		absent []string
	}{
		{
			name: "results", path: "/search?q=orders", status: 200, golden: "search-orders",
			want: []string{"<mark>", "fct_", "Platform", "Matched in"},
		},
		{
			name: "facet link narrows", path: "/search?q=" + url.QueryEscape("order platform:postgres"), status: 200,
			want: []string{"platform: postgres ×", "fct_"},
		},
		{
			name: "column hit", path: "/search?q=customer_id", status: 200, golden: "search-column",
			want: []string{"<mark>customer_id</mark>", "exact column"},
		},
		{
			name: "empty query shows help", path: "/search", status: 200, golden: "search-empty",
			want: []string{"Datasets with every word come first"},
		},
		{
			// Only an exclusion: everything but what it names, not the help.
			name: "exclusion only", path: "/search?q=-legacy", status: 200,
			want: []string{"fct_orders"}, absent: []string{"Datasets with every word come first"},
		},
		{
			name: "nothing found", path: "/search?q=zzzqqq", status: 200, golden: "search-none",
			want: []string{"Nothing matches", "Search removed datasets too"},
		},
		{
			// No dataset has both words: those with one are shown, and
			// the page says so.
			name: "most words", path: "/search?q=" + url.QueryEscape("orders zebra"), status: 200, golden: "search-partial",
			want: []string{"No dataset has all of <strong>order, zebra</strong>; showing datasets matching 1 of 2 words.", "fct_"},
		},
		{
			// The removed dataset is hidden; datasets with one of its
			// words are shown instead.
			name: "removed hidden unless asked", path: "/search?q=old_orders", status: 200,
			want: []string{"No dataset has all of"}, absent: []string{"Nothing matches", "removed</span>"},
		},
		{
			name: "removed asked for", path: "/search?q=old_orders&removed=1", status: 200,
			want: []string{"old_orders", "removed"},
		},
		{
			name: "unknown filter and unbalanced quote", path: "/search?q=" + url.QueryEscape(`foo:bar "orders`), status: 200,
			want: []string{"There is no filter &#34;foo:&#34;", "A quote was not closed"},
		},
		{
			name: "too long", path: "/search?q=" + strings.Repeat("x", 10_000), status: 400,
			want: []string{"This query is too long: 10000 characters"},
		},
		{
			name: "escaped", path: "/search?q=" + url.QueryEscape(`<script>alert(1)</script> evil`), status: 200,
			want:   []string{"&lt;script&gt;"},
			absent: []string{"<script>alert"},
		},
		{
			name: "too long, cut between runes", path: "/search?q=" + url.QueryEscape("x"+strings.Repeat("é", 1000)), status: 400,
			want: []string{"This query is too long", "xéé"},
		},
		{
			// A misspelt name finds nothing or only near matches: the
			// page offers the query as the catalog spells it.
			name: "did you mean", path: "/search?q=" + url.QueryEscape("custmer tag:pii"), status: 200,
			want: []string{`Did you mean <a href="/search?q=customer+tag%3Apii">`, `<strong>customer</strong>`, `tag:pii</a>?`},
		},
		{
			name: "did you mean, first letter", path: "/search?q=revanue", status: 200,
			want: []string{`Did you mean <a href="/search?q=revenue">`, `<strong>revenue</strong></a>?`},
		},
		{
			name: "no correction of what matches", path: "/search?q=orders", status: 200,
			absent: []string{"Did you mean"},
		},
		{
			// Text with nothing to search: which part, and why, not the
			// help.
			name: "nothing searchable", path: "/search?q=" + url.QueryEscape(`kind: - "" ,,`), status: 400,
			want: []string{
				"could be searched:", "The filter kind: has no value and was ignored", `A &#34;-&#34; alone excludes nothing`,
				`The phrase &#34;&#34; has no letters or digits`, `&#34;,,&#34; has no letters or digits`,
			},
			absent: []string{"Datasets with every word come first"},
		},
		{
			name: "unknown kind", path: "/search?q=" + url.QueryEscape("orders kind:tabel"), status: 200,
			want: []string{"There is no kind &#34;tabel&#34;: kinds are table, view, materialized view"},
		},
		{
			// Kinds read as the pages write them, in the facets, in the
			// filter and in the badges.
			name: "materialized view", path: "/search?q=" + url.QueryEscape(`revenue kind:"materialized view"`), status: 200,
			want:   []string{"kind: materialized view ×"},
			absent: []string{">materialized_view<", "kind:materialized_view ×"},
		},
		{
			name: "bad page", path: "/search?q=orders&page=x", status: 400,
			want: []string{"Page must be a number from 1 to 51"},
		},
		{
			name: "page past the last", path: "/search?q=orders&page=52", status: 400,
			want: []string{"Page must be a number from 1 to 51"},
		},
		{
			// (page-1)*20 overflows int64 to a negative offset.
			name: "page that overflows", path: "/search?q=orders&page=461168601842738792", status: 400,
			want: []string{"Page must be a number from 1 to 51"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := p.get(t, tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: status %d, want %d\n%s", tc.path, r.status, tc.status, r.body)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("GET %s: body lacks %q", tc.path, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(r.body, a) {
					t.Errorf("GET %s: body contains %q", tc.path, a)
				}
			}
			if !utf8.ValidString(r.body) {
				t.Errorf("GET %s: body is not valid UTF-8", tc.path)
			}
			// No inline script, ever: the CSP allows script files only.
			if strings.Contains(r.body, "<script>") {
				t.Errorf("GET %s: inline script", tc.path)
			}
			if tc.golden != "" {
				checkGolden(t, tc.golden, r.body)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	p := newSearchPortal(t)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"fct", []string{"warehouse.marts.fct_orders"}},
		{"warehouse.marts.d", []string{"warehouse.marts.dim_customers"}},
		{"daily rev", []string{"warehouse.marts.v_daily_revenue"}},
		{"o", nil},
		{"zzz", nil},
		{`"*(`, nil},
	} {
		r := p.get(t, "/search/suggest?q="+url.QueryEscape(tc.q))
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("suggest %q: status %d, type %q", tc.q, r.status, r.header.Get("Content-Type"))
			continue
		}
		var got []suggestion
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Errorf("suggest %q: %v", tc.q, err)
			continue
		}
		var names []string
		for _, s := range got {
			names = append(names, s.Name)
		}
		if diff := cmp.Diff(tc.want, names); diff != "" {
			t.Errorf("suggest %q (-want +got):\n%s", tc.q, diff)
		}
	}
}

// TestSearchWithoutIndex keeps the old behaviour when no index is
// configured: /search lists datasets by name prefix, and there are no
// suggestions.
func TestSearchWithoutIndex(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)
	if r := p.get(t, "/search/suggest?q=fct"); r.status != http.StatusNotFound {
		t.Errorf("GET /search/suggest without index: %d, want 404", r.status)
	}
	if r := p.get(t, "/search?q=x"); r.status != http.StatusSeeOther {
		t.Errorf("GET /search without index: %d, want 303", r.status)
	}
}

// TestSearchCommonWordNote checks that a word found in too many datasets'
// columns to match there is reported on the page with how to
// narrow instead, and that a rare word gets no such note.
func TestSearchCommonWordNote(t *testing.T) {
	t.Parallel()
	p := newPortal(t, func(o *Options) {
		// More than search's floor of 1,000 datasets hold a "ledger" column;
		// one dataset has it in its name.
		h := catalog.Harvest{}
		for i := range 1050 {
			h.Datasets = append(h.Datasets, catalog.DatasetFacts{
				Key: catalog.Key{Namespace: "postgres://bulk:5432", Name: fmt.Sprintf("bulk.s.t%04d", i)}, Platform: "postgres",
				Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "ledger", Ordinal: 1, Type: "text"}},
			})
		}
		h.Datasets = append(h.Datasets, catalog.DatasetFacts{
			Key: catalog.Key{Namespace: "postgres://bulk:5432", Name: "bulk.s.ledger_summary"}, Platform: "postgres", Kind: catalog.KindTable,
		})
		if _, err := o.Store.Crawl(t.Context(), "postgres:bulk", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
	r := p.get(t, "/search?q=ledger")
	if r.status != 200 || !strings.Contains(r.body, "matched only where it is rare") || !strings.Contains(r.body, "ledger_summary") {
		t.Fatalf("status %d, no common-word note or no name match:\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "bulk.s.t0001") {
		t.Errorf("the common word matched in column names")
	}
	r = p.get(t, "/search?q=summary")
	if strings.Contains(r.body, "matched only where it is rare") {
		t.Errorf("a rare word got the common-word note")
	}
}
