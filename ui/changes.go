package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
)

// This file serves the change feed as Server-Sent Events at
// GET /api/v1/changes/stream: every change of the change log, oldest
// first, after the cursor of the Last-Event-ID header (a reconnecting
// EventSource sends it) or of the `after` parameter, as GraphQL's
// `changes` query gives them, with the same cursors as event ids.
//
// The stream reads the change log in PostgreSQL, so it works on every
// replica. It is woken by the same LISTEN/NOTIFY the search index
// follows, through one listening connection per process shared by every
// stream (opened while at least one is open), and polls as well, so that
// a change is sent within feedPoll even where notifications do not
// arrive (a connection lost, a hot standby, which cannot LISTEN).

// Stream timings; tests shorten them.
var (
	// feedHeartbeat is how often an idle stream sends a comment, so that
	// proxies and clients see it alive.
	feedHeartbeat = 15 * time.Second
	// feedPoll is how often a stream reads the change log without being
	// woken.
	feedPoll = 2 * time.Second
	// feedRecheck is how often a stream checks that its reader still may
	// read: a session ended or a token revoked ends the stream.
	feedRecheck = time.Minute
)

// feedPage is how many changes a stream reads at once.
const feedPage = 500

// Bounds on streams, so that they cannot take the replica from pages,
// GraphQL and the background work that share its database connections:
// each stream reads the change log itself (all of it, for a stream
// started without a cursor). Tests lower them.
var (
	// maxStreams is how many streams a replica serves at once; one more
	// is answered 503 with Retry-After.
	maxStreams = 256
	// feedReaders is how many streams read the change log at once; the
	// others wait their turn.
	feedReaders = 4
)

// changeEvent is the data of one event: the change as GraphQL's Change.
type changeEvent struct {
	Cursor    string                `json:"cursor"`
	Seq       int64                 `json:"seq"`
	Entity    string                `json:"entity"`
	Namespace string                `json:"namespace"`
	Name      string                `json:"name"`
	Kind      catalog.ChangeKind    `json:"kind"`
	Source    string                `json:"source"`
	Actor     *string               `json:"actor"`
	At        time.Time             `json:"at"`
	Changes   []catalog.FieldChange `json:"changes"`
}

func newChangeEvent(c catalog.Change) changeEvent {
	e := changeEvent{Cursor: catalog.ChangeCursor(c.Seq), Seq: c.Seq, Entity: c.Entity, Namespace: c.Key.Namespace,
		Name: c.Key.Name, Kind: c.Kind, Source: c.Source, At: c.At.UTC(), Changes: c.Details}
	if a := c.Actor(); a != "" {
		e.Actor = &a
	}
	if e.Changes == nil {
		e.Changes = []catalog.FieldChange{}
	}
	return e
}

// feedRequest is what a stream was asked for.
type feedRequest struct {
	after  int64
	filter catalog.ChangeFilter
}

func parseFeedRequest(r *http.Request) (feedRequest, error) {
	var fr feedRequest
	q := r.URL.Query()
	cursor := q.Get("after")
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		cursor = id // a reconnection continues where it stopped
	}
	var err error
	if fr.after, err = catalog.ParseChangeCursor(cursor); err != nil {
		return fr, err
	}
	if fr.filter.Entity, err = catalog.ParseChangeEntity(q.Get("entity")); err != nil {
		return fr, err
	}
	for _, k := range q["kind"] {
		kind, err := catalog.ParseChangeKind(k)
		if err != nil {
			return fr, err
		}
		fr.filter.Kinds = append(fr.filter.Kinds, kind)
	}
	return fr, nil
}

// serveChangeStream streams the change feed.
func (s *Server) serveChangeStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	// The middleware checked already; a stream checks again, as it lives
	// on (see feedRecheck).
	if err := catalog.AuthorizeRead(p, !s.requireLogin); err != nil {
		s.feedError(w, r, err)
		return
	}
	fr, err := parseFeedRequest(r)
	if err != nil {
		s.feedError(w, r, err)
		return
	}
	wake, ok := s.feed.subscribe()
	if !ok {
		w.Header().Set("Retry-After", "30")
		s.feedError(w, r, fmt.Errorf("this replica serves %d change streams already; try again later: %w", maxStreams, errTooManyStreams))
		return
	}
	defer s.feed.unsubscribe()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts are for requests that end; a
	// stream pushes its write deadline on before every write instead.
	_ = rc.SetReadDeadline(time.Time{})
	extend := func() error { return rc.SetWriteDeadline(time.Now().Add(feedHeartbeat + 30*time.Second)) }
	if err := extend(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.WarnContext(ctx, "change stream: extend write deadline", "err", err)
	}

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", 2000); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	heartbeat := time.NewTicker(feedHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(feedPoll)
	defer poll.Stop()
	recheck := time.NewTicker(feedRecheck)
	defer recheck.Stop()

	after := fr.after
	for {
		// The channel to wait on is taken before reading, so that a
		// change committed while this stream reads wakes it.
		woken := wake()
		// Send everything there is, a page at a time.
		for {
			changes, err := s.feed.read(ctx, after, fr.filter)
			if err != nil {
				if ctx.Err() == nil {
					s.log.ErrorContext(ctx, "change stream: read change feed", "after", after, "err", err)
				}
				return // the client reconnects with Last-Event-ID
			}
			if len(changes) == 0 {
				break
			}
			if err := extend(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return
			}
			for _, c := range changes {
				data, err := json.Marshal(newChangeEvent(c))
				if err != nil {
					s.log.ErrorContext(ctx, "change stream: encode change", "seq", c.Seq, "err", err)
					return
				}
				if _, err := fmt.Fprintf(w, "id: %s\nevent: change\ndata: %s\n\n", catalog.ChangeCursor(c.Seq), data); err != nil {
					return
				}
				after = c.Seq
			}
			if err := rc.Flush(); err != nil {
				return
			}
			if len(changes) < feedPage {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.feed.closing:
			return
		case <-woken:
		case <-poll.C:
		case <-heartbeat.C:
			if err := extend(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return
			}
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-recheck.C:
			if !s.stillReads(r, p) {
				s.log.InfoContext(ctx, "change stream ended: its reader may no longer read", "login", p.Login)
				return
			}
		}
	}
}

