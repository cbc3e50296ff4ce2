package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"almanac/catalog"
	"almanac/catalog/store"
)

var (
	editor = catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	viewer = catalog.Principal{Login: "vic@corp", Role: catalog.RoleViewer}
)

// dbtDocs is a second source documenting and tagging the customers table.
func dbtDocs() []catalog.DatasetFacts {
	return []catalog.DatasetFacts{{
		Key: key("shop.public.customers"), Platform: "dbt", Kind: catalog.KindModel,
		Description: "Customers (dbt).",
		Columns:     []catalog.Column{{Name: "email", Description: "Contact address."}},
		Owners:      []catalog.Owner{{Name: "bob@corp", Kind: catalog.OwnerUser, Type: "business"}},
		Tags:        []string{"core"},
	}}
}

// TestDatasetsByIDsInOrder checks that a batch of datasets reads each as
// a batch of one does, in the order of the ids asked, unknown ids left out.
func TestDatasetsByIDsInOrder(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var want []catalog.Dataset
	for _, f := range warehouse() {
		d, err := readDataset(ctx, st, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		d.Referenced = nil // DatasetsByIDs leaves it to ReferencedBy
		ids = append([]int64{d.ID}, ids...)
		want = append([]catalog.Dataset{d}, want...)
	}
	got, err := st.DatasetsByIDs(ctx, append(ids, 9999))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("DatasetsByIDs (in the order asked, unknown id left out) (-want +got):\n%s", diff)
	}
	// The heads are the same datasets, saying the same of what they read.
	heads, err := st.DatasetHeadsByIDs(ctx, append(ids, 9999))
	if err != nil {
		t.Fatal(err)
	}
	type head struct {
		ID                          int64
		Key                         catalog.Key
		Platform, Kind, Description string
		Owners                      []catalog.Sourced[catalog.Owner]
		Tags                        []catalog.Sourced[string]
		Columns                     int
	}
	heading := func(ds []catalog.Dataset, columns bool) []head {
		var out []head
		for _, d := range ds {
			h := head{ID: d.ID, Key: d.Key, Platform: d.Platform, Kind: string(d.Kind), Description: d.Description, Owners: d.Owners, Tags: d.Tags}
			if columns {
				h.Columns = len(d.Columns)
			}
			out = append(out, h)
		}
		return out
	}
	if diff := cmp.Diff(heading(want, false), heading(heads, true), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("DatasetHeadsByIDs (DatasetsByIDs without columns) (-want +got):\n%s", diff)
	}

	refs, err := st.ReferencedBy(ctx, []catalog.Key{key("shop.public.customers"), key("shop.public.orders")})
	if err != nil {
		t.Fatal(err)
	}
	customers, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(customers.Referenced, refs[key("shop.public.customers")]); diff != "" {
		t.Errorf("ReferencedBy(customers) (-want +got):\n%s", diff)
	}
	if r := refs[key("shop.public.orders")]; len(r) != 0 {
		t.Errorf("ReferencedBy(orders) = %v, want none", r)
	}
}

