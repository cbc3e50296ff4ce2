package olapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"almanac/catalog/errkind"
)

// TestErrorsFollowTheTable checks that each catalog error kind answers
// the status errkind's table gives it, in both shapes the API uses, and
// that server errors show only their kind's message.
func TestErrorsFollowTheTable(t *testing.T) {
	discard := slog.New(slog.DiscardHandler)
	for _, k := range append(errkind.Table, errkind.Internal) {
		cause := k.Err
		if cause == nil {
			cause = fmt.Errorf("failed to connect to `user=almanac database=catalog`")
		}
		err := fmt.Errorf("store events: %w", cause)
		fail := func(http.ResponseWriter, *http.Request) error { return err }
		for name, h := range map[string]http.Handler{"openlineage": handle(discard, nil, fail), "marquez": marquezHandle(discard, nil, fail)} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/lineage", nil))
			if rec.Code != k.Status {
				t.Errorf("%s: %v answered %d, want %d", name, err, rec.Code, k.Status)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("%s: %v: body %q is not JSON", name, err, rec.Body)
			}
			if k.Message != "" && !strings.Contains(rec.Body.String(), k.Message) {
				t.Errorf("%s: %v: body %s, want the kind's message %q", name, err, rec.Body, k.Message)
			}
			if k.Status >= 500 && strings.Contains(rec.Body.String(), "user=") {
				t.Errorf("%s: %v: body %s shows the cause", name, err, rec.Body)
			}
		}
	}
}

// TestServerErrorsLogged checks that server errors go to the logger the
// reader or receiver was given, in both shapes, and that without one they
// are discarded rather than written to slog.Default, which the almanac
// binary does not configure.
func TestServerErrorsLogged(t *testing.T) {
	var std bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&std, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	fail := func(http.ResponseWriter, *http.Request) error {
		return errors.New("store events: failed to connect")
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	for name, h := range map[string]http.Handler{"openlineage": handle(log, nil, fail), "marquez": marquezHandle(log, nil, fail)} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/v1/lineage", nil))
		if !strings.Contains(logged.String(), "failed to connect") {
			t.Errorf("%s: the server error was not logged: %q", name, logged.String())
		}
		logged.Reset()
	}
	for name, h := range map[string]slog.Handler{
		"NewReceiver": NewReceiver(nil, Config{}).cfg.Logger.Handler(),
		"NewReader":   NewReader(nil, nil, nil).log.Handler(),
	} {
		if h != slog.DiscardHandler {
			t.Errorf("%s without a logger logs to %T, want slog.DiscardHandler", name, h)
		}
	}
	if std.Len() > 0 {
		t.Errorf("slog.Default received %q", std.String())
	}
}
