package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/incident"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

var (
	revenue = catalog.Key{Namespace: "postgres://wh:5432", Name: "shop.mart.revenue"}
	alice   = catalog.Principal{Login: "alice@corp", Role: catalog.RoleViewer}
	bob     = catalog.Principal{Login: "bob@corp", Role: catalog.RoleEditor}
	idCol   = catalog.Column{Name: "id", Ordinal: 1, Type: "bigint"}
	amount  = catalog.Column{Name: "amount", Ordinal: 2, Type: "numeric"}
)

// warehouse is orders (owned by team shop) with cols, and revenue
// downstream of it (owned by team finance and by bob).
func warehouse(cols ...catalog.Column) catalog.Harvest {
	return catalog.Harvest{Datasets: []catalog.DatasetFacts{
		{Key: orders, Platform: "postgres", Kind: catalog.KindTable, Columns: cols, Owners: []catalog.Owner{{Name: "shop", Kind: catalog.OwnerTeam}}},
		{Key: revenue, Platform: "postgres", Kind: catalog.KindTable, Columns: []catalog.Column{{Name: "total", Ordinal: 1, Type: "numeric"}},
			Owners: []catalog.Owner{{Name: "finance", Kind: catalog.OwnerTeam}, {Name: "bob@corp", Kind: catalog.OwnerUser}}},
	}}
}

func checks(status string, at time.Time) catalog.Harvest {
	return catalog.Harvest{
		Checks:  []catalog.QualityCheck{{Dataset: orders, Column: "id", Name: "test.not_null_orders_id", Type: "not_null", Severity: "error"}},
		Results: []catalog.QualityResult{{Check: "test.not_null_orders_id", Dataset: orders, Status: status, StartedAt: at, RunID: "inv-" + at.Format("150405")}},
	}
}

