package catalog

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// An incident says that a dataset is broken now, why, and what breaks
// downstream because of it. Incidents are opened by the detector that
// follows the change log (a failing check, a failed run, a breaking schema
// change; SLO breaches are reserved for the SLO evaluator), at most one
// open per cause, and resolved by the same detector when the cause is
// gone, or by a person with a note.

// CauseKind is what kind of fact opened an incident.
type CauseKind string

// Cause kinds. A run is late by its duration against its job's usual
// (LateThreshold); the catalog holds no schedule, so a run that starts
// late is the on-time SLO's to judge, which opens CauseSLOBreach.
const (
	// CauseCheckFailed: the latest result of a check is not a pass;
	// CauseKey is the check's name.
	CauseCheckFailed CauseKind = "check_failed"
	// CauseRunFailed: the latest run of a job writing the dataset failed
	// or was aborted; CauseKey is the job's key.
	CauseRunFailed CauseKind = "run_failed"
	// CauseRunLate: the latest run of a job writing the dataset completed
	// but took well over the job's usual time (LateThreshold); CauseKey
	// is the job's key.
	CauseRunLate CauseKind = "run_late"
	// CauseSchemaBreaking: a column that downstream datasets read (by
	// column lineage) was removed or retyped; CauseKey is the column.
	CauseSchemaBreaking CauseKind = "schema_breaking"
	// CauseSLOBreach: an SLO of the dataset is breached; CauseKey is the
	// SLO's name.
	CauseSLOBreach CauseKind = "slo_breach"
)

// Valid reports whether k is a known cause kind.
func (k CauseKind) Valid() bool {
	switch k {
	case CauseCheckFailed, CauseRunFailed, CauseRunLate, CauseSchemaBreaking, CauseSLOBreach:
		return true
	}
	return false
}

// Severity is how bad an incident is, in the words of dbt's test
// severities.
type Severity string

// Severities, from least to most severe.
const (
	SeverityWarn  Severity = "warn"
	SeverityError Severity = "error"
)

// ParseSeverity reads a severity, in any case; "" is SeverityError, as
// dbt defaults a test's severity to error.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "warn", "warning":
		return SeverityWarn, nil
	case "", "error":
		return SeverityError, nil
	}
	return "", fmt.Errorf("severity %q: want warn or error: %w", s, ErrInvalid)
}

// AtLeast reports whether s is as severe as min or more.
func (s Severity) AtLeast(min Severity) bool { return s == SeverityError || min == SeverityWarn }

// Actor names who did something to an incident: the detector, or a
// person's login.
const ActorAlmanac = "almanac"

// Incident is a dataset being broken, for one cause, from when it was
// opened until it is resolved.
type Incident struct {
	ID      int64
	Dataset Key
	Cause   CauseKind
	// CauseKey says which check, job or column: what makes two causes of
	// one kind on one dataset different incidents.
	CauseKey string
	Severity Severity
	Title    string
	// Detail is what the detector saw: the check's message, the run's
	// error.
	Detail   string
	OpenedAt time.Time
	OpenedBy string
	// LastSeenAt is the time of the newest evidence of the cause: the
	// failing result, the failed run, the schema version.
	LastSeenAt     time.Time
	AcknowledgedAt *time.Time
	AcknowledgedBy string
	ResolvedAt     *time.Time
	ResolvedBy     string
	Resolution     string
	// Impact is what was downstream when the incident opened: it stays as
	// it was, so that the incident's history tells whom it hit.
	Impact []ImpactedDataset
	Review *IncidentReview
}

// Open reports whether i is not resolved.
func (i Incident) Open() bool { return i.ResolvedAt == nil }

// State is "open", "acknowledged" or "resolved".
func (i Incident) State() string {
	switch {
	case i.ResolvedAt != nil:
		return "resolved"
	case i.AcknowledgedAt != nil:
		return "acknowledged"
	}
	return "open"
}

