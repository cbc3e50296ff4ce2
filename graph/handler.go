// Package graph serves Almanac's GraphQL API: the schema in schema.graphqls,
// thin resolvers over the catalog store, per-request dataloaders so that no
// list costs a query per item, limits on what one request may ask, and one
// error presenter that maps catalog error kinds to extensions.code.
//
// Who may edit is decided in package catalog (catalog.AuthorizeEdit); this
// package only learns who the principal is, from the request's context
// (auth.PrincipalFrom), where the server's middleware put it.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"almanac/catalog/auth"
	"almanac/catalog/extlink"
	"almanac/catalog/notify"
	"almanac/catalog/slo"
	"almanac/catalog/store"
	"almanac/graph/graphiql"
	"almanac/lineage"
	"almanac/search"
)

// Defaults of Options.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultMaxBodyBytes    = 1 << 20
	DefaultComplexityLimit = 5000
	DefaultDepthLimit      = 15
	DefaultFieldLimit      = 10000
)

// maxCachedQueries bounds the bytes of query text in each of the caches
// of parsed documents and of persisted queries: 2 MiB holds two thousand
// queries of a kilobyte, a query of up to 128 KiB each.
const maxCachedQueries = 2 << 20

// Options configure the handler. Store is required; the rest have defaults.
type Options struct {
	Store *store.Store
	// Search answers the search query; nil makes it fail with a clear
	// error.
	Search *search.Index
	// Lineage answers the lineage and impact queries; nil makes them fail
	// with a clear error.
	Lineage *lineage.Follower
	// Tokens issues and revokes API tokens (the tokens query, createToken,
	// revokeToken); nil makes them fail with a clear error.
	Tokens *auth.Tokens
	Logger *slog.Logger
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// ComplexityLimit, DepthLimit and FieldLimit bound what one operation
	// may ask. FieldLimit counts the fields of the operation with its
	// fragments expanded, whatever the size of the lists they are in.
	ComplexityLimit int
	DepthLimit      int
	FieldLimit      int
	// SLOs are the SLOs declared in the configuration; Dataset.slos
	// evaluates them with those harvested.
	SLOs []slo.SLO
	// Links are the configured URL templates of the issue tracker, wiki
	// and code host (Dataset.documentationUrl).
	Links extlink.Templates
	// Notifier answers follow and unfollow; nil makes them fail with a
	// clear error.
	Notifier *notify.Notifier
}

// NewHandler returns the GraphQL endpoint. Mount it at /graphql for both
// GET and POST, and at /graphql/assets/ for GET: a browser's GET (Accept:
// text/html) gets GraphiQL, which loads its scripts and stylesheets from
// /graphql/assets/, any other GET runs the query in its URL parameters, a
// POST runs the query in its JSON body.
func NewHandler(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ComplexityLimit <= 0 {
		opts.ComplexityLimit = DefaultComplexityLimit
	}
	if opts.DepthLimit <= 0 {
		opts.DepthLimit = DefaultDepthLimit
	}
	if opts.FieldLimit <= 0 {
		opts.FieldLimit = DefaultFieldLimit
	}
	schema := NewExecutableSchema(Config{
		Resolvers:  &Resolver{store: opts.Store, search: opts.Search, lineage: opts.Lineage, tokens: opts.Tokens, links: opts.Links, notifier: opts.Notifier},
		Complexity: complexity(),
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	// Both caches are bounded by the bytes of the queries they hold; a
	// parsed document takes some twenty times its text.
	srv.SetQueryCache(newSizedCache(maxCachedQueries, func(query string, _ *ast.QueryDocument) int { return len(query) }))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: newSizedCache(maxCachedQueries, func(_, query string) int { return len(query) })})
	// Operation context mutators run in the order they are added: the
	// cheap limits first, so that the complexity limit, which walks every
	// fragment as many times as it is spread, never sees a huge expansion.
	srv.Use(operationLimits{maxDepth: opts.DepthLimit, maxFields: opts.FieldLimit})
	srv.Use(nulArguments{})
	srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	srv.SetValidationRulesFn(validationRules)
	srv.AroundResponses(capErrors)
	srv.SetErrorPresenter(errorPresenter(opts.Logger, opts.Store))
	srv.SetRecoverFunc(recoverFunc(opts.Logger))
	srv.AroundResponses(noteUnavailable)

	return &endpoint{opts: opts, api: srv, graphiql: graphiql.New("/graphql")}
}

type endpoint struct {
	opts     Options
	api      http.Handler
	graphiql *graphiql.Handler
}

