package catalog

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Change kinds of the facts in this file. They are recorded on the dataset
// the facts are about, so that what follows the change log (SLO
// evaluation, search) hears of new results without reading every source.
const (
	// ChangeQuality says that a dataset's checks changed or that new
	// check results or freshness observations were recorded.
	ChangeQuality ChangeKind = "quality"
	// ChangeLineage says that a job changed; Change.Entity is "job" and
	// Change.Key holds the job's namespace and name.
	ChangeLineage ChangeKind = "lineage"
	// ChangeColumnLineage says that a source's column lineage into one
	// output dataset changed. Change.Entity is "column_lineage" and
	// Change.Key the output dataset, which need not exist as a dataset
	// row (column lineage is keyed by name): EntityID is the dataset's id
	// when it exists, else 0. The entity is not "dataset" so that the
	// search index, which indexes no lineage, does not re-read the
	// dataset on every OpenLineage run.
	ChangeColumnLineage ChangeKind = "column_lineage"
	// ChangeRun says that runs of a job were recorded or changed state.
	// Change.Entity is "run", EntityID the job's id and Change.Key the
	// job's namespace and name (one entry per job and write, however
	// many runs); readers of runs (the incident detector) read its
	// latest run.
	ChangeRun ChangeKind = "run"
)

// Quality statuses of a check result.
const (
	QualityPass    = "pass"
	QualityFail    = "fail"
	QualityWarn    = "warn"
	QualityError   = "error"
	QualitySkipped = "skipped"
)

// Freshness statuses, as dbt reports them.
const (
	FreshnessPass         = "pass"
	FreshnessWarn         = "warn"
	FreshnessError        = "error"
	FreshnessRuntimeError = "runtime error"
)

// QualityCheck is a data-quality check on a dataset (or one of its
// columns) as one source defines it: a dbt test, a Great Expectations
// expectation, an SQL check. Checks are facts of their source, replaced by
// its next crawl.
type QualityCheck struct {
	Dataset Key
	// Column is the column checked, or "" for a check on the whole dataset.
	Column string
	// Name identifies the check among its source's, e.g. the dbt test's
	// unique_id.
	Name string
	// Type is "not_null", "unique", "accepted_values", "relationships" or
	// whatever the source calls a custom check.
	Type     string
	Severity string
	// Definition is what the check runs, e.g. its compiled SQL.
	Definition string
	Properties map[string]string
}

// Normalize validates c and fills in empty maps, so that it hashes the same
// whichever way it was built.
func (c QualityCheck) Normalize() (QualityCheck, error) {
	if err := c.Dataset.Validate(); err != nil {
		return c, fmt.Errorf("check %q: %w", c.Name, err)
	}
	if c.Name == "" {
		return c, fmt.Errorf("check on %s: empty name: %w", c.Dataset, ErrInvalid)
	}
	if c.Properties == nil {
		c.Properties = map[string]string{}
	}
	return c, nil
}

// Hash is a digest of everything c asserts. Call it on a normalized check.
func (c QualityCheck) Hash() []byte { return hashJSON(c) }

// QualityResult is one outcome of one check in one run. Results are
// history: they are appended and never replaced, and recording the same
// (source, check, run) twice records it once.
type QualityResult struct {
	// Check is the Name of the check.
	Check   string
	Dataset Key
	// Status is one of QualityPass, QualityFail, QualityWarn, QualityError
	// or QualitySkipped.
	Status string
	// Failures counts failing rows, when the source says.
	Failures *int64
	// Observed is the value the check measured, as the source reports it,
	// in JSON: a number ("30"), a string, or a list or object (a Great
	// Expectations quantile check observes {"quantiles": …, "values": …});
	// "" when the source reports none.
	Observed  string
	Message   string
	StartedAt time.Time
	Duration  time.Duration
	// RunID identifies the run that produced the result, e.g. dbt's
	// invocation_id.
	RunID string
}

// Validate reports a result that cannot be recorded.
func (r QualityResult) Validate() error {
	if r.Check == "" || r.RunID == "" {
		return fmt.Errorf("result on %s: empty check name or run id: %w", r.Dataset, ErrInvalid)
	}
	if err := r.Dataset.Validate(); err != nil {
		return fmt.Errorf("result of %q: %w", r.Check, err)
	}
	switch r.Status {
	case QualityPass, QualityFail, QualityWarn, QualityError, QualitySkipped:
	default:
		return fmt.Errorf("result of %q: unknown status %q: %w", r.Check, r.Status, ErrInvalid)
	}
	if r.Observed != "" && !json.Valid([]byte(r.Observed)) {
		return fmt.Errorf("result of %q: observed value %.40q is not JSON: %w", r.Check, r.Observed, ErrInvalid)
	}
	return nil
}

// ObservedNumber returns the observed value when it is a number, else
// nil.
func (r QualityResult) ObservedNumber() *float64 {
	// Observed is JSON: of its values, ParseFloat reads the numbers
	// alone, and faster than a JSON decoder (charts call it per result).
	f, err := strconv.ParseFloat(r.Observed, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// FreshnessObservation is one measurement of how recently a dataset was
// loaded, e.g. a row of dbt's sources.json. Observations are history, like
// quality results: recording the same (source, dataset, ObservedAt) twice
// records it once.
type FreshnessObservation struct {
	Dataset    Key
	ObservedAt time.Time
	// MaxLoadedAt is the newest load time found; nil when the observation
	// failed.
	MaxLoadedAt *time.Time
	// Status is one of FreshnessPass, FreshnessWarn, FreshnessError or
	// FreshnessRuntimeError.
	Status string
	// WarnAfter and ErrorAfter are the thresholds as the source states
	// them, e.g. "12 hour"; "" when unset.
	WarnAfter  string
	ErrorAfter string
	// Criteria holds anything else the source says about how it measured,
	// e.g. dbt's freshness filter.
	Criteria string
	Message  string
	RunID    string
}

// Validate reports an observation that cannot be recorded.
func (o FreshnessObservation) Validate() error {
	if err := o.Dataset.Validate(); err != nil {
		return fmt.Errorf("freshness observation: %w", err)
	}
	if o.ObservedAt.IsZero() {
		return fmt.Errorf("freshness of %s: no observation time: %w", o.Dataset, ErrInvalid)
	}
	switch o.Status {
	case FreshnessPass, FreshnessWarn, FreshnessError, FreshnessRuntimeError:
	default:
		return fmt.Errorf("freshness of %s: unknown status %q: %w", o.Dataset, o.Status, ErrInvalid)
	}
	return nil
}

// SourceCheck is a check as stored, with its latest result.
type SourceCheck struct {
	QualityCheck
	Source    string
	UpdatedAt time.Time
	RemovedAt *time.Time
	// Latest is the newest result of the check, if any.
	Latest *QualityResult
}
