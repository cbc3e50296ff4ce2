package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// pushResults records one result of the check "rows" of source sql:rows
// per day, from start, the n-th observing n.
func pushResults(t *testing.T, st *store.Store, source string, start time.Time, days int) {
	t.Helper()
	p := catalog.Push{Source: source, Checks: []catalog.QualityCheck{{Dataset: key("shop.public.orders"), Name: "rows", Type: "row_count"}}}
	for i := range days {
		p.Results = append(p.Results, catalog.QualityResult{Check: "rows", Dataset: key("shop.public.orders"), Status: catalog.QualityPass,
			Observed: fmt.Sprint(i), StartedAt: start.Add(time.Duration(i) * 24 * time.Hour), RunID: fmt.Sprintf("run-%02d", i)})
	}
	if err := st.ApplyPush(context.Background(), p); err != nil {
		t.Fatal(err)
	}
}

// TestResultHistory keeps every result with its observed value, pages
// through them newest first, and shows the observed value on the latest.
func TestResultHistory(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	crawlHarvest(t, st, catalog.Harvest{Datasets: warehouse()})
	start := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
	pushResults(t, st, "sql:rows", start, 5)

	checks, err := st.ChecksOf(ctx, []catalog.Key{key("shop.public.orders")})
	if err != nil {
		t.Fatal(err)
	}
	if c := checks[key("shop.public.orders")]; len(c) != 1 || c[0].Latest == nil || c[0].Latest.Observed != "4" || c[0].Latest.RunID != "run-04" {
		t.Fatalf("checks = %+v, want rows with latest run-04 observing 4", c)
	}

	var got []string
	page := store.ResultPage{Source: "sql:rows", Check: "rows", Limit: 2}
	for range 4 {
		m, err := st.ResultPages(ctx, []store.ResultPage{page})
		if err != nil {
			t.Fatal(err)
		}
		rs := m[page]
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			got = append(got, r.RunID+"="+r.Observed)
		}
		last := rs[len(rs)-1]
		page.AfterAt, page.AfterRun = last.StartedAt, last.RunID
	}
	if diff := cmp.Diff([]string{"run-04=4", "run-03=3", "run-02=2", "run-01=1", "run-00=0"}, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	// A check without results, and two checks in one statement.
	empty := store.ResultPage{Source: "sql:none", Check: "rows", Limit: 3}
	first := store.ResultPage{Source: "sql:rows", Check: "rows", Limit: 1}
	m, err := st.ResultPages(ctx, []store.ResultPage{empty, first})
	if err != nil {
		t.Fatal(err)
	}
	if len(m[empty]) != 0 || len(m[first]) != 1 || m[first][0].Dataset != key("shop.public.orders") || m[first][0].Check != "rows" {
		t.Errorf("pages = %+v", m)
	}

	// An observed value that is not JSON is refused, naming the check.
	err = st.ApplyPush(ctx, catalog.Push{Source: "sql:rows", Results: []catalog.QualityResult{{Check: "rows", Dataset: key("shop.public.orders"),
		Status: catalog.QualityPass, Observed: "not json", StartedAt: start, RunID: "bad"}}})
	if err == nil || !strings.Contains(err.Error(), `result of "rows": observed value`) {
		t.Errorf("a non-JSON observed value: err = %v", err)
	}
}

// TestPruneQuality deletes results and observations older than the
// cut-off, but never the newest of a check or of a dataset's source.
func TestPruneQuality(t *testing.T) {
	ctx := context.Background()
	st, pool := newStore(t)
	crawlHarvest(t, st, catalog.Harvest{Datasets: warehouse()})
	start := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
	pushResults(t, st, "sql:rows", start, 10)   // days 0-9
	pushResults(t, st, "sql:stopped", start, 2) // days 0-1: all old
	obs := []catalog.FreshnessObservation{}
	for i := range 3 {
		at := start.Add(time.Duration(i) * 24 * time.Hour)
		obs = append(obs, catalog.FreshnessObservation{Dataset: key("shop.public.orders"), ObservedAt: at, MaxLoadedAt: &at, Status: catalog.FreshnessPass})
	}
	if _, err := st.Crawl(ctx, "dbt:shop", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Freshness: obs}, nil
	}); err != nil {
		t.Fatal(err)
	}

	cut := start.Add(5 * 24 * time.Hour) // before day 5
	n, err := st.PruneQuality(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	// sql:rows loses days 0-4, sql:stopped day 0, the observations days 0-1.
	if n != 5+1+2 {
		t.Errorf("pruned %d rows, want 8", n)
	}
	if got := count(t, pool, `SELECT count(*) FROM quality_results WHERE source = 'sql:rows'`); got != 5 {
		t.Errorf("sql:rows keeps %d results, want days 5-9", got)
	}
	if got := count(t, pool, `SELECT count(*) FROM quality_results WHERE source = 'sql:stopped' AND run_id = 'run-01'`); got != 1 {
		t.Errorf("the newest result of a check that stopped running was pruned")
	}
	if got := count(t, pool, `SELECT count(*) FROM freshness_observations`); got != 1 {
		t.Errorf("%d freshness observations left, want the newest", got)
	}
	// Pruning again finds nothing.
	if n, err := st.PruneQuality(ctx, cut); err != nil || n != 0 {
		t.Errorf("second prune = %d, %v; want 0", n, err)
	}
}

func TestObservedNumber(t *testing.T) {
	for in, want := range map[string]string{"30": "30", "-1.5e3": "-1500", "": "nil", `"30"`: "nil", `{"a":1}`: "nil", "[1]": "nil", "true": "nil"} {
		got := "nil"
		if f := (catalog.QualityResult{Observed: in}).ObservedNumber(); f != nil {
			got = fmt.Sprint(*f)
		}
		if got != want {
			t.Errorf("ObservedNumber(%q) = %s, want %s", in, got, want)
		}
	}
}
