package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/crawl"
	"almanac/catalog/store"
	"almanac/graph"
	"almanac/lineage"
	"almanac/lineage/olapi"
	"almanac/migrations"
	"almanac/search"
	"almanac/ui"
)

// serve is `almanac serve` over the opened catalog st: the portal, the
// GraphQL API and scheduled crawls, until ctx ends. Every API request is
// anonymous (reads only), unless devLogin is set (`almanac demo`): then
// every request is made by the editor devLogin, without credentials.
func serve(ctx context.Context, cfg *Config, st *store.Store, log *slog.Logger, devLogin string) error {
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
	sched, err := crawl.NewScheduler(crawl.NewRunner(st, log, reg), sources,
		crawl.Options{Checks: cfg.RunChecks, QualityRetention: cfg.Quality.Retention})
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

	idx, err := search.Open(ctx, cfg.Search.IndexDir, st, search.Options{Logger: log.With("component", "search"), Abbreviations: cfg.Search.Abbreviations})
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

	// The OpenLineage endpoint Airflow, Spark and dbt post to: only with a
	// token, or when anonymous posting is configured explicitly.
	var rc *olapi.Receiver
	if cfg.OpenLineage.Enabled() {
		rc = olapi.NewReceiver(st, olapi.Config{Token: cfg.OpenLineage.Token, Retention: cfg.OpenLineage.Retention, Logger: log.With("component", "openlineage")})
		go func() {
			if err := rc.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
				log.Error("openlineage worker stopped", "err", err)
			}
		}()
	}
	var authn auth.Authenticator
	if devLogin != "" {
		authn = auth.Dev(devLogin)
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
			return migrations.Check(ctx, pool)
		},
		GraphQL:         graph.NewHandler(graph.Options{Store: st, Search: idx, Lineage: follower, Logger: log, SLOs: cfg.RunSLOs}),
		Authenticate:    authn,
		OpenLineage:     rc,
		Unauthenticated: devLogin != "" || cfg.OpenLineage.AnonymousPosting(),
		PublicURL:       cfg.PublicURL,
		SLOs:            cfg.RunSLOs,
	})
	if err != nil {
		return err
	}
	return listenAndServe(ctx, cfg.Listen, srv.Handler(), log)
}

// listenAndServe serves until ctx ends, then shuts down gracefully.
func listenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
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
func reindex(ctx context.Context, cfg *Config, log *slog.Logger) error {
	pool, st, err := openCatalog(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	idx, err := search.Create(ctx, cfg.Search.IndexDir, st, search.Options{Logger: log, Abbreviations: cfg.Search.Abbreviations})
	if err != nil {
		return err
	}
	return idx.Close()
}

// reportUnknownDatasets logs the SLOs and checks that name a dataset the
// catalog does not know (yet: a crawl may bring it), with where they are
// declared. They are kept: their evaluation finds no data until then.
func reportUnknownDatasets(ctx context.Context, st *store.Store, cfg *Config, log *slog.Logger) error {
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
