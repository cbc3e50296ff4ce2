package notify

import (
	"context"
	"fmt"
	"testing"
	"time"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// BenchmarkFanOut measures the notifier's fan-out of one incident on a
// dataset 1,000 people follow on a webhook channel (one delivery each):
// from the change log entry to 1,000 River jobs enqueued and committed.
// The target is ≤ 1 s.
func BenchmarkFanOut(b *testing.B) {
	const followers = 1000
	ctx := context.Background()
	pool, _ := pgtest.NewDB(b)
	st := store.New(pool)
	if _, err := st.Crawl(ctx, "postgres:wh", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: orders, Platform: "postgres", Kind: catalog.KindTable,
			Owners: []catalog.Owner{{Name: "shop", Kind: catalog.OwnerTeam}}}}}, nil
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO follows (login, kind, namespace, name, channel, created_at)
		SELECT 'user' || i || '@corp', 'dataset', $1, $2, 'hooks', now() FROM generate_series(1, $3) i`,
		orders.Namespace, orders.Name, followers); err != nil {
		b.Fatal(err)
	}
	n, err := New(st, Config{Channels: []Channel{
		{Name: "hooks", Kind: Webhook, URL: "https://hooks.example/almanac", Secret: "0123456789abcdef", Default: true},
		{Name: "shop-slack", Kind: Slack, URL: "https://hooks.slack.example/x", Teams: []string{"shop"}},
	}, PublicURL: "https://almanac.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Load(ctx); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		if _, _, err := st.OpenIncident(ctx, catalog.NewIncident{Dataset: orders, Cause: catalog.CauseCheckFailed, CauseKey: fmt.Sprint("check", i),
			Severity: catalog.SeverityError, Title: "check fails", By: catalog.ActorAlmanac}); err != nil {
			b.Fatal(err)
		}
		var before int
		pool.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&before) //nolint:errcheck // checked below
		b.StartTimer()
		start := time.Now()
		if err := n.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		var after int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&after); err != nil {
			b.Fatal(err)
		}
		if after-before != followers+1 {
			b.Fatalf("%d deliveries enqueued, want %d (one per follower, one for the team's Slack)", after-before, followers+1)
		}
		b.ReportMetric(took.Seconds(), "s/fan-out")
		if took > time.Second {
			b.Errorf("fan-out of %d followers took %s, more than the 1 s target", followers, took)
		}
		b.StartTimer()
	}
}
