// Package ui owns Almanac's web portal and the HTTP front of the server:
// the server-rendered pages (templ components, one file per page, each fed
// a view model built by a plain function), their embedded static assets,
// the mapping of catalog errors to error pages, the operational endpoints
// (/healthz, /readyz, /metrics), and the one route table (routes.go) that
// mounts them beside the GraphQL API and the OpenLineage endpoints, all
// behind the same middleware (middleware.go).
//
// Pages never send half a document: every page is rendered into a buffer
// first, and only a complete page or a complete error page is written.
package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/extlink"
	"almanac/catalog/notify"
	"almanac/catalog/slo"
	"almanac/catalog/store"
	"almanac/lineage"
	"almanac/lineage/olapi"
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
	// Lineage is the lineage graph behind the explorer at /lineage/… and
	// the Marquez-compatible reads at /api/v1/lineage and
	// /api/v1/column-lineage; nil leaves them out.
	Lineage *lineage.Graph
	// GraphQL is the GraphQL API with GraphiQL (graph.NewHandler), served
	// at /graphql; nil leaves it out.
	GraphQL http.Handler
	// OpenLineage receives the events producers post to /api/v1/lineage;
	// nil makes that endpoint answer 403, saying how to turn it on.
	OpenLineage *olapi.Receiver
	// Authenticate says who makes each request, for every route: pages,
	// GraphQL and the OpenLineage endpoint read it with
	// auth.PrincipalFrom. Nil makes every request anonymous.
	Authenticate auth.Authenticator
	// Tokens are the API tokens: with them, a request's Bearer token is
	// checked before anything else (a wrong one refused), and the token
	// pages are served (/account/tokens, /admin/tokens). Authenticate
	// should include Tokens.Authenticate. Nil leaves tokens out.
	Tokens *auth.Tokens
	// Unauthenticated says that the server takes writes without
	// credentials: the demo's GraphQL API, or anonymous OpenLineage
	// posting. It then answers only requests addressed to a loopback name
	// (localhost), an IP address or PublicURL's host, so that no web page
	// can reach it through a name of its own (DNS rebinding).
	Unauthenticated bool
	// PublicURL is the address people and producers reach the server by
	// when it is not a loopback one, such as https://almanac.example.com
	// behind a proxy. Its host is accepted in Unauthenticated mode, and
	// its origin is trusted to write across origins.
	PublicURL string
	// LoginPath is the portal's login page, which takes the page to
	// return to as its "next" parameter; pages link it where a login
	// would let the reader edit. Empty when nobody can log in.
	LoginPath string
	// CountsMaxAge is how stale the home page's catalog-wide counts
	// (headline numbers, facets, needs attention) may be while the
	// catalog keeps changing: they are read again when the change log
	// has moved, at most once per CountsMaxAge. Zero means
	// DefaultCountsMaxAge; a negative value reads them after every change.
	CountsMaxAge time.Duration
	// TeamsMaxAge is how stale a team page's aggregates (figures, SLOs,
	// trends, stale datasets) may be while the catalog keeps changing:
	// once the change log has moved, aggregates read less than
	// TeamsMaxAge ago are served while they are read again behind the
	// response. Zero means DefaultTeamsMaxAge; a negative value reads
	// them before the page after every change.
	TeamsMaxAge time.Duration
	// OIDC signs people in with an OpenID Connect provider at /auth/login
	// and /auth/callback; it needs Sessions. Nil leaves sign-in out.
	OIDC *auth.OIDC
	// Sessions keep people signed in; with them come /auth/logout, the
	// account page and the admin's sessions page. Authenticate should
	// include Sessions.Authenticate (serve chains it).
	Sessions *auth.Sessions
	// Roles maps the identity provider's groups to roles at sign-in.
	Roles auth.Roles
	// RequireLogin makes every page, GraphQL, the Marquez reads and
	// /metrics answer only a principal (catalog.AuthorizeRead): pages
	// send the browser to sign in, APIs answer 401. Health probes,
	// /auth/… and the static assets stay open.
	RequireLogin bool
	// Demo is the login every request is made as in `almanac demo`; the
	// layout says so on every page.
	Demo string
	// TrustedProxies are the reverse proxies in front of the server,
	// whose X-Forwarded-For names the client (see forwardedFor).
	TrustedProxies []netip.Prefix
	// SLOs are the SLOs declared in the configuration; a dataset's page
	// evaluates its own with those harvested.
	SLOs []slo.SLO
	// Links are the configured URL templates of the issue tracker, wiki
	// and code host: incident pages link to a new ticket, dataset pages
	// to their wiki page, run pages to their job's code.
	Links extlink.Templates
	// Notifier lets people follow datasets, teams and saved searches;
	// nil (or one without channels) leaves following out.
	Notifier *notify.Notifier
}

