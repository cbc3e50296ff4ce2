package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestDatasetPath checks that every dataset address the pages link to
// routes back to the same key.
func TestDatasetPath(t *testing.T) {
	for _, k := range []catalog.Key{
		fctOrders,
		evil,
		{Namespace: "s3://bucket", Name: "/data/tables/orders"},
		{Namespace: "s3://bucket", Name: "a//b"},
		{Namespace: "hdfs://nn:8020", Name: "../etc/passwd"},
		{Namespace: "x", Name: "./."},
		{Namespace: "kafka://broker:9092", Name: "topic?with#odd%chars;and,commas"},
		{Namespace: "postgres://h:5432", Name: "db.schema.trailing/"},
		{Namespace: "bigquery", Name: "project.dataset.表"},
	} {
		path := datasetPath(k)
		var got catalog.Key
		mux := http.NewServeMux()
		mux.HandleFunc("GET /datasets/{ns}/{name...}", func(w http.ResponseWriter, r *http.Request) {
			got = catalog.Key{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}
		})
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("%s: GET %s: status %d (Location %q)", k, path, rec.Code, rec.Header().Get("Location"))
			continue
		}
		if got != k {
			t.Errorf("GET %s routes to %q, want %q", path, got, k)
		}
	}
}

func TestDatasetPathReadable(t *testing.T) {
	got := datasetPath(catalog.Key{Namespace: "postgres://127.0.0.1:5432", Name: "analytics.public.orders"})
	if want := "/datasets/postgres:%2F%2F127.0.0.1:5432/analytics.public.orders"; got != want {
		t.Errorf("datasetPath = %q, want %q", got, want)
	}
	got = datasetPath(catalog.Key{Namespace: "s3://bucket", Name: "lake/orders"})
	if want := "/datasets/s3:%2F%2Fbucket/lake/orders"; got != want {
		t.Errorf("datasetPath = %q, want %q", got, want)
	}
}

func TestSummary(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"", 140, ""},
		{"One row per order.", 140, "One row per order."},
		{"One row per order. Grain: order_id.", 140, "One row per order."},
		{"Version 1.2 of the orders table! Really.", 140, "Version 1.2 of the orders table!"},
		{"First paragraph\n\nsecond paragraph", 140, "First paragraph"},
		{"One line\nof a paragraph", 140, "One line of a paragraph"},
		{"**Orders** from the [shop](https://shop.example). More.", 140, "Orders from the shop."},
		{"| status | meaning |\n|---|---|\n| a | b |\n\nStatuses of orders.", 140, "Statuses of orders."},
		{"  padded.  ", 140, "padded."},
		{"Orders (see docs.example.com/orders) and more", 140, "Orders (see docs.example.com/orders) and more"},
		{"word word word word word", 12, "word word…"},
		{"averyveryverylongwordwithoutspaces", 10, "averyveryv…"},
		{"zürich zürich zürich", 12, "zürich…"},
	} {
		if got := summary(tc.in, tc.max); got != tc.want {
			t.Errorf("summary(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tc := range []struct {
		n            int64
		bytes, count string
	}{
		{0, "0 B", "0"},
		{999, "999 B", "999"},
		{1024, "1 KiB", "1k"},
		{1536, "1.5 KiB", "1.5k"},
		{52_428_800, "50 MiB", "52.4M"},
		{1_234_567, "1.2 MiB", "1.2M"},
		{3_400_000_000, "3.2 GiB", "3.4B"},
		{1 << 50, "1 PiB", "1125.9T"},
	} {
		if got := humanBytes(tc.n); got != tc.bytes {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.bytes)
		}
		if got := humanCount(tc.n); got != tc.count {
			t.Errorf("humanCount(%d) = %q, want %q", tc.n, got, tc.count)
		}
	}
}