func TestEditsAreAuditedAndSurviveCrawls(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	id := d.ID
	s := func(v string) *string { return &v }
	team := catalog.Owner{Name: "payments", Kind: catalog.OwnerTeam, Type: "technical"}
	edits := []struct {
		name string
		do   func() (*catalog.AuditEntry, error)
		want *catalog.AuditEntry // nil: changes nothing
	}{
		{"describe", func() (*catalog.AuditEntry, error) {
			return st.SetDatasetDescription(ctx, editor, id, "Everyone who ordered.")
		},
			&catalog.AuditEntry{Field: catalog.FieldDescription, Before: s("Customers (dbt)."), After: s("Everyone who ordered.")}},
		{"describe again", func() (*catalog.AuditEntry, error) {
			return st.SetDatasetDescription(ctx, editor, id, "Everyone who ordered.")
		}, nil},
		{"describe column", func() (*catalog.AuditEntry, error) {
			return st.SetColumnDescription(ctx, editor, id, "email", "Lower-cased.")
		}, &catalog.AuditEntry{Field: catalog.FieldColumnDescription, Column: "email", Before: s("Contact address."), After: s("Lower-cased.")}},
		{"tag", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, editor, id, "pii") },
			&catalog.AuditEntry{Field: catalog.FieldTag, After: s("pii")}},
		{"tag a crawled tag", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, editor, id, "core") }, nil},
		{"owner", func() (*catalog.AuditEntry, error) { return st.AddOwner(ctx, editor, id, team) },
			&catalog.AuditEntry{Field: catalog.FieldOwner, After: s("team:payments (technical)")}},
		{"remove owner", func() (*catalog.AuditEntry, error) { return st.RemoveOwner(ctx, editor, id, team) },
			&catalog.AuditEntry{Field: catalog.FieldOwner, Before: s("team:payments (technical)")}},
	}
	var log []catalog.AuditEntry
	for _, e := range edits {
		got, err := e.do()
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if e.want != nil {
			e.want.Actor, e.want.DatasetID, e.want.Dataset = editor.Login, id, d.Key
		}
		if diff := cmp.Diff(e.want, got, cmpopts.IgnoreFields(catalog.AuditEntry{}, "ID", "At")); diff != "" {
			t.Errorf("%s: audit entry (-want +got):\n%s", e.name, diff)
		}
		if got != nil {
			log = append([]catalog.AuditEntry{*got}, log...)
		}
	}
	stored, err := st.AuditLog(ctx, store.AuditFilter{DatasetID: id}, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the same instants: what an edit returns is what is stored.
	if diff := cmp.Diff(log, stored, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("AuditLog (-returned +stored):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM change_log WHERE source = 'user:alice@corp'`); n != len(log) {
		t.Errorf("change log entries of edits = %d, want %d", n, len(log))
	}

	// A changed crawl of both sources keeps the edits.
	ds := dbtDocs()
	ds[0].Description = "Customers, rewritten in dbt."
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	d, err = readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Description, Source, Email string
		Tags                       []string
	}
	got := view{Description: d.Description, Source: d.DescriptionSource}
	for _, c := range d.Columns {
		if c.Name == "email" {
			got.Email = c.Description
		}
	}
	for _, tg := range d.Tags {
		got.Tags = append(got.Tags, tg.Value+"@"+tg.Source)
	}
	want := view{"Everyone who ordered.", "user:alice@corp", "Lower-cased.", []string{"pii@user:alice@corp", "core@dbt:shop"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after a crawl (-want +got):\n%s", diff)
	}

	// Withdrawing the description shows dbt's again.
	if _, err := st.SetDatasetDescription(ctx, editor, id, ""); err != nil {
		t.Fatal(err)
	}
	if d, _ = readDataset(ctx, st, key("shop.public.customers")); d.Description != "Customers, rewritten in dbt." {
		t.Errorf("after withdrawing, description = %q from %s, want dbt's", d.Description, d.DescriptionSource)
	}
}

func TestEditsRefusedChangeNothing(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Crawl(ctx, "dbt:shop", harvest(dbtDocs()...)); err != nil {
		t.Fatal(err)
	}
	customers, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	orders, err := readDataset(ctx, st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	owner := catalog.Principal{Login: "bob@corp", Role: catalog.RoleViewer} // a user owner of customers, per dbt
	tests := []struct {
		name string
		do   func() (*catalog.AuditEntry, error)
		want error
	}{
		{"anonymous", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, catalog.Principal{}, customers.ID, "x") }, catalog.ErrUnauthenticated},
		{"viewer", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, viewer, customers.ID, "x") }, catalog.ErrForbidden},
		{"owner of another dataset", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, owner, orders.ID, "x") }, catalog.ErrForbidden},
		{"unknown dataset", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, editor, 9999, "x") }, catalog.ErrNotFound},
		{"unknown column", func() (*catalog.AuditEntry, error) {
			return st.SetColumnDescription(ctx, editor, customers.ID, "nope", "x")
		}, catalog.ErrNotFound},
		{"bad tag", func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, editor, customers.ID, " x") }, catalog.ErrInvalid},
		{"bad owner", func() (*catalog.AuditEntry, error) {
			return st.AddOwner(ctx, editor, customers.ID, catalog.Owner{Name: "x", Kind: "group"})
		}, catalog.ErrInvalid},
		{"crawled tag", func() (*catalog.AuditEntry, error) { return st.RemoveTag(ctx, editor, customers.ID, "core") }, catalog.ErrInvalid},
		{"absent tag", func() (*catalog.AuditEntry, error) { return st.RemoveTag(ctx, editor, customers.ID, "nope") }, catalog.ErrNotFound},
		{"crawled owner", func() (*catalog.AuditEntry, error) {
			return st.RemoveOwner(ctx, editor, customers.ID, catalog.Owner{Name: "bob@corp", Kind: catalog.OwnerUser, Type: "business"})
		}, catalog.ErrInvalid},
	}
	before := snapshot(t, pool)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if diff := cmp.Diff(before, snapshot(t, pool)); diff != "" {
		t.Errorf("refused edits wrote (-before +after):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM audit_log`); n != 0 {
		t.Errorf("audit entries = %d, want 0", n)
	}
	// The owner may edit their own dataset.
	if _, err := st.AddTag(ctx, owner, customers.ID, "x"); err != nil {
		t.Errorf("owner's edit: %v", err)
	}
}

