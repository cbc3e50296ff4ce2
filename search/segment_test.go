package search

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

func TestSplit(t *testing.T) {
	l := defaultLexicon()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"employeedepartmenthistory", []string{"employee", "department", "history"}},
		{"CUSTOMERADDRESS", []string{"customer", "address"}},
		{"SalesOrderHeader2024", []string{"sales", "order", "header", "2024"}},
		{"tblcustaddr", []string{"tbl", "cust", "addr"}},
		{"billofmaterials", []string{"bill", "of", "materials"}},
		{"addressline1", []string{"address", "line", "1"}},
		{"qzxvcustomer", []string{"qzxv", "customer"}},
		// Whole: known words, typos, short garbage, mostly unknown.
		{"customer", []string{"customer"}},
		{"custmer", []string{"custmer"}},
		{"kalomi", []string{"kalomi"}},
		{"rowguid", []string{"rowguid"}},
		{"postgres", []string{"postgres"}},
	} {
		got, _ := l.queryTerms(c.in)
		// queryTerms folds plurals, as the index does.
		want := make([]string, len(c.want))
		for i, w := range c.want {
			want[i] = fold(w)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.in, diff)
		}
	}
}

// TestVocabularyLearnsFromCatalog: a word that neither the English list
// nor the abbreviations know splits once the catalog uses it apart.
func TestVocabularyLearnsFromCatalog(t *testing.T) {
	before := defaultLexicon().seg.split("zorbleinvoice")
	v := newVocabulary()
	v.learn(Dataset{Key: catalog.Key{Name: "db.s.zorble_events"}, Columns: []catalog.Column{{Name: "zorbleId"}}})
	a, _ := newAbbreviations(nil)
	after := newLexicon(v, a).seg.split("zorbleinvoice")
	if before != nil || !slices.Equal(after, []string{"zorble", "invoice"}) {
		t.Errorf("split before learning %q, after %q; want none, then zorble invoice", before, after)
	}
	// A name of one word teaches nothing: it may be a concatenation.
	v = newVocabulary()
	v.learn(Dataset{Key: catalog.Key{Name: "db.s.employeedepartmenthistory"}, Description: "See PurchaseOrderDetail."})
	if v.counts["employeedepartmenthistory"] != 0 || v.counts["purchaseorderdetail"] != 0 || v.counts["purchase"] != 1 {
		t.Errorf("learnt %v", v.counts)
	}
}

// warehouseCorpus is a catalog written the way warehouses write names.
func warehouseCorpus() []Dataset {
	specs := []struct{ name, desc string }{
		{"hr.employeedepartmenthistory", "Employee department transfers."},
		{"hr.employeepayhistory", "Employee pay history."},
		{"purchasing.purchaseorderheader", "General purchase order information. See PurchaseOrderDetail."},
		{"purchasing.purchaseorderdetail", "Individual products associated with a specific purchase order."},
		{"production.billofmaterials", "Items required to make bicycles."},
		{"crm.cust_addr", ""},
		{"crm.customer_address", ""},
		{"crm.CUSTOMERPHONE", ""},
	}
	cols := map[string][]catalog.Column{
		"hr.employeepayhistory": {{Name: "businessentityid"}, {Name: "ratechangedate"}, {Name: "rate"}, {Name: "payfrequency"}},
	}
	var out []Dataset
	for i, s := range specs {
		out = append(out, Dataset{
			ID: int64(i + 1), Key: catalog.Key{Namespace: "postgres://wh:5432", Name: "aw." + s.name},
			Platform: "postgres", Kind: catalog.KindTable, Description: s.desc, Columns: cols[s.name], UpdatedAt: corpusNow,
		})
	}
	return out
}

