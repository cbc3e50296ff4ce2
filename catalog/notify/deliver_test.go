package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"almanac/catalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// receiver is a local HTTP receiver that counts requests and answers as
// told.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   int
	bodies [][]byte
	heads  []http.Header
	paths  []string
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits++
		rc.bodies = append(rc.bodies, body)
		rc.heads = append(rc.heads, r.Header.Clone())
		rc.paths = append(rc.paths, r.URL.RequestURI())
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hits
}

// startWorkers starts a River client working n's deliveries until the
// test ends.
func startWorkers(t *testing.T, pool *pgxpool.Pool, n *Notifier) *river.Client[pgx.Tx] {
	t.Helper()
	workers := river.NewWorkers()
	queue, qc := n.Register(workers)
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:            map[string]river.QueueConfig{queue: qc},
		Workers:           workers,
		FetchPollInterval: 20 * time.Millisecond,
		FetchCooldown:     5 * time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.Stop(ctx) //nolint:errcheck // the database goes with the test
	})
	return client
}

// waitJobs waits until no delivery is left to work, and returns each
// job's state by channel.
func waitJobs(t *testing.T, pool *pgxpool.Pool, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		rows, _ := pool.Query(context.Background(), `SELECT args->>'channel', state::text FROM river_job WHERE kind = 'almanac_notify'`)
		states := map[string]string{}
		done, total := 0, 0
		var ch, state string
		if _, err := pgx.ForEachRow(rows, []any{&ch, &state}, func() error {
			states[ch] = state
			total++
			if state == "completed" || state == "cancelled" || state == "discarded" {
				done++
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if total >= want && done == total {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not finished in time: %v", states)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var orders = catalog.Key{Namespace: "postgres://wh:5432", Name: "shop.public.orders"}

func incidentEvent() Event {
	return Event{Kind: EventIncidentOpened, At: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), Actor: "almanac",
		Dataset: DatasetRef{Namespace: orders.Namespace, Name: orders.Name, URL: "https://almanac.example.com/datasets/x"},
		Incident: &IncidentInfo{ID: 7, Title: "check not_null fails", Cause: "check_failed", Severity: "error", State: "open",
			URL: "https://almanac.example.com/incidents/7"}}
}

// TestDeliveryFailures delivers one event to five webhook receivers: one
// that answers 204 (its signature is verified), one that refuses with
// 400 (recorded with its body, never retried), one that fails with 500,
// one too slow and one down (each retried, then dead-lettered).
func TestDeliveryFailures(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	const secret = "s3cret"

	ok := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	bad := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unknown recipient alice@corp"}`, http.StatusBadRequest)
	})
	failing := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream exploded", http.StatusInternalServerError)
	})
	slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + ln.Addr().String() + "/hook"
	ln.Close() // nothing listens there now

	hook := func(name, u string) Channel {
		return Channel{Name: name, Kind: Webhook, URL: u, Secret: secret, Timeout: 300 * time.Millisecond}
	}
	n, err := New(st, Config{
		Channels:    []Channel{hook("ok", ok.URL), hook("bad", bad.URL), hook("failing", failing.URL), hook("slow", slow.URL), hook("down", downURL)},
		MaxAttempts: 2, Backoff: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var jobs []river.InsertManyParams
	for _, ch := range []string{"ok", "bad", "failing", "slow", "down"} {
		jobs = append(jobs, river.InsertManyParams{
			Args:       deliverArgs{Channel: ch, Recipient: "alice@corp", Event: incidentEvent(), Reasons: []Reason{{Kind: "follows_dataset", Who: "alice@corp", Target: orders.String()}}},
			InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: 2},
		})
	}
	if _, err := n.river.InsertMany(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	startWorkers(t, pool, n)
	states := waitJobs(t, pool, 5)

	want := map[string]string{"ok": "completed", "bad": "cancelled", "failing": "discarded", "slow": "discarded", "down": "discarded"}
	for ch, w := range want {
		if states[ch] != w {
			t.Errorf("channel %s: job %s, want %s", ch, states[ch], w)
		}
	}
	// The receiver that took it: one signed request, whose body is the
	// webhook body.
	if ok.count() != 1 {
		t.Fatalf("ok receiver got %d requests, want 1", ok.count())
	}
	if err := Verify(secret, ok.heads[0].Get(SignatureHeader), ok.bodies[0], time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := Verify("wrong", ok.heads[0].Get(SignatureHeader), ok.bodies[0], time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verified under the wrong secret")
	}
	if err := Verify(secret, ok.heads[0].Get(SignatureHeader), ok.bodies[0], time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("a signature 10 minutes old verified: replays would be taken")
	}
	tampered := []byte(strings.Replace(string(ok.bodies[0]), "alice", "mallory", 1))
	if err := Verify(secret, ok.heads[0].Get(SignatureHeader), tampered, time.Now(), 5*time.Minute); err == nil {
		t.Error("a tampered body verified")
	}
	var body WebhookBody
	if err := json.Unmarshal(ok.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if body.Recipient != "alice@corp" || body.Event.Kind != EventIncidentOpened || body.Event.Incident.ID != 7 || body.Delivery == 0 ||
		ok.heads[0].Get(EventHeader) != EventIncidentOpened || ok.heads[0].Get(DeliveryHeader) == "" {
		t.Errorf("webhook body %s, headers %v", ok.bodies[0], ok.heads[0])
	}
	// 4xx: once, no retry storm. 5xx: every attempt.
	if bad.count() != 1 {
		t.Errorf("the receiver answering 400 got %d requests, want 1 (no retry)", bad.count())
	}
	if failing.count() != 2 {
		t.Errorf("the receiver answering 500 got %d requests, want 2 (both attempts)", failing.count())
	}

	failures, err := st.NotificationFailures(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]catalog.NotificationFailure{}
	for _, f := range failures {
		got[f.Channel] = f
	}
	if len(got) != 4 {
		t.Fatalf("failures recorded: %+v, want bad, failing, slow and down", failures)
	}
	if f := got["bad"]; f.Status != "failed" || f.HTTPStatus != 400 || !strings.Contains(f.Body, "unknown recipient") || f.Attempts != 1 || f.IncidentID != 7 || f.Dataset != orders {
		t.Errorf("400: recorded %+v", f)
	}
	if f := got["failing"]; f.Status != "dead" || f.HTTPStatus != 500 || f.Attempts != 2 || !strings.Contains(f.Error, "500") {
		t.Errorf("500: recorded %+v", f)
	}
	if f := got["slow"]; f.Status != "dead" || f.HTTPStatus != 0 || !strings.Contains(f.Error, "in time") {
		t.Errorf("slow: recorded %+v", f)
	}
	if f := got["down"]; f.Status != "dead" || f.HTTPStatus != 0 || !strings.Contains(f.Error, "unreachable") {
		t.Errorf("down: recorded %+v", f)
	}
}

// TestBackoff doubles the wait from Backoff up to MaxBackoff.
func TestBackoff(t *testing.T) {
	w := &deliverWorker{n: &Notifier{cfg: Config{Backoff: time.Second, MaxBackoff: 5 * time.Second}}}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 9: 5 * time.Second} {
		got := time.Until(w.NextRetry(&river.Job[deliverArgs]{JobRow: &rivertype.JobRow{Attempt: attempt}}))
		if got > want || got < want-time.Second/2 {
			t.Errorf("attempt %d: retry in %s, want %s", attempt, got, want)
		}
	}
}
