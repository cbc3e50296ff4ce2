package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"almanac/catalog"
)

// Codes put in a GraphQL error's extensions.code. Parsing, validation and
// limit errors keep the codes gqlgen gives them (GRAPHQL_PARSE_FAILED,
// GRAPHQL_VALIDATION_FAILED, COMPLEXITY_LIMIT_EXCEEDED…).
const (
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeConflict        = "CONFLICT"
	CodeTimeout         = "TIMEOUT"
	CodeUnavailable     = "UNAVAILABLE"
	CodeInternal        = "INTERNAL"
)

// apqCodes gives a code to each error of gqlgen's automatic persisted
// queries that lacks one, by its message: gqlgen exports neither. It codes
// only PersistedQueryNotFound itself (PERSISTED_QUERY_NOT_FOUND), which
// tells clients to send the query in full.
var apqCodes = map[string]string{
	"provided APQ hash does not match query": "PERSISTED_QUERY_HASH_MISMATCH",
	"unsupported APQ version":                "PERSISTED_QUERY_NOT_SUPPORTED",
	"invalid APQ extension data":             CodeBadUserInput,
}

// errPanic is what a resolver that panicked returns; the panic itself is
// logged.
var errPanic = errors.New("resolver panicked")

// code maps an error to its extensions.code by its catalog kind.
func code(err error) string {
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return CodeNotFound
	case errors.Is(err, catalog.ErrInvalid):
		return CodeBadUserInput
	case errors.Is(err, catalog.ErrUnauthenticated):
		return CodeUnauthenticated
	case errors.Is(err, catalog.ErrForbidden):
		return CodeForbidden
	case errors.Is(err, catalog.ErrConflict):
		return CodeConflict
	case errors.Is(err, catalog.ErrUnavailable):
		return CodeUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeInternal
}

// errorPresenter is the one place where errors become what clients see. A
// catalog error kind keeps its message, which names what is wrong, and gets
// its code; errors gqlgen made itself (syntax, validation, limits) pass as
// they are; anything else is logged and shown as a generic internal error,
// so that no SQL, driver or stack detail leaks.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// gqlgen's own: parse, validation, limits, persisted queries
			if c, ok := apqCodes[gqlErr.Message]; ok && gqlErr.Extensions["code"] == nil {
				errcode.Set(gqlErr, c)
			}
			return gqlErr
		}
		e := graphql.DefaultErrorPresenter(ctx, err)
		c := code(err)
		switch c {
		case CodeInternal:
			log.ErrorContext(ctx, "graphql: internal error", "path", e.Path.String(), "err", err)
			e.Message = "internal error"
		case CodeTimeout:
			e.Message = "the request took longer than its time limit"
		}
		e.Extensions = map[string]any{"code": c}
		return e
	}
}

// recoverFunc turns a resolver's panic into an internal error, logged with
// its stack.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errPanic
	}
}
