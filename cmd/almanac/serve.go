package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/crawl"
	"almanac/catalog/incident"
	"almanac/catalog/notify"
	"almanac/catalog/sloreport"
	"almanac/catalog/store"
	"almanac/cmd/almanac/config"
	"almanac/graph"
	"almanac/lineage"
	"almanac/lineage/olapi"
	"almanac/migrations"
	"almanac/search"
	"almanac/ui"
)

// serve is `almanac serve` over the opened catalog st: the portal, the
// GraphQL API and scheduled crawls, until ctx ends. A request with an API
// token is made by the token's principal. With auth mode oidc people sign
// in; with mode none every other request is anonymous (reads only), and
// serve refuses an address others can reach unless forced. devLogin
// (`almanac demo`) makes every request without a token the editor
// devLogin's, without credentials.
func serve(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger, stdout io.Writer, devLogin string) error {
	// Profiles first, so that the start-up (the lineage graph's load, an
	// index build) can be profiled too.
	if cfg.DebugListen != "" {
		ln, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			return fmt.Errorf("debug_listen: listen on %s: %w", cfg.DebugListen, err)
		}
		if !loopback(cfg.DebugListen) {
			log.Warn("serving runtime profiles without sign-in on a non-loopback address: anyone who reaches it reads them", "debug_listen", cfg.DebugListen)
		}
		dlog := log.With("listener", "debug_listen")
		// It stops with serve, also when serve fails to start.
		dctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			if err := serveOn(dctx, ln, profiles(), dlog, nil); err != nil {
				dlog.Error("serving runtime profiles stopped", "err", err)
			}
		}()
	}
	// The demo signs every request in as its one user: no sign-in.
	var sso login
	if devLogin == "" {
		var err error
		if sso, err = newLogin(ctx, cfg, st, log); err != nil {
			return err
		}
	}
	pool := st.Pool()
	// The server registers the runtime and request metrics; the crawl
	// runner its own.
	reg := prometheus.NewRegistry()

	sources, err := crawlSources(cfg)
	if err != nil {
		return err
	}
	for _, err := range cfg.CheckProblems {
		log.Error("configuration item left out", "err", err)
	}
	if err := reportUnknownDatasets(ctx, st, cfg, log); err != nil {
		return err
	}
	// Notifications: the notifier follows the change log and enqueues
	// deliveries, which the scheduler's River client works. The search
	// index, opened below, judges saved searches once it is there.
	var idx *search.Index
	notifier, err := notify.New(st, notify.Config{
		Channels:  notifyChannels(cfg),
		PublicURL: cfg.PublicURL,
		Backoff:   cfg.Notifications.Backoff,
		Matches: func(ctx context.Context, query string, keys []catalog.Key) (map[catalog.Key]bool, error) {
			return idx.Matches(ctx, query, keys)
		},
		Logger: log.With("component", "notifications"),
	})
	if err != nil {
		return err
	}
	sched, err := crawl.NewScheduler(crawl.NewRunner(st, log, reg), sources,
		crawl.Options{Checks: cfg.RunChecks, QualityRetention: cfg.Quality.Retention, Register: []func(*river.Workers) (string, river.QueueConfig){notifier.Register}})
	if err != nil {
		return err
	}
	if err := sched.Start(ctx); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := sched.Stop(stopCtx); err != nil {
			log.Warn("job queue did not stop cleanly", "err", err)
		}
	}()

	// A replica without an index (a new one) builds it in the background
	// while it listens, unready (/readyz) until the index has caught up
	// with the change log.
	idx, err = search.Open(ctx, cfg.Search.IndexDir, st, search.Options{
		Logger: log.With("component", "search"), Abbreviations: cfg.Search.Abbreviations,
		Background: true, Progress: indexProgress(newProgress(stdout, cfg.Log.Format, log.With("component", "search"))),
	})
	if err != nil {
		return err
	}
	defer idx.Close()
	go func() {
		// Follow the change log until shutdown.
		if err := idx.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("search index stopped following the catalog", "err", err)
		}
	}()

	// The lineage graph, in memory, following the change log.
	lg := lineage.NewGraph()
	follower := lineage.NewFollower(st, lg, log.With("component", "lineage"))
	if err := follower.Load(ctx); err != nil {
		return fmt.Errorf("load lineage: %w", err)
	}
	go func() {
		if err := follower.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("lineage graph stopped following the catalog", "err", err)
		}
	}()

	// Incidents, opened and resolved from the change log, with their
	// impact from the lineage graph.
	sev, err := catalog.ParseSeverity(cfg.Incidents.MinCheckSeverity)
	if err != nil {
		return err
	}
	detector := incident.New(st, incident.Config{MinCheckSeverity: sev, Impact: follower.ImpactMany,
		SweepEvery: cfg.Incidents.SweepInterval, Logger: log.With("component", "incidents")})
	go func() {
		if err := detector.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("incident detector stopped following the catalog", "err", err)
		}
	}()

	go func() {
		if err := notifier.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("notifier stopped following the catalog", "err", err)
		}
	}()

	// SLO reports and anomalies, evaluated when the change log says their
	// inputs moved and as time passes, stored for pages and the API.
	evaluator := sloreport.New(st, sloreport.Config{SLOs: cfg.RunSLOs, Logger: log.With("component", "slos")})
	go func() {
		if err := evaluator.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("slo evaluator stopped following the catalog", "err", err)
		}
	}()

	// API tokens, checked before anything else: a wrong one is refused,
	// never taken for an anonymous request.
	tokens := auth.NewTokens(st, auth.TokenOptions{
		MaxLifetime: cfg.Tokens.MaxLifetime,
		LegacyToken: cfg.OpenLineage.Token,
		Logger:      log.With("component", "tokens"),
	})
	if cfg.OpenLineage.Token != "" {
		log.Warn("openlineage.token (ALMANAC_OPENLINEAGE_TOKEN) is deprecated: give each producer a service token with the lineage:write scope at /admin/tokens, then remove it")
	}

	// The OpenLineage endpoint Airflow, Spark and dbt post to: with an API
	// token that may post lineage, the shared token, or anonymously when
	// configured so explicitly.
	rc := olapi.NewReceiver(st, olapi.Config{
		Token:         cfg.OpenLineage.Token,
		Authenticated: !cfg.OpenLineage.AnonymousPosting(),
		Retention:     cfg.OpenLineage.Retention,
		Logger:        log.With("component", "openlineage"),
	})
	go func() {
		if err := rc.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
			log.Error("openlineage worker stopped", "err", err)
		}
	}()
	// Who makes a request: the bearer token first; then the demo's one
	// user, or the person whose session cookie it carries (nil with auth
	// mode none: Chain skips it).
	var person auth.Authenticator
	if devLogin != "" {
		person = auth.Dev(devLogin)
	} else if sso.sessions != nil {
		person = sso.sessions.Authenticate
	}
	authn := auth.Chain(tokens.Authenticate, person)
	proxies := make([]netip.Prefix, len(cfg.TrustedProxies))
	for i, p := range cfg.TrustedProxies {
		proxies[i] = netip.MustParsePrefix(p) // validated by config.LoadConfig
	}
	srv, err := ui.New(ui.Options{
		Store:    st,
		Search:   idx,
		Lineage:  lg,
		Logger:   log,
		Registry: reg,
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return err
			}
			if err := migrations.Check(ctx, pool); err != nil {
				return err
			}
			return idx.Ready()
		},
		GraphQL:         graph.NewHandler(graph.Options{Store: st, Search: idx, Lineage: follower, Tokens: tokens, Logger: log, SLOs: cfg.RunSLOs, Links: cfg.Links.Templates, Notifier: notifier}),
		Authenticate:    authn,
		Tokens:          tokens,
		OpenLineage:     rc,
		Unauthenticated: devLogin != "" || cfg.OpenLineage.AnonymousPosting(),
		PublicURL:       cfg.PublicURL,
		OIDC:            sso.oidc,
		Sessions:        sso.sessions,
		Roles:           sso.roles,
		RequireLogin:    sso.sessions != nil && !cfg.Auth.AnonymousRead,
		Demo:            devLogin,
		TrustedProxies:  proxies,
		SLOs:            cfg.RunSLOs,
		Links:           cfg.Links.Templates,
		Notifier:        notifier,
	})
	if err != nil {
		return err
	}
	// Team pages' aggregates, kept in the catalog behind its changes by
	// one replica at a time, so that no page view computes them.
	go func() {
		if err := srv.RunTeamRollups(ctx); err != nil && ctx.Err() == nil {
			log.Error("team rollups stopped", "err", err)
		}
	}()
	return listenAndServe(ctx, cfg.Listen, srv.Handler(), log, srv.CloseStreams)
}