func TestRelative(t *testing.T) {
	for _, tc := range []struct {
		ago  time.Duration
		want string
	}{
		{10 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{59 * time.Minute, "59 minutes ago"},
		{2 * time.Hour, "2 hours ago"},
		{25 * time.Hour, "1 day ago"},
		{59 * day, "59 days ago"},
		{90 * day, "Dec 10, 2025"},
		{-3 * time.Hour, "in 3 hours"},
	} {
		if got := relative(now.Add(-tc.ago), now); got != tc.want {
			t.Errorf("relative(now-%v) = %q, want %q", tc.ago, got, tc.want)
		}
	}
}

func TestParseListFilter(t *testing.T) {
	for _, tc := range []struct {
		query   string
		want    listFilter
		invalid bool
	}{
		{query: "", want: listFilter{Page: 1}},
		{
			query: "namespace=postgres%3A%2F%2Fdb%3A5432&kind=view&prefix=a.b.&removed=1&page=3",
			want:  listFilter{Namespace: "postgres://db:5432", Kind: catalog.KindView, Prefix: "a.b.", IncludeRemoved: true, Page: 3},
		},
		{query: "removed=on", want: listFilter{IncludeRemoved: true, Page: 1}},
		{query: "kind=spreadsheet", invalid: true},
		{query: "removed=maybe", invalid: true},
		{query: "page=0", invalid: true},
		{query: "page=-1", invalid: true},
		{query: "page=two", invalid: true},
		{query: "page=99999999999999999999", invalid: true},
		{query: "namespace=a%FF", invalid: true},
		{query: "namespace=a%00", invalid: true},
		{query: "prefix=%FF", invalid: true},
	} {
		q, _ := url.ParseQuery(tc.query)
		got, err := parseListFilter(q)
		if tc.invalid {
			if statusOf(err) != http.StatusBadRequest {
				t.Errorf("parseListFilter(%q): error %v, want an invalid one", tc.query, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseListFilter(%q): %v", tc.query, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseListFilter(%q) (-want +got):\n%s", tc.query, diff)
		}
		// The filter survives a link.
		link, _ := url.Parse(got.query(got.Page))
		again, err := parseListFilter(link.Query())
		if err != nil || again != got {
			t.Errorf("parseListFilter(%q) then query: %+v, %v", got.query(got.Page), again, err)
		}
	}
}

func TestNewPager(t *testing.T) {
	f := listFilter{Kind: catalog.KindTable}
	for _, tc := range []struct {
		page, total, shown int
		want               pager
	}{
		{1, 0, 0, pager{Page: 1, Pages: 1}},
		{1, 7, 7, pager{From: 1, To: 7, Total: 7, Page: 1, Pages: 1}},
		{1, 120, 50, pager{From: 1, To: 50, Total: 120, Page: 1, Pages: 3, Next: "/?kind=table&page=2"}},
		{2, 120, 50, pager{From: 51, To: 100, Total: 120, Page: 2, Pages: 3, Prev: "/?kind=table", Next: "/?kind=table&page=3"}},
		{3, 120, 20, pager{From: 101, To: 120, Total: 120, Page: 3, Pages: 3, Prev: "/?kind=table&page=2"}},
		// Past the end the store counts nothing: offer the way back.
		{9, 0, 0, pager{Page: 9, Pages: 1, Prev: "/?kind=table"}},
	} {
		f.Page = tc.page
		if diff := cmp.Diff(tc.want, newPager(f, tc.total, tc.shown)); diff != "" {
			t.Errorf("newPager(page %d, total %d) (-want +got):\n%s", tc.page, tc.total, diff)
		}
	}
}

func TestNewVersionView(t *testing.T) {
	before := []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "integer"},
		{Name: "cust", Ordinal: 2, Type: "bigint"},
		{Name: "note", Ordinal: 3, Type: "text", Nullable: true},
		{Name: "gone", Ordinal: 4, Type: "text", Nullable: true},
	}
	after := []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "bigint"},
		{Name: "customer", Ordinal: 2, Type: "bigint"},
		{Name: "note", Ordinal: 3, Type: "text", Default: "''", PrimaryKey: true, Description: "Free text."},
		{Name: "added", Ordinal: 5, Type: "date", Nullable: true},
	}
	got := newVersionView(catalog.SchemaVersion{
		Version: 2, Source: "postgres:w", At: now.Add(-time.Hour), Columns: after, Diff: catalog.DiffColumns(before, after),
	}, now)
	want := versionView{
		Version: 2,
		At:      moment{ISO: "2026-03-10T11:00:00Z", Exact: "2026-03-10 11:00 UTC", Relative: "1 hour ago"},
		Source:  "postgres:w",
		Columns: 4,
		Changes: []changeView{
			{"added", []string{"added (date)"}},
			{"removed", []string{"gone (text)"}},
			{"retyped", []string{"id: integer → bigint"}},
			{"renamed", []string{"cust → customer"}},
			{"changed", []string{"note: now not null, default '', now in primary key, description edited"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("newVersionView (-want +got):\n%s", diff)
	}

	for _, diff := range []catalog.SchemaDiff{{}, catalog.DiffColumns(nil, before)} {
		first := newVersionView(catalog.SchemaVersion{Version: 1, Columns: before, At: now, Diff: diff}, now)
		if !first.Initial || first.Columns != 4 || first.Changes != nil {
			t.Errorf("first version with diff %+v: %+v, want Initial with 4 columns", diff, first)
		}
	}
	// A source that adds columns to a dataset that had some is no first
	// version.
	grown := newVersionView(catalog.SchemaVersion{Version: 3, Columns: after, Diff: catalog.DiffColumns(after[:2], after)}, now)
	if grown.Initial || len(grown.Changes) != 1 || grown.Changes[0].Kind != "added" {
		t.Errorf("grown version: %+v, want two added columns", grown)
	}
}

// TestNewDatasetView checks the merge as the page shows it: structure from
// the database, meaning from dbt, and the database's differing comment kept
// beside it.
func TestNewDatasetView(t *testing.T) {
	at := now.Add(-time.Hour)
	d := catalog.Merge(1, fctOrders, created, nil, []catalog.SourceFacts{
		{
			Source: "dbt:analytics", UpdatedAt: at,
			DatasetFacts: catalog.DatasetFacts{
				Kind: catalog.KindModel, Platform: "dbt", Description: "Orders.",
				Columns: []catalog.Column{{Name: "amount", Description: "Total in EUR."}},
				Owners:  []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}},
			},
		},
		{
			Source: "postgres:warehouse", UpdatedAt: at,
			DatasetFacts: catalog.DatasetFacts{
				Kind: catalog.KindTable, Platform: "postgres", SizeBytes: ptr[int64](2048),
				Columns: []catalog.Column{
					{Name: "id", Ordinal: 1, Type: "bigint", PrimaryKey: true},
					{Name: "amount", Ordinal: 2, Type: "numeric", Nullable: true, Description: "total"},
				},
				ForeignKeys: []catalog.ForeignKey{{Name: "fk", Columns: []string{"id"}, Target: dimCustomers, TargetCol: []string{"customer_id"}}},
			},
		},
	})
	v := newDatasetView(d, nil, now)
	wantCols := []columnView{
		{Ordinal: 1, Name: "id", Type: "bigint", TypeSource: "postgres:warehouse", PrimaryKey: true},
		{
			Ordinal: 2, Name: "amount", Type: "numeric", TypeSource: "postgres:warehouse", Nullable: true,
			Description: "Total in EUR.", DescriptionHTML: "<p>Total in EUR.</p>\n", DescriptionSource: "dbt:analytics",
			Others: []sourcedText{{Text: "total", Source: "postgres:warehouse", HTML: "<p>total</p>\n"}},
		},
	}
	if diff := cmp.Diff(wantCols, v.Columns); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"id"}, v.PrimaryKey); diff != "" {
		t.Errorf("primary key (-want +got):\n%s", diff)
	}
	wantKeys := []keyView{{
		Name: "fk", Columns: []string{"id"}, Link: datasetPath(dimCustomers),
		Dataset: dimCustomers.Name, Namespace: dimCustomers.Namespace, TargetCols: []string{"customer_id"}, Source: "postgres:warehouse",
	}}
	if diff := cmp.Diff(wantKeys, v.ForeignKeys); diff != "" {
		t.Errorf("foreign keys (-want +got):\n%s", diff)
	}
	if v.Kind != "table" || v.Platform != "postgres" || v.Size != "2 KiB" || v.Rows != "" || v.Description != "Orders." || v.DescriptionSource != "dbt:analytics" {
		t.Errorf("overview: kind %q platform %q size %q rows %q description %q from %q", v.Kind, v.Platform, v.Size, v.Rows, v.Description, v.DescriptionSource)
	}
	if len(v.Sources) != 2 || !v.Removed.IsZero() || v.Definition != "" {
		t.Errorf("sources %d, removed %+v, definition %q", len(v.Sources), v.Removed, v.Definition)
	}
}

