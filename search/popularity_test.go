package search

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// TestPopularityBoost checks that how much datasets are read orders hits
// that match alike, whichever of two otherwise equal tables is the
// popular one, and that it never lifts a dataset over one that matches
// the query better.
func TestPopularityBoost(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	build := func(popular string) *Index {
		t.Helper()
		var ds []Dataset
		for i, name := range []string{"crm.public.invoices", "shop.public.invoices", "shop.public.ledger"} {
			d := Dataset{
				ID: int64(i + 1), Key: catalog.Key{Namespace: whNS, Name: name}, Platform: "postgres", Kind: catalog.KindTable,
				Description: "Invoices sent to customers.", Columns: cols("id", "total"), UpdatedAt: now.Add(-time.Hour),
			}
			if name == "shop.public.ledger" {
				// Read a million times, but "invoices" only in its text.
				d.Description = "Every invoices line booked."
				d.Popularity = catalog.Popularity(40, 5000, 1_000_000)
			}
			if name == popular {
				d.Popularity = catalog.Popularity(3, 60, 2300)
			}
			ds = append(ds, d)
		}
		x, err := Build(t.TempDir(), func(yield func(Dataset) error) error {
			for _, d := range ds {
				if err := yield(d); err != nil {
					return err
				}
			}
			return nil
		}, Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	for _, popular := range []string{"crm.public.invoices", "shop.public.invoices"} {
		other := "shop.public.invoices"
		if popular == other {
			other = "crm.public.invoices"
		}
		x := build(popular)
		q, err := Parse("invoices")
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(t.Context(), Request{Query: q, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.Key.Name)
		}
		if diff := cmp.Diff([]string{popular, other, "shop.public.ledger"}, got); diff != "" {
			t.Errorf("popular %s: hits (-want +got):\n%s", popular, diff)
		}
	}
}
