package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"almanac/catalog"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/store"
)

// airflowDayJSON is one run of the demo's Airflow DAG orders_daily, as the
// Airflow OpenLineage provider reports it: the DAG run and three task runs
// (parent facets, SQL, sourceCodeLocation, column lineage and
// outputStatistics) over the demo warehouse. Event times are offsets
// ("+320s") from the run's start; {nominal_start} and {nominal_end} stand
// for its schedule interval; dataset names start "warehouse.". replayLineage
// turns it into LineageDays days of runs ending today.
//
//go:embed data/airflow_orders_daily.json
var airflowDayJSON []byte

// DAG is the job of the demo's Airflow DAG run.
var DAG = catalog.JobKey{Namespace: "airflow://prod", Name: "orders_daily"}

const (
	// LineageDays is how many daily runs of the DAG the demo replays,
	// so that run, row-count and duration trends have shape.
	LineageDays = 14
	// lateDay is the day (0 today, 1 yesterday…) whose run started
	// late, failedItemsDay the one whose order-items task failed and
	// failedRevenueDay the one whose revenue task failed: the last
	// run failed, so the demo has an open incident from it.
	lateDay          = 3
	failedItemsDay   = 6
	failedRevenueDay = 0
	lateBy           = 2*time.Hour + 17*time.Minute
)

// lineageEvents returns the demo DAG's events for the LineageDays
// days up to now, oldest first, naming the datasets of the warehouse
// database db. Runs start at 02:00 UTC; the newest is today's once it has
// ended (by 02:10), yesterday's before, so that the demo's on-time SLO
// (by 03:00) never counts a day without its run.
func lineageEvents(now time.Time, db string) ([][]byte, error) {
	var day []map[string]any
	if err := json.Unmarshal(airflowDayJSON, &day); err != nil {
		return nil, fmt.Errorf("demo lineage template: %w", err)
	}
	anchor := now.UTC().Truncate(24 * time.Hour).Add(2 * time.Hour)
	if now.Before(anchor.Add(10 * time.Minute)) {
		anchor = anchor.Add(-24 * time.Hour)
	}
	var out [][]byte
	for k := LineageDays - 1; k >= 0; k-- {
		nominal := anchor.Add(-time.Duration(k) * 24 * time.Hour)
		start := nominal
		if k == lateDay {
			start = start.Add(lateBy)
		}
		// Volume follows the week: fewer orders at the weekend, a slow
		// drift up over the fortnight.
		scale := 1 + 0.012*float64(LineageDays-k) + 0.08*math.Sin(float64(nominal.YearDay()))
		if wd := nominal.Weekday(); wd == time.Saturday || wd == time.Sunday {
			scale *= 0.7
		}
		failedTask := ""
		switch k {
		case failedItemsDay:
			failedTask = "orders_daily.load_fct_order_items"
		case failedRevenueDay:
			failedTask = "orders_daily.recognize_revenue"
		}
		for _, tmpl := range day {
			e, err := dagEvent(tmpl, nominal, start, scale, failedTask, db)
			if err != nil {
				return nil, err
			}
			b, err := json.Marshal(e)
			if err != nil {
				return nil, err
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// dagEvent fills in one event of the template for the run of the day
// nominal, started at start.
func dagEvent(tmpl map[string]any, nominal, start time.Time, scale float64, failedTask, db string) (map[string]any, error) {
	// Deep copy through JSON, replacing the placeholders.
	b, err := json.Marshal(tmpl)
	if err != nil {
		return nil, err
	}
	s := strings.NewReplacer(
		"{nominal_start}", nominal.Format(time.RFC3339),
		"{nominal_end}", nominal.Add(24*time.Hour).Format(time.RFC3339),
		`"warehouse.`, `"`+db+".",
		// Run ids: the template's end in a task number; the day makes
		// them unique and stable.
		"00000000-0000-7000-8000-", fmt.Sprintf("%08x-%04x-7000-8000-", nominal.Unix()/86400, nominal.Year()),
	).Replace(string(b))
	var e map[string]any
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return nil, err
	}
	off, ok := e["eventTime"].(string)
	if !ok || !strings.HasPrefix(off, "+") {
		return nil, fmt.Errorf("demo lineage template: eventTime %v is not an offset like +20s", e["eventTime"])
	}
	d, err := time.ParseDuration(off[1:])
	if err != nil {
		return nil, fmt.Errorf("demo lineage template: eventTime %q: %w", off, err)
	}
	at := start.Add(d)
	e["eventTime"] = at.Format(time.RFC3339Nano)
	job, _ := e["job"].(map[string]any)
	name, _ := job["name"].(string)
	typ, _ := e["eventType"].(string)
	if failedTask != "" && typ == "COMPLETE" && (name == failedTask || name == DAG.Name) {
		e["eventType"] = "FAIL"
		if name == failedTask {
			run := e["run"].(map[string]any)
			facets := run["facets"].(map[string]any)
			facets["errorMessage"] = map[string]any{
				"_producer":           e["producer"],
				"_schemaURL":          "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
				"message":             failures[failedTask],
				"programmingLanguage": "python",
				"stackTrace":          "Traceback (most recent call last):\n  File \"dags/orders_daily.py\", line 88, in " + strings.TrimPrefix(name, "orders_daily.") + "\n    cur.execute(sql)\npsycopg2.errors." + failures[failedTask],
			}
			// A failed task wrote nothing: no statistics.
			for _, o := range e["outputs"].([]any) {
				delete(o.(map[string]any), "outputFacets")
			}
		}
	}
	for _, o := range e["outputs"].([]any) {
		ofs, _ := o.(map[string]any)["outputFacets"].(map[string]any)
		if st, ok := ofs["outputStatistics"].(map[string]any); ok {
			for _, f := range []string{"rowCount", "size"} {
				if n, ok := st[f].(float64); ok {
					st[f] = math.Round(n * scale)
				}
			}
		}
	}
	return e, nil
}

var failures = map[string]string{
	"orders_daily.load_fct_order_items": `ForeignKeyViolation: insert or update on table "fct_order_items" violates foreign key constraint "fct_order_items_product_key_fkey"`,
	"orders_daily.recognize_revenue":    `NotNullViolation: null value in column "amount_usd" of relation "revenue_recognition": no FX rate for currency CAD on ` + "the run's day",
}

// replayLineage stores the demo DAG's events for the OpenLineage
// worker to derive, unless the catalog already has the DAG (a demo
// started before; `almanac demo -reset` starts afresh). It returns how
// many events it stored.
func replayLineage(ctx context.Context, st *store.Store, now time.Time, db string) (int, error) {
	jobs, err := st.JobsByKeys(ctx, []catalog.JobKey{DAG})
	if err != nil {
		return 0, fmt.Errorf("demo lineage: %w", err)
	}
	if jobs[DAG] != nil {
		return 0, nil
	}
	bodies, err := lineageEvents(now, db)
	if err != nil {
		return 0, err
	}
	raws := make([]store.RawEvent, len(bodies))
	for i, b := range bodies {
		e, err := openlineage.Decode(b)
		if err != nil {
			return 0, fmt.Errorf("demo lineage event %d: %w", i, err)
		}
		sum := sha256.Sum256(b)
		raws[i] = store.RawEvent{Digest: sum[:], Kind: string(e.Kind), Type: e.Type, Time: e.Time, RunID: e.RunID, Job: e.Job, Body: bytes.Clone(b)}
	}
	n, err := st.StoreEvents(ctx, raws)
	if err != nil {
		return 0, fmt.Errorf("demo lineage: %w", err)
	}
	return n, nil
}
