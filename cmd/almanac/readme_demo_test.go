package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/demo"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/cmd/almanac/config"
)

// readmeGraphQL returns the README's ```graphql blocks in order.
func readmeGraphQL(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllSubmatch(b, -1) {
		blocks = append(blocks, string(m[1]))
	}
	if len(blocks) < 7 {
		t.Fatalf("found %d graphql blocks in the README, want at least 7", len(blocks))
	}
	return blocks
}

// TestREADMEExamplesOnDemo builds the catalog `make run` serves (the demo
// warehouse, crawled and served by serveDemo with the demo's authenticator)
// and runs every GraphQL example of the README against it through the
// real handler: each must answer data without errors, and what it asks
// about must exist, so that a new user pasting the examples into GraphiQL
// sees them work. The demo names its warehouse database "warehouse"; the
// test's warehouse database has another name, which stands in for it.
func TestREADMEExamplesOnDemo(t *testing.T) {
	ctx := t.Context()
	pool, whURL, base := startDemo(t)
	// A later `make run` finds the warehouse current and keeps it.
	if v, err := demo.WarehouseBuiltFrom(ctx, whURL); err != nil || v != demo.WarehouseVersion() {
		t.Errorf("warehouse built from %q, %v; want %q", v, err, demo.WarehouseVersion())
	}
	whCfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		t.Fatal(err)
	}

	// The demo crawl is clean: its views' SQL resolves to what it crawled.
	runs, err := store.New(pool).CrawlRuns(ctx, "postgres:demo", 0, 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs of the demo: %+v, %v", runs, err)
	}
	if runs[0].Status != catalog.CrawlSucceeded {
		t.Errorf("demo crawl %s, errors %+v", runs[0].Status, runs[0].Errors)
	}
	// The README says how many datasets the demo warehouse holds.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) tables and views`).FindSubmatch(readme)
	if m == nil {
		t.Error("the README no longer says how many tables and views the demo warehouse has")
	} else if want := fmt.Sprint(runs[0].Counts.Seen); string(m[1]) != want {
		t.Errorf("the README says the demo warehouse has %s tables and views, the crawl saw %s", m[1], want)
	}

	for i, block := range readmeGraphQL(t) {
		t.Run(fmt.Sprintf("README#%d", i+1), func(t *testing.T) {
			query := strings.ReplaceAll(block, `"warehouse.`, `"`+whCfg.Database+`.`)
			body, _ := json.Marshal(map[string]any{"query": query})
			resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r struct {
				Data   map[string]any  `json:"data"`
				Errors json.RawMessage `json:"errors"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != http.StatusOK || len(r.Errors) > 0 || len(r.Data) == 0 {
				t.Fatalf("status %d, errors %s, data %v\n%s", resp.StatusCode, r.Errors, r.Data, block)
			}
			for field, v := range r.Data {
				if v == nil {
					t.Errorf("%s is null: the example names nothing in the demo catalog", field)
					continue
				}
				for _, path := range demoNonEmpty[field] {
					if isEmpty(dig(v, path)) {
						t.Errorf("%s.%s is empty in the demo catalog:\n%s", field, path, mustJSON(v))
					}
				}
			}
		})
	}
	// The demo has two owning teams, listed on /teams and with pages.
	t.Run("teams", func(t *testing.T) {
		for _, team := range demo.Teams {
			resp, err := http.Get(base + "/teams/" + team.Team)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/teams/%s: %d", team.Team, resp.StatusCode)
			}
			if !strings.Contains(string(b), "stg_") && !strings.Contains(string(b), team.Datasets[len(team.Datasets)-1]) {
				t.Errorf("/teams/%s lists none of its datasets", team.Team)
			}
		}
		resp, err := http.Get(base + "/teams")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, team := range demo.Teams {
			if !strings.Contains(string(b), team.Team) {
				t.Errorf("/teams does not list %s", team.Team)
			}
		}
		query, _ := json.Marshal(map[string]any{"query": `{ teams { name datasets } }`})
		resp, err = http.Post(base+"/graphql", "application/json", bytes.NewReader(query))
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, team := range demo.Teams {
			if want := fmt.Sprintf(`{"name":%q,"datasets":%d}`, team.Team, len(team.Datasets)); !strings.Contains(string(b), want) {
				t.Errorf("teams: want %s in %s", want, b)
			}
		}
	})
	// The demo replays 14 days of its Airflow DAG: daily DAG runs with
	// task runs under them, one late, the last failed with an incident
	// open, column lineage and row counts from outputStatistics.
	t.Run("airflow replay", func(t *testing.T) {
		db := whCfg.Database
		runsQuery := `{ job(namespace: "airflow://prod", name: "orders_daily") { codeUrl runs(first: 50) { edges { node { state startedAt nominalStartTime children { id } } } } } }`
		var r struct {
			Data struct {
				Job struct {
					CodeURL *string
					Runs    struct {
						Edges []struct {
							Node struct {
								State            string
								StartedAt        time.Time
								NominalStartTime time.Time
								Children         []struct{ ID string }
							}
						}
					}
				}
			}
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			b := demoGraphQL(t, base, runsQuery)
			r.Data.Job.Runs.Edges = nil
			if err := json.Unmarshal([]byte(b), &r); err != nil {
				t.Fatal(err)
			}
			if len(r.Data.Job.Runs.Edges) == demo.LineageDays {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the demo DAG has %d runs, want %d: %s", len(r.Data.Job.Runs.Edges), demo.LineageDays, b)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if r.Data.Job.CodeURL == nil || !strings.Contains(*r.Data.Job.CodeURL, "dags/orders_daily.py") {
			t.Errorf("the demo DAG's code url is %v, want its sourceCodeLocation", r.Data.Job.CodeURL)
		}
		var failed, late int
		for i, e := range r.Data.Job.Runs.Edges {
			n := e.Node
			if len(n.Children) != 3 {
				t.Errorf("run %d has %d task runs, want 3", i, len(n.Children))
			}
			if n.State == "FAIL" {
				failed++
			}
			if n.StartedAt.Sub(n.NominalStartTime) > time.Hour {
				late++
			}
			if n.StartedAt.After(time.Now()) || time.Since(n.StartedAt) > (demo.LineageDays+1)*24*time.Hour {
				t.Errorf("run %d started at %s, not in the last %d days", i, n.StartedAt, demo.LineageDays)
			}
		}
		if failed != 2 || late != 1 {
			t.Errorf("the demo DAG has %d failed and %d late runs, want 2 and 1", failed, late)
		}
		if latest := r.Data.Job.Runs.Edges[0].Node; latest.State != "FAIL" {
			t.Errorf("the demo DAG's latest run is %s, want FAIL", latest.State)
		}
		// Column lineage from the columnLineage facet.
		b := demoGraphQL(t, base, `{ columnLineage(namespace: "`+demo.Namespace+`", name: "`+db+`.finance.revenue_recognition", column: "amount_usd", direction: UPSTREAM) { nodes { name column } } }`)
		if !strings.Contains(b, `"name":"`+db+`.marts.fct_orders","column":"net_revenue"`) {
			t.Errorf("revenue_recognition.amount_usd does not come from fct_orders.net_revenue: %s", b)
		}
		// The failed revenue task opened an incident on what it writes.
		for deadline := time.Now().Add(30 * time.Second); ; {
			b := demoGraphQL(t, base, `{ incidents(filter: {open: true}) { edges { node { name cause causeKey } } } }`)
			if strings.Contains(b, `"name":"`+db+`.finance.revenue_recognition","cause":"RUN_FAILED","causeKey":"airflow://prod/orders_daily.recognize_revenue"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no incident from the demo DAG's failed run: %s", b)
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The jobs and runs pages show the DAG.
		for _, page := range []string{"/jobs", "/runs"} {
			resp, err := http.Get(base + page)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "orders_daily") {
				t.Errorf("%s does not show the demo DAG", page)
			}
		}
	})
	// The demo's SQL checks run as it starts: one fails and opens an
	// incident; its SLOs are judged: the revenue journal's pipeline SLO
	// is breached, fct_orders' on-time SLO burns its budget.
	t.Run("checks and SLOs", func(t *testing.T) {
		db := whCfg.Database
		dataset := func(name, sel string) string {
			return demoGraphQL(t, base, `{ dataset(namespace: "`+demo.Namespace+`", name: "`+db+`.`+name+`") { `+sel+` } }`)
		}
		waitFor := func(what string, ok func() (bool, string)) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); ; {
				good, got := ok()
				if good {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: %s", what, got)
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		waitFor("the failing check", func() (bool, string) {
			b := dataset("raw.shop_orders", "qualityChecks { name latest { status } }")
			return strings.Contains(b, `{"name":"orders_landed_today","latest":{"status":"fail"}}`), b
		})
		waitFor("the passing checks", func() (bool, string) {
			b := dataset("marts.fct_orders", "qualityChecks { name latest { status } }")
			return strings.Contains(b, `{"name":"fct_orders_order_id_unique","latest":{"status":"pass"}}`) &&
				strings.Contains(b, `{"name":"fct_orders_customer_key_not_null","latest":{"status":"pass"}}`), b
		})
		// Each check has a result a day before today's: the failing one
		// failed for the last days only.
		waitFor("the failing check's history", func() (bool, string) {
			b := dataset("raw.shop_orders", "qualityChecks { results(first: 30) { edges { node { status } } } }")
			return strings.Count(b, `"status":"pass"`) == demo.CheckDays-demo.OrdersStoppedDays &&
				strings.Count(b, `"status":"fail"`) == demo.OrdersStoppedDays+1, b
		})
		waitFor("the incident of the failing check", func() (bool, string) {
			b := demoGraphQL(t, base, `{ incidents(filter: {open: true}) { edges { node { name cause causeKey } } } }`)
			return strings.Contains(b, `"name":"`+db+`.raw.shop_orders","cause":"CHECK_FAILED"`), b
		})
		waitFor("the breached SLO", func() (bool, string) {
			b := dataset("finance.revenue_recognition", "slos { name status summary }")
			return strings.Contains(b, `"name":"revenue-journal-posted","status":"breached"`), b
		})
		waitFor("the SLO burning its budget", func() (bool, string) {
			b := dataset("marts.fct_orders", "slos { name status summary }")
			return strings.Contains(b, `"name":"fct-orders-by-0300","status":"at_risk"`), b
		})
	})
	// The warehouse changed its schema after the first crawl: the
	// catalog keeps two versions, with the added and retyped columns.
	t.Run("schema versions", func(t *testing.T) {
		db := whCfg.Database
		history := func(name string) string {
			return demoGraphQL(t, base, `{ dataset(namespace: "`+demo.Namespace+`", name: "`+db+`.`+name+`") { schemaHistory { edges { node { version diff { added { name } retyped { name before { type } after { type } } } } } } } }`)
		}
		if b := history("marts.fct_orders"); !strings.Contains(b, `"version":2,"diff":{"added":[{"name":"sales_channel"}]`) {
			t.Errorf("fct_orders has no version 2 adding sales_channel: %s", b)
		}
		if b := history("ops.inventory_levels"); !strings.Contains(b, `"retyped":[{"name":"inbound_qty","before":{"type":"integer"},"after":{"type":"bigint"}}]`) {
			t.Errorf("inventory_levels has no version retyping inbound_qty: %s", b)
		}
	})
	// The demo harvests its dbt project: models with owners and Markdown
	// descriptions, a failing test (with its incident) and a warning one,
	// and source freshness with one late source.
	t.Run("dbt project", func(t *testing.T) {
		db := whCfg.Database
		runs, err := store.New(pool).CrawlRuns(ctx, "dbt:"+demo.DBTSource, 0, 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs of the demo dbt project: %+v, %v", runs, err)
		}
		// Its one warning, the demo's crawl warning: no catalog.json.
		if r := runs[0]; r.Status != catalog.CrawlPartial || r.Counts.Seen == 0 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Error(), "catalog.json: not found") {
			t.Errorf("demo dbt crawl %s, seen %d, errors %+v; want partial, with only the warning that catalog.json is missing", r.Status, r.Counts.Seen, r.Errors)
		}
		dataset := func(name, sel string) string {
			return demoGraphQL(t, base, `{ dataset(namespace: "`+demo.Namespace+`", name: "`+db+`.`+name+`") { `+sel+` } }`)
		}
		if b := dataset("staging.stg_payments", "qualityChecks { name source latest { status } }"); !strings.Contains(b, `"name":"test.acme_analytics.unique_stg_payments_payment_id.a1b2c3","source":"dbt:`+demo.DBTSource+`","latest":{"status":"fail"}`) {
			t.Errorf("stg_payments has no failing dbt test: %s", b)
		}
		if b := dataset("staging.stg_orders", "qualityChecks { name latest { status } }"); !strings.Contains(b, `"name":"test.acme_analytics.accepted_values_stg_orders_order_status.a1b2c3","latest":{"status":"warn"}`) {
			t.Errorf("stg_orders has no warning dbt test: %s", b)
		}
		if b := dataset("raw.payments_stripe_charges", "freshness { status }"); !strings.Contains(b, `"status":"error"`) {
			t.Errorf("payments_stripe_charges is not late by its source freshness: %s", b)
		}
		if b := dataset("marts.fct_orders", "sources { source }"); !strings.Contains(b, `"source":"dbt:`+demo.DBTSource+`"`) {
			t.Errorf("fct_orders has no facts of the dbt project: %s", b)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			b := demoGraphQL(t, base, `{ incidents(filter: {open: true}) { edges { node { name cause } } } }`)
			if strings.Contains(b, `"name":"`+db+`.staging.stg_payments","cause":"CHECK_FAILED"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no incident from the failing dbt test: %s", b)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	// serve runs the incident detector: a failed run posted to the
	// demo's OpenLineage endpoint opens an incident on what the job
	// writes, which GraphQL then lists.
	t.Run("incident from a failed run", func(t *testing.T) {
		stg := whCfg.Database + ".staging.stg_payments"
		event := `{"eventType":"FAIL","eventTime":"` + time.Now().UTC().Format(time.RFC3339) + `","producer":"https://example.com/airflow",
			"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
			"run":{"runId":"0193a8f2-6a4e-7cc1-9c3c-6b1d2f0e9a99","facets":{"errorMessage":{"_producer":"https://example.com/airflow","_schemaURL":"https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json","message":"connection refused","programmingLanguage":"python"}}},
			"job":{"namespace":"airflow","name":"payments.sync"},
			"outputs":[{"namespace":"` + demo.Namespace + `","name":"` + stg + `"}]}`
		resp, err := http.Post(base+"/api/v1/lineage", "application/json", strings.NewReader(event))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("posting the event: %d", resp.StatusCode)
		}
		query, _ := json.Marshal(map[string]any{"query": `{ incidents(filter: {open: true}) { edges { node { name cause causeKey title } } } }`})
		for deadline := time.Now().Add(30 * time.Second); ; {
			resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(query))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"name":"`+stg+`","cause":"RUN_FAILED","causeKey":"airflow/payments.sync"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no incident after a failed run: %s", b)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// startDemo builds the catalog `make run` serves, with serveDemo (what
// `almanac demo` calls) over a fresh catalog database and a warehouse
// database the demo script built, and serves it on a loopback port until
// the test ends. It returns the catalog's pool, the warehouse's URL and
// the server's base URL, once the server is ready.
func startDemo(t *testing.T) (*pgxpool.Pool, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, catalogURL := pgtest.NewDB(t)
	whURL := pgtest.EmptyDB(t)
	if err := demo.LoadWarehouse(ctx, whURL); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := config.LoadConfig(writeFile(t, "database_url: "+catalogURL+"\nlisten: "+addr+
		"\nsearch:\n  index_dir: "+filepath.Join(t.TempDir(), "index")+"\n"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan error, 1)
	go func() { done <- serveDemo(ctx, cfg, log, whURL) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	base := "http://" + addr
	// Ready once the demo crawl finished and the server listens.
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return pool, whURL, base
}

// demoGraphQL posts query to the demo at base and returns the response body.
func demoGraphQL(t *testing.T, base, query string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), `"errors"`) {
		t.Fatalf("status %d: %s\n%s", resp.StatusCode, b, query)
	}
	return string(b)
}

// demoNonEmpty lists, by top-level field of a README example, what must
// not be empty against the demo: the examples should show something.
// Paths absent from an example's selection are skipped.
var demoNonEmpty = map[string][]string{
	"dataset":   {"description", "columns", "owners", "schemaHistory.edges"},
	"datasets":  {"edges"},
	"search":    {"edges"},
	"lineage":   {"nodes", "edges"},
	"impact":    {""},
	"crawlRuns": {"edges"},
	"teams":     {""},
}

// dig follows a dotted path of object keys; "" is v itself. A key the
// selection does not have yields nil, which isEmpty treats as absent.
func dig(v any, path string) any {
	if path == "" {
		return v
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return absent{}
		}
		if v, ok = m[k]; !ok {
			return absent{}
		}
	}
	return v
}

// absent marks a path the example does not select.
type absent struct{}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case absent:
		return false
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

func mustJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
