package openlineage

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"almanac/catalog"
)

// Airflow SLAs. Airflow 2 lets a task declare sla=timedelta(...): the task
// should have finished that long after the end of its DAG run's data
// interval. The OpenLineage integrations report the task's attributes in
// a run facet, which is where Almanac harvests the SLA from:
//
//   - apache-airflow-providers-openlineage (Airflow 2.7+): run facet
//     "airflow" (AirflowRunFacet, built by
//     airflow/providers/openlineage/utils/utils.py get_airflow_run_facet)
//     with "task" (TaskInfo, whose includes list "sla") and "dagRun"
//     (data_interval_start, data_interval_end). TaskInfo's
//     _cast_basic_types writes a timedelta as f"{total_seconds()}
//     seconds": "3600.0 seconds". A task without an SLA has "sla": null;
//     Airflow 3 removed task SLAs, and its tasks have no "sla" at all.
//   - openlineage-airflow (Airflow 2.1–2.6): run facet "airflow_version"
//     (AirflowVersionRunFacet) with "taskInfo", the task's attributes
//     made JSON with str() of values JSON cannot hold: "1:00:00", "1 day,
//     2:30:00" (Python's str of a timedelta). Versions that write
//     taskInfo as one Python repr string, or as {}, say nothing usable.
//
// An event whose task facet is present asserts the task's SLA, or that
// it has none: the job's harvested SLA follows the newest such event. An
// SLA that cannot be read is ignored, with a warning on the event, and
// leaves what was known before.

type airflowRunFacet struct {
	Task map[string]json.RawMessage `json:"task"`
}

type airflowVersionRunFacet struct {
	TaskInfo json.RawMessage `json:"taskInfo"`
}

// airflowSLA reads the SLA of the task of e's run facets. present says
// the event describes the task (so an absent SLA removes one known
// before); err says the SLA is there but unreadable, naming where.
func airflowSLA(e Event) (sla time.Duration, present bool, err error) {
	var raw json.RawMessage
	var path string
	var af airflowRunFacet
	if ok, _ := e.RunFacets.facet("airflow", "", &af); ok && af.Task != nil {
		raw, path, present = af.Task["sla"], "run.facets.airflow.task.sla", true
	} else {
		var av airflowVersionRunFacet
		var info map[string]json.RawMessage
		if ok, _ := e.RunFacets.facet("airflow_version", "", &av); ok && json.Unmarshal(av.TaskInfo, &info) == nil && len(info) > 0 {
			raw, path, present = info["sla"], "run.facets.airflow_version.taskInfo.sla", true
		}
	}
	if !present || len(raw) == 0 || string(raw) == "null" {
		return 0, present, nil
	}
	sla, err = ParseAirflowSLA(raw)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %v; the SLA is ignored", path, err)
	}
	return sla, true, nil
}

// pyTimedelta is Python's str of a timedelta: "[-]D day[s], H:MM:SS[.ffffff]".
var pyTimedelta = regexp.MustCompile(`^(?:(-?\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$`)

// ParseAirflowSLA reads a task's SLA as the OpenLineage integrations of
// Airflow write it: "3600.0 seconds" (the provider), "1:00:00" or "2
// days, 0:30:00" (str of a timedelta, the older integration), or a
// number of seconds. It must be positive.
func ParseAirflowSLA(raw json.RawMessage) (time.Duration, error) {
	var secs float64
	var s string
	switch {
	case json.Unmarshal(raw, &secs) == nil:
	case json.Unmarshal(raw, &s) == nil:
		s = strings.TrimSpace(s)
		if n, ok := strings.CutSuffix(s, " seconds"); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
			if err != nil {
				return 0, fmt.Errorf("%q: want a number of seconds, such as \"3600.0 seconds\"", s)
			}
			secs = v
			break
		}
		m := pyTimedelta.FindStringSubmatch(s)
		if m == nil {
			return 0, fmt.Errorf("%q: want \"<seconds> seconds\" or a timedelta such as \"1:00:00\" or \"1 day, 2:30:00\"", s)
		}
		days, _ := strconv.Atoi(m[1]) // "" is 0
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		se, _ := strconv.Atoi(m[4])
		frac := 0.0
		if m[5] != "" {
			frac, _ = strconv.ParseFloat("0."+m[5], 64)
		}
		secs = float64(days)*86400 + float64(h)*3600 + float64(mi)*60 + float64(se) + frac
	default:
		return 0, fmt.Errorf("%s: want a string such as \"3600.0 seconds\"", raw)
	}
	var d time.Duration
	if secs > 0 && secs <= float64(366*24*time.Hour/time.Second) { // NaN not
		d = time.Duration(secs * float64(time.Second)).Round(time.Millisecond)
	}
	if d <= 0 { // under half a millisecond rounds to none
		return 0, fmt.Errorf("%s: want a positive duration of at most a year", raw)
	}
	return d, nil
}

// setAirflowSLA records on job the SLA its event's task facet states, if
// any, and says whether the event asserts it.
func setAirflowSLA(job *catalog.JobFacts, e Event, problems *[]string) catalog.Facet {
	sla, present, err := airflowSLA(e)
	switch {
	case err != nil:
		*problems = append(*problems, err.Error())
		return 0
	case !present:
		return 0
	case sla > 0:
		job.Properties = props(job.Properties)
		job.Properties[catalog.PropAirflowSLA] = sla.String()
		setProp(job.Properties, catalog.PropAirflowSLAProducer, e.Producer)
	}
	return catalog.FacetSLA
}
