package search

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	bdoc "github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// describeDoc writes out everything the index takes from a bleve
// document: for each field name, in order, its options, the length and
// the terms of its values together with their frequencies, and, for a
// field with term vectors, their locations (array positions, position,
// offsets). That is what a segment keeps: the values of a field are
// merged (zapx's interim processDocument), and without term vectors
// neither their array positions nor their tokens' positions are kept.
func describeDoc(d *bdoc.Document) []string {
	var out []string
	out = append(out, fmt.Sprintf("id=%s indexed=%v composite=%d nested=%d", d.ID(), d.Indexed(), len(d.CompositeFields), len(d.NestedDocuments)))
	type merged struct {
		options index.FieldIndexingOptions
		length  int
		freq    map[string]int
		locs    map[string][]string
		stored  []string
	}
	var names []string
	fields := map[string]*merged{}
	// All analysed first, as a build does, so that what one field's
	// analysis leaves behind (builtField recycles its tokens) shows in
	// another's.
	for _, f := range d.Fields {
		f.Analyze()
	}
	for _, f := range d.Fields {
		m := fields[f.Name()]
		if m == nil {
			m = &merged{options: f.Options(), freq: map[string]int{}, locs: map[string][]string{}}
			fields[f.Name()] = m
			names = append(names, f.Name())
		}
		if f.Options() != m.options {
			out = append(out, fmt.Sprintf("field %s: options %v and %v", f.Name(), m.options, f.Options()))
		}
		if f.Options().IsStored() {
			m.stored = append(m.stored, fmt.Sprintf("%v %q", f.ArrayPositions(), f.Value()))
		}
		m.length += f.AnalyzedLength()
		for t, tf := range f.AnalyzedTokenFrequencies() {
			m.freq[t] += tf.Frequency()
			if f.Options().IncludeTermVectors() {
				for _, l := range tf.Locations {
					m.locs[t] = append(m.locs[t], fmt.Sprintf("%v@%d[%d:%d]", l.ArrayPositions, l.Position, l.Start, l.End))
				}
			}
		}
	}
	for _, name := range names {
		m := fields[name]
		if m.length == 0 && len(m.freq) == 0 && len(m.stored) == 0 {
			continue // an empty field indexes nothing; bleveDocument leaves it out
		}
		out = append(out, fmt.Sprintf("field %s %v length %d", name, m.options, m.length))
		for _, v := range m.stored {
			out = append(out, "  stored "+v)
		}
		terms := make([]string, 0, len(m.freq))
		for t := range m.freq {
			terms = append(terms, t)
		}
		slices.Sort(terms)
		for _, t := range terms {
			out = append(out, fmt.Sprintf("  %q ×%d %s", t, m.freq[t], strings.Join(m.locs[t], " ")))
		}
	}
	return out
}

// TestBleveDocument checks that the index takes the same from the
// documents it writes without bleve's mapping as from those the mapping
// would make, field by field and term for term: datasets of the relevance corpus and of the
// benchmark's generator, a job with SQL, a removed dataset, one with
// nothing but a name.
func TestBleveDocument(t *testing.T) {
	ds := corpus()
	for i := range 300 {
		ds = append(ds, genDataset(i))
	}
	ds = append(ds,
		FromJob(catalog.Job{ID: 7, Key: catalog.JobKey{Namespace: "airflow", Name: "daily.load_orders"}, Type: "airflow",
			Description: "Loads orders.", SQL: "INSERT INTO marts.orders SELECT * FROM raw.orders"}),
		Dataset{ID: 9, Key: catalog.Key{Namespace: "s3://lake", Name: "events/2024/clickStream"}, Removed: true, Owners: []string{"a", "b", "c"}},
		Dataset{ID: 10, Key: catalog.Key{Name: "bare"}},
		// Values with line breaks, which cannot be joined a line each.
		Dataset{ID: 11, Key: catalog.Key{Namespace: "odd", Name: "db.s\nx.t"}, Owners: []string{"x\ny", "z"}, Tags: []string{"p q", "r"}},
	)
	v := newVocabulary()
	for _, d := range ds {
		v.learn(d)
	}
	seg := newLexicon(v, defaultAbbrev(t)).seg
	m := newMapping()
	fields, err := newDocFields(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		sameDocument(t, m, fields, d, seg)
	}
}

// sameDocument fails t unless the document the index writes for d
// without bleve's mapping holds what the mapping makes of it.
func sameDocument(t *testing.T, m mapping.IndexMapping, fields *docFields, d Dataset, seg *segmenter) {
	t.Helper()
	doc := toDocument(d, seg)
	want := bdoc.NewDocument(docIDOf(d))
	if err := m.MapDocument(want, doc); err != nil {
		t.Fatal(err)
	}
	got := fields.bleveDocument(docIDOf(d), &doc)
	if diff := cmp.Diff(describeDoc(want), describeDoc(got)); diff != "" {
		t.Fatalf("%s: document (-mapping +direct):\n%s", d.Key, diff)
	}
	// The size each field counted as it was analysed is what walking
	// its terms would say.
	for _, f := range got.Fields {
		if b, ok := f.(*builtField); ok && b.freqsSize != b.freqs.Size() {
			t.Fatalf("%s: field %s: size %d, want %d", d.Key, f.Name(), b.freqsSize, b.freqs.Size())
		}
	}
}

func defaultAbbrev(t *testing.T) *abbreviations {
	t.Helper()
	a, err := newAbbreviations(nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// FuzzBleveDocument checks what TestBleveDocument checks on arbitrary
// names, descriptions, columns, owners and tags: the documents the index
// writes without bleve's mapping hold what the mapping would make of
// them, field by field and term for term, and the plural stemming keeps
// the stemmer's terms.
func FuzzBleveDocument(f *testing.F) {
	f.Add("shop.public.orders", "One row per order.", "customer_id", "data-platform", "pii")
	f.Add("events/2024/clickStream", "Café naïve ÉTÉS\nline two", "HTTPServer", "x\ny", "p q")
	f.Add("db.s\nx.t", "\xff\xfe orders's", "ids", "", "")
	m := newMapping()
	fields, err := newDocFields(m)
	if err != nil {
		f.Fatal(err)
	}
	stem := en.NewEnglishPluralStemmerFilter()
	f.Fuzz(func(t *testing.T, name, desc, column, owner, tag string) {
		d := Dataset{ID: 1, Key: catalog.Key{Namespace: "postgres://db", Name: name}, Platform: "postgres", Kind: catalog.KindTable,
			Description: desc, Columns: []catalog.Column{{Name: column, Description: desc}, {Name: "id"}},
			Owners: []string{owner, "team"}, Tags: []string{tag, tag + "s"}}
		v := newVocabulary()
		v.learn(d)
		seg := newLexicon(v, defaultAbbrev(t)).seg
		sameDocument(t, m, fields, d, seg)
		for _, w := range []string{name, desc, column, owner, tag} {
			want := stem.Filter(analysis.TokenStream{{Term: []byte(w)}})[0].Term
			got := stemPlurals(stem, analysis.TokenStream{{Term: []byte(w)}})[0].Term
			if string(got) != string(want) {
				t.Errorf("stem %q: got %q, want %q", w, got, want)
			}
		}
	})
}