func (h *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case h.graphiql.IsAsset(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead),
		r.Method == http.MethodGet && r.URL.Query().Get("query") == "" && r.URL.Query().Get("extensions") == "" && acceptsHTML(r):
		h.graphiql.ServeHTTP(w, r)
		return
	}
	if r.ContentLength > h.opts.MaxBodyBytes {
		tooLarge(w, h.opts.MaxBodyBytes)
		return
	}
	// The time limit covers the whole request: reading its body, checking,
	// parsing and validating its query (bounded by checkDocument, as they
	// cannot be interrupted), and running it.
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		// A server that cannot set a deadline (a test recorder) reads
		// without one.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(deadline)
		// Read the body here, so that one too large (sent without a
		// Content-Length) gets 413 rather than a decoding error.
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			tooLarge(w, h.opts.MaxBodyBytes)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The deadline stays, so that net/http gives up on the rest
			// of the body rather than wait for it, and closes.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, CodeTimeout, fmt.Sprintf("the request body took longer than the time limit of %s to arrive", h.opts.Timeout))
			return
		case err != nil:
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		// With the body read, the deadline is lifted: net/http cancels the
		// request when a read past it fails, and the time limit's own
		// error is TIMEOUT.
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	var query string
	switch {
	case (transport.POST{}).Supports(r):
		// Check the body before gqlgen decodes it: its error names Go
		// types and echoes the whole body back.
		var msg string
		if query, msg = checkRequestBody(body); msg != "" {
			writeError(w, http.StatusBadRequest, codeBadRequest, msg)
			return
		}
	case r.Method == http.MethodGet:
		if msg := checkURLParams(r.URL.Query()); msg != "" {
			writeError(w, http.StatusBadRequest, codeBadRequest, msg)
			return
		}
		query = r.URL.Query().Get("query")
	}
	// gqlgen refuses any other request before parsing a query.
	if err := checkDocument(query); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, err)
		return
	}
	ctx = withLoaders(ctx, newLoaders(h.opts.Store, h.opts.SLOs))
	uw := &unavailableWriter{ResponseWriter: w}
	ctx = context.WithValue(ctx, unavailableKey{}, &uw.unavailable)
	h.api.ServeHTTP(uw, r.WithContext(ctx))
}

type unavailableKey struct{}

// noteUnavailable marks a response that answered no field because the
// catalog database is unavailable, for unavailableWriter to send as 503:
// a client or a proxy that looks only at the status then knows to retry.
// A response that answered some fields stays 200, its errors saying
// UNAVAILABLE for the others.
func noteUnavailable(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	flag, _ := ctx.Value(unavailableKey{}).(*bool)
	if resp == nil || flag == nil || !answeredNothing(resp.Data) {
		return resp
	}
	for _, e := range resp.Errors {
		if e.Extensions["code"] == CodeUnavailable {
			*flag = true
			break
		}
	}
	return resp
}

// answeredNothing reports whether data, a response's "data" member, is
// null or holds only nulls.
func answeredNothing(data json.RawMessage) bool {
	if jsonKind(data) == "null" {
		return true
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return false
	}
	for _, v := range fields {
		if jsonKind(v) != "null" {
			return false
		}
	}
	return true
}

// unavailableWriter sends 503 instead of the 200 of a response that
// noteUnavailable marked.
type unavailableWriter struct {
	http.ResponseWriter
	unavailable bool
	wrote       bool
}

// WriteHeader sends code, or 503 for a marked 200.
func (w *unavailableWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code == http.StatusOK && w.unavailable {
			code = http.StatusServiceUnavailable
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends the status first, as WriteHeader would.
func (w *unavailableWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *unavailableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func acceptsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == "text/html" {
			return true
		}
	}
	return false
}

// tooLarge answers 413 in the GraphQL error shape.
func tooLarge(w http.ResponseWriter, limit int64) {
	writeError(w, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", fmt.Sprintf("request body larger than %d bytes", limit))
}

// codeBadRequest is the extensions.code of a POST body that is not a
// GraphQL request in JSON.
const codeBadRequest = "BAD_REQUEST"

// checkRequestBody says what is wrong with body, a POST body that should
// be a GraphQL request in JSON, or returns its query and "" if nothing is.
// It never quotes the body, which may be large.
func checkRequestBody(body []byte) (query, problem string) {
	// Members match case-insensitively, as they do for gqlgen.
	var p struct {
		Query         json.RawMessage `json:"query"`
		OperationName json.RawMessage `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	err := json.Unmarshal(body, &p)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return "", fmt.Sprintf("json request body could not be decoded: %v at offset %d", syntax, syntax.Offset)
	}
	if k := jsonKind(body); k != "an object" {
		return "", "json request body must be an object, not " + k
	}
	if err != nil {
		return "", "json request body could not be decoded: " + err.Error()
	}
	for _, m := range []struct {
		name, want string
		value      json.RawMessage
	}{
		{"query", "a string", p.Query},
		{"operationName", "a string", p.OperationName},
		{"variables", "an object", p.Variables},
		{"extensions", "an object", p.Extensions},
	} {
		if k := jsonKind(m.value); k != m.want && k != "null" {
			return "", fmt.Sprintf("json request body: %q must be %s, not %s", m.name, m.want, k)
		}
	}
	_ = json.Unmarshal(p.Query, &query) // a string or null, as checked above
	return query, ""
}

// checkURLParams says what is wrong with the JSON parameters of a GET
// request (variables, extensions), or returns "" if nothing is: gqlgen's
// own error names Go types and has no code.
func checkURLParams(q url.Values) string {
	for _, name := range []string{"variables", "extensions"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		var syntax *json.SyntaxError
		if err := json.Unmarshal([]byte(v), new(json.RawMessage)); errors.As(err, &syntax) {
			return fmt.Sprintf("URL parameter %q could not be decoded as JSON: %v at offset %d", name, syntax, syntax.Offset)
		} else if err != nil {
			return fmt.Sprintf("URL parameter %q could not be decoded as JSON: %v", name, err)
		}
		if k := jsonKind(json.RawMessage(v)); k != "an object" && k != "null" {
			return fmt.Sprintf("URL parameter %q must be a JSON object, not %s", name, k)
		}
	}
	return ""
}

// jsonKind names the kind of the valid JSON value v; a missing value is
// "null".
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "null"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// writeError answers status with one error in the GraphQL error shape, for
// requests refused before gqlgen sees them.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrors(w, status, &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}})
}

func writeErrors(w http.ResponseWriter, status int, errs ...*gqlerror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct { //nolint:errcheck // only fails if the client has gone
		Errors gqlerror.List `json:"errors"`
	}{errs})
}
