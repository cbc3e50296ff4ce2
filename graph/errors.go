package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"almanac/catalog"
	"almanac/catalog/errkind"
	"almanac/catalog/store"
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
	// CodeTooManyErrors marks the last error of a response that had more
	// than maxErrors: "and N more errors".
	CodeTooManyErrors = "TOO_MANY_ERRORS"
)

// A response lists at most maxErrors errors, then one error that counts
// the rest (code TOO_MANY_ERRORS), and no message is longer than
// maxMessageBytes: a document can make validation find errors by the
// hundred thousand, and an error can quote what it was sent.
const (
	maxErrors       = 20
	maxMessageBytes = 1000
)

// moreErrorsMessage says how many errors a response leaves out.
func moreErrorsMessage(n int) string {
	if n == 1 {
		return "and 1 more error"
	}
	return "and " + strconv.Itoa(n) + " more errors"
}

// capErrors is the response middleware that keeps the first maxErrors
// errors of every response gqlgen writes, and counts the rest in one more.
// Validation errors come here already capped (validationRules), as do
// requests refused before gqlgen (one error each).
func capErrors(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > maxErrors+1 {
		more := &gqlerror.Error{Message: moreErrorsMessage(len(resp.Errors) - maxErrors)}
		errcode.Set(more, CodeTooManyErrors)
		resp.Errors = append(resp.Errors[:maxErrors:maxErrors], more)
	}
	return resp
}

// ruleTooManyErrors names the error that validationRules puts in place of
// those it leaves out.
const ruleTooManyErrors = "TooManyErrors"

// validationRules returns gqlparser's validation rules, made to keep the
// first maxErrors errors they report on a document and count the rest in
// one more error. An error left out is never built (its message never
// formatted), so that a document whose fields conflict pairwise costs no
// memory for its errors. gqlgen calls it once per document it validates.
func validationRules() *rules.Rules {
	kept, left := 0, 0
	var more *gqlerror.Error
	report := func(add core.AddErrFunc, opts []core.ErrorOption) {
		switch {
		case kept < maxErrors:
			kept++
			add(opts...)
		case more == nil:
			left = 1
			add(func(err *gqlerror.Error) {
				err.Rule = ruleTooManyErrors
				err.Message = moreErrorsMessage(left)
				more = err
			})
		default:
			left++
			more.Message = moreErrorsMessage(left)
		}
	}
	rs := rules.NewDefaultRules()
	for name, rule := range rs.GetInner() {
		rs.ReplaceRule(name, func(observers *core.Events, add core.AddErrFunc) {
			rule(observers, func(opts ...core.ErrorOption) { report(add, opts) })
		})
	}
	return rs
}

// truncateMessage cuts a message longer than maxMessageBytes, on a
// character boundary, and says so.
func truncateMessage(msg string) string {
	if len(msg) <= maxMessageBytes {
		return msg
	}
	cut := maxMessageBytes
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "… (" + strconv.Itoa(len(msg)) + " bytes)"
}

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
// pass as they are. Long messages are cut (truncateMessage), and the
// presented error keeps no reference to the original, so that a response
// holds a bounded amount per error. The log of an outage names st's
// database (st may be nil).
func errorPresenter(log *slog.Logger, st *store.Store) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// gqlgen's own: parse, validation, limits, persisted queries
			if c, ok := apqCodes[gqlErr.Message]; ok && gqlErr.Extensions["code"] == nil {
				errcode.Set(gqlErr, c)
			}
			if gqlErr.Rule == ruleTooManyErrors {
				errcode.Set(gqlErr, CodeTooManyErrors)
			}
			gqlErr.Message = truncateMessage(gqlErr.Message)
			return gqlErr
		}
		e := graphql.DefaultErrorPresenter(ctx, err)
		k := errkind.Of(err)
		switch k.Code {
		case CodeInternal:
			log.ErrorContext(ctx, "graphql: internal error", "path", e.Path.String(), "err", err)
		case CodeUnavailable:
			what := "graphql: catalog database unavailable"
			if errors.Is(err, catalog.ErrIndexRebuilding) {
				what = "graphql: search index being rebuilt"
			}
			log.WarnContext(ctx, what, "path", e.Path.String(), "err", err, st.OutageAttr(err))
		}
		if k.Message != "" {
			e.Message = k.Message
		}
		e.Message = truncateMessage(e.Message)
		e.Err = nil
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
