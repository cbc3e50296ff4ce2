// Package demo builds the demo catalog `almanac demo` (`make run`)
// serves: an e-commerce warehouse in PostgreSQL whose schema changes once,
// a dbt project over it, fourteen days of an Airflow DAG's OpenLineage
// events, SQL checks with a history and SLOs, and two owning teams. It
// only writes through the store; the binary wires it to a server, whose
// workers derive runs, incidents and SLO reports from what it stored.
package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/crawl"
	"almanac/catalog/store"
)

// Namespace is the OpenLineage namespace the demo warehouse is catalogued
// under, fixed so that it does not follow the private cluster's port.
const Namespace = "postgres://warehouse.demo:5432"

// WarehouseSource names the demo warehouse's Postgres source.
const WarehouseSource = "demo"

// Build fills the catalog st with the demo: it crawls the warehouse at
// whURL (as the source warehouse), changes its schema once and crawls it
// again, harvests the dbt project (the source dbt, over WriteDBT's
// directory), makes the teams owners, and, into a catalog without the
// demo's DAG, stores the DAG's OpenLineage events for the server's worker
// to derive, backfills the checks' history and makes the edits people
// would have made (see edit). It is idempotent: a second
// Build over the same catalog only crawls again.
func Build(ctx context.Context, st *store.Store, r *crawl.Runner, warehouse, dbt crawl.Source, whURL string, now time.Time, log *slog.Logger) error {
	whCfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		return fmt.Errorf("demo warehouse url: %w", err)
	}
	db := whCfg.Database
	RunWorkload(ctx, whURL, log)
	if _, err := r.Crawl(ctx, warehouse); err != nil {
		return err
	}
	// A warehouse built now changes its schema after the first crawl, and
	// is crawled again: the catalog keeps both versions.
	if evolved, err := evolveWarehouse(ctx, whURL); err != nil {
		return err
	} else if evolved {
		if _, err := r.Crawl(ctx, warehouse); err != nil {
			return err
		}
	}
	if _, err := r.Crawl(ctx, dbt); err != nil {
		return err
	}
	if err := seedTeams(ctx, st, db); err != nil {
		return err
	}
	// The OpenLineage worker the server starts derives the replayed runs.
	n, err := replayLineage(ctx, st, now, db)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	log.Info("replayed the demo Airflow DAG's OpenLineage events", "events", n, "days", LineageDays)
	// A fresh demo catalog: give its checks a history too.
	checks, _, err := Quality(whURL)
	if err != nil {
		return err
	}
	if err := backfillChecks(ctx, st, checks, now); err != nil {
		return err
	}
	return edit(ctx, st, now, db)
}
