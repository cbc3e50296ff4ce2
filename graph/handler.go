// Package graph serves Almanac's GraphQL API: the schema in schema.graphqls,
// thin resolvers over the catalog store, per-request dataloaders so that no
// list costs a query per item, limits on what one request may ask, and one
// error presenter that maps catalog error kinds to extensions.code.
//
// Who may edit is decided in package catalog (catalog.AuthorizeEdit); this
// package only learns who the principal is, from Options.Authenticate.
package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"almanac/catalog"
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
)

// Options configure the handler. Store is required; the rest have defaults.
type Options struct {
	Store *store.Store
	// Search answers the search query; nil makes it fail with a clear
	// error.
	Search *search.Index
	// Lineage answers the lineage and impact queries; nil makes them fail
	// with a clear error.
	Lineage *lineage.Follower
	Logger  *slog.Logger
	// Authenticate says who makes a request. Nil, or false, means
	// anonymous: reading is allowed, every mutation fails UNAUTHENTICATED.
	Authenticate func(*http.Request) (catalog.Principal, bool)
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64
	// ComplexityLimit and DepthLimit bound what one operation may ask.
	ComplexityLimit int
	DepthLimit      int
}

// DevAuthenticator treats every request as made by login with the editor
// role: for local development until single sign-on lands. Never use it on
// a server others can reach.
func DevAuthenticator(login string) func(*http.Request) (catalog.Principal, bool) {
	return func(*http.Request) (catalog.Principal, bool) {
		return catalog.Principal{Login: login, Role: catalog.RoleEditor}, true
	}
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
	schema := NewExecutableSchema(Config{
		Resolvers:  &Resolver{store: opts.Store, search: opts.Search, lineage: opts.Lineage},
		Complexity: complexity(),
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(depthLimit{max: opts.DepthLimit})
	srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	srv.SetErrorPresenter(errorPresenter(opts.Logger))
	srv.SetRecoverFunc(recoverFunc(opts.Logger))

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
	if r.Body != nil && r.Body != http.NoBody {
		// Read the body here, so that one too large (sent without a
		// Content-Length) gets 413 rather than a decoding error.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			tooLarge(w, h.opts.MaxBodyBytes)
			return
		case err != nil:
			http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	var p catalog.Principal
	if h.opts.Authenticate != nil {
		if q, ok := h.opts.Authenticate(r); ok {
			p = q
		}
	}
	ctx = withPrincipal(ctx, p)
	ctx = withLoaders(ctx, newLoaders(h.opts.Store))
	h.api.ServeHTTP(w, r.WithContext(ctx))
}

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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	fmt.Fprintf(w, `{"errors":[{"message":"request body larger than %d bytes","extensions":{"code":"REQUEST_TOO_LARGE"}}]}`+"\n", limit)
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p catalog.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalFrom returns who makes the request; the zero Principal is
// anonymous.
func principalFrom(ctx context.Context) catalog.Principal {
	p, _ := ctx.Value(principalKey{}).(catalog.Principal)
	return p
}
