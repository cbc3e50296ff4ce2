package crawl

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/sqlcheck"
	"almanac/catalog/store"
)

// Check is one configured SQL check and where it runs.
type Check struct {
	sqlcheck.Check
	URL   string        // the source's connection URL, with its password
	Every time.Duration // between two scheduled runs; 0: on demand only
	// Origin is where the check is declared, "almanac.yaml:12".
	Origin string
}

// RunCheck runs c now and records the check and its result, with the
// source sql:<name>. A check that cannot run (no connection, a timeout, a
// query returning no number) records an error result; RunCheck fails only
// when the catalog cannot be read or written.
func (r *Runner) RunCheck(ctx context.Context, c Check) (catalog.QualityResult, error) {
	var history []float64
	if c.Expect.Op == "change" {
		page := store.ResultPage{Source: c.Source(), Check: c.Name, Limit: c.Expect.Runs}
		m, err := r.store.ResultPages(ctx, []store.ResultPage{page})
		if err != nil {
			return catalog.QualityResult{}, fmt.Errorf("check %s: %w", c.Name, err)
		}
		for _, res := range m[page] {
			if v, err := strconv.ParseFloat(res.Observed, 64); err == nil && res.Status != catalog.QualityError {
				history = append(history, v)
			}
		}
	}
	runID := "sql-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	res := sqlcheck.Run(ctx, c.URL, c.Check, history, runID)
	push := catalog.Push{Source: c.Source(), Checks: []catalog.QualityCheck{c.QualityCheck()}, Results: []catalog.QualityResult{res}}
	if err := r.store.ApplyPush(ctx, push); err != nil {
		return res, fmt.Errorf("record check %s: %w", c.Name, err)
	}
	r.log.Info("check ran", "check", c.Name, "status", res.Status, "observed", res.Observed, "message", res.Message,
		"duration", res.Duration.Round(time.Millisecond))
	return res, nil
}