// profiles serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/, and nothing else, for the debug_listen listener.
func profiles() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// checkExposure refuses, before anything starts, to serve without
// sign-in (auth mode none) on an address other machines reach, unless
// forced; forced, it warns.
func checkExposure(cfg *config.Config, force bool, log *slog.Logger) error {
	if cfg.Auth.Mode != "none" || loopback(cfg.Listen) {
		return nil
	}
	if !force {
		return fmt.Errorf("auth mode is none, so nobody signs in, and listen %s is reachable from other machines: "+
			"configure auth.mode: oidc, listen on 127.0.0.1 or localhost, or pass -force to serve without sign-in there anyway", cfg.Listen)
	}
	log.Warn("serving without sign-in on a non-loopback address (-force): anyone who reaches it reads the catalog", "listen", cfg.Listen)
	return nil
}

// login is how people sign in: nothing with auth mode none.
type login struct {
	oidc     *auth.OIDC
	sessions *auth.Sessions
	roles    auth.Roles
}

// newLogin reads the OIDC provider's discovery document (with auth mode
// oidc) and sets up sessions and the role mapping.
func newLogin(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (login, error) {
	a := cfg.Auth
	if a.Mode != "oidc" {
		return login{}, nil
	}
	roles := auth.Roles{Default: catalog.Role(a.Roles.Default), Groups: map[string]catalog.Role{}}
	for group, r := range a.Roles.Groups {
		roles.Groups[group] = catalog.Role(r[0]) // validated: one role each
	}
	redirect := a.RedirectURL(cfg.PublicURL)
	o, err := auth.NewOIDC(ctx, auth.OIDCConfig{
		Issuer: a.OIDC.Issuer, ClientID: a.OIDC.ClientID, ClientSecret: a.OIDC.ClientSecret,
		Scopes: a.OIDC.Scopes, RedirectURL: redirect,
		EmailClaim: a.OIDC.Claims.Email, NameClaim: a.OIDC.Claims.Name, GroupsClaim: a.OIDC.Claims.Groups,
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	})
	if err != nil {
		return login{}, fmt.Errorf("auth.oidc: %w", err)
	}
	sessions := auth.NewSessions(st, auth.SessionConfig{Idle: a.Session.Idle, Absolute: a.Session.Absolute, Secure: o.SecureCookies()}, log.With("component", "sessions"))
	if !o.SecureCookies() {
		log.Warn("session cookies are not Secure: the redirect URL is plain HTTP on a loopback address; use https anywhere else", "redirect_url", redirect)
	}
	return login{oidc: o, sessions: sessions, roles: roles}, nil
}

// notifyChannels are the configured notification channels.
func notifyChannels(cfg *config.Config) []notify.Channel {
	var out []notify.Channel
	for _, c := range cfg.Notifications.Channels {
		out = append(out, notify.Channel{Name: c.Name, Kind: notify.ChannelKind(c.Kind), URL: c.URL, Secret: c.Secret,
			APIKey: c.APIKey, Teams: c.Teams, Default: c.Default, Timeout: c.Timeout})
	}
	return out
}

// listenAndServe serves until ctx ends, then shuts down gracefully.
// onShutdown, when not nil, runs as shutdown starts: it ends the
// streams that would otherwise keep it waiting.
func listenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger, onShutdown func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return serveOn(ctx, ln, h, log, onShutdown)
}