// stillReads reports whether the credentials of r, checked afresh, still
// let the principal p read: a session ended, a token revoked or expired,
// or a role taken away ends a stream that outlives them.
func (s *Server) stillReads(r *http.Request, p catalog.Principal) bool {
	if s.authenticate == nil {
		return catalog.AuthorizeRead(catalog.Principal{}, !s.requireLogin) == nil
	}
	// A fresh context: none of the verdicts the middleware left in r's.
	fresh := r.Clone(context.WithoutCancel(context.Background()))
	now, ok := s.authenticate(fresh)
	if !ok {
		now = catalog.Principal{}
	}
	if now.Login != p.Login {
		return false
	}
	return catalog.AuthorizeRead(now, !s.requireLogin) == nil
}

// errTooManyStreams refuses a stream beyond maxStreams (503).
var errTooManyStreams = fmt.Errorf("too many change streams: %w", catalog.ErrUnavailable)

// feedError answers a stream request that cannot start, in the
// OpenLineage API's JSON shape.
func (s *Server) feedError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	switch {
	case errors.Is(err, errTooManyStreams):
		// Not a fault: the client is told to come back.
		s.log.DebugContext(r.Context(), "change stream refused", "err", err)
	case status >= 500:
		s.log.ErrorContext(r.Context(), "change stream", "err", err)
		msg = "internal error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// feedHub wakes the streams of one process when the change log grows:
// one goroutine follows the change log's notifications (store.
// FollowChanges) while at least one stream is open, and closes the
// channel streams wait on at each.
type feedHub struct {
	s       *Server
	reads   chan struct{} // a token for each stream reading (feedReaders)
	mu      sync.Mutex
	n       int // open streams
	cancel  context.CancelFunc
	woken   chan struct{}
	seq     int64
	closing chan struct{}
	closed  bool
}

func newFeedHub(s *Server) *feedHub {
	return &feedHub{s: s, reads: make(chan struct{}, feedReaders), woken: make(chan struct{}), closing: make(chan struct{})}
}

// read reads a page of the change log after after, waiting its turn
// among the streams of this process.
func (h *feedHub) read(ctx context.Context, after int64, f catalog.ChangeFilter) ([]catalog.Change, error) {
	select {
	case h.reads <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.reads }()
	return h.s.store.ChangeFeed(ctx, after, f, feedPage)
}

// subscribe counts a stream in, starting to follow the change log if it
// is the first; the function it returns gives the channel closed at the
// next change. It refuses (false) a stream beyond maxStreams.
func (h *feedHub) subscribe() (func() <-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n >= maxStreams {
		return nil, false
	}
	h.n++
	if h.n == 1 {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go func() {
			// It returns when the last stream ends (ctx canceled).
			_ = h.s.store.FollowChanges(ctx, h, feedPoll, h.s.log)
		}()
	}
	return func() <-chan struct{} {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.woken
	}, true
}

// unsubscribe counts a stream out, and stops following the change log
// after the last.
func (h *feedHub) unsubscribe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n--
	if h.n == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

// Seq is the newest change log sequence the hub has seen.
func (h *feedHub) Seq() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// CatchUp wakes every stream when the change log has grown.
func (h *feedHub) CatchUp(ctx context.Context) error {
	seq, err := h.s.store.LastChangeSeq(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq != h.seq {
		h.seq = seq
		close(h.woken)
		h.woken = make(chan struct{})
	}
	return nil
}

// CloseStreams ends every change stream, for a server shutting down
// (http.Server.RegisterOnShutdown): shutdown waits for open requests,
// and a stream would never end on its own.
func (s *Server) CloseStreams() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if !s.feed.closed {
		s.feed.closed = true
		close(s.feed.closing)
	}
}
