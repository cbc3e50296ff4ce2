package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

// detail is a FieldChange for a test: "" stands for nil.
func detail(field catalog.EditField, column, before, after string) catalog.FieldChange {
	c := catalog.FieldChange{Field: field, Column: column}
	if before != "" {
		c.Before = &before
	}
	if after != "" {
		c.After = &after
	}
	return c
}

// feedEntry is what a test compares of a change feed entry.
type feedEntry struct {
	Entity, Name, Kind, Source, Actor string
	Details                           []catalog.FieldChange
}

func feed(t *testing.T, changes []catalog.Change) []feedEntry {
	t.Helper()
	var out []feedEntry
	for _, c := range changes {
		out = append(out, feedEntry{c.Entity, c.Key.Name, string(c.Kind), c.Source, c.Actor(), c.Details})
	}
	return out
}

// TestChangeFeedDetails checks that each kind of change says what it
// changed, before and after: a crawl's documentation, owners, tags and
// columns (added, removed, retyped), and people's edits and links.
func TestChangeFeedDetails(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	start, err := st.LastChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The source redocuments and retags customers and changes its columns.
	ds := warehouse()
	ds[0].Description = "One row per paying customer."
	ds[0].Owners = []catalog.Owner{{Name: "crm", Kind: catalog.OwnerTeam}}
	ds[0].Tags = []string{"pii"}
	ds[0].Columns = []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "uuid", PrimaryKey: true},
		{Name: "signed_up", Ordinal: 3, Type: "date"},
	}
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetDatasetDescription(ctx, editor, d.ID, "Customers who paid."); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddTag(ctx, editor, d.ID, "gold"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddOwner(ctx, editor, d.ID, catalog.Owner{Name: "alice@corp", Kind: catalog.OwnerUser}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDatasetLink(ctx, editor, d.ID, "Runbook", "https://wiki.example.com/runbook"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDatasetLink(ctx, editor, d.ID, "Runbook v2", "https://wiki.example.com/runbook"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RemoveDatasetLink(ctx, editor, d.ID, "https://wiki.example.com/runbook"); err != nil {
		t.Fatal(err)
	}
	got, err := st.ChangeFeed(ctx, start, catalog.ChangeFilter{Entity: "dataset"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	const name = "shop.public.customers"
	user := "user:alice@corp"
	want := []feedEntry{
		{"dataset", name, "updated", "postgres:shop", "", []catalog.FieldChange{
			detail(catalog.FieldDescription, "", "One row per customer.", "One row per paying customer."),
			detail(catalog.FieldOwner, "", "role:shop_owner (technical)", ""),
			detail(catalog.FieldOwner, "", "", "team:crm"),
			detail(catalog.FieldTag, "", "", "pii"),
		}},
		{"dataset", name, "schema_changed", "postgres:shop", "", []catalog.FieldChange{
			detail(catalog.FieldColumn, "signed_up", "", "date"),
			detail(catalog.FieldColumn, "email", "text", ""),
			detail(catalog.FieldColumn, "id", "bigint", "uuid"),
		}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldDescription, "", "One row per paying customer.", "Customers who paid.")}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldTag, "", "", "gold")}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldOwner, "", "", "user:alice@corp")}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldLink, "", "", "Runbook <https://wiki.example.com/runbook>")}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldLink, "", "Runbook <https://wiki.example.com/runbook>", "Runbook v2 <https://wiki.example.com/runbook>")}},
		{"dataset", name, "updated", user, "alice@corp", []catalog.FieldChange{detail(catalog.FieldLink, "", "Runbook v2 <https://wiki.example.com/runbook>", "")}},
	}
	if diff := cmp.Diff(want, feed(t, got)); diff != "" {
		t.Errorf("change feed (-want +got):\n%s", diff)
	}

	// Filters: by kind, and an entity with no entries.
	got, err = st.ChangeFeed(ctx, start, catalog.ChangeFilter{Kinds: []catalog.ChangeKind{catalog.ChangeSchemaChanged}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Kind != catalog.ChangeSchemaChanged {
		t.Errorf("kind filter: got %+v, want the one schema change", got)
	}
	got, err = st.ChangeFeed(ctx, start, catalog.ChangeFilter{Entity: "job"}, 100)
	if err != nil || len(got) != 0 {
		t.Errorf("entity filter: got %+v, %v; want none", got, err)
	}
}

// TestChangeFeedPagesInOrder checks that reading the feed a page at a
// time from each page's last sequence yields every entry once, in order.
func TestChangeFeedPagesInOrder(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"a", "b", "c", "d", "e"} {
		if _, err := st.AddTag(ctx, editor, d.ID, tag); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.ChangeFeed(ctx, 0, catalog.ChangeFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var paged []catalog.Change
	for after := int64(0); ; {
		page, err := st.ChangeFeed(ctx, after, catalog.ChangeFilter{}, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if diff := cmp.Diff(all, paged); diff != "" {
		t.Errorf("paged feed differs from the whole (-want +got):\n%s", diff)
	}
	if len(all) < 8 {
		t.Errorf("feed has %d entries, want at least 8 (3 created, 5 tags)", len(all))
	}
}

// TestDatasetLinksHostile checks that links that are not plain http(s)
// links, or are too long, are refused with ErrInvalid naming what, and
// that a viewer may not add one.
func TestDatasetLinksHostile(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.orders"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ title, url, want string }{
		{"x", "javascript:alert(1)", "only http and https"},
		{"x", "JavaScript:alert(1)", "only http and https"},
		{"x", "data:text/html,<script>alert(1)</script>", "only http and https"},
		{"x", "//evil.example.com/", "only http and https"},
		{"x", "/relative", "only http and https"},
		{"x", "https://", "needs a host"},
		{"x", "https://user:pw@example.com/", "no user name"},
		{"x", "https://example.com/\nSet-Cookie: a", "control characters"},
		{"x", "https://example.com/" + strings.Repeat("a", catalog.MaxLinkURL), "at most 2048"},
		{"", "https://example.com/", "empty title"},
		{strings.Repeat("t", catalog.MaxLinkTitle+1), "https://example.com/", "at most 200"},
		{"evil\u202etxt", "https://example.com/", "control or invisible"},
	} {
		_, err := st.AddDatasetLink(ctx, editor, d.ID, tc.title, tc.url)
		if !errors.Is(err, catalog.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddDatasetLink(%.30q, %.30q) = %v, want ErrInvalid saying %q", tc.title, tc.url, err, tc.want)
		}
	}
	if _, err := st.AddDatasetLink(ctx, viewer, d.ID, "Runbook", "https://wiki.example.com/"); !errors.Is(err, catalog.ErrForbidden) {
		t.Errorf("a viewer adding a link: %v, want ErrForbidden", err)
	}
	links, err := st.DatasetLinks(ctx, []int64{d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(links[d.ID]) != 0 {
		t.Errorf("links after refusals: %+v, want none", links[d.ID])
	}
	if _, err := st.AddDatasetLink(ctx, editor, d.ID, "Dashboard <b>", "https://dash.example.com/d?q=1&r=<2>"); err != nil {
		t.Fatal(err)
	}
	links, err = st.DatasetLinks(ctx, []int64{d.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(links[d.ID]) != 1 || links[d.ID][0].Title != "Dashboard <b>" || links[d.ID][0].AddedBy != "alice@corp" {
		t.Errorf("links: %+v, want the dashboard, stored as given, added by alice@corp", links[d.ID])
	}
}

// TestChangeFeedCreatedAndColumns checks the details of a dataset's
// creation (its source's documentation, owners and tags, as added), of a
// column description edit, and of a renamed column (the old one removed,
// the new one added).
func TestChangeFeedCreatedAndColumns(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(warehouse()...)); err != nil {
		t.Fatal(err)
	}
	got, err := st.ChangeFeed(ctx, 0, catalog.ChangeFilter{Kinds: []catalog.ChangeKind{catalog.ChangeCreated}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var created []catalog.FieldChange
	for _, c := range got {
		if c.Key.Name == "shop.public.customers" {
			created = c.Details
		}
	}
	want := []catalog.FieldChange{
		detail(catalog.FieldDescription, "", "", "One row per customer."),
		detail(catalog.FieldOwner, "", "", "role:shop_owner (technical)"),
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("creation of customers (-want +got):\n%s", diff)
	}

	start, err := st.LastChangeSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, key("shop.public.customers"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetColumnDescription(ctx, editor, d.ID, "email", "Where we write."); err != nil {
		t.Fatal(err)
	}
	ds := warehouse()
	ds[0].Columns[1].Name = "email_address" // same type, same place: a rename
	if _, err := st.Crawl(ctx, "postgres:shop", harvest(ds...)); err != nil {
		t.Fatal(err)
	}
	got, err = st.ChangeFeed(ctx, start, catalog.ChangeFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantFeed := []feedEntry{
		{"dataset", "shop.public.customers", "updated", "user:alice@corp", "alice@corp", []catalog.FieldChange{
			detail(catalog.FieldColumnDescription, "email", "PII: email address", "Where we write."),
		}},
		{"dataset", "shop.public.customers", "updated", "postgres:shop", "", nil},
		{"dataset", "shop.public.customers", "schema_changed", "postgres:shop", "", []catalog.FieldChange{
			detail(catalog.FieldColumn, "email", "text", ""),
			detail(catalog.FieldColumn, "email_address", "", "text"),
		}},
	}
	if diff := cmp.Diff(wantFeed, feed(t, got)); diff != "" {
		t.Errorf("feed (-want +got):\n%s", diff)
	}
}
