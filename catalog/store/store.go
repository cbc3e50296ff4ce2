// Package store is the PostgreSQL store of the catalog: it reads datasets
// with their facts from every source, and it ingests harvests, one
// transaction per batch, recording crawl runs, schema history and the
// change log. Driver errors are translated here into the error kinds of
// package catalog.
//
// One file per table family answers each question, reads and writes:
//
//   - datasets.go: datasets and their facts (columns, keys, owners, tags),
//     read in batches by id, found by filters;
//   - schema.go: schema versions;
//   - ingest.go: a harvest written, dataset facts first;
//   - jobs.go: jobs, their facts and inputs and outputs (the dataset
//     lineage);
//   - runs.go: runs of jobs;
//   - columnlineage.go: column lineage;
//   - aliases.go: dataset aliases, and what a key means;
//   - push.go: what push sources (OpenLineage) report;
//   - events.go: the raw OpenLineage events, until derived;
//   - quality.go: quality checks, results and freshness;
//   - metrics.go: dataset metrics;
//   - crawlruns.go: crawls, their runs and the warnings they leave;
//   - sources.go: configured sources;
//   - changelog.go: the change log and following it;
//   - searchdocs.go: what the search index reads;
//   - audit.go: people's edits and their audit log;
//   - errors.go: driver errors as catalog error kinds.
package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
)

// Store reads and writes the catalog in PostgreSQL.
type Store struct {
	pool db
	now  func() time.Time
}

// New returns a store over a migrated database.
func New(pool *pgxpool.Pool) *Store {
	// Times are kept to the microsecond, as PostgreSQL stores them, so that
	// what a write returns equals what a later read finds.
	return &Store{pool: db{Pool: pool}, now: func() time.Time { return time.Now().Truncate(time.Microsecond) }}
}

// Pool returns the connection pool, for health checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool.Pool }

// Ping checks that the catalog database answers; an outage is
// catalog.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping catalog database: %w", Unavailable(err))
	}
	return nil
}

// customPlan, as the first argument of a query, has PostgreSQL plan it
// for the arrays it is given each time, rather than from the prepared
// statement's plan cache. After five executions the cache may settle on a
// generic plan, which takes every array parameter for 10 elements, and
// matches a column against "= ANY($1)" by walking the array for each row
// rather than by hashing it. On a catalog written since its last ANALYZE
// the planner believes its tables nearly empty, and such plans compared
// every row with every element: the popularity counts of the 1,000
// datasets an OpenLineage push reads took 0.8 to 2 s a push, against 20
// ms planned for the array (BenchmarkIngest). Statements taking key or id
// arrays of any length on a hot path use it. It sends the statement
// unnamed, parsed and planned again each time (a fresh unnamed statement
// never reaches the five executions after which PostgreSQL considers a
// generic plan), in one round trip once pgx has cached its description:
// DescribeExec, used before, asked for the description each time, one
// more round trip a statement, and a dataset page's ten such reads made
// its p50 1.5–2 ms slower (BenchmarkScale at 100,000 datasets).
const customPlan = pgx.QueryExecModeCacheDescribe

func splitKeys(keys []catalog.Key) (nss, names []string) {
	nss, names = make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		nss[i], names[i] = k.Namespace, k.Name
	}
	return nss, names
}

func splitJobKeys(keys []catalog.JobKey) (nss, names []string) {
	nss, names = make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		nss[i], names[i] = k.Namespace, k.Name
	}
	return nss, names
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
