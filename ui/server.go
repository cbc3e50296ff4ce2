// Package ui owns Almanac's web portal: the server-rendered pages (templ
// components, one file per page, each fed a view model built by a plain
// function), their embedded static assets, the routes, the mapping of
// catalog errors to error pages, and the operational endpoints that sit
// beside them (/healthz, /readyz, /metrics).
//
// Pages never send half a document: every page is rendered into a buffer
// first, and only a complete page or a complete error page is written.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/search"
)

// Options configure a Server.
type Options struct {
	// Store is the catalog the pages read. Required.
	Store *store.Store
	// Logger receives request logs (debug) and failures (error). Nil
	// discards them.
	Logger *slog.Logger
	// Ready reports whether the server can serve: database reachable and
	// migrations current. /readyz calls it. Nil pings the store's pool.
	Ready func(ctx context.Context) error
	// Registry receives the server's metrics, the Go runtime and process
	// collectors and the catalog gauges; /metrics serves it. Nil uses a new
	// registry of the server's own.
	Registry *prometheus.Registry
	// Search is the full-text index behind /search and the search box's
	// suggestions. Nil sends /search to the dataset listing filtered by
	// name prefix.
	Search *search.Index
	// Lineage is the lineage graph behind the explorer at /lineage/…; nil
	// leaves the explorer out.
	Lineage *lineage.Graph
}

// Server serves the portal. It holds no per-request state, so any number
// of replicas can run behind a load balancer.
type Server struct {
	store    *store.Store
	log      *slog.Logger
	ready    func(ctx context.Context) error
	registry *prometheus.Registry
	search   *search.Index
	lineage  *lineage.Graph
	requests *prometheus.HistogramVec
	// now is the clock the pages show relative times against; tests fix it.
	now func() time.Time
}

// New returns a server over opts.Store and registers its metrics with
// opts.Registry.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("ui: no store")
	}
	s := &Server{
		store:    opts.Store,
		log:      opts.Logger,
		ready:    opts.Ready,
		registry: opts.Registry,
		search:   opts.Search,
		lineage:  opts.Lineage,
		now:      time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.ready == nil {
		s.ready = func(ctx context.Context) error { return s.store.Pool().Ping(ctx) }
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "almanac_http_request_duration_seconds",
		Help:    "Latency of HTTP requests to the portal by method, route pattern and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})
	var err error
	if s.requests, err = register(s.registry, requests); err != nil {
		return nil, err
	}
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&catalogCollector{store: s.store},
	} {
		if _, err := register(s.registry, c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// register registers c, or returns the collector already registered under
// the same descriptors, so that several servers (tests, a reload) can share
// one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
		return c, nil // an equal collector of another type serves the same metrics
	}
	if err != nil {
		return c, fmt.Errorf("ui: register metrics: %w", err)
	}
	return c, nil
}

// Handler returns the portal with all its routes, wrapped in the request
// metrics, request logging and security headers.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()

	// Pages.
	mux.Handle("GET /{$}", s.handle(s.serveHome))
	mux.Handle("GET /datasets/{ns}/{name...}", s.handle(s.serveDataset))
	mux.Handle("GET /sources", s.handle(s.serveSources))
	mux.Handle("GET /runs/{id}", s.handle(s.serveRun))
	if s.search != nil {
		mux.Handle("GET /search", s.handle(s.serveSearchPage))
		mux.Handle("GET /search/suggest", s.handle(s.serveSuggest))
	} else {
		mux.Handle("GET /search", s.handle(s.serveSearch))
	}
	if s.lineage != nil {
		mux.Handle("GET /lineage/{ns}/{name...}", s.handle(s.serveLineage))
	}
	mux.Handle("GET /static/", staticHandler())
	// Anything else is a page that does not exist, shown as one.
	mux.Handle("GET /", s.handle(s.serveNotFound))

	// Operations.
	mux.HandleFunc("GET /healthz", s.serveHealthz)
	mux.HandleFunc("GET /readyz", s.serveReadyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{s.log},
		ErrorHandling: promhttp.ContinueOnError,
	}))

	return securityHeaders(s.instrument(mux))
}

// serveHealthz reports that the process is up; it checks nothing else, so
// that an orchestrator restarts the process only when it is wedged.
func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, "ok")
}

// readyTimeout bounds a readiness check, so that a hung database makes the
// server unready rather than the probe time out.
const readyTimeout = 3 * time.Second

// serveReadyz reports whether the server can serve requests, with the
// reason when it cannot.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not ready: %v", err)
		return
	}
	fmt.Fprint(w, "ok")
}

// serveSearch stands in for the search page when the server has no search
// index: it browses datasets whose name starts with the query.
func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	target := "/"
	if q != "" {
		target = "/?" + url.Values{"prefix": {q}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// serveNotFound answers every path no route claims.
func (s *Server) serveNotFound(w http.ResponseWriter, r *http.Request) error {
	return notFound("There is no page at this address.")
}

// promLogger passes promhttp's errors to slog.
type promLogger struct{ log *slog.Logger }

// Println logs one promhttp error.
func (l promLogger) Println(v ...any) { l.log.Error("metrics: " + fmt.Sprint(v...)) }
