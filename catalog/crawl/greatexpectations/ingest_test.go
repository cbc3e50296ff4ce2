package greatexpectations_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog"
	"almanac/catalog/crawl/greatexpectations"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

const warehouseNS = "postgres://warehouse.internal:5432"

// TestIngest crawls Great Expectations results into a real catalog: the
// checks and every result are kept, crawling again records nothing twice,
// and a crawl that no longer reports a check marks it removed while its
// results stay.
func TestIngest(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := greatexpectations.Config{Source: "great_expectations:warehouse", Namespace: warehouseNS, Database: "analytics",
		Paths: []string{"testdata/gx1_store", "testdata/gx1_checkpoint", "testdata/shared"}}
	crawl := func(cfg greatexpectations.Config) catalog.CrawlRun {
		t.Helper()
		run, err := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return greatexpectations.Crawl(ctx, cfg) })
		if err != nil {
			t.Fatalf("crawl: %v", err)
		}
		if run.Status != catalog.CrawlSucceeded {
			t.Fatalf("crawl %s: %v", run.Status, run.Errors)
		}
		return run
	}

	run := crawl(cfg)
	// 5 orders, 3 payments, 11 basic.warning and 10 titanic checks;
	// 8 + 3 + 22 + 10 results.
	if diff := cmp.Diff(counts{Checks: 29, Live: 29, Results: 43, Failed: 10}, count(t, pool)); diff != "" {
		t.Errorf("catalog after the first crawl (-want +got):\n%s", diff)
	}
	if run.Counts.Checks != 29 || run.Counts.Results != 43 {
		t.Errorf("run counts %+v, want 29 checks and 43 results", run.Counts)
	}

	// Observed values are kept with the results, structured ones as JSON.
	var observed, structured int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE observed <> ''), count(*) FILTER (WHERE observed LIKE '{%')
		FROM quality_results`).Scan(&observed, &structured); err != nil {
		t.Fatal(err)
	}
	if observed == 0 || structured == 0 {
		t.Errorf("%d results with an observed value, %d structured; want some of each", observed, structured)
	}

	run = crawl(cfg)
	if run.Counts.Results != 0 {
		t.Errorf("second crawl recorded %d results, want none", run.Counts.Results)
	}

	// Without the shared fixtures their checks are gone; the results stay.
	cfg.Paths = cfg.Paths[:2]
	crawl(cfg)
	if diff := cmp.Diff(counts{Checks: 29, Live: 8, Results: 43, Failed: 10}, count(t, pool)); diff != "" {
		t.Errorf("catalog after a crawl without the shared fixtures (-want +got):\n%s", diff)
	}
}

// counts counts the checks (all, and those not removed) and the results
// (all, and those not passed) in the catalog.
type counts struct{ Checks, Live, Results, Failed int }

func count(t *testing.T, pool *pgxpool.Pool) (c counts) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM quality_checks),
		       (SELECT count(*) FROM quality_checks WHERE removed_at IS NULL),
		       (SELECT count(*) FROM quality_results),
		       (SELECT count(*) FROM quality_results WHERE status <> 'pass')`).Scan(&c.Checks, &c.Live, &c.Results, &c.Failed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
