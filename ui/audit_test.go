package ui

import (
	"context"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// auditFixture makes edits by two people to two datasets, one an hour
// apart from March 1st, 2026, 09:00 UTC, and returns the portal.
func auditFixture(t *testing.T) editPortal {
	t.Helper()
	p := newEditPortal(t)
	bob := []string{"X-Test-Login", "bob@corp", "X-Test-Role", "editor"}
	for _, e := range []struct {
		who  []string
		what string
		key  catalog.Key
		form url.Values
	}{
		{asAlice, "description", fctOrders, url.Values{"description": {"Orders."}}},                             // 1
		{bob, "tags", dimCustomers, url.Values{"op": {"add"}, "tag": {"=HYPERLINK(\"https://evil\")"}}},         // 2
		{asAlice, "column", dimCustomers, url.Values{"column": {"name"}, "description": {"+1 555 0100"}}},       // 3
		{bob, "owners", fctOrders, url.Values{"op": {"add"}, "name": {"@payments"}, "kind": {"team"}}},          // 4
		{asAlice, "description", fctOrders, url.Values{"description": {"-5 orders, \"quoted\",\nsecond line"}}}, // 5
	} {
		if r := p.postForm(t, editPath(e.what, e.key), e.form, e.who...); r.status != 303 {
			t.Fatalf("edit %s %v: %d\n%s", e.what, e.form, r.status, r.body)
		}
	}
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if _, err := p.pool.Exec(context.Background(), `UPDATE audit_log SET at = $1::timestamptz + make_interval(hours => id::int - 1)`, base); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuditPageForAdminsOnly asks for the audit page and its export as
// each kind of reader: only admins get them, and only admins see the
// navigation entry.
func TestAuditPageForAdminsOnly(t *testing.T) {
	t.Parallel()
	p := auditFixture(t)
	for _, tc := range []struct {
		name   string
		header []string
		status int
	}{
		{"anonymous", nil, 401},
		{"viewer", asVic, 403},
		{"editor", asAlice, 403},
		{"admin", asRoot, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/admin/audit", "/admin/audit.csv"} {
				r := p.getAs(t, path, tc.header...)
				if r.status != tc.status {
					t.Errorf("GET %s: %d, want %d", path, r.status, tc.status)
				}
				if tc.status != 200 && strings.Contains(r.body, "bob@corp") {
					t.Errorf("GET %s refused, yet shows the audit", path)
				}
			}
			home := p.getAs(t, "/", tc.header...).body
			if got := strings.Contains(home, `href="/admin/audit"`); got != (tc.status == 200) {
				t.Errorf("navigation links the audit: %v", got)
			}
		})
	}
	if r := p.getAs(t, "/admin/audit"); !strings.Contains(r.body, `href="/login?next=%2Fadmin%2Faudit"`) {
		t.Errorf("the 401 page does not link the login page back to the audit")
	}
}

// TestAuditPageFilters filters the audit page by who, kind, dataset and
// time, and pages through it.
func TestAuditPageFilters(t *testing.T) {
	t.Parallel()
	p := auditFixture(t)
	// rows returns the hours after 09:00 of the edits a page lists, by
	// their times.
	rows := func(query string) []int {
		t.Helper()
		r := p.getAs(t, "/admin/audit?"+query, asRoot...)
		if r.status != 200 {
			t.Fatalf("GET /admin/audit?%s: %d\n%s", query, r.status, r.body)
		}
		checkMarkup(t, r.body)
		var hours []int
		for h := range 5 {
			at := time.Date(2026, 3, 1, 9+h, 0, 0, 0, time.UTC).Format(time.RFC3339)
			if strings.Contains(r.body, `datetime="`+at+`"`) {
				hours = append(hours, h+1)
			}
		}
		return hours
	}
	for _, tc := range []struct {
		query string
		want  []int // ids of the edits
	}{
		{"", []int{1, 2, 3, 4, 5}},
		{"who=BOB%40corp", []int{2, 4}},
		{"kind=description", []int{1, 5}},
		{"kind=column_description", []int{3}},
		{"dataset=customers", []int{2, 3}},
		{"since=2026-03-01T11%3A00%3A00Z", []int{3, 4, 5}},
		{"until=2026-03-01T11%3A00%3A00Z", []int{1, 2}},
		{"since=2026-03-01&until=2026-03-01", []int{1, 2, 3, 4, 5}}, // To includes the whole day
		{"until=2026-02-28", nil},
		{"who=alice%40corp&kind=description&dataset=fct&since=2026-03-01T09%3A30%3A00Z", []int{5}},
	} {
		if diff := cmp.Diff(tc.want, rows(tc.query)); diff != "" {
			t.Errorf("?%s (-want +got):\n%s", tc.query, diff)
		}
	}
	for _, q := range []string{"since=yesterday", "since=2026-03-02&until=2026-03-01", "after=garbage"} {
		if r := p.getAs(t, "/admin/audit?"+q, asRoot...); r.status != 400 {
			t.Errorf("?%s: %d, want 400", q, r.status)
		}
	}

	// Pages of two, through the "Older" links.
	s, err := New(Options{Store: store.New(p.pool)})
	if err != nil {
		t.Fatal(err)
	}
	var seen []int64
	q := auditQuery{}
	for range 5 {
		got, more, err := s.auditRows(context.Background(), q, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			seen = append(seen, r.id)
		}
		if !more {
			break
		}
		// Through the address, as the page's link carries it.
		pos, err := parseAuditPos(got[len(got)-1].pos().String())
		if err != nil {
			t.Fatal(err)
		}
		q.After = pos
	}
	if diff := cmp.Diff([]int64{5, 4, 3, 2, 1}, seen); diff != "" {
		t.Errorf("paging by two (-want +got):\n%s", diff)
	}
	page := p.getAs(t, "/admin/audit", asRoot...).body
	if strings.Contains(page, `rel="next"`) {
		t.Error("a page of 5 rows links an older page")
	}
}