func TestNewHomeView(t *testing.T) {
	v := newHomeView(listFilter{Namespace: "gone://ns", Kind: catalog.KindForeign, Page: 1}, homeData{
		Stats:      store.Stats{Datasets: 3, Columns: 10, Namespaces: 1, Sources: 1},
		Namespaces: []store.NamespaceCount{{Namespace: "postgres://db:5432", Datasets: 3}},
		Browse: store.Browse{
			Kinds:     []store.Count{{Value: "view", Datasets: 1}, {Value: "table", Datasets: 2}},
			Attention: map[store.Attention]int{store.AttentionFailing: 2},
		},
	}, now)
	wantNS := []option{
		{Value: "", Label: "All namespaces"},
		{Value: "postgres://db:5432", Label: "postgres://db:5432 (3)"},
		{Value: "gone://ns", Label: "gone://ns", Selected: true},
	}
	if diff := cmp.Diff(wantNS, v.Namespaces); diff != "" {
		t.Errorf("namespace options (-want +got):\n%s", diff)
	}
	// Only the kinds present, in the usual order, and the one asked for.
	wantKinds := []option{
		{Value: "", Label: "All kinds"},
		{Value: "table", Label: "table (2)"},
		{Value: "view", Label: "view (1)"},
		{Value: "foreign", Label: "foreign (0)", Selected: true},
	}
	if diff := cmp.Diff(wantKinds, v.Kinds); diff != "" {
		t.Errorf("kind options (-want +got):\n%s", diff)
	}
	var labels []string
	for _, st := range v.Stats {
		labels = append(labels, st.Label+"="+st.Value+"@"+st.URL)
	}
	want := []string{"Datasets=3@/", "Columns=10@", "Namespaces=1@#browse-namespaces", "Sources=1@/sources",
		"Failing checks=2@/?attention=failing", "Stale=0@/?attention=stale", "Undocumented=0@/?attention=undocumented"}
	if diff := cmp.Diff(want, labels); diff != "" {
		t.Errorf("count cards, no Removed card when nothing is removed (-want +got):\n%s", diff)
	}
}
