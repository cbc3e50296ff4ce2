package demo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/crawl"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// checkSpec is one of the demo's SQL checks, as the keys of checks would
// declare it: a template or SQL over a schema.table of the warehouse.
type checkSpec struct {
	name, table, column, template, sql, expect string
}

// checkSpecs are the demo's SQL checks. orders_landed_today fails (the
// warehouse's orders are from 2024), so the demo has a failing check
// and the incident it opens; the others pass. Each dataset the demo
// shows off (a mart, the revenue journal) has one.
var checkSpecs = []checkSpec{
	{name: "orders_landed_today", table: "raw.shop_orders",
		sql: "SELECT count(*) FROM raw.shop_orders WHERE placed_at > now() - interval '1 day'", expect: "> 0"},
	{name: "fct_orders_order_id_unique", table: "marts.fct_orders", column: "order_id", template: "unique"},
	{name: "fct_orders_customer_key_not_null", table: "marts.fct_orders", column: "customer_key", template: "not_null"},
	{name: "revenue_recognition_amount_usd_not_null", table: "finance.revenue_recognition", column: "amount_usd", template: "not_null"},
}

// origin is where the demo's checks and SLOs are declared.
const origin = "almanac demo (catalog/demo/quality.go)"

// Quality returns the demo's SQL checks on the warehouse at whURL and
// its SLOs, for the server to run and judge: the revenue journal's
// pipeline SLO is breached (its task's newest replayed run failed),
// fct_orders' on-time SLO burns its budget (one replayed run was late)
// and the staging view stg_orders has a freshness SLO.
func Quality(whURL string) ([]crawl.Check, []slo.SLO, error) {
	whCfg, err := pgx.ParseConfig(whURL)
	if err != nil {
		return nil, nil, fmt.Errorf("demo warehouse url: %w", err)
	}
	db := whCfg.Database
	var checks []crawl.Check
	for _, c := range checkSpecs {
		sql, args, expect := c.sql, []any(nil), c.expect
		if c.template != "" {
			var err error
			if sql, args, err = sqlcheck.Expand(sqlcheck.Template{Kind: c.template, Table: c.table, Column: c.column}); err != nil {
				return nil, nil, fmt.Errorf("demo check %s: %w", c.name, err)
			}
			expect = "= 0"
		}
		exp, err := sqlcheck.ParseExpectation(expect)
		if err != nil {
			return nil, nil, fmt.Errorf("demo check %s: %w", c.name, err)
		}
		typ := c.template
		if typ == "" {
			typ = "sql"
		}
		checks = append(checks, crawl.Check{
			Check: sqlcheck.Check{Name: c.name, Dataset: catalog.Key{Namespace: Namespace, Name: db + "." + c.table}, Column: c.column,
				Type: typ, SQL: sql, Args: args, Expect: exp, Severity: "error", Timeout: 30 * time.Second},
			// Every > 0 runs it as the server starts, then hourly.
			URL: whURL, Every: time.Hour, Origin: origin,
		})
	}
	window := 28 * 24 * time.Hour
	slos := []slo.SLO{
		{Name: "revenue-journal-posted", Dataset: catalog.Key{Namespace: Namespace, Name: db + ".finance.revenue_recognition"},
			Spec: slo.Spec{Kind: slo.Pipeline, Objective: 0.99, Window: window, MaxDuration: 30 * time.Minute}},
		{Name: "fct-orders-by-0300", Dataset: catalog.Key{Namespace: Namespace, Name: db + ".marts.fct_orders"},
			Spec: slo.Spec{Kind: slo.OnTime, Objective: 0.92, Window: window, Deadline: "03:00", TimeZone: "UTC", Updates: slo.UpdatesRuns}},
		// A view's SLO: staging is rebuilt by the daily dbt run.
		{Name: "stg-orders-fresh", Dataset: catalog.Key{Namespace: Namespace, Name: db + ".staging.stg_orders"},
			Spec: slo.Spec{Kind: slo.Freshness, Objective: 0.95, Window: window, MaxAge: 26 * time.Hour}},
	}
	for i := range slos {
		slos[i].Source, slos[i].Origin = "config", origin
		if err := slos[i].Spec.Validate(); err != nil {
			return nil, nil, fmt.Errorf("demo SLO %s: %w", slos[i].Name, err)
		}
	}
	return checks, slos, nil
}

// CheckDays is how many past days of results backfillChecks records,
// and OrdersStoppedDays how many of the latest of them
// orders_landed_today failed: the shop sync stopped three days ago.
const (
	CheckDays         = 13
	OrdersStoppedDays = 3
)

// backfillChecks records a result a day for the demo's checks over the
// CheckDays days before now, so that check history and the team
// pages' charts have shape; the server runs the checks for today.
func backfillChecks(ctx context.Context, st *store.Store, checks []crawl.Check, now time.Time) error {
	for _, c := range checks {
		var results []catalog.QualityResult
		for k := CheckDays; k >= 1; k-- {
			zero := int64(0)
			r := catalog.QualityResult{Check: c.Name, Dataset: c.Dataset, Status: catalog.QualityPass, Observed: "0", Failures: &zero,
				StartedAt: now.Add(-time.Duration(k) * 24 * time.Hour).UTC(), Duration: time.Duration(4+k%5) * time.Millisecond,
				RunID: fmt.Sprintf("demo-backfill-%d", k)}
			if c.Expect.Op != "=" {
				r.Failures = nil
				if k <= OrdersStoppedDays {
					r.Status, r.Observed, r.Message = catalog.QualityFail, "0", "got 0, want > 0"
				} else {
					r.Observed = strconv.Itoa(2300 + 97*(k%7))
				}
			}
			results = append(results, r)
		}
		push := catalog.Push{Source: c.Source(), Checks: []catalog.QualityCheck{c.QualityCheck()}, Results: results}
		if err := st.ApplyPush(ctx, push); err != nil {
			return fmt.Errorf("demo check history of %s: %w", c.Name, err)
		}
	}
	return nil
}
