package search

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	bdoc "github.com/blevesearch/bleve/v2/document"
	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// describeDoc writes out everything the index takes from a bleve
// document: each field's name, array positions, options and value, and
// the terms its analyzer makes of it with their locations.
func describeDoc(d *bdoc.Document) []string {
	var out []string
	out = append(out, fmt.Sprintf("id=%s indexed=%v composite=%d nested=%d", d.ID(), d.Indexed(), len(d.CompositeFields), len(d.NestedDocuments)))
	for _, f := range d.Fields {
		out = append(out, fmt.Sprintf("field %s %v %v %q", f.Name(), f.ArrayPositions(), f.Options(), f.Value()))
		f.Analyze()
		out = append(out, fmt.Sprintf("  length %d", f.AnalyzedLength()))
		tf := f.AnalyzedTokenFrequencies()
		terms := make([]string, 0, len(tf))
		for t := range tf {
			terms = append(terms, t)
		}
		slices.Sort(terms)
		for _, t := range terms {
			var locs []string
			for _, l := range tf[t].Locations {
				locs = append(locs, fmt.Sprintf("%s%v@%d[%d:%d]", l.Field, l.ArrayPositions, l.Position, l.Start, l.End))
			}
			out = append(out, fmt.Sprintf("  %q ×%d %s", t, tf[t].Frequency(), strings.Join(locs, " ")))
		}
	}
	return out
}

// TestBleveDocument checks that the documents the index writes without
// bleve's mapping are the ones the mapping would make, field for field
// and term for term: datasets of the relevance corpus and of the
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
		doc := toDocument(d, seg)
		want := bdoc.NewDocument(docIDOf(d))
		if err := m.MapDocument(want, doc); err != nil {
			t.Fatal(err)
		}
		got := fields.bleveDocument(docIDOf(d), &doc)
		if diff := cmp.Diff(describeDoc(want), describeDoc(got)); diff != "" {
			t.Fatalf("%s: document (-mapping +direct):\n%s", d.Key, diff)
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
