package search

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestLearnCatalog checks that a rebuild's vocabulary, learnt from the
// catalog's names and descriptions alone (learnCatalog), is the one the
// datasets it indexes teach (learn): the same words and counts while one
// source describes each dataset, and no word lost, none counted less,
// once two sources describe some of them and one dataset is removed.
func TestLearnCatalog(t *testing.T) {
	ctx := t.Context()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	const ns = "postgres://wh:5432"
	h := pgtest.WarehouseHarvest("postgres:wh", ns, "wh", 2, 12, 6)
	first := &h.Datasets[0]
	first.Tags = []string{"finance_reporting", "pii"}
	first.Owners = append(first.Owners,
		catalog.Owner{Name: "dataPlatformTeam", Kind: catalog.OwnerTeam, Type: "technical"},
		catalog.Owner{Name: "dataPlatformTeam", Kind: catalog.OwnerTeam, Type: "business"})
	first.Description = "See PurchaseOrderDetail for the customer ledger."
	first.Columns[1].Description = "Net amount, before shipping_fee."
	second := &h.Datasets[1]
	second.Columns = append(second.Columns, catalog.Column{Name: "customerLifetimeValue", Ordinal: 99, Type: "numeric"})
	crawlHarvest(t, st, h)

	fromDocs := func() *vocabulary {
		v := newVocabulary()
		x := newIndex(t.TempDir(), st, Options{})
		if err := x.eachDataset(ctx, func(d Dataset) error { v.learn(d); return nil }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	fromTexts := func() (*vocabulary, int64) {
		v := newVocabulary()
		n, err := v.learnCatalog(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return v, n
	}
	docs := fromDocs()
	texts, n := fromTexts()
	if n != int64(len(h.Datasets)) {
		t.Errorf("learnCatalog read %d datasets, want %d", n, len(h.Datasets))
	}
	for _, w := range []string{"purchase", "order", "detail", "ledger", "finance", "reporting", "platform", "lifetime", "shipping"} {
		if docs.counts[w] == 0 {
			t.Errorf("the datasets teach no %q: the test's catalog lost it", w)
		}
	}
	if diff := cmp.Diff(string(docs.encode()), string(texts.encode())); diff != "" {
		t.Errorf("one source: vocabulary of the datasets (-) and of the catalog's texts (+):\n%s", diff)
	}

	// A second source describes two datasets again, and in other words;
	// the warehouse crawl no longer finds the last one.
	dbt := catalog.Harvest{Source: "dbt:wh", Scopes: []catalog.Scope{{Namespace: ns, Prefix: "wh."}}, Datasets: []catalog.DatasetFacts{
		{Key: first.Key, Description: "Receivables ledger for accounting.", Tags: []string{"finance_reporting", "tier_one"},
			Columns: []catalog.Column{{Name: first.Columns[1].Name, Description: "Invoice total."}, {Name: "loaded_at"}}},
		{Key: second.Key, Description: "Customer churn forecast.", Owners: []catalog.Owner{{Name: "growth_analytics", Kind: catalog.OwnerTeam}}},
	}}
	crawlHarvest(t, st, dbt)
	h.Datasets = h.Datasets[:len(h.Datasets)-1]
	crawlHarvest(t, st, h)

	docs = fromDocs()
	texts, n = fromTexts()
	if n != int64(len(h.Datasets)+1) {
		t.Errorf("learnCatalog read %d datasets, want %d (the removed one too)", n, len(h.Datasets)+1)
	}
	for _, w := range []string{"receivables", "accounting", "churn", "forecast", "tier", "growth", "analytics", "loaded"} {
		if docs.counts[w] == 0 {
			t.Errorf("the datasets teach no %q: the test's catalog lost it", w)
		}
	}
	for w, c := range docs.counts {
		if texts.counts[w] < c {
			t.Errorf("two sources: %q counted %d times from the catalog's texts, %d from the datasets", w, texts.counts[w], c)
		}
	}
}

func crawlHarvest(t *testing.T, st *store.Store, h catalog.Harvest) {
	t.Helper()
	if _, err := st.Crawl(t.Context(), h.Source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
}
