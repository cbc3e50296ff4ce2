package graph

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"almanac/catalog/errkind"
)

// TestPresenterReadsTheTable checks that every catalog error kind gets the
// code errkind's table gives it, and its public message where it has one:
// the presenter keeps no mapping of its own.
func TestPresenterReadsTheTable(t *testing.T) {
	present := errorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	for _, k := range append(errkind.Table, errkind.Internal) {
		cause := k.Err
		if cause == nil {
			cause = fmt.Errorf("relation %q does not exist", "datasets")
		}
		err := fmt.Errorf("dataset %q: %w", "x", cause)
		e := present(context.Background(), err)
		if got := e.Extensions["code"]; got != k.Code {
			t.Errorf("%v: code %v, want %s", err, got, k.Code)
		}
		want := err.Error()
		if k.Message != "" {
			want = k.Message
		}
		if e.Message != want {
			t.Errorf("%v: message %q, want %q", err, e.Message, want)
		}
	}
}
