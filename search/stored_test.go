package search

import (
	"errors"
	"testing"

	"github.com/blevesearch/bleve/v2/search"
	"github.com/google/go-cmp/cmp"
)

func TestStoredRoundTrip(t *testing.T) {
	for _, s := range []stored{
		{ID: 1, Namespace: "postgres://db:5432", Name: "shop.public.orders"},
		{
			ID: 1 << 40, Namespace: "s3://lake", Name: "events/clicks", Platform: "delta", Kind: "file",
			Description: "Clicks, één per rij", OtherDocs: []string{"from dbt", ""},
			Columns: []storedColumn{{Name: "id"}, {Name: "customerId", Description: "who clicked"}},
			Owners:  []string{"web"}, Tags: []string{"pii", "raw"}, UpdatedAt: -5, Removed: true, Consumers: 3, Popularity: 1234,
		},
	} {
		got, err := decodeStored(s.encode())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	// Invalid UTF-8 is stored replaced, as it is shown.
	got, err := decodeStored(stored{Name: "a\xffb"}.encode())
	if err != nil || got.Name != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: got %q, %v", got.Name, err)
	}
}

func TestStoredCorrupt(t *testing.T) {
	b := stored{ID: 7, Name: "orders", Columns: []storedColumn{{Name: "id"}}}.encode()
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(b[:len(b):len(b)], 0), {0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeStored(bad); !errors.Is(err, errStored) {
			t.Errorf("decodeStored(%q) = %v, want errStored", bad, err)
		}
	}
}

// TestLoadStored checks the hits' records read by ID against an index of
// several segments: an updated dataset reads as its new version, a
// deleted one and an unknown ID are left out, every other as built.
func TestLoadStored(t *testing.T) {
	x := buildCorpus(t)
	ds := corpus()
	w := newBatchWriter(x.idx)
	updated := ds[0]
	updated.Description = "the new version"
	if err := w.add(updated); err != nil {
		t.Fatal(err)
	}
	w.delete(ds[1].ID)
	if err := w.flushSeq(1); err != nil {
		t.Fatal(err)
	}
	var hits search.DocumentMatchCollection
	for _, d := range ds {
		hits = append(hits, &search.DocumentMatch{ID: docIDOf(d)})
	}
	hits = append(hits, &search.DocumentMatch{ID: docID(1 << 40)})
	got, err := x.loadStored(hits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ds)-1 {
		t.Errorf("%d records for %d live datasets", len(got), len(ds)-1)
	}
	if s := got[docIDOf(ds[0])]; s.Description != "the new version" {
		t.Errorf("updated dataset: description %q", s.Description)
	}
	if _, ok := got[docIDOf(ds[1])]; ok {
		t.Error("deleted dataset read")
	}
	for _, d := range ds[2:] {
		if s := got[docIDOf(d)]; s.ID != d.ID || s.Name != d.Key.Name || s.Description != d.Description {
			t.Errorf("%s: read %d %q %q", d.Key, s.ID, s.Name, s.Description)
		}
	}
}
