// Package olapi serves the OpenLineage HTTP API that Marquez serves, so
// that Airflow, Spark and dbt can be pointed at Almanac unchanged: POST
// /api/v1/lineage (and /batch) receives events, GET /api/v1/lineage and
// GET /api/v1/column-lineage answer in Marquez's JSON shape.
//
// Receiving is split in two so that producers get their 201 fast: the
// handler validates an event and stores it as received; a worker (Run)
// derives catalog facts from the stored events in batches, one replica at
// a time.
package olapi

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/errkind"
	"almanac/catalog/store"
)

// Defaults of Config.
const (
	DefaultMaxBody   = 8 << 20
	DefaultRetention = 30 * 24 * time.Hour
	// batchLimit is how many stored events the worker derives at once.
	batchLimit = 1000
	// gatherWait is how long the worker, woken by events this replica
	// stored, waits for batchLimit of them before deriving what there is.
	gatherWait = 200 * time.Millisecond
)

// Config configures the receiver.
type Config struct {
	// Token, when set, is a Bearer token shared by every producer
	// (openlineage.token, deprecated: API tokens with the lineage:write
	// scope replace it). Requests whose principal may post lineage
	// (catalog.AuthorizeLineageWrite) are taken with or without it.
	Token string
	// Authenticated refuses anonymous posting when Token is empty: only
	// the principals that may post lineage are taken. Without it, and
	// without Token, anyone may post, which must be configured explicitly.
	Authenticated bool
	// MaxBody bounds a request body, after decompression; larger bodies
	// get 413. Zero means DefaultMaxBody.
	MaxBody int64
	// Retention is how long processed raw events, and the history of
	// dataset metrics (all but the newest of each dataset), are kept. Zero
	// means DefaultRetention; negative keeps them forever.
	Retention time.Duration
	// Logger receives what the worker could not derive. Nil discards.
	Logger *slog.Logger
}

// Receiver receives OpenLineage events and derives catalog facts from them.
type Receiver struct {
	store *store.Store
	cfg   Config
	wake  chan struct{}
	// stored counts the events this replica stored since the worker last
	// started deriving.
	stored atomic.Int64
	// Concurrent requests share one INSERT and one commit (group
	// commit): the writer goroutine takes what is queued.
	queue     chan storeReq
	startOnce sync.Once
}

type storeReq struct {
	events []store.RawEvent
	done   chan error
}

// maxGroup bounds the events one group commit writes.
const maxGroup = 500

// NewReceiver returns a receiver writing to st.
func NewReceiver(st *store.Store, cfg Config) *Receiver {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Receiver{store: st, cfg: cfg, wake: make(chan struct{}, 1), queue: make(chan storeReq, 1024)}
}

// storeEvents stores events together with those of concurrent requests, and
// returns once they are committed.
func (rc *Receiver) storeEvents(ctx context.Context, events []store.RawEvent) error {
	rc.startOnce.Do(func() { go rc.writer() })
	req := storeReq{events: events, done: make(chan error, 1)}
	select {
	case rc.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Wait for the commit even if the client gives up: the outcome is
	// decided by then.
	return <-req.done
}

// writer runs for the life of the process, writing queued events in
// groups. It holds no resources while idle.
func (rc *Receiver) writer() {
	for req := range rc.queue {
		group := []storeReq{req}
		n := len(req.events)
	more:
		for n < maxGroup {
			select {
			case r := <-rc.queue:
				group = append(group, r)
				n += len(r.events)
			default:
				break more
			}
		}
		events := make([]store.RawEvent, 0, n)
		for _, r := range group {
			events = append(events, r.events...)
		}
		_, err := rc.store.StoreEvents(context.Background(), events)
		for _, r := range group {
			r.done <- err
		}
		rc.stored.Add(int64(len(events)))
		rc.Wake()
	}
}

// httpError is an error with the status code it answers.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

// handle adapts a handler returning an error: an *httpError answers its
// code, a catalog error kind the status errkind's table gives it, always
// as JSON {"error": reason}. st, when not nil, is the store whose
// database an outage's log line names.
func handle(log *slog.Logger, st *store.Store, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code, msg := errorStatus(log, st, r, err)
			writeJSON(w, code, map[string]string{"error": msg})
		}
	})
}

