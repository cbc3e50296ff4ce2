package catalog

import (
	"cmp"
	"fmt"
	"time"
)

// This file holds the lineage facts that sources push rather than crawl:
// runs of jobs, column lineage and dataset aliases, and the Push that
// carries them. OpenLineage producers (Airflow, Spark, dbt) report one
// event at a time, so a push asserts only what its events said: it never
// removes anything, and on each dataset and job it replaces only the parts
// it carries (see DatasetUpdate and JobUpdate).

// SourceOpenLineage is the provenance of facts derived from OpenLineage
// events.
const SourceOpenLineage = "openlineage"

// Alias is another name of a dataset, for example the table behind a file
// path, as an OpenLineage symlinks facet reports it.
type Alias struct {
	Key  Key
	Type string // "TABLE", "LOCATION"…
}

// RunState is the state of a job run, as OpenLineage names it.
type RunState string

// Run states. Complete, Fail and Abort are terminal.
const (
	RunStart    RunState = "START"
	RunRunning  RunState = "RUNNING"
	RunComplete RunState = "COMPLETE"
	RunFail     RunState = "FAIL"
	RunAbort    RunState = "ABORT"
	RunOther    RunState = "OTHER"
)

// Valid reports whether s is one of the known states.
func (s RunState) Valid() bool {
	switch s {
	case RunStart, RunRunning, RunComplete, RunFail, RunAbort, RunOther:
		return true
	}
	return false
}

// Terminal reports whether s ends a run.
func (s RunState) Terminal() bool { return s == RunComplete || s == RunFail || s == RunAbort }

// Run is one execution of a job. Events about a run may arrive in any
// order; whatever arrives, a terminal state outlives START and RUNNING,
// StartedAt is the earliest start seen and EndedAt the terminal event's
// time.
type Run struct {
	ID        string
	Job       JobKey
	State     RunState
	StartedAt *time.Time
	EndedAt   *time.Time
	// StateAt is the time of the event that set State.
	StateAt      time.Time
	ErrorMessage string
	// Parent is the run that started this one, e.g. the DAG run of an
	// Airflow task; empty when there is none.
	ParentID     string
	ParentJob    JobKey
	NominalStart *time.Time
	NominalEnd   *time.Time
}

// Duration is how long the run took, or zero until both ends are known.
func (r Run) Duration() time.Duration {
	if r.StartedAt == nil || r.EndedAt == nil {
		return 0
	}
	return r.EndedAt.Sub(*r.StartedAt)
}

// Validate reports a run that cannot be recorded.
func (r Run) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("run of %s: empty run id: %w", r.Job, ErrInvalid)
	}
	if err := r.Job.Validate(); err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	if !r.State.Valid() {
		return fmt.Errorf("run %s: unknown state %q: %w", r.ID, r.State, ErrInvalid)
	}
	return nil
}

// ColumnLineage says that one column of an output dataset is derived from
// one column of an input dataset. Column "" stands for the whole dataset:
// dataset-wide lineage (OpenLineage's column lineage facet's "dataset",
// SQL's WHERE, JOIN, GROUP BY), an input that affects every column of the
// output without providing its values, such as a filter or a join key. It
// is stored once, and every read of a column's lineage includes it, as
// lineage into each column of the output (see
// store.DatasetWideColumns).
type ColumnLineage struct {
	Output      Key
	Column      string
	Input       Key
	InputColumn string
	// Type is DIRECT or INDIRECT; Subtype IDENTITY, TRANSFORMATION,
	// AGGREGATION, FILTER, JOIN, GROUP_BY, SORT, WINDOW, CONDITIONAL…
	Type        string
	Subtype     string
	Description string
	Masking     bool
}

// ColumnInput is one column lineage edge as the lineage graph holds it:
// Column of an output dataset derives from InputColumn of Input, with no
// description or provenance, one edge for what several sources say.
type ColumnInput struct {
	Column, InputColumn string
	Input               Key
	Type, Subtype       string
}

