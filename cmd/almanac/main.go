// Command almanac is the Almanac metadata catalog: one binary that crawls
// sources into a PostgreSQL catalog and serves the portal. It only wires
// the parts together; see the README for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/memory"
	"almanac/cmd/almanac/config"
	"almanac/migrations"
)

const usage = `almanac — metadata catalog and data discovery portal

Usage:
  almanac serve   [-config almanac.yaml] [-force]   serve the portal and run scheduled crawls
                                                    (-force: without sign-in on a non-loopback address)
  almanac crawl   [-config almanac.yaml] [source…]  crawl sources now (all when none named)
  almanac check   [-config almanac.yaml] [check…]   run SQL checks now (all when none named); fails
                                                    when one fails or errors, or a check has a problem
  almanac migrate [-config almanac.yaml]            apply database migrations
  almanac reindex [-config almanac.yaml]            rebuild the search index from the catalog
  almanac demo    [-listen 127.0.0.1:8080] [-force] [-reset] start a private PostgreSQL with a demo warehouse, crawl it, serve
                                                    (-force: on a non-loopback address, where anyone can edit)
  almanac version                                   print the version

Common flags:
  -config FILE       configuration file (default $ALMANAC_CONFIG, else none)
  -log-format FORMAT text or json (overrides the file)
  -log-level LEVEL   debug, info, warn or error (overrides the file)
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "almanac:", err)
		os.Exit(1)
	}
}

// errUsage asks for the usage text to be printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := fs.String("config", getenv("ALMANAC_CONFIG"), "configuration file")
	logFormat := fs.String("log-format", "", "text or json")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	listen := fs.String("listen", "", "address to serve on (overrides the file)")
	force, reset := new(bool), new(bool)
	switch cmd {
	case "demo":
		force = fs.Bool("force", false, "serve the demo on a non-loopback address anyway")
		reset = fs.Bool("reset", false, "start the demo afresh: drop its catalog, warehouse and search index first")
	case "serve":
		force = fs.Bool("force", false, "serve without sign-in (auth mode none) on a non-loopback address anyway")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, "almanac", version)
		return nil
	}
	cfg, err := config.LoadConfig(*configPath, getenv)
	if err != nil {
		return err
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if *logLevel != "" {
		cfg.Log.Level = *logLevel
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log, err := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	if memory.Tune(uint64(cfg.Memory.HeapTarget)) {
		log.Debug("garbage collector tuned", "heap_target", uint64(cfg.Memory.HeapTarget))
	}

	switch cmd {
	case "serve":
		if err := checkExposure(cfg, *force, log); err != nil {
			return err
		}
		pool, st, err := openCatalog(ctx, cfg)
		if err != nil {
			return err
		}
		defer pool.Close()
		if cfg.Database.ReadURL != "" {
			read, err := connect(ctx, cfg.Database.ReadURL)
			if err != nil {
				return fmt.Errorf("database.read_url: %w", err)
			}
			defer read.Close()
			st.SetReadReplica(read)
		}
		return serve(ctx, cfg, st, log, stdout, "")
	case "crawl":
		return crawlNow(ctx, cfg, log, fs.Args(), stdout)
	case "check":
		return checkNow(ctx, cfg, log, fs.Args(), stdout)
	case "migrate":
		pool, _, err := openCatalog(ctx, cfg)
		if err != nil {
			return err
		}
		pool.Close()
		fmt.Fprintf(stdout, "database at migration %d\n", migrations.Latest())
		return nil
	case "reindex":
		if err := reindex(ctx, cfg, log, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "search index rebuilt in %s\n", cfg.Search.IndexDir)
		return nil
	case "demo":
		return runDemo(ctx, cfg, log, *force, *reset)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// defaultPoolConns is the most connections one process opens to the
// catalog database unless its URL sets pool_max_conns.
const defaultPoolConns = 20

// connect opens a pool on the catalog database and checks it answers.
func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("no database: set database_url in the configuration file, or ALMANAC_DATABASE_URL (or run `almanac demo` for a private one)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	// pgx's default of max(4, cores) is too few for serve: the change-log
	// followers (search index, lineage, incidents, SLO reports,
	// notifications) and River's workers each hold a connection while
	// they work, and pages must still get one. The URL's pool_max_conns
	// says otherwise.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = max(cfg.MaxConns, defaultPoolConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to catalog database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to catalog database %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	return pool, nil
}