// errorStatus maps err to its status code and the reason to show. Server
// errors are logged and show their kind's message only (an unavailable
// database answers 503, for producers to retry); a 404 says only that
// nothing has the id asked for, without repeating it.
func errorStatus(log *slog.Logger, st *store.Store, r *http.Request, err error) (int, string) {
	if he, ok := errors.AsType[*httpError](err); ok {
		return he.code, err.Error()
	}
	k := errkind.Of(err)
	if k.Status == http.StatusNotFound {
		return k.Status, "not found: the catalog has nothing with that id"
	}
	if k.Message != "" {
		level := slog.LevelError
		if k.Status == http.StatusServiceUnavailable {
			level = slog.LevelWarn
		}
		log.Log(r.Context(), level, "openlineage api", "path", r.URL.Path, "status", k.Status, "err", err, st.OutageAttr(err))
	}
	return k.Status, errkind.Public(err)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // the client went away
}

// Off answers POST /api/v1/lineage and /batch on a server that takes no
// events: 403 in the endpoint's error shape, with reason saying how to
// turn it on.
func Off(reason string) http.Handler {
	return handle(slog.New(slog.DiscardHandler), nil, func(http.ResponseWriter, *http.Request) error {
		return &httpError{http.StatusForbidden, errors.New(reason)}
	})
}

// PostLineage is POST /api/v1/lineage: one event.
func (rc *Receiver) PostLineage() http.Handler {
	return handle(rc.cfg.Logger, rc.store, func(w http.ResponseWriter, r *http.Request) error {
		body, err := rc.body(w, r)
		if err != nil {
			return err
		}
		e, err := openlineage.Decode(body)
		if err != nil {
			return err
		}
		if err := rc.storeEvents(r.Context(), []store.RawEvent{raw(e, body)}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	})
}

// PostBatch is POST /api/v1/lineage/batch: a JSON array of events, stored
// all or none.
func (rc *Receiver) PostBatch() http.Handler {
	return handle(rc.cfg.Logger, rc.store, func(w http.ResponseWriter, r *http.Request) error {
		body, err := rc.body(w, r)
		if err != nil {
			return err
		}
		parts, err := openlineage.SplitBatch(body)
		if err != nil {
			return err
		}
		raws := make([]store.RawEvent, len(parts))
		for i, p := range parts {
			e, err := openlineage.Decode(p)
			if err != nil {
				var oe *openlineage.Error
				if errors.As(err, &oe) {
					oe.Field = strings.TrimSuffix(fmt.Sprintf("[%d].%s", i, oe.Field), ".")
				}
				return err
			}
			raws[i] = raw(e, p)
		}
		if err := rc.storeEvents(r.Context(), raws); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	})
}

func raw(e openlineage.Event, body []byte) store.RawEvent {
	sum := sha256.Sum256(body)
	return store.RawEvent{Digest: sum[:], Kind: string(e.Kind), Type: e.Type, Time: e.Time, RunID: e.RunID, Job: e.Job, Body: body}
}

// body authenticates the request and reads its body, gunzipped, within
// the size limit.
func (rc *Receiver) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := rc.authorize(w, r); err != nil {
		return nil, err
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, rc.cfg.MaxBody)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, rc.readError(err, "gzip body")
		}
		defer gz.Close()
		rd = gz
	}
	// Bound the decompressed size too: a small gzip body can inflate.
	b, err := io.ReadAll(io.LimitReader(rd, rc.cfg.MaxBody+1))
	if err != nil {
		return nil, rc.readError(err, "read body")
	}
	if int64(len(b)) > rc.cfg.MaxBody {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", rc.cfg.MaxBody)}
	}
	return b, nil
}