// DefaultCountsMaxAge bounds how stale the home page's counts get on a
// catalog that changes all the time; on one that does not they are exact.
const DefaultCountsMaxAge = 15 * time.Second

// Server serves the portal. It holds no per-request state, so any number
// of replicas can run behind a load balancer.
type Server struct {
	store    *store.Store
	log      *slog.Logger
	ready    func(ctx context.Context) error
	registry *prometheus.Registry
	search   *search.Index
	lineage  *lineage.Graph
	graphql  http.Handler
	marquez  *olapi.Reader
	receiver *olapi.Receiver
	// publicHost is PublicURL's host name, lower case; "" when none.
	publicHost      string
	unauthenticated bool
	authenticate    auth.Authenticator
	tokens          *auth.Tokens
	crossOrigin     *http.CrossOriginProtection
	loginPath       string
	csp             string // the Content-Security-Policy of every response
	counts          countsCache
	teams           teamCache
	publicURL       string
	oidc            *auth.OIDC
	sessions        *auth.Sessions
	roles           auth.Roles
	requireLogin    bool
	demo            string
	loginLimit      *loginLimiter
	trustedProxies  []netip.Prefix
	requests        *prometheus.HistogramVec
	slos            []slo.SLO
	links           extlink.Templates
	feed            *feedHub
	notifier        *notify.Notifier
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
		store:           opts.Store,
		log:             opts.Logger,
		ready:           opts.Ready,
		registry:        opts.Registry,
		search:          opts.Search,
		lineage:         opts.Lineage,
		graphql:         opts.GraphQL,
		receiver:        opts.OpenLineage,
		unauthenticated: opts.Unauthenticated,
		authenticate:    opts.Authenticate,
		tokens:          opts.Tokens,
		loginPath:       opts.LoginPath,
		counts:          countsCache{maxAge: cmp.Or(opts.CountsMaxAge, DefaultCountsMaxAge)},
		teams:           teamCache{maxAge: cmp.Or(opts.TeamsMaxAge, DefaultTeamsMaxAge)},
		publicURL:       opts.PublicURL,
		oidc:            opts.OIDC,
		sessions:        opts.Sessions,
		roles:           opts.Roles,
		requireLogin:    opts.RequireLogin,
		demo:            opts.Demo,
		loginLimit:      newLoginLimiter(10, 20),
		trustedProxies:  opts.TrustedProxies,
		slos:            opts.SLOs,
		links:           opts.Links,
		notifier:        opts.Notifier,
		crossOrigin:     http.NewCrossOriginProtection(),
		now:             time.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.feed = newFeedHub(s)
	if s.ready == nil {
		s.ready = s.store.Ping
	}
	s.csp = contentSecurityPolicy()
	if s.oidc != nil {
		if origin := s.oidc.EndSessionOrigin(); origin != "" {
			s.csp = contentSecurityPolicy(origin)
		}
		if s.sessions == nil {
			return nil, errors.New("ui: sign-in (OIDC) needs sessions")
		}
		if s.loginPath == "" {
			s.loginPath = "/auth/login"
		}
	}
	if s.requireLogin && s.authenticate == nil {
		return nil, errors.New("ui: reading needs a login, but nothing authenticates requests")
	}
	if s.lineage != nil {
		s.marquez = olapi.NewReader(s.lineage, s.store, s.log)
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("ui: public URL %q: want http:// or https:// and a host", opts.PublicURL)
		}
		s.publicHost = strings.ToLower(u.Hostname())
		if err := s.crossOrigin.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("ui: public URL %q: %w", opts.PublicURL, err)
		}
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "almanac_http_request_duration_seconds",
		Help:    "Latency of HTTP requests (pages, GraphQL, OpenLineage, operations) by method, route pattern and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})
	var err error
	if s.requests, err = register(s.registry, requests); err != nil {
		return nil, err
	}
	collectorsOf := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&catalogCollector{store: s.store},
	}
	if s.store.HasReadReplica() {
		collectorsOf = append(collectorsOf, newReplicaCollector(s.store))
	}
	for _, c := range collectorsOf {
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
// reason when it cannot. An unavailable database is said in so many
// words: the driver's error names the database's user, name and host,
// which only the log may show.
func (s *Server) serveReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := store.Unavailable(s.ready(ctx)); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err, s.store.OutageAttr(err))
		w.WriteHeader(http.StatusServiceUnavailable)
		reason := err.Error()
		if errors.Is(err, catalog.ErrUnavailable) {
			reason = "catalog database unavailable"
		}
		fmt.Fprint(w, "not ready: ", reason)
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
