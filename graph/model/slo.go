package model

import (
	"time"

	"almanac/catalog"
)

// Slo is an SLO with its report (type SLO). It is written by hand, not
// generated, to carry the dataset its history is read for.
type Slo struct {
	// Dataset is the dataset the SLO is about; not a field of the schema.
	Dataset catalog.Key `json:"-"`
	Name    string      `json:"name"`
	// freshness, on_time, quality, volume or pipeline
	Kind string `json:"kind"`
	// Where it is declared: `config`, or the source it was harvested from, e.g. `dbt:analytics`.
	Source string `json:"source"`
	// The file and line, or what of the source it came from (`error_after of dbt source freshness`).
	Origin string `json:"origin"`
	// The share of good promised, e.g. 0.99.
	Objective     float64 `json:"objective"`
	WindowSeconds float64 `json:"windowSeconds"`
	// What good is, in words (slo.Spec.Promise).
	Promise string `json:"promise"`
	// How long after each data interval's nominal end it must be
	// delivered (on_time after nominal times); nil for other SLOs.
	AfterNominalSeconds *float64 `json:"afterNominalSeconds,omitempty"`
	// ok, at_risk, breached, no_data, or error when it could not be evaluated
	Status string `json:"status"`
	// The status in words.
	Summary string `json:"summary"`
	// Good / total over the window; 0 without data.
	Attainment float64 `json:"attainment"`
	// What good and total count: minutes, deadlines, results, observations or runs.
	Unit  string  `json:"unit"`
	Good  float64 `json:"good"`
	Total float64 `json:"total"`
	// The share of the error budget left: 1 untouched, 0 spent, below 0 overspent.
	BudgetRemaining float64 `json:"budgetRemaining"`
	// The burn rate over the fast alert's long span; 1 spends the budget exactly over the window.
	BurnRateFast float64 `json:"burnRateFast"`
	// The burn rate over the slow alert's long span.
	BurnRateSlow float64 `json:"burnRateSlow"`
	// The multiwindow burn-rate alerts: fast, slow and ticket.
	Burns []SLOBurn `json:"burns"`
	// When the report was evaluated.
	EvaluatedAt time.Time `json:"evaluatedAt"`
}