// authorize decides whether r may post events: a request with the shared
// token may; one whose principal is known may if catalog
// AuthorizeLineageWrite says so (a token refused is recorded in the
// security log); an anonymous one only with anonymous posting.
func (rc *Receiver) authorize(w http.ResponseWriter, r *http.Request) error {
	if rc.cfg.Token != "" {
		// The scheme is case-insensitive (RFC 9110 §11.1).
		scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
		if ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(rc.cfg.Token)) == 1 {
			return nil
		}
	}
	ctx := r.Context()
	if p := auth.PrincipalFrom(ctx); !p.Anonymous() {
		err := catalog.AuthorizeLineageWrite(p)
		if err != nil && p.ViaToken() {
			ev := catalog.AuthEvent{Kind: catalog.AuthTokenUsed, Actor: p.Login, Subject: catalog.TokenNameFrom(ctx), Detail: err.Error(), RemoteAddr: catalog.RemoteAddrFrom(ctx)}
			if rerr := rc.store.RecordAuthEvent(context.WithoutCancel(ctx), ev); rerr != nil {
				rc.cfg.Logger.ErrorContext(ctx, "record refused token", "err", rerr)
			}
		}
		return err
	}
	if rc.cfg.Token == "" && !rc.cfg.Authenticated {
		return nil
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="almanac"`)
	return &httpError{http.StatusUnauthorized, errors.New("missing or wrong bearer token: send an API token with the lineage:write scope")}
}

func (rc *Receiver) readError(err error, op string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes", rc.cfg.MaxBody)}
	}
	return &httpError{http.StatusBadRequest, fmt.Errorf("%s: %w", op, err)}
}

// Wake tells the worker that events are waiting.
func (rc *Receiver) Wake() {
	select {
	case rc.wake <- struct{}{}:
	default:
	}
}

// maxRetryWait bounds the wait before the worker tries again after a
// transient failure.
const maxRetryWait = time.Minute

// Run derives facts from stored events until ctx ends: at once when this
// replica received events, and every poll interval for those other
// replicas received. After a transient failure (the database unreachable)
// it waits before trying again, from the poll interval doubling up to a
// minute. It deletes processed events, and dataset metrics observed, past
// the retention once an hour.
func (rc *Receiver) Run(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var (
		lastPrune time.Time
		retry     time.Duration
	)
	for {
		rc.stored.Store(0)
		if _, err := rc.Drain(ctx); err != nil && ctx.Err() == nil {
			retry = min(max(2*retry, poll), maxRetryWait)
			rc.cfg.Logger.Error("derive openlineage events; retrying", "err", err, "in", retry)
		} else {
			retry = 0
		}
		if rc.cfg.Retention > 0 && time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := rc.store.PruneEvents(ctx, lastPrune.Add(-rc.cfg.Retention)); err != nil && ctx.Err() == nil {
				rc.cfg.Logger.Error("prune openlineage events", "err", err)
			} else if n > 0 {
				rc.cfg.Logger.Info("pruned openlineage events", "count", n)
			}
			// Metrics history follows the raw events' retention.
			if n, err := rc.store.PruneMetrics(ctx, lastPrune.Add(-rc.cfg.Retention)); err != nil && ctx.Err() == nil {
				rc.cfg.Logger.Error("prune dataset metrics", "err", err)
			} else if n > 0 {
				rc.cfg.Logger.Info("pruned dataset metrics", "count", n)
			}
		}
		if retry > 0 {
			// Neither a wake nor the ticker cuts the wait short.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(retry):
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rc.wake:
			rc.gather(ctx)
		case <-tick.C:
		}
	}
}

// gather waits, after a wake, until batchLimit events have been stored
// since the last drain, or gatherWait has passed, or ctx ends. While
// events keep coming the worker then derives them a full batch at a time
// rather than a few at each wake: a batch costs some 50 statements
// whatever its size, and the receiver shares the cores with the worker
// (BenchmarkIngest, medians of ten alternated runs together with the
// ingest's skipped reads: 2 % less machine CPU an event, 2.5 % more
// accepted events a second). A derived fact is at most gatherWait later.
func (rc *Receiver) gather(ctx context.Context) {
	if rc.stored.Load() >= batchLimit {
		return
	}
	timer := time.NewTimer(gatherWait)
	defer timer.Stop()
	for rc.stored.Load() < batchLimit {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-rc.wake:
		}
	}
}

// Drain derives facts from every stored event not processed yet, and
// returns how many it processed. It returns 0 at once while another
// replica drains. An event that the store refuses on its own is marked
// failed and does not stop the others; a transient failure stops the
// drain, leaving the events to be tried again.
func (rc *Receiver) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := rc.store.ProcessEvents(ctx, batchLimit, rc.derive)
		total += n
		if err != nil || n < batchLimit {
			return total, err
		}
	}
}

// derive decodes a batch of stored events and applies what they assert.
func (rc *Receiver) derive(ctx context.Context, raws []store.RawEvent) ([]store.Outcome, error) {
	out := make([]store.Outcome, len(raws))
	var (
		events []openlineage.Event
		index  []int
	)
	for i, r := range raws {
		e, err := openlineage.Decode(r.Body)
		if err != nil {
			out[i] = store.Outcome{Err: err, Failed: true}
			continue
		}
		events = append(events, e)
		index = append(index, i)
	}
	if err := rc.apply(ctx, raws, events, index, out); err != nil {
		return nil, err
	}
	return out, nil
}

// apply derives facts from events (raws[index[i]] decoded) and writes
// them as one push, setting the outcome of each event in out. When the
// store refuses the push for a reason that would not go away by trying
// again, it applies each half on its own, down to single events: an event
// refused on its own is marked failed, and all the others are applied
// (applying an event twice changes nothing). A transient failure is
// returned, for the whole batch to be tried again later.
func (rc *Receiver) apply(ctx context.Context, raws []store.RawEvent, events []openlineage.Event, index []int, out []store.Outcome) error {
	if len(events) == 0 {
		return nil
	}
	push, errs := openlineage.Derive(events)
	err := rc.claimRuns(ctx, &push, events, errs)
	if err == nil {
		err = rc.store.ApplyPush(ctx, push)
	}
	var partial *store.PartialError
	switch {
	case err == nil || errors.As(err, &partial):
		if partial != nil {
			// Items the store refused: the valid rest was written.
			rc.cfg.Logger.Warn("openlineage events partly refused", "first_event", raws[index[0]].ID, "err", err)
		}
		for j, err := range errs {
			out[index[j]].Err = err
		}
		return nil
	case ctx.Err() != nil || store.Transient(err):
		return err
	case len(events) == 1:
		rc.cfg.Logger.Error("openlineage event failed", "event", raws[index[0]].ID, "err", err)
		out[index[0]] = store.Outcome{Err: err, Failed: true}
		return nil
	}
	h := len(events) / 2
	if err := rc.apply(ctx, raws, events[:h], index[:h], out); err != nil {
		return err
	}
	return rc.apply(ctx, raws, events[h:], index[h:], out)
}

// claimRuns drops from push the runs whose id the store holds as a run
// of another job, and adds the refusal to the errors of the events that
// reported them: a run id belongs to the job that first ran it.
func (rc *Receiver) claimRuns(ctx context.Context, push *catalog.Push, events []openlineage.Event, errs []error) error {
	ids := make([]string, 0, len(push.Runs))
	for _, r := range push.Runs {
		ids = append(ids, r.ID)
	}
	stored, err := rc.store.RunsByIDs(ctx, ids)
	if err != nil || len(stored) == 0 {
		return err
	}
	owners := make(map[string]catalog.JobKey, len(stored))
	for id, r := range stored {
		owners[id] = r.Job
	}
	type run struct {
		id  string
		job catalog.JobKey
	}
	dropped := map[run]bool{}
	push.Runs = slices.DeleteFunc(push.Runs, func(r catalog.Run) bool {
		owner, ok := owners[r.ID]
		dropped[run{r.ID, r.Job}] = dropped[run{r.ID, r.Job}] || ok && owner != r.Job
		return ok && owner != r.Job
	})
	for j, e := range events {
		if e.Kind == openlineage.KindRun && dropped[run{e.RunID, e.Job}] {
			errs[j] = errors.Join(errs[j], openlineage.RunConflict(e.RunID, owners[e.RunID], e.Job))
		}
	}
	return nil
}
