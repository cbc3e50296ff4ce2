package slo

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// SLO is one SLO on a dataset as declared: in the configuration, or
// harvested where a team already states one (dbt source freshness
// criteria).
type SLO struct {
	// Name is unique among the dataset's SLOs of one source.
	Name    string
	Dataset catalog.Key
	Spec    Spec
	// Checks are the names of the checks a quality SLO counts; empty
	// counts every check on the dataset.
	Checks []string
	// Source is the provenance: "config" for the configuration file, or
	// the source the SLO was harvested from, e.g. "dbt:analytics".
	Source string
	// Origin says where exactly, e.g. "almanac.yaml:42" or "error_after
	// of dbt source freshness".
	Origin string
	// Job, when set, is the one job whose runs the SLO counts (pipeline,
	// and on_time after nominal times): the Airflow task that declared
	// an SLA. Otherwise the runs of every job writing the dataset count.
	Job catalog.JobKey `json:",omitzero"`
}

// FromAirflowSLA turns the SLA an Airflow task declares (sla=timedelta)
// into an on-time SLO of a dataset the task writes: each data interval
// of the task's runs is to be delivered within sla of its end, 99 % of
// the time over 28 days. source is the provenance of the job's facts
// ("openlineage"), producer the OpenLineage producer of the event that
// stated the SLA (its origin names it). Its name stays when the SLA
// changes, so that its history goes on.
func FromAirflowSLA(source, producer string, dataset catalog.Key, job catalog.JobKey, sla time.Duration) SLO {
	origin := "sla of the Airflow task " + job.String() + " (" + words(sla) + " after its data interval), from its OpenLineage events"
	if producer != "" {
		origin += " by " + producer
	}
	return SLO{
		Name:    "Airflow SLA of " + job.String(),
		Dataset: dataset,
		Spec:    Spec{Kind: OnTime, Objective: HarvestedObjective, Window: HarvestedWindow, AfterNominal: sla},
		Source:  source,
		Origin:  origin,
		Job:     job,
	}
}

// Harvested defaults: a threshold says how old data may get, not how
// often that may happen, so harvested SLOs promise it 99 % of the time
// over 28 days.
const (
	HarvestedObjective = 0.99
	HarvestedWindow    = 28 * 24 * time.Hour
)

// FromFreshnessCriteria turns the thresholds of a dbt source freshness
// observation into a freshness SLO: error_after, or warn_after when there
// is none, is the maximum age. It reports false when neither is set or
// readable.
func FromFreshnessCriteria(source string, dataset catalog.Key, warnAfter, errorAfter string) (SLO, bool) {
	which, threshold := "error_after", errorAfter
	if threshold == "" {
		which, threshold = "warn_after", warnAfter
	}
	age, err := ParseThreshold(threshold)
	if err != nil {
		return SLO{}, false
	}
	return SLO{
		Name:    "freshness (" + which + " " + threshold + ")",
		Dataset: dataset,
		Spec:    Spec{Kind: Freshness, Objective: HarvestedObjective, Window: HarvestedWindow, MaxAge: age},
		Source:  source,
		Origin:  which + " of dbt source freshness",
	}, true
}

// ParseThreshold reads a dbt freshness threshold as catalog facts keep
// it: "12 hour", "1 day", "30 minute" (plural forms too).
func ParseThreshold(s string) (time.Duration, error) {
	count, period, ok := strings.Cut(strings.TrimSpace(s), " ")
	n, err := strconv.Atoi(count)
	if !ok || err != nil || n <= 0 {
		return 0, fmt.Errorf("threshold %q: want a count and a period, such as 12 hour: %w", s, catalog.ErrInvalid)
	}
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour}[strings.TrimSuffix(strings.TrimSpace(period), "s")]
	if unit == 0 {
		return 0, fmt.Errorf("threshold %q: unknown period %q: %w", s, period, catalog.ErrInvalid)
	}
	return time.Duration(n) * unit, nil
}

// Declaration is an SLO as a team writes it where it keeps its models: a
// dbt model's or source's meta.slo (or config.meta.slo), one mapping or a
// list of them. The keys are those of the configuration's slos items:
//
//	meta:
//	  slo:
//	    - name: orders by nine
//	      kind: on_time          # freshness, on_time, quality, volume, pipeline
//	      deadline: "09:00"
//	      time_zone: Europe/Berlin
//	      objective: 99%         # the default; or 0.99
//	      window: 28d            # the default
//	    - {name: orders fresh, kind: freshness, max_age: 6h}
//	    - name: each day within 2h
//	      kind: on_time
//	      after_nominal: 2h      # instead of deadline: each data interval
//	                             # delivered within 2h of its nominal end
type Declaration struct {
	Name      string   `json:"name"`
	Kind      flexText `json:"kind"`
	Objective flexText `json:"objective,omitempty"`
	Window    flexText `json:"window,omitempty"`
	MaxAge    flexText `json:"max_age,omitempty"`
	Deadline  flexText `json:"deadline,omitempty"`
	TimeZone  flexText `json:"time_zone,omitempty"`
	Lookback  flexText `json:"lookback,omitempty"`
	// AfterNominal is Spec.AfterNominal: each data interval of the runs
	// writing the data is due this long after its nominal end.
	AfterNominal flexText `json:"after_nominal,omitempty"`
	Min          flexText `json:"min,omitempty"`
	Max          flexText `json:"max,omitempty"`
	MaxDuration  flexText `json:"max_duration,omitempty"`
	Updates      flexText `json:"updates,omitempty"`
	Checks       []string `json:"checks,omitempty"`
}

