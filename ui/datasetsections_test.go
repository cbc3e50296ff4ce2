package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestDatasetSections reads the fixture's orders page: a table of
// contents whose every link lands on a section of the page, the lineage
// section (with its way to the explorer's column trace) even without a
// lineage graph, owners, tags, sources and columns as links, when the
// catalog learned of the dataset apart from when its data changed, one
// row count, and no property repeating the primary key.
func TestDatasetSections(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)
	r := p.get(t, datasetPath(fctOrders))
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	body := r.body
	nav := body[strings.Index(body, `<nav class="section-nav"`):]
	nav = nav[:strings.Index(nav, "</nav>")]
	var got []string
	for _, m := range regexp.MustCompile(`href="#([a-z]+)">([A-Za-z]+) `).FindAllStringSubmatch(nav, -1) {
		got = append(got, m[2])
		if !strings.Contains(body, `<section id="`+m[1]+`"`) {
			t.Errorf("the contents link to #%s, which no section is", m[1])
		}
	}
	if diff := cmp.Diff([]string{"Columns", "Lineage", "Quality", "SLOs", "History", "Runs", "Usage"}, got); diff != "" {
		t.Errorf("contents (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		`aria-label="Sections of this page"`,
		`<a class="owner" href="/teams/data-platform">data-platform</a>`,
		`<a href="/search?q=tag%3Afinance">finance</a>`,
		`<a class="source-name" href="/sources#source-dbt:analytics">dbt:analytics</a>`,
		`<a href="#col-order_id" title="Link to this column">order_id</a>`,
		`/lineage/postgres:%2F%2Fdb.example:5432/warehouse.marts.fct_orders?column=postgres%3A%252F%252Fdb.example%3A5432%2Fwarehouse.marts.fct_orders%2Forder_id&amp;columns=1`,
		`<dt>Data changed</dt>`, `<dt>In the catalog</dt>`,
		`<span title="">≈ 1.2M rows</span>`,
		`No run of a job writing this dataset is known.`,
		`No job is known to read this dataset.`,
		`Show properties`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(body, "<dt>Rows</dt>"); n != 1 {
		t.Errorf("%d row counts, want 1", n)
	}
	if strings.Contains(body, `>primary_key<`) {
		t.Error("properties repeat the primary key")
	}
	// The sources page has the rows the links land on.
	if src := p.get(t, "/sources").body; !strings.Contains(src, `id="source-dbt:analytics"`) && strings.Contains(src, "dbt:analytics") {
		t.Error("the sources page has no row with id source-dbt:analytics")
	}
}

// TestDataChanged: when the data changed is the newest of the last Delta
// commit, the end of the last successful run writing it and the last
// observation of a new row count; a failed run changes nothing.
func TestDataChanged(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { x := t0.Add(time.Duration(h) * time.Hour); return &x }
	delta := catalog.SourceFacts{Source: "delta:lake", DatasetFacts: catalog.DatasetFacts{Platform: "delta",
		Properties: map[string]string{"last_commit_time": t0.Add(time.Hour).Format(time.RFC3339Nano), "last_operation": "MERGE"}}}
	ok := catalog.Run{Job: catalog.JobKey{Name: "load"}, State: catalog.RunComplete, EndedAt: at(2)}
	failed := catalog.Run{Job: catalog.JobKey{Name: "load"}, State: catalog.RunFail, EndedAt: at(5)}
	counts := []catalog.RowCount{{ObservedAt: *at(4), Rows: 10}, {ObservedAt: *at(3), Rows: 10}, {ObservedAt: *at(0), Rows: 9}}
	for _, tc := range []struct {
		name    string
		d       catalog.Dataset
		runs    []catalog.Run
		counts  []catalog.RowCount
		wantAt  time.Time
		wantHow string
	}{
		{"nothing says", catalog.Dataset{}, nil, nil, time.Time{}, ""},
		{"delta commit", catalog.Dataset{Sources: []catalog.SourceFacts{delta}}, []catalog.Run{failed}, nil, *at(1), "Delta commit (MERGE)"},
		{"a run after it", catalog.Dataset{Sources: []catalog.SourceFacts{delta}}, []catalog.Run{failed, ok}, nil, *at(2), "run of load"},
		// The row count moved between 0 h and 3 h: it was seen at 3 h.
		{"row count", catalog.Dataset{Sources: []catalog.SourceFacts{delta}}, []catalog.Run{ok}, counts, *at(3), "row count changed"},
	} {
		gotAt, gotHow := dataChanged(tc.d, tc.runs, tc.counts)
		if !gotAt.Equal(tc.wantAt) || gotHow != tc.wantHow {
			t.Errorf("%s: %v %q, want %v %q", tc.name, gotAt, gotHow, tc.wantAt, tc.wantHow)
		}
	}
}

// TestInheritedColumnDescription: a view's column that no source
// describes, and that column lineage says copies a table's column, shows
// the table column's description marked as inherited, linked to that
// column; a column with a description of its own keeps it.
func TestInheritedColumnDescription(t *testing.T) {
	t.Parallel()
	var st *store.Store
	p := newPortal(t, func(o *Options) { st = o.Store })
	row := func(out catalog.Key, col string, in catalog.Key, inCol, sub string) {
		t.Helper()
		if _, err := st.Pool().Exec(t.Context(), `
			INSERT INTO column_lineage (source, namespace, name, column_name, input_namespace, input_name, input_column, transformation_type, transformation_subtype)
			VALUES ('postgres:warehouse', $1, $2, $3, $4, $5, $6, 'DIRECT', $7)`,
			out.Namespace, out.Name, col, in.Namespace, in.Name, inCol, sub); err != nil {
			t.Fatal(err)
		}
	}
	row(dailyRevenue, "revenue", fctOrders, "amount", "IDENTITY")
	row(dailyRevenue, "day", fctOrders, "ordered_at", "TRANSFORMATION")
	body := p.get(t, datasetPath(dailyRevenue)).body
	revenue := body[strings.Index(body, `id="col-revenue"`):]
	revenue = revenue[:strings.Index(revenue, "</tr>")]
	for _, want := range []string{
		"Order total in EUR, after discounts.", `<span class="badge inherited">inherited</span>`,
		`href="` + datasetPath(fctOrders) + `#col-amount">fct_orders.amount</a>`,
	} {
		if !strings.Contains(revenue, want) {
			t.Errorf("the revenue column lacks %s:\n%s", want, revenue)
		}
	}
	day := body[strings.Index(body, `id="col-day"`):]
	day = day[:strings.Index(day, "</tr>")]
	if strings.Contains(day, "inherited") {
		t.Errorf("the day column, computed, inherits a description:\n%s", day)
	}
	// The table's own column keeps its own description, inheriting nothing.
	if strings.Contains(p.get(t, datasetPath(fctOrders)).body, `badge inherited`) {
		t.Error("the table's page shows an inherited description")
	}
}
