package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"almanac/catalog"
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
			e.want.Actor, e.want.DatasetID = editor.Login, id
		}
		if diff := cmp.Diff(e.want, got, cmpopts.IgnoreFields(catalog.AuditEntry{}, "ID", "At")); diff != "" {
			t.Errorf("%s: audit entry (-want +got):\n%s", e.name, diff)
		}
		if got != nil {
			log = append([]catalog.AuditEntry{*got}, log...)
		}
	}
	stored, err := st.AuditLog(ctx, id, 0, 100)
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
