package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestFindDatasets checks each filter of FindDatasets, the escaping of the
// name prefix, keyset and offset pagination and the total.
func TestFindDatasets(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	// orders is removed: the next crawl of postgres:shop no longer reports it.
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()[0], warehouse()[2])); err != nil {
		t.Fatal(err)
	}
	big, customers, orders := key("shop.public.big_orders"), key("shop.public.customers"), key("shop.public.orders")
	ids, err := st.DatasetIDs(ctx, []catalog.Key{big, customers, orders})
	if err != nil || len(ids) != 3 {
		t.Fatalf("DatasetIDs = %v, %v", ids, err)
	}
	idsOf := func(keys ...catalog.Key) []int64 {
		out := []int64{}
		for _, k := range keys {
			out = append(out, ids[k])
		}
		return out
	}

	tests := []struct {
		name string
		f    store.DatasetFilter
		p    store.Paging
		want store.DatasetPage
	}{
		{"all live", store.DatasetFilter{}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(big, customers), Total: 2}},
		{"removed too", store.DatasetFilter{IncludeRemoved: true}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(big, customers, orders), Total: 3}},
		{"namespace", store.DatasetFilter{Namespace: "postgres://elsewhere:5432"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: []int64{}, Total: 0}},
		{"prefix", store.DatasetFilter{Prefix: "shop.public.c"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(customers), Total: 1}},
		{"prefix is no pattern", store.DatasetFilter{Prefix: "shop%"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: []int64{}, Total: 0}},
		{"kind", store.DatasetFilter{Kind: catalog.KindView}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(big), Total: 1}},
		{"source", store.DatasetFilter{Source: "dbt:shop"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(customers), Total: 1}},
		{"owner", store.DatasetFilter{Owner: "bob@corp"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(customers), Total: 1}},
		{"tag", store.DatasetFilter{Tag: "core"}, store.Paging{Limit: 10}, store.DatasetPage{IDs: idsOf(customers), Total: 1}},
		{"filters combine", store.DatasetFilter{Tag: "core", Kind: catalog.KindView}, store.Paging{Limit: 10}, store.DatasetPage{IDs: []int64{}, Total: 0}},
		{"first page", store.DatasetFilter{IncludeRemoved: true}, store.Paging{Limit: 2}, store.DatasetPage{IDs: idsOf(big, customers), Total: 3}},
		{"next page", store.DatasetFilter{IncludeRemoved: true}, store.Paging{After: &customers, Limit: 2}, store.DatasetPage{IDs: idsOf(orders), Total: 3}},
		{"page by offset", store.DatasetFilter{IncludeRemoved: true}, store.Paging{Offset: 1, Limit: 1}, store.DatasetPage{IDs: idsOf(customers), Total: 3}},
		{"offset past the end", store.DatasetFilter{}, store.Paging{Offset: 2, Limit: 10}, store.DatasetPage{IDs: []int64{}, Total: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Total = true
			got, err := st.FindDatasets(ctx, tt.f, p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			noTotal, err := st.FindDatasets(ctx, tt.f, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if want := (store.DatasetPage{IDs: tt.want.IDs, Total: -1}); !cmp.Equal(want, noTotal) {
				t.Errorf("without total = %+v, want %+v", noTotal, want)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "40001"}, true},                          // serialization failure
		{fmt.Errorf("write: %w", &pgconn.PgError{Code: "57P01"}), true}, // admin shutdown
		{&pgconn.PgError{Code: "08006"}, true},                          // connection failure
		{&pgconn.PgError{Code: "23505"}, false},                         // unique violation
		{&pgconn.PgError{Code: "22021"}, false},                         // bad encoding
		{io.ErrUnexpectedEOF, true},
		{context.DeadlineExceeded, true},
		{errors.New("job unknown"), false},
		{catalog.ErrInvalid, false},
	}
	for _, tt := range tests {
		if got := store.Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