func buildDatasets(t testing.TB, ds []Dataset, opts Options) *Index {
	t.Helper()
	opts.Now = func() time.Time { return corpusNow }
	x, err := Build(t.TempDir(), func(yield func(Dataset) error) error {
		for _, d := range ds {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func runSearch(t *testing.T, x *Index, text string) Results {
	t.Helper()
	q, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := x.Search(t.Context(), Request{Query: q, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func hitNames(res Results) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Key.Name)
	}
	return out
}

func TestSearchNamesWithoutSeparators(t *testing.T) {
	x := buildDatasets(t, warehouseCorpus(), Options{})
	for _, c := range []struct {
		query string
		want  []string // the first results, in order
	}{
		{"employee department history", []string{"aw.hr.employeedepartmenthistory"}},
		{"employeedepartmenthistory", []string{"aw.hr.employeedepartmenthistory"}},
		{"purchase order detail", []string{"aw.purchasing.purchaseorderdetail", "aw.purchasing.purchaseorderheader"}},
		{"bill of materials", []string{"aw.production.billofmaterials"}},
		{"payrate", []string{"aw.hr.employeepayhistory"}},
		{"pay rates", []string{"aw.hr.employeepayhistory"}},
		{"customer phone", []string{"aw.crm.CUSTOMERPHONE"}},
		// Question words need not match.
		{"where are employee pay rates", []string{"aw.hr.employeepayhistory"}},
		{"which table has the employee department transfers", []string{"aw.hr.employeedepartmenthistory"}},
		// Abbreviations both ways, the form typed first.
		{"customer address", []string{"aw.crm.customer_address", "aw.crm.cust_addr"}},
		{"cust addr", []string{"aw.crm.cust_addr", "aw.crm.customer_address"}},
		{"emp pay hist", []string{"aw.hr.employeepayhistory"}},
	} {
		res := runSearch(t, x, c.query)
		got := hitNames(res)
		if len(got) > len(c.want) {
			got = got[:len(c.want)]
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.query, diff)
		}
		if res.Partial != nil {
			t.Errorf("%q: partial %+v, want every word matched", c.query, res.Partial)
		}
		for _, h := range res.Hits {
			if len(h.Matched) == 0 {
				t.Errorf("%q: %s matched nowhere", c.query, h.Key.Name)
			}
		}
	}
	// The parts are marked in the name.
	res := runSearch(t, x, "department history")
	if len(res.Hits) == 0 || res.Hits[0].Name.Marked() != "aw.hr.employee[departmenthistory]" {
		t.Errorf("marked name %q", res.Hits[0].Name.Marked())
	}
}

// TestSearchFallsBackToMostWords: a query whose words no dataset has
// together shows the datasets with most of them, and says so; zero
// results only when no word matches anything.
func TestSearchFallsBackToMostWords(t *testing.T) {
	x := buildDatasets(t, warehouseCorpus(), Options{})
	res := runSearch(t, x, "employee pay bicycle history")
	if diff := cmp.Diff(&Partial{Words: []string{"employee", "pay", "bicycle", "history"}, Matched: 3}, res.Partial); diff != "" {
		t.Errorf("partial (-want +got):\n%s", diff)
	}
	if got := hitNames(res); len(got) == 0 || got[0] != "aw.hr.employeepayhistory" {
		t.Errorf("hits %q, want employeepayhistory first", got)
	}
	res = runSearch(t, x, "zqxv wombatfrobnicator")
	if res.Total != 0 || res.Partial != nil {
		t.Errorf("nothing matches: got %d hits, partial %+v", res.Total, res.Partial)
	}
	// A typo within the fallback.
	res = runSearch(t, x, "purchse unicorn")
	if got := hitNames(res); res.Partial == nil || len(got) == 0 || !slices.Contains(got[:min(2, len(got))], "aw.purchasing.purchaseorderheader") {
		t.Errorf("hits %q, partial %+v", got, res.Partial)
	}
}

func TestSuggestNameParts(t *testing.T) {
	x := buildDatasets(t, warehouseCorpus(), Options{})
	for typed, want := range map[string]string{
		"purchase ord": "aw.purchasing.purchaseorder",
		"employeedep":  "aw.hr.employeedepartmenthistory",
		"order det":    "aw.purchasing.purchaseorderdetail",
	} {
		got, err := x.Suggest(t.Context(), typed, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || got[0].Key.Name[:min(len(want), len(got[0].Key.Name))] != want {
			t.Errorf("Suggest(%q) = %v, want %s… first", typed, got, want)
		}
	}
}

func TestAbbreviationsOption(t *testing.T) {
	ds := append(warehouseCorpus(), Dataset{ID: 100, Key: catalog.Key{Namespace: "postgres://wh:5432", Name: "aw.hr.hc_report"}, UpdatedAt: corpusNow})
	x := buildDatasets(t, ds, Options{Abbreviations: map[string][]string{"hc": {"headcount"}, "cust": nil}})
	if got := hitNames(runSearch(t, x, "headcount")); len(got) == 0 || got[0] != "aw.hr.hc_report" {
		t.Errorf("headcount: %q, want hc_report", got)
	}
	if got := hitNames(runSearch(t, x, "cust addr")); slices.Contains(got, "aw.crm.customer_address") {
		t.Errorf("cust addr with cust removed from the table: %q", got)
	}
	_, err := Build(t.TempDir(), func(func(Dataset) error) error { return nil }, Options{Abbreviations: map[string][]string{"a b": {"c"}}})
	if !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("abbreviation of two words: %v, want ErrInvalid", err)
	}
}

// FuzzSegment checks that splitting never panics, that a word's parts
// put together give the word back, and that planning a query and
// highlighting a text with it stay within the text.
func FuzzSegment(f *testing.F) {
	for _, s := range []string{"employeedepartmenthistory", "SalesOrderHeader2024", "tblcustaddr", "zürichSee", "a1b2c3", "where are employee pay rates", "ÉCOLEdata"} {
		f.Add(s)
	}
	l := defaultLexicon()
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range lowerTokens().Analyze([]byte(s)) {
			w := string(tok.Term)
			sp := l.seg.spans(w)
			if sp == nil {
				continue
			}
			var whole strings.Builder
			for i, p := range sp {
				if p.start < 0 || p.end > len(w) || p.start >= p.end || (i > 0 && p.start != sp[i-1].end) {
					t.Fatalf("%q: bad span %+v", w, p)
				}
				whole.WriteString(p.text)
			}
			if whole.String() != w {
				t.Fatalf("%q split into %v", w, sp)
			}
		}
		q, err := Parse(s)
		if err != nil {
			return
		}
		p := newPlan(q, l)
		h := newHighlighter(p, l, false)
		best := make([]int, len(p.terms))
		sn, _, _ := h.scanName(s, className, best, make([]bool, len(p.terms)))
		if sn.String() != s {
			t.Fatalf("highlighting %q gave %q", s, sn.String())
		}
	})
}

// TestPartsTextAsLowerTokens checks partsText against its definition:
// the parts of every word lowerTokens makes of a text, which it computes
// with fewer allocations.
func TestPartsTextAsLowerTokens(t *testing.T) {
	ds := corpus()
	for i := range 300 {
		ds = append(ds, genDataset(i))
	}
	v := newVocabulary()
	for _, d := range ds {
		v.learn(d)
	}
	abbrev, err := newAbbreviations(nil)
	if err != nil {
		t.Fatal(err)
	}
	seg := newSegmenter(v, abbrev)
	want := func(text string) string {
		var parts []string
		for _, tok := range lowerTokens().Analyze([]byte(text)) {
			if tok.Type != analysis.Shingle {
				parts = append(parts, seg.split(string(tok.Term))...)
			}
		}
		return strings.Join(parts, " ")
	}
	texts := []string{"", "a", "AB", "ab12", "Ab1", "CUSTOMERADDRESS", "customeraddress2024", "ÉcoleCustomerAddress",
		"İstanbulorders", "employeedepartmenthistory tblcustaddr INVOICELINE", "HTTPServer customerId x9"}
	for _, d := range ds {
		texts = append(texts, d.Key.Name, d.Description)
		for _, c := range d.Columns {
			texts = append(texts, c.Name, c.Description)
		}
	}
	n := 0
	for _, text := range texts {
		got := seg.partsText(text)
		if w := want(text); got != w {
			t.Errorf("partsText(%q) = %q, want %q", text, got, w)
		}
		if got != "" {
			n++
		}
	}
	if n < 5 {
		t.Errorf("only %d texts split: the test checks too little", n)
	}
}

// TestSegmenterCachesWords checks that the cache of splits keeps only
// words whose letters had to be segmented: numbers and names such as
// t000042, unique in a catalog and split at their digits alone, filled it
// with 200,000 entries that every garbage collection walked.
func TestSegmenterCachesWords(t *testing.T) {
	seg := defaultLexicon().seg
	before := seg.cached.Load()
	for _, c := range []struct {
		word string
		want []string
	}{
		{"t000042", []string{"t", "000042"}},
		{"2024", nil},
		{"s3", []string{"s", "3"}},
		{"abc12de", []string{"abc", "12", "de"}},
		{"employeedepartmenthistory", []string{"employee", "department", "history"}},
		{"header2024", []string{"header", "2024"}},
	} {
		for range 2 { // the second from the cache, if cached
			if got := seg.split(c.word); !slices.Equal(got, c.want) {
				t.Errorf("split(%q) = %q, want %q", c.word, got, c.want)
			}
		}
	}
	if n := seg.cached.Load() - before; n != 2 {
		t.Errorf("%d words cached, want 2 (employeedepartmenthistory, header2024)", n)
	}
	// Past segCacheMax words it starts afresh rather than grow.
	for i := range segCacheMax + 100 {
		w := []byte("employee")
		for n := i + 1; n > 0; n /= 26 {
			w = append(w, byte('a'+n%26))
		}
		seg.split(string(w))
	}
	if n := seg.cached.Load(); n >= segCacheMax || n == 0 {
		t.Errorf("%d words cached after %d, want fewer than %d", n, segCacheMax+100, segCacheMax)
	}
}