// serveOn is listenAndServe on a listener already open.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, onShutdown func()) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if onShutdown != nil {
		hs.RegisterOnShutdown(onShutdown)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", "url", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// reindex is `almanac reindex`: rebuild the search index from the catalog,
// without reading the old one, which may be damaged.
func reindex(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	bar := newProgress(stdout, cfg.Log.Format, log)
	defer bar.Finish()
	idx, err := search.Create(ctx, cfg.Search.IndexDir, st, search.Options{Logger: log, Abbreviations: cfg.Search.Abbreviations, Progress: indexProgress(bar)})
	if err != nil {
		return err
	}
	return idx.Close()
}

// indexProgress shows a search index's build and long catch-ups on bar.
func indexProgress(bar *progress) func(search.Progress) {
	return func(p search.Progress) {
		if p.Stage == search.StageBuild {
			bar.Set("build search index", "datasets", p.Done, p.Total)
			return
		}
		bar.Set("catch up search index", "changes", p.Done, p.Total)
	}
}

// reportUnknownDatasets logs the SLOs and checks that name a dataset the
// catalog does not know (yet: a crawl may bring it), with where they are
// declared. They are kept: their evaluation finds no data until then.
func reportUnknownDatasets(ctx context.Context, st *store.Store, cfg *config.Config, log *slog.Logger) error {
	var keys []catalog.Key
	for _, s := range cfg.RunSLOs {
		keys = append(keys, s.Dataset)
	}
	for _, c := range cfg.RunChecks {
		keys = append(keys, c.Dataset)
	}
	if len(keys) == 0 {
		return nil
	}
	ids, err := st.DatasetIDs(ctx, keys)
	if err != nil {
		return err
	}
	for _, s := range cfg.RunSLOs {
		if _, ok := ids[s.Dataset]; !ok {
			log.Warn("slo names a dataset the catalog does not know", "slo", s.Name, "at", s.Origin, "dataset", s.Dataset.String())
		}
	}
	for _, c := range cfg.RunChecks {
		if _, ok := ids[c.Dataset]; !ok {
			log.Warn("check names a dataset the catalog does not know", "check", c.Name, "at", c.Origin, "dataset", c.Dataset.String())
		}
	}
	return nil
}
