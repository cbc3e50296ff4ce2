package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// sseEvent is one Server-Sent Event as a client reads it.
type sseEvent struct {
	id, event, data string
}

// sseStream reads events from a stream response.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
	done   chan error
}

func openStream(t *testing.T, url string, header ...string) (*sseStream, int) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		return nil, resp.StatusCode
	}
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var e sseEvent
		seen := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if seen {
					s.events <- e
				}
				e, seen = sseEvent{}, false
			case strings.HasPrefix(line, ":"):
				s.events <- sseEvent{event: "comment"}
			case strings.HasPrefix(line, "id: "):
				e.id, seen = line[4:], true
			case strings.HasPrefix(line, "event: "):
				e.event, seen = line[7:], true
			case strings.HasPrefix(line, "data: "):
				e.data, seen = line[6:], true
			}
		}
		s.done <- sc.Err()
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s, resp.StatusCode
}

// next returns the next change event, skipping comments and retry
// lines; it fails the test when none comes within d.
func (s *sseStream) next(t *testing.T, d time.Duration) changeEvent {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-s.events:
			if e.event != "change" {
				continue
			}
			var c changeEvent
			if err := json.Unmarshal([]byte(e.data), &c); err != nil {
				t.Fatalf("event data %q: %v", e.data, err)
			}
			if e.id != c.Cursor {
				t.Errorf("event id %q differs from its cursor %q", e.id, c.Cursor)
			}
			return c
		case err := <-s.done:
			t.Fatalf("stream ended: %v", err)
		case <-timeout:
			t.Fatalf("no change within %s", d)
		}
	}
}

func (s *sseStream) close() { s.resp.Body.Close() }

// setFeedTimings sets the stream timings for one test.
func setFeedTimings(t *testing.T, heartbeat, poll, recheck time.Duration) {
	oh, op, or := feedHeartbeat, feedPoll, feedRecheck
	feedHeartbeat, feedPoll, feedRecheck = heartbeat, poll, recheck
	t.Cleanup(func() { feedHeartbeat, feedPoll, feedRecheck = oh, op, or })
}

type feedFixture struct {
	ts     *httptest.Server
	st     *store.Store
	tokens *auth.Tokens
	id     int64 // fctOrders
}

