package ui

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog/auth"
	"almanac/catalog/notify"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/ui/browsertest"
)

// TestFollowInBrowser follows a dataset with its page's button in
// headless Chromium, on the channel chosen in its select, sees it on
// /account and unfollows it there: plain forms through the portal's
// cross-origin protection, with no script error or CSP violation.
func TestFollowInBrowser(t *testing.T) {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	n, err := notify.New(st, notify.Config{Channels: []notify.Channel{
		{Name: "hooks", Kind: notify.Webhook, URL: "https://hooks.example/a", Secret: "0123456789abcdef", Default: true},
		{Name: "data-slack", Kind: notify.Slack, URL: "https://hooks.slack.example/x"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: auth.Dev("alice@corp"), Notifier: n})
	if err != nil {
		t.Fatal(err)
	}
	s.now = time.Now
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

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
	tab.Do("open the dataset page and follow on data-slack",
		chromedp.Navigate(ts.URL+datasetPath(fctOrders)),
		chromedp.WaitVisible(chromedp.CSS(".follow-button")),
		chromedp.SetValue(chromedp.CSS(`.follow select[name=channel]`), "data-slack"),
		chromedp.Click(chromedp.CSS(".follow-button")),
	)
	waitFor("see it followed", `document.querySelector(".follow")?.textContent.includes("Following") && document.querySelector(".follow").textContent.includes("on data-slack")`)
	fs, err := st.Follows(context.Background(), "alice@corp")
	if err != nil || len(fs) != 1 || fs[0].Channel != "data-slack" || fs[0].Dataset != fctOrders {
		t.Fatalf("follows after the click: %+v, %v", fs, err)
	}
	tab.Do("open the account page", chromedp.Navigate(ts.URL+"/account"))
	waitFor("see the follow listed", `document.querySelector(".follows-table")?.textContent.includes("`+fctOrders.Name+`")`)
	tab.Do("unfollow", chromedp.Click(chromedp.CSS(`.follow-row form button`)))
	waitFor("see it gone", `location.pathname === "/account" && document.querySelector(".follow-row") === null && document.querySelector("#follows")`)
}
