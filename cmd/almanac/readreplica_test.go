package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgcluster"
	"almanac/catalog/store"
)

// TestReadReplica serves with database.read_url on a real streaming
// replica (a private primary and a pg_basebackup -R standby of it).
// With the standby's replay paused: a page read by GET comes from the
// replica (a dataset written since is not found there); the browser that
// wrote (a GraphQL mutation, with the cookie it got back) reads its write
// from the primary, while another browser still reads the replica; the
// lag metric says the replica is behind, and nothing once it caught up.
func TestReadReplica(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if os.Geteuid() == 0 { // the postgres user must reach the clusters' directories
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	primary, err := pgcluster.Start(ctx, filepath.Join(dir, "primary"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.WithoutCancel(ctx)) })
	execSQL(t, primary.URL("postgres"), `CREATE DATABASE almanac`)
	primaryURL := primary.URL("almanac")
	if err := run(ctx, []string{"migrate"}, io.Discard, io.Discard, func(k string) string {
		return map[string]string{"ALMANAC_DATABASE_URL": primaryURL}[k]
	}); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, primaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "orders": "Every webshop purchase."})
	standby, err := primary.StartStandby(ctx, filepath.Join(dir, "standby"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop(context.WithoutCancel(ctx)) })
	standbyURL := standby.URL("almanac")

	base := "http://" + freeAddr(t)
	cfg := writeFile(t, fmt.Sprintf("database_url: %s\ndatabase:\n  read_url: %s\nlisten: %s\nsearch:\n  index_dir: %s\n",
		primaryURL, standbyURL, strings.TrimPrefix(base, "http://"), filepath.Join(t.TempDir(), "index")))
	startServe(t, base, cfg, nil, nil)
	// The replica has what the primary had when serve started.
	ordersPage := base + "/datasets/" + url.PathEscape("postgres://shop.example:5432") + "/shop.public.orders"
	poll(t, "orders on the replica", func() (bool, string) {
		code, body := getBody(ordersPage)
		return code == http.StatusOK && strings.Contains(body, "Every webshop purchase."), strconv.Itoa(code)
	})

	execSQL(t, standbyURL, `SELECT pg_wal_replay_pause()`)
	crawlShop(t, st, map[string]string{"customers": "One row per customer.", "orders": "Every webshop purchase.", "refunds": "Money sent back."})
	refundsPage := base + "/datasets/" + url.PathEscape("postgres://shop.example:5432") + "/shop.public.refunds"
	if code, _ := getBody(refundsPage); code != http.StatusNotFound {
		t.Errorf("GET refunds while the replica's replay is paused = %d, want 404: pages read the primary", code)
	}

	// A browser writes, with an API token of an editor, and reads its write.
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	_, secret, err := tokens.Create(ctx, catalog.Principal{Login: "ed@corp", Role: catalog.RoleEditor},
		catalog.TokenRequest{Name: "ed", Scopes: []catalog.TokenScope{catalog.ScopeWrite}, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	writer := &http.Client{Jar: jar}
	var id struct {
		Data struct{ Dataset struct{ ID string } }
	}
	if err := json.Unmarshal([]byte(graphqlPost(t, base, `{ dataset(namespace: "postgres://shop.example:5432", name: "shop.public.orders") { id } }`)), &id); err != nil || id.Data.Dataset.ID == "" {
		t.Fatalf("dataset id: %v %+v", err, id)
	}
	body, _ := json.Marshal(map[string]string{"query": `mutation { setDatasetDescription(input: {datasetId: "` + id.Data.Dataset.ID + `", description: "Edited on the primary."}) { __typename } }`})
	req, _ := http.NewRequest("POST", base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := writer.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(jar.Cookies(req.URL)) == 0 {
		t.Fatalf("mutation = %d with cookies %v", resp.StatusCode, jar.Cookies(req.URL))
	}
	resp, err = writer.Get(ordersPage)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if !strings.Contains(page, "Edited on the primary.") {
		t.Errorf("the writer does not read its write:\n%s", page)
	}
	if _, other := getBody(ordersPage); strings.Contains(other, "Edited on the primary.") || !strings.Contains(other, "Every webshop purchase.") {
		t.Errorf("another browser read the primary, or nothing, while the replica is paused")
	}

	lag := regexp.MustCompile(`(?m)^almanac_read_replica_lag_bytes (\S+)$`)
	lagBytes := func() float64 {
		_, m := getBody(base + "/metrics")
		s := lag.FindStringSubmatch(m)
		if s == nil {
			t.Fatalf("no almanac_read_replica_lag_bytes in /metrics")
		}
		f, _ := strconv.ParseFloat(s[1], 64)
		return f
	}
	if b := lagBytes(); b <= 0 {
		t.Errorf("lag while the replica's replay is paused = %v bytes", b)
	}
	execSQL(t, standbyURL, `SELECT pg_wal_replay_resume()`)
	poll(t, "the replica catches up", func() (bool, string) {
		code, _ := getBody(refundsPage)
		return code == http.StatusOK && lagBytes() == 0, strconv.Itoa(code)
	})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
