package ui

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// TestSearchExport checks that a search's CSV and JSON exports hold its
// results in the page's order, and that bad requests are refused.
func TestSearchExport(t *testing.T) {
	t.Parallel()
	p := newSearchPortal(t)
	page := p.get(t, "/search?q=orders")
	if !strings.Contains(page.body, `href="/search/export?q=orders"`) || !strings.Contains(page.body, `href="/search/export?q=orders&amp;format=json"`) {
		t.Errorf("the search page links no export")
	}
	r := p.get(t, "/search/export?q=orders")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export: %d %s", r.status, r.header.Get("Content-Type"))
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) < 2 || records[0][2] != "name" || records[1][0] != "1" {
		t.Fatalf("CSV export: %v", records)
	}
	var names []string
	for _, rec := range records[1:] {
		names = append(names, rec[2])
	}
	// The page lists the same datasets first.
	first := strings.Index(page.body, names[0])
	if first < 0 {
		t.Errorf("the first exported result %s is not on the page", names[0])
	}

	r = p.get(t, "/search/export?q=orders&format=json")
	var doc struct {
		Query   string
		Results []struct {
			Rank int
			Name string
			URL  string
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Query != "orders" || len(doc.Results) != len(names) || doc.Results[0].Name != names[0] || doc.Results[0].URL == "" {
		t.Errorf("JSON export %+v disagrees with the CSV's %v", doc, names)
	}
	for path, code := range map[string]int{"/search/export?q=": 400, "/search/export?q=orders&format=xml": 400, "/search/export?q=orders&removed=2": 400} {
		if r := p.get(t, path); r.status != code {
			t.Errorf("GET %s: %d, want %d", path, r.status, code)
		}
	}
}

// TestColumnsExport checks a dataset's columns export: every column with
// its merged description and where it came from, in order.
func TestColumnsExport(t *testing.T) {
	t.Parallel()
	p := newPortal(t, nil)
	r := p.get(t, columnsExportPath(fctOrders, "csv"))
	if r.status != 200 {
		t.Fatalf("columns CSV: %d %s", r.status, r.body)
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if records[0][1] != "name" || len(records) < 3 || records[1][0] != "1" {
		t.Fatalf("columns CSV: %v", records)
	}
	found := false
	for _, rec := range records[1:] {
		if rec[1] == "customer_id" {
			found = true
		}
	}
	if !found {
		t.Errorf("columns CSV lacks customer_id: %v", records)
	}
	r = p.get(t, columnsExportPath(fctOrders, "json"))
	var doc struct {
		Name    string
		Columns []struct {
			Name    string `json:"name"`
			Ordinal int    `json:"ordinal"`
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil || doc.Name != fctOrders.Name || len(doc.Columns) != len(records)-1 {
		t.Errorf("columns JSON: %v %+v", err, doc)
	}
	if r := p.get(t, "/columns/postgres:%2F%2Fnowhere/x.y"); r.status != 404 {
		t.Errorf("unknown dataset: %d, want 404", r.status)
	}
}
