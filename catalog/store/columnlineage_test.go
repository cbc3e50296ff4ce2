package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/store"
)

// columnLineage says that big_orders.id is orders.id, filtered on
// orders.amount, and that customers.id is the whole of a raw file.
func columnLineage() []catalog.ColumnLineage {
	return []catalog.ColumnLineage{
		{Output: key("shop.public.big_orders"), Column: "id", Input: key("shop.public.orders"), InputColumn: "id", Type: "DIRECT", Subtype: "IDENTITY"},
		{Output: key("shop.public.big_orders"), Column: "id", Input: key("shop.public.orders"), InputColumn: "amount", Type: "INDIRECT", Subtype: "FILTER",
			Description: "amount > 100"},
		{Output: key("shop.public.customers"), Column: "id", Input: catalog.Key{Namespace: "s3://raw", Name: "customers.csv"}, Type: "DIRECT", Subtype: "TRANSFORMATION"},
	}
}

// columnLineageSnapshot extends qualitySnapshot with column lineage.
func columnLineageSnapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var rows string
	err := pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(x::text || '|' || x.xmin::text, E'\n' ORDER BY x::text), '') FROM column_lineage x`).Scan(&rows)
	if err != nil {
		t.Fatal(err)
	}
	return qualitySnapshot(t, pool) + "column_lineage:\n" + rows + "\n"
}

// changesAfter lists the change log entries after seq as "entity id name kind".
func changesAfter(t *testing.T, st *store.Store, seq int64) []catalog.Change {
	t.Helper()
	changes, err := st.Changes(context.Background(), seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range changes {
		changes[i].Seq, changes[i].At = 0, time.Time{}
	}
	return changes
}

func lastSeq(t *testing.T, st *store.Store) int64 {
	t.Helper()
	seq, err := st.LastChangeSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestColumnLineageWritesOnlyChanges checks that an unchanged re-crawl
// writes no column lineage row and logs nothing, and that a change rewrites
// only the output whose rows changed, with one change log entry naming it.
func TestColumnLineageWritesOnlyChanges(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	h := lineageHarvest("run-1", at)
	h.ColumnLineage = columnLineage()
	seq := lastSeq(t, st)
	crawlHarvest(t, st, h)
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key("shop.public.big_orders"), key("shop.public.customers")})
	if err != nil {
		t.Fatal(err)
	}
	var logged []catalog.Change
	for _, c := range changesAfter(t, st, seq) {
		if c.Entity == "column_lineage" {
			logged = append(logged, c)
		}
	}
	want := []catalog.Change{
		{Entity: "column_lineage", EntityID: ids[key("shop.public.big_orders")], Key: key("shop.public.big_orders"), Kind: catalog.ChangeColumnLineage, Source: "dbt:shop"},
		{Entity: "column_lineage", EntityID: ids[key("shop.public.customers")], Key: key("shop.public.customers"), Kind: catalog.ChangeColumnLineage, Source: "dbt:shop"},
	}
	if diff := cmp.Diff(want, logged); diff != "" {
		t.Errorf("first crawl column lineage changes (-want +got):\n%s", diff)
	}

	// Unchanged, in another order: nothing written at all.
	before := columnLineageSnapshot(t, pool)
	slices.Reverse(h.ColumnLineage)
	crawlHarvest(t, st, h)
	if diff := cmp.Diff(before, columnLineageSnapshot(t, pool)); diff != "" {
		t.Errorf("an unchanged crawl wrote rows (-before +after):\n%s", diff)
	}

	// The filter's description changes on big_orders only.
	seq = lastSeq(t, st)
	var customersBefore string
	if err := pool.QueryRow(ctx, `SELECT string_agg(x::text || '|' || x.xmin::text, ',') FROM column_lineage x WHERE name = 'shop.public.customers'`).Scan(&customersBefore); err != nil {
		t.Fatal(err)
	}
	h.ColumnLineage = columnLineage()
	h.ColumnLineage[1].Description = "amount > 1000"
	crawlHarvest(t, st, h)
	if diff := cmp.Diff(want[:1], changesAfter(t, st, seq)); diff != "" {
		t.Errorf("changes after one output's lineage changed (-want +got):\n%s", diff)
	}
	var customersAfter string
	if err := pool.QueryRow(ctx, `SELECT string_agg(x::text || '|' || x.xmin::text, ',') FROM column_lineage x WHERE name = 'shop.public.customers'`).Scan(&customersAfter); err != nil {
		t.Fatal(err)
	}
	if customersAfter != customersBefore {
		t.Errorf("the unchanged output's rows were rewritten:\nbefore %s\nafter  %s", customersBefore, customersAfter)
	}
	rows, err := st.ColumnLineage(ctx, []catalog.Key{key("shop.public.big_orders")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Value.Description != "amount > 1000" {
		t.Errorf("column lineage of big_orders = %+v, want the new description", rows)
	}

	// A push naming an output with no dataset row logs it with id 0.
	seq = lastSeq(t, st)
	ghost := catalog.Key{Namespace: "s3://lake", Name: "exports/orders"}
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, ColumnLineage: []catalog.ColumnLineage{
		{Output: ghost, Column: "id", Input: key("shop.public.orders"), InputColumn: "id", Type: "DIRECT", Subtype: "IDENTITY"},
	}}); err != nil {
		t.Fatal(err)
	}
	want = []catalog.Change{{Entity: "column_lineage", Key: ghost, Kind: catalog.ChangeColumnLineage, Source: catalog.SourceOpenLineage}}
	if diff := cmp.Diff(want, changesAfter(t, st, seq)); diff != "" {
		t.Errorf("changes of a push to an unknown dataset (-want +got):\n%s", diff)
	}
}

// TestColumnLineageOfRemovedDataset checks that the column lineage of a
// view that a crawl no longer reports is no longer served, by either read,
// and that it is served again when the view comes back.
func TestColumnLineageOfRemovedDataset(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	h := lineageHarvest("run-1", at)
	h.ColumnLineage = columnLineage()
	crawlHarvest(t, st, h)

	// served returns the outputs of column lineage that each read serves.
	served := func() (byKeys, graph []string) {
		t.Helper()
		rows, err := st.ColumnLineage(ctx, []catalog.Key{key("shop.public.orders"), key("shop.public.customers")})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			byKeys = append(byKeys, r.Value.Output.Name+"."+r.Value.Column+" < "+r.Value.Input.Name+"."+r.Value.InputColumn)
		}
		if err := st.LineageColumns(ctx, nil, func(o catalog.ColumnEdges) error {
			for _, e := range o.Edges {
				graph = append(graph, o.Output.Name+"."+e.Column+" < "+e.Input.Name+"."+e.InputColumn+" "+e.Type+"/"+e.Subtype)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return byKeys, graph
	}
	all := []string{
		"shop.public.big_orders.id < shop.public.orders.amount",
		"shop.public.big_orders.id < shop.public.orders.id",
		"shop.public.customers.id < customers.csv.",
	}
	allGraph := []string{
		"shop.public.big_orders.id < shop.public.orders.amount INDIRECT/FILTER",
		"shop.public.big_orders.id < shop.public.orders.id DIRECT/IDENTITY",
		"shop.public.customers.id < customers.csv. DIRECT/TRANSFORMATION",
	}
	byKeys, graph := served()
	if diff := cmp.Diff(all, byKeys); diff != "" {
		t.Errorf("before removal, ColumnLineage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(allGraph, graph); diff != "" {
		t.Errorf("before removal, LineageColumns (-want +got):\n%s", diff)
	}

	// The view big_orders is dropped: its lineage goes with it.
	gone := lineageHarvest("run-1", at)
	gone.Datasets = gone.Datasets[:2]
	gone.Jobs = nil
	gone.ColumnLineage = columnLineage()[2:]
	crawlHarvest(t, st, gone)
	byKeys, graph = served()
	if diff := cmp.Diff(all[2:], byKeys); diff != "" {
		t.Errorf("after removal, ColumnLineage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(allGraph[2:], graph); diff != "" {
		t.Errorf("after removal, LineageColumns (-want +got):\n%s", diff)
	}
	// Asked for by name, the removed output is reported empty.
	var got []catalog.ColumnEdges
	if err := st.LineageColumns(ctx, []catalog.Key{key("shop.public.big_orders")}, func(o catalog.ColumnEdges) error {
		got = append(got, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.ColumnEdges{{Output: key("shop.public.big_orders")}}, got); diff != "" {
		t.Errorf("LineageColumns of the removed view (-want +got):\n%s", diff)
	}

	// It comes back.
	crawlHarvest(t, st, h)
	byKeys, graph = served()
	if diff := cmp.Diff(all, byKeys); diff != "" {
		t.Errorf("after restore, ColumnLineage (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(allGraph, graph); diff != "" {
		t.Errorf("after restore, LineageColumns (-want +got):\n%s", diff)
	}
}
