package graph_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/lineage"
	"almanac/search"
)

// TestDatabaseOutage serves the API over a catalog database that then
// goes away (a real server behind a proxy that is cut): an operation none
// of whose fields could be answered is 503 with code UNAVAILABLE; one that
// answered some fields is 200 with UNAVAILABLE on the others. Neither
// shows the database's user, name or host; the log has them.
func TestDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	_, dbURL := pgtest.NewDB(t)
	outage := pgtest.NewOutage(t, dbURL)
	pool, err := pgxpool.New(ctx, outage.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	buildFixture(t, st)
	f := lineage.NewFollower(st, lineage.NewGraph(), nil)
	if err := f.Load(ctx); err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(ctx, filepath.Join(t.TempDir(), "index"), st, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	var logs bytes.Buffer
	e := &env{url: newHTTPServer(t, graph.NewHandler(graph.Options{Store: st, Search: idx, Lineage: f, Logger: newLogger(&logs)})) + "/graphql"}

	const query = `{ datasets(first: 2) { totalCount edges { node { name } } } }`
	if r := e.post(t, query, nil); r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("before the outage: %d %+v", r.Status, r.Errors)
	}
	outage.Cut()

	r := e.post(t, query, nil)
	if r.Status != 503 || r.code() != graph.CodeUnavailable {
		t.Errorf("during the outage: status %d code %q, want 503 UNAVAILABLE: %+v", r.Status, r.code(), r.Errors)
	}
	r = e.post(t, `{ __typename dataset(namespace: "postgres://db:5432", name: "shop.public.orders") { name } }`, nil)
	if r.Status != 200 || r.code() != graph.CodeUnavailable || !strings.Contains(string(r.Data), `"__typename":"Query"`) {
		t.Errorf("partly answered during the outage: status %d code %q data %s, want 200 UNAVAILABLE with __typename", r.Status, r.code(), r.Data)
	}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Errors {
		for _, secret := range []string{cfg.ConnConfig.User, cfg.ConnConfig.Database, "127.0.0.1"} {
			if strings.Contains(e.Message, secret) {
				t.Errorf("error message %q shows %q", e.Message, secret)
			}
		}
	}
	// Every line names the database, a connection the server cut
	// ("unexpected EOF") too.
	for line := range strings.Lines(logs.String()) {
		if !strings.Contains(line, "/"+cfg.ConnConfig.Database) {
			t.Errorf("the log lacks the database:\n%s", line)
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing logged")
	}
}
