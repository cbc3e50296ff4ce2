package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"almanac/catalog"
)

// deliverArgs is the River job that delivers one event to one channel
// (and, on channels that address people, to one recipient).
type deliverArgs struct {
	Channel   string   `json:"channel"`
	Recipient string   `json:"recipient,omitempty"`
	Event     Event    `json:"event"`
	Reasons   []Reason `json:"reasons"`
}

func (deliverArgs) Kind() string { return "almanac_notify" }

// deliverWorker posts deliveries.
type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	n      *Notifier
	client *http.Client
	now    func() time.Time
}

// Register adds the delivery worker to workers and returns the queue it
// needs, for the process's one working River client: a second client
// would take part in River's leader election and could hold the
// scheduler's periodic jobs back.
func (n *Notifier) Register(workers *river.Workers) (string, river.QueueConfig) {
	river.AddWorker(workers, &deliverWorker{n: n, client: &http.Client{
		// Receivers answer the request: a redirect is not followed, so
		// that a signed payload never goes where it was not configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, now: time.Now})
	return Queue, river.QueueConfig{MaxWorkers: 4}
}

// maxBody is how much of a receiver's answer is read.
const maxBody = 2000

// Timeout gives River's own timeout room over the attempt's.
func (w *deliverWorker) Timeout(job *river.Job[deliverArgs]) time.Duration {
	return w.n.channels[job.Args.Channel].Timeout + 5*time.Second
}

// NextRetry waits Backoff before the first retry, doubling each time up
// to MaxBackoff.
func (w *deliverWorker) NextRetry(job *river.Job[deliverArgs]) time.Time {
	d := w.n.cfg.Backoff
	for i := 1; i < job.Attempt && d < w.n.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return time.Now().Add(min(d, w.n.cfg.MaxBackoff))
}

// deliveryError is a receiver's refusal or failure.
type deliveryError struct {
	status int
	body   string
	err    error
}

func (e *deliveryError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	msg := fmt.Sprintf("receiver answered %d %s", e.status, http.StatusText(e.status))
	if b := strings.TrimSpace(e.body); b != "" {
		msg += ": " + clip(b, 300)
	}
	return msg
}

// permanent reports whether retrying cannot help: the receiver refused
// the request itself (4xx), apart from a timeout or a rate limit.
func (e *deliveryError) permanent() bool {
	return e.status >= 400 && e.status < 500 && e.status != http.StatusRequestTimeout && e.status != http.StatusTooManyRequests
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	a := job.Args
	ch, ok := w.n.channels[a.Channel]
	if !ok {
		err := fmt.Errorf("channel %q is no longer configured", a.Channel)
		w.record(ctx, job, "failed", &deliveryError{err: err})
		return river.JobCancel(err)
	}
	var (
		req *http.Request
		err error
	)
	switch ch.Kind {
	case Webhook:
		req, err = webhookRequest(ch, WebhookBody{Delivery: job.ID, Recipient: a.Recipient, Reasons: a.Reasons, Event: a.Event}, w.now())
	case Slack:
		req, err = jsonRequest(ch.URL, slackMessage(a.Event, a.Reasons))
	case Opsgenie:
		req, err = opsgenieRequest(ch, a.Event, a.Reasons)
	default:
		err = fmt.Errorf("channel %s: unknown kind %q", ch.Name, ch.Kind)
	}
	if err != nil {
		w.record(ctx, job, "failed", &deliveryError{err: err})
		return river.JobCancel(err)
	}
	actx, cancel := context.WithTimeout(ctx, ch.Timeout)
	defer cancel()
	derr := w.post(actx, req.WithContext(actx))
	switch {
	case derr == nil:
		return nil
	case derr.permanent():
		w.record(ctx, job, "failed", derr)
		return river.JobCancel(derr)
	case job.Attempt >= job.MaxAttempts:
		w.record(ctx, job, "dead", derr)
	}
	return derr
}

// post sends req and reads the answer: nil for a 2xx.
func (w *deliverWorker) post(ctx context.Context, req *http.Request) *deliveryError {
	resp, err := w.client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &deliveryError{err: fmt.Errorf("receiver did not answer in time: %w", err)}
		}
		return &deliveryError{err: fmt.Errorf("receiver unreachable: %w", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &deliveryError{status: resp.StatusCode, body: string(body)}
}

// record keeps a delivery given up on for the dead-letter view.
func (w *deliverWorker) record(ctx context.Context, job *river.Job[deliverArgs], status string, derr *deliveryError) {
	a := job.Args
	f := catalog.NotificationFailure{JobID: job.ID, Channel: a.Channel, Recipient: a.Recipient, Event: a.Event.Kind,
		Dataset: a.Event.Dataset.Key(), Status: status, Attempts: job.Attempt, HTTPStatus: derr.status, Error: derr.Error(), Body: derr.body}
	if a.Event.Incident != nil {
		f.IncidentID = a.Event.Incident.ID
	}
	if err := w.n.store.RecordNotificationFailure(context.WithoutCancel(ctx), f); err != nil {
		w.n.log.ErrorContext(ctx, "failed delivery not recorded", "job", job.ID, "err", err)
	}
	w.n.log.WarnContext(ctx, "notification not delivered", "channel", a.Channel, "recipient", a.Recipient, "event", a.Event.Kind, "status", status, "err", derr.Error())
}

func jsonRequest(u string, v any) (*http.Request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
