package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// syncBuffer is a buffer a server may log to while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeRebuildsDamagedIndex starts `almanac serve` on a search index
// whose segments have bytes overwritten: it serves, rebuilds the index
// and then finds what it should. Then the segments are cut short while it
// serves: the search that finds it answers 503 (UNAVAILABLE over GraphQL)
// while the index is rebuilt, other pages keep working, and searches work
// again once it is.
func TestServeRebuildsDamagedIndex(t *testing.T) {
	ctx := t.Context()
	pool, catalogURL := pgtest.NewDB(t)
	st := store.New(pool)
	ns := "postgres://shop.example:5432"
	_, err := st.Crawl(ctx, "postgres:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{
			Datasets: []catalog.DatasetFacts{
				{Key: catalog.Key{Namespace: ns, Name: "shop.public.customers"}, Platform: "postgres", Kind: catalog.KindTable, Description: "One row per customer."},
				{Key: catalog.Key{Namespace: ns, Name: "shop.public.orders"}, Platform: "postgres", Kind: catalog.KindTable, Description: "Every webshop purchase."},
			},
			Scopes: []catalog.Scope{{Namespace: ns, Prefix: "shop."}},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	indexDir := filepath.Join(t.TempDir(), "index")
	cfg := writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+"\nsearch:\n  index_dir: "+indexDir+"\n")
	getenv := func(string) string { return "" }
	if err := run(ctx, []string{"reindex", "-config", cfg}, io.Discard, io.Discard, getenv); err != nil {
		t.Fatal(err)
	}
	segments := func(damage func(string) error) {
		t.Helper()
		err := filepath.WalkDir(indexDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || filepath.Ext(p) != ".zap" {
				return err
			}
			return damage(p)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	segments(func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i := 0; i < len(b); i += 97 {
			b[i] ^= 0xFF
		}
		return os.WriteFile(p, b, 0o644)
	})

	var logs syncBuffer
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, []string{"serve", "-config", cfg, "-log-level", "info"}, io.Discard, &logs, getenv)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after shutdown", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	base := "http://" + addr
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v (log:\n%s)", path, err, logs.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	graphql := func(query string) string {
		t.Helper()
		resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(`{"query":`+query+`}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const rebuilding = "its index is being rebuilt"
	// searchUntil polls a search until it finds name; meanwhile it may
	// only say that the index is being rebuilt.
	searchUntil := func(q, name string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body, err := 0, "", error(nil)
			if resp, gerr := http.Get(base + "/search?q=" + q); gerr == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				code, body = resp.StatusCode, string(b)
			} else {
				err = gerr
			}
			switch {
			case err != nil: // not listening yet
			case code == http.StatusOK && strings.Contains(body, name):
				return
			case code == http.StatusServiceUnavailable && strings.Contains(body, rebuilding):
			default:
				t.Fatalf("GET /search?q=%s = %d:\n%s\nlog:\n%s", q, code, body, logs.String())
			}
			if time.Now().After(deadline) {
				t.Fatalf("search for %s never found %s: %v %d (log:\n%s)", q, name, err, code, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	searchUntil("customers", "shop.public.customers")
	if !strings.Contains(logs.String(), "search index damaged") {
		t.Errorf("damage not logged:\n%s", logs.String())
	}
	if _, err := os.Stat(indexDir + ".damaged"); err != nil {
		t.Errorf("damaged index not kept aside: %v", err)
	}

	// Damage found by a search. The change log is locked meanwhile, so that
	// the rebuild waits and the searches see it.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "LOCK TABLE change_log IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	segments(func(p string) error {
		if err := os.Truncate(p, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
	if code, body := get("/search?q=webshop"); code != http.StatusServiceUnavailable || !strings.Contains(body, rebuilding) {
		t.Errorf("search of a damaged index = %d:\n%s", code, body)
	}
	if body := graphql(`"{ search(query: \"orders\") { totalCount } }"`); !strings.Contains(body, `"UNAVAILABLE"`) || !strings.Contains(body, "being rebuilt") {
		t.Errorf("GraphQL search while rebuilding: %s", body)
	}
	// Pages that do not read the change log answer meanwhile (the dataset
	// page does read it, for its stored SLO evaluations, so the test's
	// lock would hold it; in service nothing takes that lock: writers
	// append under a lock that readers do not wait for).
	for _, path := range []string{"/healthz", "/readyz", "/sources"} {
		if code, body := get(path); code != http.StatusOK {
			t.Errorf("GET %s while rebuilding = %d:\n%s", path, code, body)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	searchUntil("webshop", "shop.public.orders")
	if body := graphql(`"{ search(query: \"orders\") { totalCount } }"`); !strings.Contains(body, `"totalCount":1`) {
		t.Errorf("GraphQL search after the rebuild: %s", body)
	}
}
