package slo

import (
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
