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

	"almanac/catalog/errkind"
)

// Codes put in a GraphQL error's extensions.code, one for each catalog
// error kind (package catalog/errkind holds the table). Parsing,
// validation and limit errors keep the codes gqlgen gives them
// (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
// COMPLEXITY_LIMIT_EXCEEDED…).
const (
	CodeNotFound        = errkind.CodeNotFound
	CodeBadUserInput    = errkind.CodeBadUserInput
	CodeUnauthenticated = errkind.CodeUnauthenticated
	CodeForbidden       = errkind.CodeForbidden
	CodeConflict        = errkind.CodeConflict
	CodeNotEnabled      = errkind.CodeNotEnabled
	CodeUnavailable     = errkind.CodeUnavailable
	CodeTimeout         = errkind.CodeTimeout
	CodeInternal        = errkind.CodeInternal
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

// errorPresenter is the one place where errors become what clients see.
// An error gets the code of its kind in errkind's table, and the kind's
// public message where it has one (internal errors, an unavailable
// database, a timeout: the cause is logged, so that no SQL, driver, host
// or stack detail leaks); other kinds keep their own message, which names
// what is wrong. Errors gqlgen made itself (syntax, validation, limits)
// pass as they are.
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
		k := errkind.Of(err)
		switch k.Code {
		case CodeInternal:
			log.ErrorContext(ctx, "graphql: internal error", "path", e.Path.String(), "err", err)
		case CodeUnavailable:
			log.WarnContext(ctx, "graphql: catalog database unavailable", "path", e.Path.String(), "err", err)
		}
		if k.Message != "" {
			e.Message = k.Message
		}
		e.Extensions = map[string]any{"code": k.Code}
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