// ImpactedDataset is a dataset downstream of an incident's dataset, with
// its distance in hops and its owners, as they were when it opened.
type ImpactedDataset struct {
	Dataset  Key     `json:"dataset"`
	Distance int     `json:"distance"`
	Owners   []Owner `json:"owners,omitempty"`
}

// NewIncident is what a detector knows when it opens an incident.
type NewIncident struct {
	Dataset  Key
	Cause    CauseKind
	CauseKey string
	Severity Severity
	Title    string
	Detail   string
	Impact   []ImpactedDataset
	// SeenAt is the time of the evidence; zero is At.
	SeenAt time.Time
	At     time.Time
	By     string
}

// Validate reports an incident that cannot be opened.
func (n NewIncident) Validate() error {
	if err := n.Dataset.Validate(); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	if !n.Cause.Valid() {
		return fmt.Errorf("incident on %s: unknown cause %q: %w", n.Dataset, n.Cause, ErrInvalid)
	}
	if n.Severity != SeverityWarn && n.Severity != SeverityError {
		return fmt.Errorf("incident on %s: unknown severity %q: %w", n.Dataset, n.Severity, ErrInvalid)
	}
	if strings.TrimSpace(n.Title) == "" {
		return fmt.Errorf("incident on %s: empty title: %w", n.Dataset, ErrInvalid)
	}
	if strings.TrimSpace(n.By) == "" {
		return fmt.Errorf("incident on %s: nobody opens it: %w", n.Dataset, ErrInvalid)
	}
	return nil
}

// IncidentReview is the post-incident review: what caused it, what it
// hit, and what will be done so that it does not happen again.
type IncidentReview struct {
	Cause   string           `json:"cause"`
	Impact  string           `json:"impact"`
	Actions []FollowUpAction `json:"actions,omitempty"`
	By      string           `json:"by"`
	At      time.Time        `json:"at"`
}

// FollowUpAction is one thing to do after an incident, with the ticket
// that tracks it.
type FollowUpAction struct {
	Action string `json:"action"`
	// Ticket is a link to the issue tracker, or "".
	Ticket string `json:"ticket,omitempty"`
}

// Validate reports a review with nothing in it or an action whose ticket
// is not an http(s) link, naming the action.
func (r IncidentReview) Validate() error {
	if strings.TrimSpace(r.Cause) == "" {
		return fmt.Errorf("review: empty cause: %w", ErrInvalid)
	}
	for i, a := range r.Actions {
		if strings.TrimSpace(a.Action) == "" {
			return fmt.Errorf("review: action %d: empty: %w", i+1, ErrInvalid)
		}
		if a.Ticket == "" {
			continue
		}
		u, err := url.Parse(a.Ticket)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("review: action %d: ticket %q is not an http(s) link: %w", i+1, a.Ticket, ErrInvalid)
		}
	}
	return nil
}

// IncidentEventKind is what happened in an incident's timeline.
type IncidentEventKind string

// Incident event kinds.
const (
	IncidentOpened       IncidentEventKind = "opened"
	IncidentAcknowledged IncidentEventKind = "acknowledged"
	IncidentResolved     IncidentEventKind = "resolved"
	IncidentReviewed     IncidentEventKind = "reviewed"
)

// IncidentEvent is one entry of an incident's timeline.
type IncidentEvent struct {
	At    time.Time
	Kind  IncidentEventKind
	Actor string
	Note  string
}

// The change log records each step of an incident (entity "incident",
// its id, its dataset's key, the source "almanac" or "user:<login>"), so
// that followers of the log, the notifier first, hear of it in order
// with every other change.
const (
	ChangeIncidentOpened       ChangeKind = "incident_opened"
	ChangeIncidentAcknowledged ChangeKind = "incident_acknowledged"
	ChangeIncidentResolved     ChangeKind = "incident_resolved"
)

// IncidentActorSource is the change log source of an incident step by
// actor: the detector's own name, or a person's edit source.
func IncidentActorSource(actor string) string {
	if actor == ActorAlmanac {
		return actor
	}
	return "user:" + actor
}
