package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/notify"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/search"
)

// TestFollowFromDatasetPage follows and unfollows a dataset with the
// button on its page (a form post, refused to anonymous readers and other
// origins), lists it on /account with the forms to follow a team and a
// search, and shows the admins (only them) the failed deliveries.
func TestFollowFromDatasetPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	n, err := notify.New(st, notify.Config{Channels: []notify.Channel{
		{Name: "hooks", Kind: notify.Webhook, URL: "https://hooks.example/a", Secret: "0123456789abcdef"},
		{Name: "data-slack", Kind: notify.Slack, URL: "https://hooks.slack.example/x", Default: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), st, search.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Authenticate: testPrincipal, LoginPath: "/login", Notifier: n, Search: idx})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	p := editPortal{&portal{ts: ts}, pool}
	page := datasetPath(fctOrders)
	form := url.Values{"kind": {"dataset"}, "namespace": {fctOrders.Namespace}, "name": {fctOrders.Name}, "back": {"dataset"}}

	if r := p.getAs(t, page); strings.Contains(r.body, `class="follow-button"`) {
		t.Error("anonymous readers get a follow button")
	}
	r := p.getAs(t, page, asVic...)
	if !strings.Contains(r.body, `action="/account/follows"`) || !strings.Contains(r.body, `<option value="data-slack" selected>`) {
		t.Fatalf("no follow form with the default channel chosen:\n%.4000s", r.body)
	}
	for name, tc := range map[string]struct {
		r      response
		status int
	}{
		"anonymous":     {p.postForm(t, followsPath, form), http.StatusUnauthorized},
		"other origin":  {p.send(t, "POST", followsPath, "application/x-www-form-urlencoded", form.Encode(), append([]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, asVic...)...), http.StatusForbidden},
		"no channel":    {p.postForm(t, followsPath, url.Values{"kind": {"team"}, "name": {"finance"}, "channel": {"pager"}}, asVic...), http.StatusBadRequest},
		"no dataset":    {p.postForm(t, followsPath, url.Values{"kind": {"dataset"}, "namespace": {"x"}, "name": {"y"}}, asVic...), http.StatusNotFound},
		"unknown kind":  {p.postForm(t, followsPath, url.Values{"kind": {"planet"}, "name": {"mars"}}, asVic...), http.StatusBadRequest},
		"not following": {p.postForm(t, unfollowPath, url.Values{"kind": {"team"}, "name": {"finance"}}, asVic...), http.StatusNotFound},
	} {
		if tc.r.status != tc.status {
			t.Errorf("%s: %d, want %d\n%.2000s", name, tc.r.status, tc.status, tc.r.body)
		}
	}
	if fs, _ := st.Follows(ctx, "vic@corp"); len(fs) != 0 {
		t.Fatalf("refused posts left follows: %v", fs)
	}

	// A viewer follows: following changes nothing in the catalog.
	form.Set("channel", "hooks")
	r = p.postForm(t, followsPath, form, asVic...)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
		t.Fatalf("follow: %d to %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := p.getAs(t, page, asVic...); !strings.Contains(r.body, `aria-pressed="true">Following</button>`) || !strings.Contains(r.body, "on hooks") {
		t.Errorf("dataset page after following:\n%.4000s", r.body)
	}
	// The search page offers its query to follow, to people signed in.
	if r := p.getAs(t, "/search?q="+url.QueryEscape("owner:finance revenue"), asVic...); !strings.Contains(r.body, `class="inline-form follow-search"`) ||
		!strings.Contains(r.body, `name="name" value="owner:finance revenue"`) {
		t.Errorf("search page without a follow form:\n%.4000s", r.body)
	}
	if r := p.getAs(t, "/search?q=revenue"); strings.Contains(r.body, "follow-search") {
		t.Error("anonymous readers are offered to follow a search")
	}
	if r := p.postForm(t, followsPath, url.Values{"kind": {"search"}, "name": {"owner:finance revenue"}}, asVic...); r.status != http.StatusSeeOther {
		t.Errorf("follow a search: %d\n%s", r.status, r.body)
	}
	r = p.getAs(t, "/account", asVic...)
	for _, want := range []string{`<a href="` + page + `">` + fctOrders.String() + `</a>`, `search “owner:finance revenue”`, "Follow team", "Follow search"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/account lacks %q:\n%.5000s", want, r.body)
		}
	}
	if r := p.postForm(t, unfollowPath, form, asVic...); r.status != http.StatusSeeOther {
		t.Errorf("unfollow: %d\n%s", r.status, r.body)
	}
	if fs, _ := st.Follows(ctx, "vic@corp"); len(fs) != 1 || fs[0].Kind != catalog.FollowSearch {
		t.Errorf("after unfollowing the dataset: %v", fs)
	}

	// The dead-letter view, for admins only.
	if err := st.RecordNotificationFailure(ctx, catalog.NotificationFailure{JobID: 41, Channel: "hooks", Recipient: "vic@corp", Event: "incident.opened",
		Dataset: fctOrders, IncidentID: 3, Status: "failed", Attempts: 1, HTTPStatus: 410, Error: "receiver answered 410 Gone", Body: "hook <deleted>"}); err != nil {
		t.Fatal(err)
	}
	if r := p.getAs(t, adminNotifyPath, asVic...); r.status != http.StatusForbidden {
		t.Errorf("viewer on the dead-letter view: %d", r.status)
	}
	r = p.getAs(t, adminNotifyPath, "X-Test-Login", "root@corp", "X-Test-Role", "admin")
	for _, want := range []string{"receiver answered 410 Gone", "hook &lt;deleted&gt;", `href="/incidents/3"`, `class="status-failed"`} {
		if r.status != 200 || !strings.Contains(r.body, want) {
			t.Errorf("dead-letter view lacks %q: %d\n%.5000s", want, r.status, r.body)
		}
	}
}
