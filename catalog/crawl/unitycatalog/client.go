package unitycatalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIPath is where the Unity Catalog REST API lives on a server, the
// open-source one and Databricks alike.
const APIPath = "/api/2.1/unity-catalog"

// lineagePath is Databricks' table lineage endpoint; the open-source server
// has none.
const lineagePath = "/api/2.0/lineage-tracking/table-lineage"

// client sends GET requests to one server: with the Bearer token, retried
// with exponential backoff on 429, 5xx and broken connections, honouring
// Retry-After, up to attempts times.
type client struct {
	base     *url.URL // scheme://host[:port][/prefix], without APIPath
	token    string
	http     *http.Client
	attempts int
	delay    time.Duration // before the second attempt; doubles each time
	maxDelay time.Duration // bound on one wait, Retry-After included
	// sleep waits for d or until ctx ends; a test may replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// statusError is a response the server refused to answer with data.
type statusError struct {
	status  int
	code    string // error_code of a JSON error body
	message string // message of a JSON error body, or the start of a text one
}

func (e *statusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d %s", e.status, http.StatusText(e.status))
	switch e.status {
	case http.StatusUnauthorized:
		b.WriteString(" (the server refused the token: set a valid one)")
	case http.StatusForbidden:
		b.WriteString(" (the token's principal may not read this)")
	}
	if e.code != "" || e.message != "" {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(strings.TrimSpace(e.code+" "+e.message), " "))
	}
	return b.String()
}

// retryable reports whether another attempt may succeed: too many
// requests and server errors, but not 501 Not Implemented.
func (e *statusError) retryable() bool {
	return e.status == http.StatusTooManyRequests || e.status >= 500 && e.status != http.StatusNotImplemented
}

// get fetches path (below the server's base) with query, decoding the JSON
// response into out. Errors name neither the token nor the full URL's
// query; the caller names the object.
func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	for attempt := 1; ; attempt++ {
		wait, err := c.once(ctx, u.String(), out)
		if err == nil {
			return nil
		}
		if wait < 0 || attempt >= c.attempts || ctx.Err() != nil {
			if attempt > 1 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		d := c.backoff(attempt)
		if wait > 0 {
			d = min(max(d, wait), c.maxDelay)
		}
		if serr := c.sleep(ctx, d); serr != nil {
			return fmt.Errorf("%w (after %d attempts; stopped waiting to retry: %w)", err, attempt, serr)
		}
	}
}

// once makes one attempt. wait is negative when retrying is pointless, the
// server's Retry-After when it gave one, else 0.
func (c *client) once(ctx context.Context, u string, out any) (wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return -1, err
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, transportError{c.redactErr(plainURLError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		se := &statusError{status: resp.StatusCode}
		se.code, se.message = errorBody(body)
		se.message = c.redact(se.message)
		if !se.retryable() {
			return -1, se
		}
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), se
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		// The connection broke mid-body: another attempt may get it whole.
		return 0, transportError{fmt.Errorf("read response: %w", c.redactErr(plainURLError(err)))}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return -1, fmt.Errorf("invalid JSON response (%d bytes%s): %w", len(body), truncatedHint(body), err)
	}
	return 0, nil
}

// backoff is the wait before attempt+1: delay doubled per attempt, with
// up to a quarter of jitter so that parallel requests do not retry in step,
// capped at maxDelay.
func (c *client) backoff(attempt int) time.Duration {
	d := c.delay << (attempt - 1)
	if d <= 0 || d > c.maxDelay {
		d = c.maxDelay
	}
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. 0 when
// absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errorBody reads an error response: the JSON body both servers send
// ({"error_code", "message", "details"}), or the start of a text one (a
// proxy's page, the open-source server's plain answers).
func errorBody(body []byte) (code, message string) {
	var e struct {
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && (e.ErrorCode != "" || e.Message != "") {
		return e.ErrorCode, e.Message
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return "", s
}

// truncatedHint says why a body that does not end where JSON ends may be
// cut short.
func truncatedHint(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ", empty"
	}
	if !strings.HasSuffix(s, "}") {
		return ", cut short"
	}
	return ""
}

// transportError is a request that got no usable answer: the server could
// not be reached, or the connection broke. It is retried.
type transportError struct{ err error }

func (e transportError) Error() string { return e.err.Error() }
func (e transportError) Unwrap() error { return e.err }

// plainURLError drops the URL that net/http repeats in its errors: the
// caller names the object, and the query would only add noise.
func plainURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "server"
	}
	return u.Scheme + "://" + u.Host
}

// redact removes the token from a message, should a server or proxy echo
// it.
func (c *client) redact(msg string) string {
	if c.token == "" {
		return msg
	}
	return strings.ReplaceAll(msg, c.token, "xxxxx")
}

// redactErr is redact for an error, kept as it is when it holds no token.
func (c *client) redactErr(err error) error {
	if c.token == "" || !strings.Contains(err.Error(), c.token) {
		return err
	}
	return errors.New(c.redact(err.Error()))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
