package openlineage

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
)

// airflowEvent returns the START event of the task BQ.copy as
// apache-airflow-providers-openlineage 1.14.0 sent it
// (testdata/airflow_compat/line_04.json, whose run facet "airflow" has
// "task": {..., "sla": null, ...}: TaskInfo of the provider's
// utils/utils.py), with edit applied to its decoded JSON.
func airflowEvent(t *testing.T, edit func(facets map[string]any)) Event {
	t.Helper()
	b, err := os.ReadFile("testdata/airflow_compat/line_04.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m["run"].(map[string]any)["facets"].(map[string]any))
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	e, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// setSLA sets the task's sla in the provider's airflow run facet.
func setSLA(v any) func(map[string]any) {
	return func(f map[string]any) { f["airflow"].(map[string]any)["task"].(map[string]any)["sla"] = v }
}

// TestDeriveAirflowSLA: the SLA of the task's airflow facet is the job's
// airflow_sla property, asserted (so a null one removes it); a malformed
// one is ignored with a warning naming it, and the rest of the event is
// kept.
func TestDeriveAirflowSLA(t *testing.T) {
	job := catalog.JobKey{Namespace: "airflow", Name: "BQ.copy"}
	for _, tc := range []struct {
		name    string
		edit    func(map[string]any)
		want    string // the property; "" for none
		asserts bool
		warn    string
	}{
		{"provider: timedelta as seconds", setSLA("3600.0 seconds"), "1h0m0s", true, ""},
		{"provider: fractional seconds", setSLA("5400.5 seconds"), "1h30m0.5s", true, ""},
		{"provider: no sla", setSLA(nil), "", true, ""},
		{"provider: no sla key (Airflow 3)", func(f map[string]any) {
			delete(f["airflow"].(map[string]any)["task"].(map[string]any), "sla")
		}, "", true, ""},
		{"str of a timedelta", setSLA("1 day, 2:30:00"), "26h30m0s", true, ""},
		{"malformed", setSLA("soon"), "", false, `run.facets.airflow.task.sla: "soon": want`},
		{"negative", setSLA("-60.0 seconds"), "", false, "want a positive duration"},
		{"openlineage-airflow's airflow_version facet", func(f map[string]any) {
			delete(f, "airflow")
			f["airflow_version"] = map[string]any{"_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.2.0/integration/airflow",
				"operator": "airflow.operators.bash.BashOperator", "airflowVersion": "2.6.3", "openlineageAirflowVersion": "1.2.0",
				"taskInfo": map[string]any{"task_id": "copy", "sla": "0:45:00"}}
		}, "45m0s", true, ""},
		{"no task facet", func(f map[string]any) { delete(f, "airflow") }, "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, errs := Derive([]Event{airflowEvent(t, tc.edit)})
			if tc.warn == "" && errs[0] != nil {
				t.Errorf("warning %v, want none", errs[0])
			}
			if tc.warn != "" && (errs[0] == nil || !strings.Contains(errs[0].Error(), tc.warn) || !strings.Contains(errs[0].Error(), "ignored")) {
				t.Errorf("warning %v, want one with %q saying it is ignored", errs[0], tc.warn)
			}
			var got *catalog.JobUpdate
			for i := range p.Jobs {
				if p.Jobs[i].Job.Key == job {
					got = &p.Jobs[i]
				}
			}
			if got == nil || len(p.Runs) != 1 {
				t.Fatalf("jobs %+v, runs %d: want the task and its run kept", p.Jobs, len(p.Runs))
			}
			if sla := got.Job.Properties[catalog.PropAirflowSLA]; sla != tc.want {
				t.Errorf("airflow_sla = %q, want %q", sla, tc.want)
			}
			if a := got.Asserts&catalog.FacetSLA != 0; a != tc.asserts {
				t.Errorf("asserts the SLA: %v, want %v", a, tc.asserts)
			}
		})
	}
}

func TestParseAirflowSLA(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"3600.0 seconds"`:         time.Hour,
		`"86400.0 seconds"`:        24 * time.Hour,
		`"0.5 seconds"`:            500 * time.Millisecond,
		`"1:00:00"`:                time.Hour,
		`"0:05:30"`:                5*time.Minute + 30*time.Second,
		`"1 day, 0:00:00"`:         24 * time.Hour,
		`"2 days, 1:02:03.250000"`: 49*time.Hour + 2*time.Minute + 3250*time.Millisecond,
		`7200`:                     2 * time.Hour,
		`"0.0 seconds"`:            0,
		`"-1 day, 23:00:00"`:       0,
		`"1h"`:                     0,
		`"3600 secs"`:              0,
		`true`:                     0,
		`"400 days, 0:00:00"`:      0,
		`"NaN seconds"`:            0,
	} {
		got, err := ParseAirflowSLA(json.RawMessage(in))
		if want == 0 {
			if err == nil {
				t.Errorf("ParseAirflowSLA(%s) = %s, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseAirflowSLA(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
}
