package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

func TestLineagePage(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	s, err := New(Options{Store: store.New(pool)})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "postgres://wh:5432"
	key := func(n string) catalog.Key { return catalog.Key{Namespace: ns, Name: n} }
	g := lineage.NewGraph()
	g.SetJobs([]lineage.JobEdges{
		{ID: 1, Key: catalog.JobKey{Namespace: "dbt", Name: "model.orders"}, Inputs: []catalog.Key{key("db.raw.orders")}, Outputs: []catalog.Key{key("db.marts.orders")}},
		{ID: 2, Key: catalog.JobKey{Namespace: "dbt", Name: "model.revenue"}, Inputs: []catalog.Key{key("db.marts.orders")}, Outputs: []catalog.Key{key("db.marts.revenue")}},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /lineage/{ns}/{name...}", s.LineagePage(g))
	tests := []struct {
		path string
		code int
		want []string
	}{
		{"/lineage/postgres:%2F%2Fwh:5432/db.marts.orders", 200, []string{"<svg", "model.orders", "model.revenue", `href="/lineage/postgres:%2F%2Fwh:5432/db.marts.revenue?depth=1&amp;direction="`}},
		{"/lineage/postgres:%2F%2Fwh:5432/db.raw.orders?depth=2&direction=downstream&path=" + ns + "/db.marts.revenue", 200, []string{"db.marts.revenue", "#d97706"}},
		{"/lineage/postgres:%2F%2Fwh:5432/db.raw.orders?depth=99", 400, []string{"Depth"}},
		{"/lineage/postgres:%2F%2Fwh:5432/nope", 404, []string{"No job reads or writes"}},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
		if rec.Code != tt.code {
			t.Errorf("%s: status %d, want %d", tt.path, rec.Code, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s: page lacks %q", tt.path, w)
			}
		}
	}
}
