// Package errkind is the one table from the catalog's error kinds to what
// a client sees: the HTTP status of a page or an API answer, and the
// extensions.code of a GraphQL error. The portal, the GraphQL error
// presenter and the OpenLineage API all read it, so that one kind never
// answers two ways (pkgsite's internal/derrors).
package errkind

import (
	"context"
	"errors"
	"net/http"

	"almanac/catalog"
)

// GraphQL error codes (extensions.code) of the kinds.
const (
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeConflict        = "CONFLICT"
	CodeNotEnabled      = "NOT_ENABLED"
	CodeUnavailable     = "UNAVAILABLE"
	CodeTimeout         = "TIMEOUT"
	CodeInternal        = "INTERNAL"
)

// Kind is one row of the table.
type Kind struct {
	// Err is the sentinel an error wraps to be of this kind; nil for
	// Internal.
	Err error
	// Status is the HTTP status a page or an API answers with.
	Status int
	// Code is the GraphQL extensions.code.
	Code string
	// Message, when set, is shown instead of the error's own text, which
	// may name what a client must not see (SQL, hosts, users); the error
	// itself goes to the log. Kinds without one show the error's text,
	// which names what is wrong with the request.
	Message string
}

// Internal is the kind of every error that wraps none of the table's
// sentinels: a defect or a failure the client can do nothing about.
var Internal = Kind{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}

// Table lists every kind, the first match winning: an unavailable
// database that also ran out of time is unavailable.
var Table = []Kind{
	{Err: catalog.ErrNotFound, Status: http.StatusNotFound, Code: CodeNotFound},
	{Err: catalog.ErrInvalid, Status: http.StatusBadRequest, Code: CodeBadUserInput},
	{Err: catalog.ErrUnauthenticated, Status: http.StatusUnauthorized, Code: CodeUnauthenticated},
	{Err: catalog.ErrForbidden, Status: http.StatusForbidden, Code: CodeForbidden},
	{Err: catalog.ErrConflict, Status: http.StatusConflict, Code: CodeConflict},
	{Err: catalog.ErrNotEnabled, Status: http.StatusNotImplemented, Code: CodeNotEnabled},
	// Before ErrUnavailable, which it wraps: a search index being rebuilt
	// says so, not that the database is down.
	{Err: catalog.ErrIndexRebuilding, Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the search index is being rebuilt from the catalog; try again shortly"},
	{Err: catalog.ErrUnavailable, Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
		Message: "the catalog database is unavailable; try again shortly"},
	{Err: context.DeadlineExceeded, Status: http.StatusGatewayTimeout, Code: CodeTimeout,
		Message: "the request took longer than its time limit"},
}

// Of returns the kind of err: the first row of Table whose sentinel err
// wraps, else Internal.
func Of(err error) Kind {
	for _, k := range Table {
		if errors.Is(err, k.Err) {
			return k
		}
	}
	return Internal
}

// Status returns the HTTP status of err's kind.
func Status(err error) int { return Of(err).Status }

// Code returns the GraphQL extensions.code of err's kind.
func Code(err error) string { return Of(err).Code }

// Public returns what a client may be shown of err: its kind's message,
// or its own text for kinds without one.
func Public(err error) string {
	if k := Of(err); k.Message != "" {
		return k.Message
	}
	return err.Error()
}