// TestFollowIncidentNotification runs the whole way on real PostgreSQL:
// alice follows orders; a failing check opens an incident, whose
// notification reaches alice on the webhook channel, the Slack channel of
// team finance (downstream), bob (who owns revenue, downstream) on the
// default channel, and the Opsgenie channel of team shop, which owns
// orders, as one alert. Resolving it closes the alert; a schema change of
// orders reaches alice. The notifications themselves open no incident
// and add nothing to the change log.
func TestFollowIncidentNotification(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) }
	hooks, slack, ops := newReceiver(t, ok), newReceiver(t, ok), newReceiver(t, ok)
	n, err := New(st, Config{
		Channels: []Channel{
			{Name: "hooks", Kind: Webhook, URL: hooks.URL, Secret: "k", Default: true},
			{Name: "finance-slack", Kind: Slack, URL: slack.URL, Teams: []string{"finance"}},
			{Name: "shop-ops", Kind: Opsgenie, URL: ops.URL, APIKey: "g", Teams: []string{"shop"}},
		},
		PublicURL: "https://almanac.example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	impact := func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ImpactedDataset, error) {
		owners, err := st.DatasetOwners(ctx, []catalog.Key{revenue})
		return map[catalog.Key][]catalog.ImpactedDataset{orders: {{Dataset: revenue, Distance: 1, Owners: owners[revenue]}}}, err
	}
	det := incident.New(st, incident.Config{Impact: impact})
	crawl := func(source string, h catalog.Harvest) {
		t.Helper()
		if _, err := st.Crawl(ctx, source, func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
			t.Fatal(err)
		}
		if err := det.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
	}
	crawl("postgres:wh", warehouse(idCol, amount))
	// Notifications start now: what came before is history.
	if err := n.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Follow(ctx, alice, catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Follow(ctx, alice, catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders, Channel: "nope"}); err == nil || !strings.Contains(err.Error(), `no channel "nope"`) {
		t.Errorf("follow on an unknown channel: %v", err)
	}
	if _, err := n.Follow(ctx, catalog.Principal{}, catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}); err == nil {
		t.Error("anonymous follow accepted")
	}
	startWorkers(t, pool, n)

	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	crawl("dbt:shop", checks(catalog.QualityFail, t0))
	if err := n.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	waitJobs(t, pool, 4)
	waitHits(t, hooks, 2)

	// The webhook: one delivery each for alice (follower) and bob
	// (downstream owner, on the default channel).
	got := map[string][]Reason{}
	for _, b := range hooks.bodies {
		var wb WebhookBody
		if err := json.Unmarshal(b, &wb); err != nil {
			t.Fatal(err)
		}
		if wb.Event.Kind != EventIncidentOpened || wb.Event.Incident == nil || wb.Event.Dataset.Key() != orders {
			t.Errorf("webhook event %s", b)
		}
		got[wb.Recipient] = wb.Reasons
	}
	if len(got) != 2 || got["alice@corp"][0].Kind != "follows_dataset" || got["bob@corp"][0].Kind != "downstream_owner" {
		t.Errorf("webhook recipients: %v", got)
	}
	if slack.count() != 1 || !strings.Contains(string(slack.bodies[0]), "team:finance owns postgres://wh:5432/shop.mart.revenue, downstream") {
		t.Errorf("slack: %d messages %q", slack.count(), slack.bodies)
	}
	if ops.count() != 1 || ops.heads[0].Get("Authorization") != "GenieKey g" || !strings.Contains(string(ops.bodies[0]), `"alias":"almanac-incident-`) {
		t.Errorf("opsgenie: %d requests %q", ops.count(), ops.bodies)
	}

	// Nothing the notifications did opened an incident or wrote to the
	// change log.
	before, _ := st.LastChangeSeq(ctx)
	if err := det.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if after, _ := st.LastChangeSeq(ctx); after != before {
		t.Errorf("delivering notifications wrote to the change log: %d → %d", before, after)
	}
	open, err := st.Incidents(ctx, store.IncidentFilter{})
	if err != nil || len(open) != 1 {
		t.Fatalf("incidents after notifying: %v, %v", open, err)
	}

	// Bob resolves it: the alert is closed by alias, alice hears.
	if _, err := st.ResolveIncident(ctx, bob, open[0].ID, "backfilled"); err != nil {
		t.Fatal(err)
	}
	if err := n.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	waitHits(t, ops, 2)
	if u := "/v2/alerts/almanac-incident-" + itoa(open[0].ID) + "/close"; !strings.Contains(ops.path(1), u) {
		t.Errorf("opsgenie close: POST %s, want %s", ops.path(1), u)
	}
	waitHits(t, hooks, 4)

	// A schema change of orders: alice hears, Opsgenie does not.
	crawl("postgres:wh", warehouse(idCol))
	if err := n.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	waitHits(t, hooks, 5)
	var wb WebhookBody
	if err := json.Unmarshal(hooks.bodies[4], &wb); err != nil {
		t.Fatal(err)
	}
	if wb.Event.Kind != EventSchemaChanged || wb.Recipient != "alice@corp" || !slices.Equal(wb.Event.Schema.Removed, []string{"amount"}) {
		t.Errorf("schema change: %s", hooks.bodies[4])
	}
	time.Sleep(200 * time.Millisecond)
	if ops.count() != 2 {
		t.Errorf("opsgenie got %d requests, want 2 (no alert for a schema change)", ops.count())
	}

	// Unfollowing stops it; /account lists what is left.
	if err := n.Unfollow(ctx, alice, catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}); err != nil {
		t.Fatal(err)
	}
	if fs, err := st.Follows(ctx, alice.Login); err != nil || len(fs) != 0 {
		t.Errorf("follows after unfollowing: %v, %v", fs, err)
	}
}

func (rc *receiver) path(i int) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.paths[i]
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func waitHits(t *testing.T, rc *receiver, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for rc.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests, want %d", rc.count(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
