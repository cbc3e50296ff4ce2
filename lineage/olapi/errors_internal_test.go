package olapi

import (
	"encoding/json"
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
		for name, h := range map[string]http.Handler{"openlineage": handle(discard, fail), "marquez": marquezHandle(discard, fail)} {
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