// flexText is a JSON string or number, kept as text: YAML writes 0.99
// and "99%" alike.
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexText(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexText(n.String())
	return nil
}

// ParseDeclarations reads meta.slo: one declaration or a list of them.
func ParseDeclarations(raw json.RawMessage) ([]Declaration, error) {
	var list []Declaration
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one Declaration
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, fmt.Errorf("want a mapping or a list of mappings of name, kind, objective, window…: %v", err)
	}
	return []Declaration{one}, nil
}

// Build returns the SLO d declares on dataset, from source, or an error
// starting with the key at fault ("objective: …").
func (d Declaration) Build(dataset catalog.Key, source, origin string) (SLO, error) {
	bad := func(key string, err error) (SLO, error) {
		msg := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "slo: "), ": "+catalog.ErrInvalid.Error())
		return SLO{}, fmt.Errorf("%s: %s", key, msg)
	}
	if d.Name == "" {
		return SLO{}, errors.New("name: missing")
	}
	spec := Spec{Kind: Kind(d.Kind), Deadline: string(d.Deadline), TimeZone: string(d.TimeZone), Objective: 0.99, Window: 28 * 24 * time.Hour,
		Updates: UpdateSource(d.Updates)}
	if d.Objective != "" {
		o, err := ParseObjective(string(d.Objective))
		if err != nil {
			return bad("objective", err)
		}
		spec.Objective = o
	}
	for _, f := range []struct {
		key string
		v   flexText
		to  *time.Duration
	}{{"window", d.Window, &spec.Window}, {"max_age", d.MaxAge, &spec.MaxAge}, {"lookback", d.Lookback, &spec.Lookback},
		{"after_nominal", d.AfterNominal, &spec.AfterNominal}, {"max_duration", d.MaxDuration, &spec.MaxDuration}} {
		if f.v == "" {
			continue
		}
		v, err := ParseDuration(string(f.v))
		if err != nil {
			return bad(f.key, err)
		}
		if f.key == "after_nominal" && v <= 0 {
			return SLO{}, fmt.Errorf("after_nominal: %q: want a positive duration, such as 2h", f.v)
		}
		*f.to = v
	}
	for _, f := range []struct {
		key string
		v   flexText
		to  **float64
	}{{"min", d.Min, &spec.Min}, {"max", d.Max, &spec.Max}} {
		if f.v == "" {
			continue
		}
		v, err := strconv.ParseFloat(string(f.v), 64)
		if err != nil {
			return SLO{}, fmt.Errorf("%s: want a number, got %q", f.key, f.v)
		}
		*f.to = &v
	}
	if err := spec.Validate(); err != nil {
		key := "kind"
		switch {
		case strings.Contains(err.Error(), "max age"):
			key = "max_age"
		case strings.Contains(err.Error(), "updates "):
			key = "updates"
		case strings.Contains(err.Error(), "deadline"), strings.Contains(err.Error(), "cron"):
			key = "deadline"
		case strings.Contains(err.Error(), "nominal"):
			key = "after_nominal"
		case strings.Contains(err.Error(), "time zone"):
			key = "time_zone"
		case strings.Contains(err.Error(), "min "):
			key = "min"
		}
		return bad(key, err)
	}
	return SLO{Name: d.Name, Dataset: dataset, Spec: spec, Checks: d.Checks, Source: source, Origin: origin}, nil
}

// Validate reports a declaration that cannot become an SLO, as an error
// of kind catalog.ErrInvalid starting with the key at fault
// ("objective: …", "max_age: …", "name \"x\": …"): what people
// declaring an SLO through the API are told.
func (d Declaration) Validate() error {
	if strings.TrimSpace(d.Name) != d.Name {
		return fmt.Errorf("name %q: leading or trailing spaces: %w", d.Name, catalog.ErrInvalid)
	}
	if err := catalog.ValidName("name", d.Name); err != nil {
		return err
	}
	if _, err := d.Build(catalog.Key{}, "", ""); err != nil {
		return fmt.Errorf("%w: %w", err, catalog.ErrInvalid)
	}
	return nil
}