// ColumnEdges is the live column lineage into one output dataset: the
// store reads it and the lineage graph takes it, replacing what it held
// of the output (no edges drop it).
type ColumnEdges struct {
	Output Key
	Edges  []ColumnInput
	// Columns are the output's columns as the catalog knows them, which
	// its dataset-wide lineage (edges of Column "") applies to besides
	// the columns of Edges; unused without such edges.
	Columns []string
}

// Facet flags say which parts of a dataset or a job an update asserts.
type Facet uint8

// Facets of a dataset or job update.
const (
	FacetSchema Facet = 1 << iota
	FacetDescription
	FacetOwners
	FacetAliases
	FacetJobType
	FacetSQL
	// FacetSLA asserts a job's Airflow SLA (PropAirflowSLA): present,
	// or gone when the update has none.
	FacetSLA
	// FacetTags asserts a dataset's tags (OpenLineage's tags facet).
	FacetTags
)

// PropAirflowSLA is the job property holding the SLA an Airflow task
// declares, as a Go duration ("1h0m0s"): its runs should finish that
// long after the end of their data interval (see slo.Spec.AfterNominal).
const PropAirflowSLA = "airflow_sla"

// PropAirflowSLAProducer is the job property naming the OpenLineage
// producer of the event that stated PropAirflowSLA (the integration and
// its version), for the SLO's provenance.
const PropAirflowSLAProducer = "airflow_sla_producer"

// DatasetUpdate is what a push asserts about one dataset: Facts, of which
// only the parts named by Asserts replace what the source said before.
// An update that asserts nothing still records that the dataset exists.
type DatasetUpdate struct {
	Facts   DatasetFacts
	Asserts Facet
}

// JobUpdate is what a push asserts about one job: its inputs and outputs
// are added to those known, and the parts named by Asserts (its type, its
// description, its SQL) replace what the source said before. Properties
// are merged key by key.
type JobUpdate struct {
	Job     JobFacts
	Asserts Facet
}

// Push is what a push source (OpenLineage) reports in one batch of events.
// Unlike a Harvest it is never complete: it removes nothing. Column
// lineage replaces the source's column lineage of each output dataset it
// names.
type Push struct {
	Source        string
	Datasets      []DatasetUpdate
	Jobs          []JobUpdate
	Runs          []Run
	ColumnLineage []ColumnLineage
	Checks        []QualityCheck
	Results       []QualityResult
	// Metrics are observations of dataset sizes and column profiles,
	// appended to their history.
	Metrics []DatasetMetrics
}

func stateRank(s RunState) int {
	switch {
	case s.Terminal():
		return 2
	case s == RunStart || s == RunRunning:
		return 1
	}
	return 0
}

// Supersedes reports whether an event setting state s at time at replaces
// the state of r: terminal states beat START and RUNNING whatever their
// order of arrival, and among equals the later event wins. The store
// applies the same rule in SQL.
func (r Run) Supersedes(s RunState, at time.Time) bool {
	if a, b := stateRank(s), stateRank(r.State); a != b {
		return a > b
	}
	return !at.Before(r.StateAt)
}

// Merge folds what a later-processed event says about the same run into r.
func (r Run) Merge(o Run) Run {
	wins := r.Supersedes(o.State, o.StateAt)
	if wins {
		r.State, r.StateAt = o.State, o.StateAt
		if o.EndedAt != nil {
			r.EndedAt = o.EndedAt
		}
	} else if r.EndedAt == nil {
		r.EndedAt = o.EndedAt
	}
	if o.StartedAt != nil && (r.StartedAt == nil || o.StartedAt.Before(*r.StartedAt)) {
		r.StartedAt = o.StartedAt
	}
	r.ErrorMessage = cmp.Or(o.ErrorMessage, r.ErrorMessage)
	if o.ParentID != "" {
		r.ParentID, r.ParentJob = o.ParentID, o.ParentJob
	}
	if o.NominalStart != nil {
		r.NominalStart = o.NominalStart
	}
	if o.NominalEnd != nil {
		r.NominalEnd = o.NominalEnd
	}
	return r
}
