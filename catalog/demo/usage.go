package demo

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"

	"almanac/catalog/pgcluster"
)

// workload is what the demo's analysts and dashboards run on the
// warehouse before each crawl, so that pg_stat_statements has counted
// reads for the Usage sections to show: as role, n times.
var workload = []struct {
	role string
	n    int
	sql  string
}{
	{"finance_team", 40, `SELECT order_id, net_revenue_usd FROM marts.fct_orders WHERE order_id = $1`},
	{"finance_team", 12, `SELECT c.country_code, sum(o.net_revenue_usd) FROM marts.fct_orders o JOIN marts.dim_customers c USING (customer_key) GROUP BY c.country_code`},
	{"data_platform", 25, `SELECT revenue_date, order_count FROM marts.fct_daily_revenue ORDER BY revenue_date DESC LIMIT $1`},
	{"data_platform", 8, `SELECT count(*) FROM marts.dim_customers WHERE customer_segment = $1`},
	{"analytics_engineers", 5, `SELECT * FROM marts.dim_date WHERE date_key = $1`},
}

// PreloadStatements makes the demo's private cluster load
// pg_stat_statements, restarting it once when it did not: the extension
// must be in shared_preload_libraries. It returns the running cluster.
func PreloadStatements(ctx context.Context, c *pgcluster.Cluster, dir string, log *slog.Logger) (*pgcluster.Cluster, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return c, fmt.Errorf("demo: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var libs string
	if err := conn.QueryRow(ctx, `SELECT current_setting('shared_preload_libraries')`).Scan(&libs); err != nil {
		return c, fmt.Errorf("demo: %w", err)
	}
	if strings.Contains(libs, "pg_stat_statements") {
		return c, nil
	}
	if _, err := conn.Exec(ctx, `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`); err != nil {
		return c, fmt.Errorf("demo: preload pg_stat_statements: %w", err)
	}
	log.Info("restarting private PostgreSQL to load pg_stat_statements")
	if err := c.Stop(ctx); err != nil {
		return c, err
	}
	started, err := pgcluster.Start(ctx, dir, log)
	if err != nil {
		return c, err // stopped: stopping it again is no error
	}
	return started, nil
}

// RunWorkload installs pg_stat_statements in the warehouse at whURL
// and runs workload, when the server preloads the extension; it says
// why not in the log otherwise. Nothing here stops the demo.
func RunWorkload(ctx context.Context, whURL string, log *slog.Logger) {
	conn, err := pgx.Connect(ctx, whURL)
	if err != nil {
		log.Warn("demo workload: no usage to show", "error", err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var libs string
	if err := conn.QueryRow(ctx, `SELECT current_setting('shared_preload_libraries')`).Scan(&libs); err != nil || !strings.Contains(libs, "pg_stat_statements") {
		log.Info("demo workload skipped: the server does not preload pg_stat_statements", "shared_preload_libraries", libs)
		return
	}
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		log.Warn("demo workload: no usage to show", "error", err)
		return
	}
	for _, w := range workload {
		if _, err := conn.Exec(ctx, `SELECT set_config('role', $1, false)`, w.role); err != nil {
			log.Warn("demo workload", "role", w.role, "error", err)
			continue
		}
		for i := range w.n {
			var args []any
			if strings.Contains(w.sql, "$1") {
				args = []any{workloadArg(w.sql, i)}
			}
			rows, err := conn.Query(ctx, w.sql, args...)
			if err == nil {
				rows.Close()
				err = rows.Err()
			}
			if err != nil {
				log.Warn("demo workload", "role", w.role, "error", err)
				break
			}
		}
	}
	if _, err := conn.Exec(ctx, `RESET ROLE`); err != nil {
		log.Warn("demo workload", "error", err)
	}
}

// workloadArg is the i-th value of a workload statement's parameter.
func workloadArg(sql string, i int) any {
	if strings.Contains(sql, "customer_segment") {
		return []string{"new", "repeat", "loyal"}[i%3]
	}
	return int64(i%20 + 1)
}
