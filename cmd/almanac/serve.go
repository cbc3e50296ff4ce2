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
	"almanac/catalog/incident"
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
	sched, err := crawl.NewScheduler(crawl.NewRunner(st, log, reg), sources)
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

	// Incidents, opened and resolved from the change log, with their
	// impact from the lineage graph.
	sev, err := catalog.ParseSeverity(cfg.Incidents.MinCheckSeverity)
	if err != nil {
		return err
	}
	detector := incident.New(st, incident.Config{MinCheckSeverity: sev, Impact: impactOf(follower, st), Logger: log.With("component", "incidents")})
	go func() {
		if err := detector.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("incident detector stopped following the catalog", "err", err)
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
		GraphQL:         graph.NewHandler(graph.Options{Store: st, Search: idx, Lineage: follower, Logger: log}),
		Authenticate:    authn,
		OpenLineage:     rc,
		Unauthenticated: devLogin != "" || cfg.OpenLineage.AnonymousPosting(),
		PublicURL:       cfg.PublicURL,
	})
	if err != nil {
		return err
	}
	return listenAndServe(ctx, cfg.Listen, srv.Handler(), log)
}

// impactOf is what is downstream of datasets by the lineage graph f
// follows, with the owners of each dataset, nearest first: the graph's
// reach of each, and the owners of all in one read.
func impactOf(f *lineage.Follower, st *store.Store) incident.ImpactFunc {
	return func(ctx context.Context, keys []catalog.Key) (map[catalog.Key][]catalog.ImpactedDataset, error) {
		levels := map[catalog.Key][][]catalog.Key{}
		var all []catalog.Key
		for _, k := range keys {
			ls, err := f.Graph().Downstream(k, 0)
			if errors.Is(err, catalog.ErrNotFound) {
				continue // no job reads or writes it: nothing downstream
			}
			if err != nil {
				return nil, err
			}
			levels[k] = ls
			for _, l := range ls {
				all = append(all, l...)
			}
		}
		owners, err := st.DatasetOwners(ctx, all)
		if err != nil {
			return nil, err
		}
		out := map[catalog.Key][]catalog.ImpactedDataset{}
		for k, ls := range levels {
			for d, l := range ls {
				for _, x := range l {
					out[k] = append(out[k], catalog.ImpactedDataset{Dataset: x, Distance: d + 1, Owners: owners[x]})
				}
			}
		}
		return out, nil
	}
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
