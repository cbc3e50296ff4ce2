package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/pgcluster"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestBackupRestoreDrill is the drill of docs/operations.md, with the
// real tools: the catalog is dumped with pg_dump (custom format),
// restored with pg_restore into a fresh, empty database, and `almanac
// serve` on the restored database, with an empty index directory,
// rebuilds its index and gives the same search answers as the original;
// then with the index kept from the original, which it finds stale.
func TestBackupRestoreDrill(t *testing.T) {
	bin, err := pgcluster.Binaries()
	if err != nil {
		t.Fatalf("pg_dump and pg_restore are needed for the restore drill: %v", err)
	}
	pool, catalogURL := pgtest.NewDB(t)
	st := store.New(pool)
	crawlShop(t, st, map[string]string{
		"customers": "One row per customer.", "orders": "Every webshop purchase.",
		"refunds": "Money sent back for a webshop purchase.", "invoices": "Bills sent out.",
	})
	serveOnIndex := func(dbURL, indexDir string) string {
		t.Helper()
		addr := freeAddr(t)
		cfg := writeFile(t, "database_url: "+dbURL+"\nlisten: "+addr+"\nsearch:\n  index_dir: "+indexDir+"\n")
		startServe(t, "http://"+addr, cfg, nil, nil)
		return "http://" + addr
	}
	serveOn := func(dbURL string) string { return serveOnIndex(dbURL, filepath.Join(t.TempDir(), "index")) }
	queries := []string{"webshop", "customer", "bills OR money", "purchase"}
	answers := func(base string) []string {
		t.Helper()
		var out []string
		for _, q := range queries {
			body := graphqlPost(t, base, `{ search(query: `+quote(q)+`) { totalCount edges { node { namespace name matched } } } }`)
			out = append(out, body)
		}
		return out
	}
	before := answers(serveOn(catalogURL))
	if !strings.Contains(before[0], `"totalCount":2`) {
		t.Fatalf("the original answers %s", before[0])
	}

	dump := filepath.Join(t.TempDir(), "almanac.dump")
	if out, err := exec.Command(filepath.Join(bin, "pg_dump"), "--format=custom", "--file="+dump, "--dbname="+catalogURL).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	restoredURL := pgtest.EmptyDB(t)
	if out, err := exec.Command(filepath.Join(bin, "pg_restore"), "--no-owner", "--exit-on-error", "--dbname="+restoredURL, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	after := answers(serveOn(restoredURL))
	for i, q := range queries {
		if before[i] != after[i] {
			t.Errorf("search %q after the restore:\n%s\nbefore:\n%s", q, after[i], before[i])
		}
	}

	// The restore for real, without deleting the index: a replica's index
	// followed the original past the backup (credit notes, crawled after
	// the dump); the restored catalog then gets a change of its own
	// (vouchers), under a sequence the index applied already. serve on the
	// restored database with that index finds it stale and rebuilds it.
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "credit_notes": "Credit notes for a webshop purchase."})
	kept := filepath.Join(t.TempDir(), "index")
	cfg := writeFile(t, "database_url: "+catalogURL+"\nsearch:\n  index_dir: "+kept+"\n")
	if err := run(t.Context(), []string{"reindex", "-config", cfg}, io.Discard, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	restoredPool, err := pgxpool.New(t.Context(), restoredURL)
	if err != nil {
		t.Fatal(err)
	}
	defer restoredPool.Close()
	crawlShop(t, store.New(restoredPool), map[string]string{"customers": "One row per customer.", "vouchers": "Vouchers for a webshop purchase."})
	got := graphqlPost(t, serveOnIndex(restoredURL, kept), `{ search(query: "webshop") { edges { node { name } } } }`)
	if !strings.Contains(got, "shop.public.vouchers") || strings.Contains(got, "credit_notes") {
		t.Errorf("search on the restored catalog with the index kept from the original: %s\nwant vouchers, not credit notes", got)
	}
}

// quote is s as a GraphQL string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// graphqlPost runs query at base/graphql and returns the response body.
func graphqlPost(t *testing.T, base, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /graphql = %d: %s", resp.StatusCode, b)
	}
	return string(b)
}
