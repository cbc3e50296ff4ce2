package ui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/sloreport"
	"almanac/catalog/store"
	"almanac/search"
	"almanac/ui/browsertest"
)

// addQuality records on fct_orders two checks with 10 daily results
// each, one failing on its last run and one that failed once and passes
// again, a late freshness observation, and declares a quality SLO.
func addQuality(t *testing.T, st *store.Store) []slo.SLO {
	t.Helper()
	p := catalog.Push{Source: "sql:orders",
		Checks: []catalog.QualityCheck{
			{Dataset: fctOrders, Name: "orders_not_empty", Type: "row_count", Severity: "error"},
			{Dataset: fctOrders, Name: "amount_not_null", Column: "amount", Type: "not_null", Severity: "error"},
		}}
	for d := range 10 {
		at := now.Add(-time.Duration(9-d)*24*time.Hour - time.Hour)
		rows := catalog.QualityResult{Check: "orders_not_empty", Dataset: fctOrders, Status: catalog.QualityPass,
			Observed: fmt.Sprint(1000 + 10*d), StartedAt: at, RunID: fmt.Sprint("r", d)}
		if d == 9 {
			rows.Status, rows.Observed, rows.Message = catalog.QualityFail, "0", "got 0, want > 0"
		}
		nulls := catalog.QualityResult{Check: "amount_not_null", Dataset: fctOrders, Status: catalog.QualityPass, Observed: "0",
			StartedAt: at, RunID: fmt.Sprint("n", d)}
		if d == 4 {
			nulls.Status, nulls.Observed, nulls.Message = catalog.QualityFail, "3", "got 3, want = 0"
		}
		p.Results = append(p.Results, rows, nulls)
	}
	if err := st.ApplyPush(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	loaded := now.Add(-30 * time.Hour)
	if _, err := st.Crawl(context.Background(), "dbt:analytics", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Freshness: []catalog.FreshnessObservation{{Dataset: fctOrders, ObservedAt: now.Add(-time.Hour),
			MaxLoadedAt: &loaded, Status: catalog.FreshnessError, WarnAfter: "12 hour", ErrorAfter: "1 day"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return []slo.SLO{{Name: "checks pass", Dataset: fctOrders, Source: "config", Origin: "almanac.yaml:12",
		Spec: slo.Spec{Kind: slo.Quality, Objective: 0.9, Window: 28 * 24 * time.Hour}}}
}

// TestDatasetHealth renders the health summary, each check's history as
// inline SVG with its latest failure, and the SLO section.
func TestDatasetHealth(t *testing.T) {
	p := newPortal(t, func(o *Options) { o.SLOs = addQuality(t, o.Store) })
	body := p.get(t, datasetPath(fctOrders)).body
	for _, want := range []string{
		`data-health="bad"`,
		`<span class="health-dot" aria-hidden="true"></span>Failing</h2>`,
		`<a href="#quality-heading">Checks</a>: <span class="health-word">Failing</span> — 1 of 2 failing: orders_not_empty`,
		`<a href="#freshness-heading">Freshness</a>: <span class="health-word">Failing</span> — error: newest data loaded 30 hours ago when checked 1 hour ago`,
		`<a href="#slo-heading">SLOs</a>: <span class="health-word">Failing</span> — 1 breached, 1 at risk`,
		`aria-label="Last 10 results, oldest first: 9 pass, 1 fail"`,
		`<title>fail, 2026-`,
		`observed 3: got 3, want = 0</title>`,
		`Last failure: <span class="badge status-failed">fail</span>`,
		// the declared SLO, and one harvested from the dbt freshness criteria
		`Service level objectives <span class="count">2</span>`,
		`freshness (error_after 1 day) <span class="muted">(freshness)</span>`,
		`checks pass <span class="muted">(quality)</span>`,
		`90 % over 28 days`,
		// what each promises, in words
		`<div class="slo-promise">never older than 1 day</div>`,
		`<div class="slo-promise">the checks pass</div>`,
		// the window day by day: 10 days of results, 2 of them missing the objective
		`aria-label="29 days of the window: 8 met the objective, 2 missed it, 19 without data"`,
		`90 %</td>`, // 18 of 20 results passed
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Each check's strip has one bar per result; the CSP allows no
	// inline style or script.
	quality := body[strings.Index(body, `id="quality-heading"`):strings.Index(body, `id="slo-heading"`)]
	if n := strings.Count(quality, `<rect class="r-`); n != 20 {
		t.Errorf("%d result bars, want 20", n)
	}
	// Each SLO charts the 29 days its 28-day window touches.
	if n := strings.Count(body[strings.Index(body, `id="slo-heading"`):], `<rect class="r-`); n != 2*29 {
		t.Errorf("%d day bars, want 58", n)
	}
	if regexp.MustCompile(`(?i)\sstyle=|<script>`).MatchString(body) {
		t.Error("the page has inline style or script, which the CSP refuses")
	}
	// The failing check comes first, its bars rise with the row count
	// and the last (rightmost) is the lowest.
	if i, j := strings.Index(body, "orders_not_empty"), strings.Index(body, "amount_not_null"); i > j {
		t.Error("the failing check is not listed first")
	}

	// A dataset without quality data has no summary.
	if body := p.get(t, datasetPath(dimCustomers)).body; strings.Contains(body, "health-heading") {
		t.Error("a dataset without checks, freshness or SLOs shows a health summary")
	}
}

// TestDatasetSLOAfterNominal shows an on-time SLO measured after each
// data interval's nominal end (an Airflow SLA, declared) with what it
// promises in words.
func TestDatasetSLOAfterNominal(t *testing.T) {
	p := newPortal(t, func(o *Options) {
		o.SLOs = []slo.SLO{{Name: "daily within 1h", Dataset: fctOrders, Source: "config", Origin: "almanac.yaml:20",
			Spec: slo.Spec{Kind: slo.OnTime, Objective: 0.99, Window: 28 * 24 * time.Hour, AfterNominal: time.Hour}}}
	})
	body := p.get(t, datasetPath(fctOrders)).body
	for _, want := range []string{
		`daily within 1h <span class="muted">(on time)</span>`,
		`<div class="slo-promise">each data interval delivered within 1h after its nominal end</div>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestDatasetSLOsStored: the page shows the SLO reports the evaluator
// stored while they are current, and never a stored one that misses a
// recorded result. A marker written into the stored report shows which
// one the page read.
func TestDatasetSLOsStored(t *testing.T) {
	ctx := context.Background()
	var st *store.Store
	var declared []slo.SLO
	p := newPortal(t, func(o *Options) { st, declared = o.Store, addQuality(t, o.Store); o.SLOs = declared })
	ev := sloreport.New(st, sloreport.Config{SLOs: declared, Now: func() time.Time { return now }})
	if err := ev.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE slo_reports SET report = jsonb_set(report, '{Summary}', '"marker: read as stored"')
		WHERE name = 'checks pass'`); err != nil {
		t.Fatal(err)
	}
	body := p.get(t, datasetPath(fctOrders)).body
	for _, want := range []string{"marker: read as stored", `90 %</td>`, `Evaluated <time datetime="` + now.Format(time.RFC3339)} {
		if !strings.Contains(body, want) {
			t.Errorf("with a current stored evaluation, the page lacks %q", want)
		}
	}

	// Two more failing results: 18 of 22 pass. The stored evaluation
	// misses them, so the page evaluates.
	res := catalog.Push{Source: "sql:orders"}
	for i := range 2 {
		res.Results = append(res.Results, catalog.QualityResult{Check: "amount_not_null", Dataset: fctOrders, Status: catalog.QualityFail,
			Observed: "5", StartedAt: now.Add(-time.Duration(10+i) * time.Minute), RunID: fmt.Sprint("late", i)})
	}
	if err := st.ApplyPush(ctx, res); err != nil {
		t.Fatal(err)
	}
	body = p.get(t, datasetPath(fctOrders)).body
	if strings.Contains(body, "marker: read as stored") || !strings.Contains(body, `81.82 %</td>`) {
		t.Error("after a new result, the page shows the stored evaluation that misses it")
	}
	// Once the evaluator caught up, the page reads its evaluation, which
	// counts them.
	if err := ev.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE slo_reports SET report = jsonb_set(report, '{Summary}', '"marker: read as stored"')
		WHERE name = 'checks pass'`); err != nil {
		t.Fatal(err)
	}
	body = p.get(t, datasetPath(fctOrders)).body
	if !strings.Contains(body, "marker: read as stored") || !strings.Contains(body, `81.82 %</td>`) {
		t.Error("after the evaluator caught up, the page does not show its evaluation")
	}
}

func TestHealthLevels(t *testing.T) {
	pass := &catalog.QualityResult{Status: catalog.QualityPass}
	fail := &catalog.QualityResult{Status: catalog.QualityFail}
	for _, tc := range []struct {
		name   string
		checks []catalog.SourceCheck
		want   string
	}{
		{"all pass", []catalog.SourceCheck{{QualityCheck: catalog.QualityCheck{Name: "a"}, Latest: pass}}, "good Healthy"},
		{"a warn-severity failure", []catalog.SourceCheck{{QualityCheck: catalog.QualityCheck{Name: "a", Severity: "warn"}, Latest: fail}}, "warn Needs attention"},
		{"an error-severity failure", []catalog.SourceCheck{{QualityCheck: catalog.QualityCheck{Name: "a", Severity: "error"}, Latest: fail}}, "bad Failing"},
		{"never ran", []catalog.SourceCheck{{QualityCheck: catalog.QualityCheck{Name: "a"}}}, "unknown No quality data"},
	} {
		h := newHealthView(tc.checks, nil, nil, now)
		if got := h.Level + " " + h.Label; got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestDatasetHealthInBrowser opens a dataset page with a failing check in
// headless Chromium: the summary at the top says Failing in words, names
// the check, and nothing breaks the Content-Security-Policy.
func TestDatasetHealthInBrowser(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		SLOs: addQuality(t, st)})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	tab := browsertest.New(t, 1280, 1000, 60*time.Second)
	tab.Do("open the dataset page",
		chromedp.Navigate(ts.URL+datasetPath(fctOrders)),
		chromedp.WaitVisible(chromedp.CSS("section.health")),
	)
	summary := browsertest.Run(tab, "read the summary", chromedp.Evaluate[string](`document.querySelector("section.health").innerText`))
	for _, want := range []string{"Failing", "Checks: Failing — 1 of 2 failing: orders_not_empty"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the health summary reads %q, want %q in it", summary, want)
		}
	}
	// It is the first thing under the title, above the overview.
	above := browsertest.Run(tab, "compare positions", chromedp.Evaluate[bool](
		`document.querySelector("section.health").getBoundingClientRect().top < document.querySelector("section.overview").getBoundingClientRect().top`))
	if !above {
		t.Error("the health summary is not above the overview")
	}
	// The failing check's history is drawn, in red, and has a tooltip.
	fill := browsertest.Run(tab, "read a failing bar's colour", chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector("svg.history rect.r-fail")).fill`))
	if fill != "rgb(179, 38, 30)" {
		t.Errorf("a failing bar is filled %s, want the stylesheet's red", fill)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("browser errors: %q", errs)
	}
}

// TestHealthBadges shows in the home listing and in search results how a
// dataset's checks last ended, in words, with the details on hover; a
// dataset without checks or freshness has no badge.
func TestHealthBadges(t *testing.T) {
	p := newPortal(t, func(o *Options) {
		addQuality(t, o.Store)
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
	const badge = `<span class="badge health-badge status-failed" title="1 passing check of 2: 1 failing, 0 warning; freshness error">1 failing check</span>`
	for _, path := range []string{"/", "/search?q=fct_orders"} {
		body := p.get(t, path).body
		if !strings.Contains(body, badge) {
			t.Errorf("%s lacks the badge %s", path, badge)
		}
		if n := strings.Count(body, "health-badge"); n != 1 {
			t.Errorf("%s has %d health badges, want only fct_orders'", path, n)
		}
	}
	for _, tc := range []struct {
		h    store.QualityHealth
		want string
	}{
		{store.QualityHealth{Checks: 3}, "status-succeeded checks pass"},
		{store.QualityHealth{Checks: 3, Warning: 2}, "status-partial 2 check warnings"},
		{store.QualityHealth{Freshness: catalog.FreshnessWarn}, "status-partial late"},
		{store.QualityHealth{Checks: 1, Freshness: catalog.FreshnessError}, "status-failed stale"},
		{store.QualityHealth{Freshness: catalog.FreshnessPass}, "status-succeeded fresh"},
	} {
		b := newHealthBadge(tc.h)
		if got := b.Class + " " + b.Text; got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.h, got, tc.want)
		}
	}
}

func TestPct(t *testing.T) {
	for f, want := range map[float64]string{0.99: "99 %", 0.995: "99.5 %", -0.00001: "0 %", -19: "-1900 %", 1: "100 %"} {
		if got := pct(f); got != want {
			t.Errorf("pct(%v) = %q, want %q", f, got, want)
		}
	}
}