// TestAuditCSV exports the audit: the rows the filter selects, newest
// first, every cell as stored, except that cells a spreadsheet would take
// for a formula start with a quote.
func TestAuditCSV(t *testing.T) {
	t.Parallel()
	p := auditFixture(t)
	r := p.getAs(t, "/admin/audit.csv", asRoot...)
	if r.status != 200 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), `attachment; filename="almanac-audit-`) {
		t.Fatalf("status %d, Content-Type %q, Content-Disposition %q", r.status, r.header.Get("Content-Type"), r.header.Get("Content-Disposition"))
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, r.body)
	}
	const ns = warehouseNS
	want := [][]string{
		csvHeader,
		{"2026-03-01T13:00:00Z", "description", "changed", "alice@corp", ns, fctOrders.Name, "", "Orders.", "'-5 orders, \"quoted\",\nsecond line", ""},
		{"2026-03-01T12:00:00Z", "owner", "added", "bob@corp", ns, fctOrders.Name, "", "", "team:@payments", ""},
		{"2026-03-01T11:00:00Z", "column_description", "added", "alice@corp", ns, dimCustomers.Name, "name", "", "'+1 555 0100", ""},
		{"2026-03-01T10:00:00Z", "tag", "added", "bob@corp", ns, dimCustomers.Name, "", "", `'=HYPERLINK("https://evil")`, ""},
		{"2026-03-01T09:00:00Z", "description", "changed", "alice@corp", ns, fctOrders.Name, "", "One row per order placed on the web shop. Grain: order_id; amounts in EUR.", "Orders.", ""},
	}
	if diff := cmp.Diff(want, records); diff != "" {
		t.Errorf("export (-want +got):\n%s", diff)
	}

	// The filter applies, and the export streams past one batch.
	r = p.getAs(t, "/admin/audit.csv?who=bob%40corp&kind=tag", asRoot...)
	records, err = csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(records) != 2 || records[1][1] != "tag" {
		t.Errorf("filtered export: %v %q", err, records)
	}
	if r := p.getAs(t, "/admin/audit.csv?since=nonsense", asRoot...); r.status != 400 {
		t.Errorf("export with a bad filter: %d, want 400", r.status)
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"plain":         "plain",
		"=1+2":          "'=1+2",
		"+1":            "'+1",
		"-1":            "'-1",
		"@SUM(A1)":      "'@SUM(A1)",
		"\t=1":          "'\t=1",
		"\r=1":          "'\r=1",
		"a=1":           "a=1",
		"'already":      "'already",
		"user:alice@co": "user:alice@co",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAuditPos(t *testing.T) {
	pos := auditPos{At: time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC), Source: 1, ID: 42}
	got, err := parseAuditPos(pos.String())
	if err != nil || got != pos {
		t.Errorf("parseAuditPos(%q) = %+v, %v; want %+v", pos.String(), got, err, pos)
	}
	for _, bad := range []string{"x", "1.2", "1.2.x", "1.-1.2", "1.0.0"} {
		if _, err := parseAuditPos(bad); err == nil {
			t.Errorf("parseAuditPos(%q) accepted", bad)
		}
	}
	// A source before the cursor's reads before its instant, one after it
	// up to and including it.
	if c := pos.cursorFor(0); c != (store.AuditCursor{At: pos.At, ID: 0}) {
		t.Errorf("cursorFor(0) = %+v", c)
	}
	if c := pos.cursorFor(1); c != (store.AuditCursor{At: pos.At, ID: 42}) {
		t.Errorf("cursorFor(1) = %+v", c)
	}
	if c := pos.cursorFor(2); c.ID < 1<<62 || !c.At.Equal(pos.At) {
		t.Errorf("cursorFor(2) = %+v", c)
	}
}
