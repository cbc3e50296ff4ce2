package search

import (
	"errors"
	"testing"

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
		got, err := decodeStored(string(s.encode()))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	// Invalid UTF-8 is stored replaced, as it is shown.
	got, err := decodeStored(string(stored{Name: "a\xffb"}.encode()))
	if err != nil || got.Name != "a\uFFFDb" {
		t.Errorf("invalid UTF-8: got %q, %v", got.Name, err)
	}
}

func TestStoredCorrupt(t *testing.T) {
	b := stored{ID: 7, Name: "orders", Columns: []storedColumn{{Name: "id"}}}.encode()
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(b[:len(b):len(b)], 0), {0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeStored(string(bad)); !errors.Is(err, errStored) {
			t.Errorf("decodeStored(%q) = %v, want errStored", bad, err)
		}
	}
}
