package ui

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

// TestImpactPage checks the impact analysis: every dataset and job
// downstream with its depth, owners and path; the filters; the CSV (with
// a hostile name defused) and JSON exports holding exactly the rows the
// page's filter keeps; and the errors.
func TestImpactPage(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	const ns = "postgres://wh:5432"
	key := func(n string) catalog.Key { return catalog.Key{Namespace: ns, Name: n} }
	facts := []catalog.DatasetFacts{
		{Key: key("db.raw.orders"), Platform: "postgres", Kind: catalog.KindTable},
		{Key: key("db.marts.orders"), Platform: "postgres", Kind: catalog.KindTable,
			Owners: []catalog.Owner{{Name: "payments", Kind: catalog.OwnerTeam}}},
		{Key: key("db.marts.revenue"), Platform: "postgres", Kind: catalog.KindTable,
			Owners: []catalog.Owner{{Name: "ada@corp", Kind: catalog.OwnerUser, Type: "business"}}},
		{Key: key("=HYPERLINK(\"x\")"), Platform: "postgres", Kind: catalog.KindTable},
		{Key: key("db.raw.unread"), Platform: "postgres", Kind: catalog.KindTable},
	}
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: facts}, nil
	}); err != nil {
		t.Fatal(err)
	}
	g := lineage.NewGraph()
	jk := func(n string) catalog.JobKey { return catalog.JobKey{Namespace: "dbt", Name: n} }
	g.SetJobs([]catalog.JobEdges{
		{ID: 1, Key: jk("model.orders"), Inputs: []catalog.Key{key("db.raw.orders")}, Outputs: []catalog.Key{key("db.marts.orders")}},
		{ID: 2, Key: jk("model.revenue"), Inputs: []catalog.Key{key("db.marts.orders")}, Outputs: []catalog.Key{key("db.marts.revenue"), key("=HYPERLINK(\"x\")")}},
		{ID: 3, Key: jk("exposure.dashboard"), Inputs: []catalog.Key{key("db.marts.revenue")}},
	})
	s, err := New(Options{Store: st, Lineage: g})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	const base = "/impact/postgres:%2F%2Fwh:5432/db.raw.orders"

	page := get(base)
	if page.Code != 200 {
		t.Fatalf("GET %s: %d %s", base, page.Code, page.Body)
	}
	body := strings.Join(strings.Fields(page.Body.String()), " ") // as a browser shows it
	for _, want := range []string{
		"3 datasets and 3 jobs downstream", // not the start itself
		"db.marts.revenue", "exposure.dashboard", "ada@corp", "payments",
		"db.raw.orders → model.orders → db.marts.orders → model.revenue → db.marts.revenue",
		`href="` + base + `?format=csv"`, `href="` + base + `?format=json"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("impact page lacks %s", want)
		}
	}

	// CSV: a header, every row, a hostile name defused.
	rec := get(base + "?format=csv")
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(rec.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV export: %q, %q", ct, rec.Header().Get("Content-Disposition"))
	}
	records, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"depth", "kind", "namespace", "name", "owners", "path"},
		{"1", "job", "dbt", "model.orders", "", "db.raw.orders > model.orders"},
		{"1", "dataset", ns, "db.marts.orders", "team:payments", "db.raw.orders > model.orders > db.marts.orders"},
		{"2", "job", "dbt", "model.revenue", "", "db.raw.orders > model.orders > db.marts.orders > model.revenue"},
		{"2", "dataset", ns, "'=HYPERLINK(\"x\")", "", "db.raw.orders > model.orders > db.marts.orders > model.revenue > =HYPERLINK(\"x\")"},
		{"2", "dataset", ns, "db.marts.revenue", "user:ada@corp", "db.raw.orders > model.orders > db.marts.orders > model.revenue > db.marts.revenue"},
		{"3", "job", "dbt", "exposure.dashboard", "", "db.raw.orders > model.orders > db.marts.orders > model.revenue > db.marts.revenue > exposure.dashboard"},
	}
	if diff := cmp.Diff(want, records); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}

	// JSON of a filtered list: the rows the filter keeps, and only them.
	rec = get(base + "?format=json&kind=dataset&owner=ADA")
	var doc struct {
		Name     string `json:"name"`
		Impacted []struct {
			Depth  int      `json:"depth"`
			Name   string   `json:"name"`
			Path   []string `json:"path"`
			Owners []struct{ Name, Kind, Type string }
		} `json:"impacted"`
	}
	if err := json.NewDecoder(rec.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "db.raw.orders" || len(doc.Impacted) != 1 || doc.Impacted[0].Name != "db.marts.revenue" ||
		doc.Impacted[0].Owners[0].Type != "business" || len(doc.Impacted[0].Path) != 5 {
		t.Errorf("JSON filtered to datasets owned by ada: %+v", doc)
	}
	if n := strings.Count(get(base+"?depth=1").Body.String(), "<tr>"); n != 1+2 {
		t.Errorf("depth 1: %d table rows, want a header and 2", n)
	}
	if body := get(base + "?q=revenue").Body.String(); !strings.Contains(body, "2 rows") {
		t.Errorf("name filter: want the job and the dataset named revenue")
	}

	for path, code := range map[string]int{
		"/impact/postgres:%2F%2Fwh:5432/db.raw.unread": 200, // catalogued, nothing reads it
		"/impact/postgres:%2F%2Fwh:5432/nope":          404,
		base + "?depth=x":                              400,
		base + "?kind=table":                           400,
		base + "?format=xml":                           400,
		base + "?owner=%00":                            400,
	} {
		if rec := get(path); rec.Code != code {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, code)
		}
	}
}