// newFeedFixture serves the fixture catalog with sign-in required,
// logins by test headers and API tokens, on a server whose read and
// write timeouts are a second, shorter than the streams' lives.
func newFeedFixture(t *testing.T) feedFixture {
	pool, _ := pgtest.NewDB(t)
	fill(t, pool)
	st := store.New(pool)
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	s, err := New(Options{
		Store: st, Registry: prometheus.NewRegistry(), RequireLogin: true,
		Authenticate: auth.Chain(tokens.Authenticate, testPrincipal), Tokens: tokens,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = time.Second, time.Second
	ts.Config.RegisterOnShutdown(s.CloseStreams)
	ts.Start()
	t.Cleanup(ts.Close)
	ids, err := st.DatasetIDs(t.Context(), []catalog.Key{fctOrders})
	if err != nil {
		t.Fatal(err)
	}
	return feedFixture{ts: ts, st: st, tokens: tokens, id: ids[fctOrders]}
}

func (f feedFixture) token(t *testing.T, p catalog.Principal, scopes ...catalog.TokenScope) (catalog.APIToken, string) {
	t.Helper()
	tok, secret, err := f.tokens.Create(t.Context(), p, catalog.TokenRequest{Name: "feed-" + string(scopes[0]), Scopes: scopes, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func (f feedFixture) tag(t *testing.T, tag string) {
	t.Helper()
	if _, err := f.st.AddTag(t.Context(), catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}, f.id, tag); err != nil {
		t.Fatal(err)
	}
}

var alice = catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}

// TestChangeStreamResume checks that a client that disconnects and
// reconnects with the Last-Event-ID of the last event it read gets every
// later change once, in order: none lost, none repeated, including those
// made while it was away; and that a live stream is woken by a change (by
// the change log's notification: polling is set too slow to matter),
// outliving the server's write timeout.
func TestChangeStreamResume(t *testing.T) {
	setFeedTimings(t, 300*time.Millisecond, time.Minute, time.Minute)
	f := newFeedFixture(t)
	_, secret := f.token(t, alice, catalog.ScopeRead)
	bearer := []string{"Authorization", "Bearer " + secret}
	url := f.ts.URL + "/api/v1/changes/stream?entity=dataset"

	for _, tag := range []string{"a", "b", "c", "d"} {
		f.tag(t, tag)
	}
	all, err := f.st.ChangeFeed(t.Context(), 0, catalog.ChangeFilter{Entity: "dataset"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	s, status := openStream(t, url, bearer...)
	if status != 200 {
		t.Fatalf("stream with a read token: %d", status)
	}
	// Read all but the last two changes so far, then go away.
	for range len(all) - 2 {
		got = append(got, s.next(t, 5*time.Second).Seq)
	}
	s.close()
	f.tag(t, "e") // while away
	f.tag(t, "f")

	last := catalog.ChangeCursor(got[len(got)-1])
	s, _ = openStream(t, url, append([]string{"Last-Event-ID", last}, bearer...)...)
	for range 4 {
		got = append(got, s.next(t, 5*time.Second).Seq)
	}
	// Live: the stream waits past the server's one-second write timeout,
	// then a change arrives and is sent at once.
	time.Sleep(1500 * time.Millisecond)
	f.tag(t, "g")
	c := s.next(t, 5*time.Second)
	got = append(got, c.Seq)
	if c.Kind != catalog.ChangeUpdated || c.Actor == nil || *c.Actor != "alice@corp" || c.Name != fctOrders.Name ||
		len(c.Changes) != 1 || c.Changes[0].Field != catalog.FieldTag || c.Changes[0].After == nil || *c.Changes[0].After != "g" {
		t.Errorf("live change: %+v", c)
	}

	all, err = f.st.ChangeFeed(t.Context(), 0, catalog.ChangeFilter{Entity: "dataset"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, c := range all {
		want = append(want, c.Seq)
	}
	if !equalInts(want, got) {
		t.Errorf("sequences received %v, want each of %v once, in order", got, want)
	}

	// The `after` parameter starts a stream as Last-Event-ID does, and a
	// kind filter selects.
	s2, _ := openStream(t, f.ts.URL+"/api/v1/changes/stream?kind=UPDATED&after="+catalog.ChangeCursor(want[len(want)-2]), bearer...)
	if c := s2.next(t, 5*time.Second); c.Seq != want[len(want)-1] {
		t.Errorf("after a cursor: seq %d, want %d", c.Seq, want[len(want)-1])
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestChangeStreamPermissions checks that the stream is read as GraphQL
// is: sign-in required, a token needs the read scope (a lineage-only
// token reads nothing), a bad request says what is wrong, and a stream
// ends when its token is revoked.
func TestChangeStreamPermissions(t *testing.T) {
	setFeedTimings(t, 200*time.Millisecond, 200*time.Millisecond, 300*time.Millisecond)
	f := newFeedFixture(t)
	url := f.ts.URL + "/api/v1/changes/stream"
	_, lineageOnly := f.token(t, alice, catalog.ScopeLineageWrite)
	readTok, readSecret := f.token(t, alice, catalog.ScopeRead)

	for _, tc := range []struct {
		name   string
		url    string
		header []string
		want   int
	}{
		{"anonymous", url, nil, http.StatusUnauthorized},
		{"lineage-only token", url, []string{"Authorization", "Bearer " + lineageOnly}, http.StatusUnauthorized},
		{"unknown token", url, []string{"Authorization", "Bearer alm_" + strings.Repeat("x", 40)}, http.StatusUnauthorized},
		{"bad cursor", url + "?after=zzz", asVic, http.StatusBadRequest},
		{"bad Last-Event-ID", url, append([]string{"Last-Event-ID", "12"}, asVic...), http.StatusBadRequest},
		{"unknown entity", url + "?entity=table", asVic, http.StatusBadRequest},
		{"unknown kind", url + "?kind=deleted", asVic, http.StatusBadRequest},
		{"viewer", url, asVic, http.StatusOK},
		{"read token", url, []string{"Authorization", "Bearer " + readSecret}, http.StatusOK},
	} {
		s, status := openStream(t, tc.url, tc.header...)
		if status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
		}
		if s != nil {
			if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("%s: Content-Type %q", tc.name, ct)
			}
			s.close()
		}
	}

	// Revoking the token ends the stream it opened.
	s, _ := openStream(t, url, "Authorization", "Bearer "+readSecret)
	f.tag(t, "x")
	s.next(t, 5*time.Second)
	if _, err := f.tokens.Revoke(context.Background(), alice, readTok.ID); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case <-s.events:
			continue
		case <-s.done:
			return
		case <-timeout:
			t.Fatal("stream of a revoked token still open after 5s")
		}
	}
}

// TestChangeStreamShutdown checks that shutting the server down ends
// open streams rather than waiting for them.
func TestChangeStreamShutdown(t *testing.T) {
	setFeedTimings(t, time.Minute, time.Minute, time.Minute)
	f := newFeedFixture(t)
	s, status := openStream(t, f.ts.URL+"/api/v1/changes/stream", asVic...)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.ts.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after shutdown")
	}
}

// TestChangeStreamLimits: a replica serves at most maxStreams streams; one
// more is answered 503 with Retry-After, saying why, and a stream that
// ends makes room. Streams replaying the whole log at once all get every
// change, reading feedReaders at a time.
func TestChangeStreamLimits(t *testing.T) {
	setFeedTimings(t, 200*time.Millisecond, 200*time.Millisecond, time.Minute)
	om, or := maxStreams, feedReaders
	maxStreams, feedReaders = 3, 1
	t.Cleanup(func() { maxStreams, feedReaders = om, or })
	f := newFeedFixture(t)
	for i := range 3 {
		f.tag(t, fmt.Sprintf("limit-%d", i))
	}
	url := f.ts.URL + "/api/v1/changes/stream"
	var open []*sseStream
	for i := range 3 {
		s, status := openStream(t, url, asVic...)
		if status != http.StatusOK {
			t.Fatalf("stream %d: status %d", i, status)
		}
		open = append(open, s)
	}
	// Each replays the log from its start, one at a time.
	var n int
	if err := f.st.Pool().QueryRow(t.Context(), `SELECT count(*) FROM change_log`).Scan(&n); err != nil || n < 3 {
		t.Fatalf("%d changes, %v", n, err)
	}
	var want []int64
	for i, s := range open {
		var got []int64
		for range n {
			got = append(got, s.next(t, 5*time.Second).Seq)
		}
		if i == 0 {
			want = got
		} else if !slices.Equal(got, want) {
			t.Errorf("stream %d got %v, want %v", i, got, want)
		}
	}

	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(asVic[0], asVic[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Fatalf("a fourth stream was served")
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "3 change streams already") {
		t.Errorf("a fourth stream: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	open[0].close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, status := openStream(t, url, asVic...)
		if status == http.StatusOK {
			s.close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a stream ended: status %d", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChangeFeedReadsWaitTheirTurn: with feedReaders streams reading the
// change log, another waits (here until its context ends) rather than
// take one more database connection; when one is done it reads.
func TestChangeFeedReadsWaitTheirTurn(t *testing.T) {
	f := newFeedFixture(t)
	f.tag(t, "turns")
	s, err := New(Options{Store: f.st, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h := s.feed
	for range cap(h.reads) {
		h.reads <- struct{}{} // every turn taken
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := h.read(ctx, 0, catalog.ChangeFilter{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read with every turn taken: %v, want it to wait until its context ends", err)
	}
	<-h.reads // one is done
	changes, err := h.read(t.Context(), 0, catalog.ChangeFilter{})
	if err != nil || len(changes) == 0 {
		t.Fatalf("read with a turn free: %d changes, %v", len(changes), err)
	}
	if len(h.reads) != cap(h.reads)-1 {
		t.Errorf("%d turns taken after the read, want its turn given back", len(h.reads))
	}
}
