package ui

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/ui/browsertest"
)

// TestIncidentInBrowser acknowledges and resolves an incident in
// headless Chromium as an editor, with the banner's plain forms: each
// post comes back to a page that shows it, with no script error or
// Content-Security-Policy violation on the way.
func TestIncidentInBrowser(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: auth.Dev("alice@corp"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.now = time.Now
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	inc, _, err := st.OpenIncident(context.Background(), catalog.NewIncident{Dataset: fctOrders, Cause: catalog.CauseRunFailed,
		CauseKey: "airflow/load_orders", Severity: catalog.SeverityError, Title: "run 42 of job airflow/load_orders failed", By: catalog.ActorAlmanac,
		Impact: []catalog.ImpactedDataset{{Dataset: dailyRevenue, Distance: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	banner := "#incident-" + strconv.FormatInt(inc.ID, 10)

	tab := browsertest.New(t, 1280, 1000, 60*time.Second)
	waitFor := func(what, js string) {
		t.Helper()
		var last error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			ok, err := chromedp.Run(tab.Context(), chromedp.Evaluate[bool]("!!("+js+")"))
			if err == nil && ok {
				return
			}
			last = err
		}
		t.Fatalf("%s: not so after 10s (%v)", what, last)
	}
	tab.Do("open the dataset page",
		chromedp.Navigate(ts.URL+datasetPath(fctOrders)),
		chromedp.WaitVisible(chromedp.CSS(banner+" .incident-impact")),
	)
	tab.Do("acknowledge", chromedp.Click(chromedp.CSS(banner+` form[action$="/acknowledge"] button`)))
	waitFor("see it acknowledged", `document.querySelector("`+banner+` .incident-meta")?.textContent.includes("acknowledged by alice@corp")`)
	note := chromedp.CSS(banner + ` textarea[name=note]`)
	tab.Do("resolve with a note",
		chromedp.Click(chromedp.CSS(banner+" details.edit > summary")),
		chromedp.WaitVisible(note),
		chromedp.SendKeys(note, "Re-ran the load after the disk was freed."),
		chromedp.Click(chromedp.CSS(banner+` form[action$="/resolve"] button`)),
	)
	waitFor("see the dataset page without the banner", `location.pathname.startsWith("/datasets/") && document.querySelector(".dataset-title") && !document.querySelector("`+banner+`")`)
	tab.Do("open the incident", chromedp.Navigate(ts.URL+incidentPath(inc.ID)))
	waitFor("see the resolution in the timeline", `document.querySelector(".timeline")?.textContent.includes("Re-ran the load after the disk was freed.")`)
}
