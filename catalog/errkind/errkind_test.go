package errkind_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"almanac/catalog"
	"almanac/catalog/errkind"
)

// TestTable pins what each kind answers: one row a kind, read by the
// portal, the GraphQL presenter and the OpenLineage API alike.
func TestTable(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{catalog.ErrNotFound, 404, "NOT_FOUND"},
		{catalog.ErrInvalid, 400, "BAD_USER_INPUT"},
		{catalog.ErrUnauthenticated, 401, "UNAUTHENTICATED"},
		{catalog.ErrForbidden, 403, "FORBIDDEN"},
		{catalog.ErrConflict, 409, "CONFLICT"},
		{catalog.ErrNotEnabled, 501, "NOT_ENABLED"},
		{catalog.ErrUnavailable, 503, "UNAVAILABLE"},
		{catalog.ErrIndexRebuilding, 503, "UNAVAILABLE"},
		{context.DeadlineExceeded, 504, "TIMEOUT"},
		{errors.New("boom"), 500, "INTERNAL"},
		{context.Canceled, 500, "INTERNAL"},
	} {
		// Kinds are found through any wrapping.
		err := fmt.Errorf("get dataset %q: %w", "x", tc.err)
		if got := errkind.Status(err); got != tc.status {
			t.Errorf("Status(%v) = %d, want %d", err, got, tc.status)
		}
		if got := errkind.Code(err); got != tc.code {
			t.Errorf("Code(%v) = %q, want %q", err, got, tc.code)
		}
	}
	// Every row is reachable: no sentinel is shadowed by an earlier one.
	for i, k := range errkind.Table {
		if got := errkind.Of(k.Err); got.Err != k.Err {
			t.Errorf("row %d (%v) answers as the row of %v", i, k.Err, got.Err)
		}
	}
}

// TestFirstMatchWins checks that an unavailable database that also ran
// out of time answers as unavailable: retrying may help.
func TestFirstMatchWins(t *testing.T) {
	err := fmt.Errorf("list datasets: %w", errors.Join(catalog.ErrUnavailable, context.DeadlineExceeded))
	if got := errkind.Code(err); got != errkind.CodeUnavailable {
		t.Errorf("Code = %s, want %s", got, errkind.CodeUnavailable)
	}
}

// TestPublic checks that kinds whose error text may name hosts, users or
// SQL show a fixed message instead, and the others their own text.
func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("dataset %q: %w", "x", catalog.ErrNotFound), `dataset "x": not found`},
		{fmt.Errorf("search is not enabled on this server: %w", catalog.ErrNotEnabled), "search is not enabled on this server: not enabled"},
		{fmt.Errorf("failed to connect to `user=almanac database=catalog`: %w", catalog.ErrUnavailable), "the catalog database is unavailable; try again shortly"},
		{fmt.Errorf("search: %w", catalog.ErrIndexRebuilding), "the search index is being rebuilt from the catalog; try again shortly"},
		{errors.New(`ERROR: relation "datasets" does not exist`), "internal error"},
	} {
		if got := errkind.Public(tc.err); got != tc.want {
			t.Errorf("Public(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
