package search_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/search"
)

// TestJobsFollowTheCatalog: an index built from PostgreSQL holds its jobs,
// a job pushed later is caught up from the change log, and a search for
// datasets finds none of them.
func TestJobsFollowTheCatalog(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	crawl(t, st, "postgres:shop", shop()...)
	push := func(name, desc string) {
		t.Helper()
		if err := st.ApplyPush(t.Context(), catalog.Push{Source: catalog.SourceOpenLineage, Jobs: []catalog.JobUpdate{{
			Job:     catalog.JobFacts{Key: catalog.JobKey{Namespace: "airflow", Name: name}, Type: "airflow_task", Description: desc, Outputs: []catalog.Key{key("shop.public.orders")}},
			Asserts: catalog.FacetDescription,
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	push("shop_daily.load_orders", "Copies the orders from the shop.")
	x := open(t, filepath.Join(t.TempDir(), "index"), st)
	jobs := func(query string) []string {
		t.Helper()
		q, err := search.Parse(query)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(t.Context(), search.Request{Query: q, Jobs: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range res.Hits {
			out = append(out, string(h.Kind)+" "+h.Key.Namespace+"/"+h.Key.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"job airflow/shop_daily.load_orders"}, jobs("orders")); diff != "" {
		t.Errorf("jobs after the build (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"shop.public.orders"}, names(t, x, "orders", false)); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	push("shop_daily.refresh_customers", "Refreshes customers.")
	if err := x.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"job airflow/shop_daily.refresh_customers"}, jobs("refresh")); diff != "" {
		t.Errorf("jobs after catching up (-want +got):\n%s", diff)
	}
}
