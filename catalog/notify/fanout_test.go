package notify

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// TestFanOutRouting routes one incident: followers of the dataset, of
// its team and of a saved search that finds it hear it on their
// channels, one webhook delivery each; a Slack channel gets one message
// with every reason; a follow of a channel no longer configured gets
// nothing; a team nobody configured a channel for is not reached.
func TestFanOutRouting(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{
			{Key: orders, Platform: "postgres", Kind: catalog.KindTable, Owners: []catalog.Owner{{Name: "shop", Kind: catalog.OwnerTeam}, {Name: "ops", Kind: catalog.OwnerTeam}}},
		}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	matches := func(ctx context.Context, query string, keys []catalog.Key) (map[catalog.Key]bool, error) {
		out := map[catalog.Key]bool{}
		for _, k := range keys {
			out[k] = query == "orders" && k == orders
		}
		return out, nil
	}
	n, err := New(st, Config{Channels: []Channel{
		{Name: "hooks", Kind: Webhook, URL: "https://hooks.example/a", Secret: "0123456789abcdef"},
		{Name: "shop-slack", Kind: Slack, URL: "https://hooks.slack.example/x", Teams: []string{"shop"}},
	}, Matches: matches})
	if err != nil {
		t.Fatal(err)
	}
	follow := func(login string, f catalog.NewFollow, channel string) {
		t.Helper()
		if _, err := st.Follow(ctx, login, f, channel); err != nil {
			t.Fatal(err)
		}
	}
	follow("ann@corp", catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}, "hooks")
	follow("ann@corp", catalog.NewFollow{Kind: catalog.FollowTeam, Name: "shop"}, "hooks")
	follow("ben@corp", catalog.NewFollow{Kind: catalog.FollowTeam, Name: "shop"}, "shop-slack")
	follow("cat@corp", catalog.NewFollow{Kind: catalog.FollowSearch, Name: "orders"}, "hooks")
	follow("dan@corp", catalog.NewFollow{Kind: catalog.FollowSearch, Name: "revenue"}, "hooks")
	follow("eve@corp", catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}, "gone-channel")
	if err := n.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: "c",
		Severity: catalog.SeverityError, Title: "check c fails", By: catalog.ActorAlmanac}); err != nil {
		t.Fatal(err)
	}
	changes, err := st.Changes(ctx, n.Seq(), 100)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := n.fanOut(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{} // channel/recipient → reasons
	for _, j := range jobs {
		a := j.Args.(deliverArgs)
		for _, r := range a.Reasons {
			got[a.Channel+"/"+a.Recipient] = append(got[a.Channel+"/"+a.Recipient], r.String())
		}
	}
	for _, v := range got {
		slices.Sort(v)
	}
	want := map[string][]string{
		"hooks/ann@corp": {"ann@corp follows postgres://wh:5432/shop.public.orders", "ann@corp follows team shop"},
		"hooks/cat@corp": {"cat@corp follows search “orders”"},
		"shop-slack/":    {"ben@corp follows team shop", "team:shop owns postgres://wh:5432/shop.public.orders"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing (-want +got):\n%s", diff)
	}
}

// TestFanOutOnce runs the notifier of three replicas at once over the
// same changes: each change is enqueued once.
func TestFanOutOnce(t *testing.T) {
	ctx := context.Background()
	pool, st := followedOrders(t)
	var replicas []*Notifier
	for range 3 {
		n, err := New(st, Config{Channels: []Channel{{Name: "hooks", Kind: Webhook, URL: "https://hooks.example/a", Secret: "0123456789abcdef"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Load(ctx); err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, n)
	}
	for i := range 20 {
		if _, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: string(rune('a' + i)),
			Severity: catalog.SeverityError, Title: "check fails", By: catalog.ActorAlmanac}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, n := range replicas {
		wg.Go(func() {
			if err := n.CatchUp(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var jobs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, deliverArgs{}.Kind()).Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 20 {
		t.Errorf("%d deliveries enqueued by 3 replicas for 20 incidents, want 20", jobs)
	}
}

// TestNotifyAfterRestore: a notifier left running while its catalog is
// restored from a backup underneath it reads on from the restored
// position, and says so (Seq, which FollowChanges compares with the
// notifications it hears), rather than skipping what the restored log
// records under sequences it had read already.
func TestNotifyAfterRestore(t *testing.T) {
	ctx := context.Background()
	pool, st := followedOrders(t)
	n, err := New(st, Config{Channels: []Channel{{Name: "hooks", Kind: Webhook, URL: "https://hooks.example/a", Secret: "0123456789abcdef"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Load(ctx); err != nil {
		t.Fatal(err)
	}
	open := func(key string) {
		t.Helper()
		if _, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: key,
			Severity: catalog.SeverityError, Title: "check fails", By: catalog.ActorAlmanac}); err != nil {
			t.Fatal(err)
		}
	}
	catchUp := func(step string, deliveries int) {
		t.Helper()
		if err := n.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		var jobs int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, deliverArgs{}.Kind()).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		last, err := st.LastChangeSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if jobs != deliveries || n.Seq() != last {
			t.Errorf("%s: %d deliveries, notifier at %d; want %d, the log's end %d", step, jobs, n.Seq(), deliveries, last)
		}
	}
	backup := n.Seq()
	for _, k := range []string{"a", "b", "c"} {
		open(k)
	}
	catchUp("on the original", 3)

	// Restored: the log, its sequence and the notifier's position as they
	// were at the backup (the queue keeps what was enqueued).
	pgtest.RestoreChangeLog(t, pool, backup, "notifier")
	catchUp("restored", 3)
	open("d")
	catchUp("the restored catalog's incident", 4)
}

// followedOrders is a catalog of one dataset, orders, which ann follows
// on the channel hooks.
func followedOrders(t *testing.T) (*pgxpool.Pool, *store.Store) {
	t.Helper()
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: orders, Platform: "postgres", Kind: catalog.KindTable}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Follow(ctx, "ann@corp", catalog.NewFollow{Kind: catalog.FollowDataset, Dataset: orders}, "hooks"); err != nil {
		t.Fatal(err)
	}
	return pool, st
}