// TestAuditLogFilter reads the audit log through each filter the admin
// page and the API offer, and pages through it.
func TestAuditLogFilter(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	type dataset struct {
		ID  int64
		Key catalog.Key
	}
	find := func(name string) dataset {
		t.Helper()
		id, err := st.FindDataset(ctx, key(name))
		if err != nil || id == 0 {
			t.Fatalf("find %s: %d, %v", name, id, err)
		}
		return dataset{id, key(name)}
	}
	customers, orders := find("shop.public.customers"), find("shop.public.orders")
	bob := catalog.Principal{Login: "Bob@corp", Role: catalog.RoleAdmin}
	for _, edit := range []func() (*catalog.AuditEntry, error){
		func() (*catalog.AuditEntry, error) {
			return st.SetDatasetDescription(ctx, editor, customers.ID, "People.")
		}, // 1
		func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, editor, orders.ID, "finance") },               // 2
		func() (*catalog.AuditEntry, error) { return st.AddTag(ctx, bob, customers.ID, "pii") },                   // 3
		func() (*catalog.AuditEntry, error) { return st.SetColumnDescription(ctx, bob, orders.ID, "id", "Key.") }, // 4
		func() (*catalog.AuditEntry, error) { return st.RemoveTag(ctx, bob, customers.ID, "pii") },                // 5
	} {
		if _, err := edit(); err != nil {
			t.Fatal(err)
		}
	}
	// One edit an hour, the first on March 1st at 09:00; entries 3 and 4
	// share an instant, so that the order within one is by id.
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := pool.Exec(ctx, `UPDATE audit_log SET at = $1::timestamptz + make_interval(hours => (CASE WHEN id = 4 THEN 3 ELSE id END)::int - 1)`, base); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name  string
		f     store.AuditFilter
		limit int
		want  []int64
	}{
		{"all", store.AuditFilter{}, 100, []int64{5, 4, 3, 2, 1}},
		{"limit", store.AuditFilter{}, 2, []int64{5, 4}},
		{"dataset", store.AuditFilter{DatasetID: customers.ID}, 100, []int64{5, 3, 1}},
		{"dataset name, any case", store.AuditFilter{Dataset: "ORDERS"}, 100, []int64{4, 2}},
		{"dataset name is no pattern", store.AuditFilter{Dataset: "shop.public.%"}, 100, nil},
		{"actor, any case", store.AuditFilter{Actor: "bob@CORP"}, 100, []int64{5, 4, 3}},
		{"fields", store.AuditFilter{Fields: []catalog.EditField{catalog.FieldTag, catalog.FieldDescription}}, 100, []int64{5, 3, 2, 1}},
		{"since", store.AuditFilter{Since: at(2)}, 100, []int64{5, 4, 3}},
		{"until", store.AuditFilter{Until: at(2)}, 100, []int64{2, 1}},
		{"after an entry", store.AuditFilter{After: store.AuditCursor{At: at(2), ID: 4}}, 100, []int64{3, 2, 1}},
		{"after an instant", store.AuditFilter{After: store.AuditCursor{At: at(2)}}, 100, []int64{2, 1}},
		{"all at once", store.AuditFilter{DatasetID: orders.ID, Actor: "alice@corp", Fields: []catalog.EditField{catalog.FieldTag}, Since: at(0), Until: at(5)}, 100, []int64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.AuditLog(ctx, tt.f, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
				want := customers.Key
				if e.DatasetID == orders.ID {
					want = orders.Key
				}
				if e.Dataset != want {
					t.Errorf("entry %d: dataset %v, want %v", e.ID, e.Dataset, want)
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
