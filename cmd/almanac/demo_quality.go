package main

import (
	"fmt"
	"slices"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/slo"
	"almanac/cmd/almanac/config"
)

// demoCheck is one of the demo's SQL checks, as the keys of checks would
// declare it: a template or SQL over a schema.table of the warehouse.
type demoCheck struct {
	name, table, column, template, sql, expect string
}

// demoChecks are the demo's SQL checks. orders_landed_today fails (the
// warehouse's orders are from 2024), so the demo has a failing check
// and the incident it opens; the others pass.
var demoChecks = []demoCheck{
	{name: "orders_landed_today", table: "raw.shop_orders",
		sql: "SELECT count(*) FROM raw.shop_orders WHERE placed_at > now() - interval '1 day'", expect: "> 0"},
	{name: "fct_orders_order_id_unique", table: "marts.fct_orders", column: "order_id", template: "unique"},
	{name: "fct_orders_customer_key_not_null", table: "marts.fct_orders", column: "customer_key", template: "not_null"},
}

// demoOrigin is where the demo's checks and SLOs are declared.
const demoOrigin = "almanac demo (cmd/almanac/demo_quality.go)"

// demoQuality builds the demo's SQL checks on the warehouse at whURL
// (database db) and its SLOs: the revenue journal's pipeline SLO is
// breached (its task's newest replayed run failed) and fct_orders' on-time
// SLO burns its budget (one replayed run was late).
func demoQuality(whURL, db string) ([]crawl.Check, []slo.SLO, error) {
	var checks []crawl.Check
	for _, c := range demoChecks {
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
			Check: sqlcheck.Check{Name: c.name, Dataset: catalog.Key{Namespace: demoNamespace, Name: db + "." + c.table}, Column: c.column,
				Type: typ, SQL: sql, Args: args, Expect: exp, Severity: "error", Timeout: 30 * time.Second},
			// Every > 0 runs it as the server starts, then hourly.
			URL: whURL, Every: time.Hour, Origin: demoOrigin,
		})
	}
	window := 28 * 24 * time.Hour
	slos := []slo.SLO{
		{Name: "revenue-journal-posted", Dataset: catalog.Key{Namespace: demoNamespace, Name: db + ".finance.revenue_recognition"},
			Spec: slo.Spec{Kind: slo.Pipeline, Objective: 0.99, Window: window, MaxDuration: 30 * time.Minute}},
		{Name: "fct-orders-by-0300", Dataset: catalog.Key{Namespace: demoNamespace, Name: db + ".marts.fct_orders"},
			Spec: slo.Spec{Kind: slo.OnTime, Objective: 0.92, Window: window, Deadline: "03:00", TimeZone: "UTC", Updates: slo.UpdatesRuns}},
	}
	for i := range slos {
		slos[i].Source, slos[i].Origin = "config", demoOrigin
		if err := slos[i].Spec.Validate(); err != nil {
			return nil, nil, fmt.Errorf("demo SLO %s: %w", slos[i].Name, err)
		}
	}
	return checks, slos, nil
}

// addDemoQuality adds the demo's checks and SLOs to cfg, leaving out any
// whose name the configuration already uses.
func addDemoQuality(cfg *config.Config, whURL, db string) error {
	checks, slos, err := demoQuality(whURL, db)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if !slices.ContainsFunc(cfg.RunChecks, func(x crawl.Check) bool { return x.Name == c.Name }) {
			cfg.RunChecks = append(cfg.RunChecks, c)
		}
	}
	for _, s := range slos {
		if !slices.ContainsFunc(cfg.RunSLOs, func(x slo.SLO) bool { return x.Name == s.Name }) {
			cfg.RunSLOs = append(cfg.RunSLOs, s)
		}
	}
	return nil
}
