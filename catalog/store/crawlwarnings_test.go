package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestDatasetCrawlWarnings reads the errors that each source's last
// ingested crawl recorded on a dataset.
func TestDatasetCrawlWarnings(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	orders, customers := key("shop.public.orders"), key("shop.public.customers")
	crawlWith := func(source string, errs ...catalog.CrawlError) catalog.CrawlRun {
		t.Helper()
		run, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) {
			return catalog.Harvest{Datasets: warehouse(), Errors: errs, Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	warnings := func(k catalog.Key) []store.CrawlWarning {
		t.Helper()
		ws, err := st.DatasetCrawlWarnings(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	opts := cmpopts.IgnoreFields(store.CrawlWarning{}, "StartedAt")

	// An older run's warning is superseded by the next run of the source.
	crawlWith("postgres:a", catalog.CrawlError{Object: orders.String(), Message: "stale"})
	a := crawlWith("postgres:a",
		catalog.CrawlError{Object: orders.String(), Message: "sql lineage: relations not found in the crawl: hidden.t"},
		catalog.CrawlError{Object: customers.String(), Message: "about customers"},
		catalog.CrawlError{Object: "shop.public.orders", Message: "not the dataset's key"},
		catalog.CrawlError{Object: orders.String(), Message: "sql lineage: columns: second"})
	b := crawlWith("postgres:b", catalog.CrawlError{Object: orders.String(), Message: "from b"})
	want := []store.CrawlWarning{
		{RunID: a.ID, Source: "postgres:a", Status: catalog.CrawlPartial, Message: "sql lineage: relations not found in the crawl: hidden.t"},
		{RunID: a.ID, Source: "postgres:a", Status: catalog.CrawlPartial, Message: "sql lineage: columns: second"},
		{RunID: b.ID, Source: "postgres:b", Status: catalog.CrawlPartial, Message: "from b"},
	}
	if diff := cmp.Diff(want, warnings(orders), opts); diff != "" {
		t.Errorf("warnings of orders (-want +got):\n%s", diff)
	}

	// A failed run and a running one leave the last ingested run's
	// warnings in place.
	if _, err := st.Crawl(ctx, "postgres:a", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{}, errors.New("connection refused")
	}); err == nil {
		t.Fatal("failing crawl succeeded")
	}
	if _, err := pool.Exec(ctx, `INSERT INTO crawl_runs (source, started_at, status) VALUES ('postgres:b', now(), 'running')`); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, warnings(orders), opts); diff != "" {
		t.Errorf("warnings of orders after a failed and a running crawl (-want +got):\n%s", diff)
	}

	// A clean run of a source clears its warnings.
	crawlWith("postgres:b")
	if diff := cmp.Diff(want[:2], warnings(orders), opts); diff != "" {
		t.Errorf("warnings of orders after a clean crawl of b (-want +got):\n%s", diff)
	}
	if got := warnings(key("shop.public.nothing")); len(got) != 0 {
		t.Errorf("warnings of an unknown dataset: %+v", got)
	}
}
