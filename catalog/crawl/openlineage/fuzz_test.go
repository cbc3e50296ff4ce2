package openlineage

import (
	"os"
	"testing"
	"time"
)

// FuzzDecode checks that no input makes the decoder or Derive panic, and
// that whatever Decode accepts is a complete event.
func FuzzDecode(f *testing.F) {
	for _, p := range fixtures(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) < 20000 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j"}, "outputs": [{"namespace": "n", "name": "d", "facets": {"schema": {"fields": [{"name": "a", "fields": [{"name": "b"}]}]}, "columnLineage": {"fields": {"a": {"inputFields": [{"namespace": "n", "name": "s", "field": "x", "transformations": [{"type": "DIRECT"}]}]}}}}}]}`))
	f.Add([]byte(`{"eventTime": "2024-01-01T00:00:00Z", "run": {"runId": "01890a5d-ac96-774b-bcce-b302099a8057"}, "job": {"namespace": "n", "name": "j", "facets": {"ownership": {"owners": [{"name": "team:x"}]}}}, "outputs": [{"namespace": "n", "name": "d", "facets": {"tags": {"tags": [{"key": "pii", "value": "true"}, {"key": "env", "value": "prod", "field": "a"}, {"key": "", "value": ""}]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			return
		}
		if e.Time.IsZero() || e.Kind == "" {
			t.Fatalf("accepted an incomplete event: %+v", e)
		}
		if e.Kind != KindDataset && (e.Job.Namespace == "" || e.Job.Name == "") {
			t.Fatalf("accepted a job without a key: %+v", e)
		}
		p, errs := Derive([]Event{e})
		if len(errs) != 1 {
			t.Fatalf("Derive returned %d errors for one event", len(errs))
		}
		for _, u := range p.Datasets {
			if err := u.Facts.Key.Validate(); err != nil {
				t.Fatalf("derived an invalid dataset: %v", err)
			}
		}
	})
}

// FuzzAirflowSLA checks that no SLA value makes the parser panic and that
// whatever it accepts is a positive duration of at most a year.
func FuzzAirflowSLA(f *testing.F) {
	for _, s := range []string{`"3600.0 seconds"`, `"1:00:00"`, `"2 days, 0:30:00"`, `5400`, `"-1 day, 23:59:59.999999"`, `"NaN seconds"`, `"1e308 seconds"`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseAirflowSLA(data)
		if err != nil {
			return
		}
		if d <= 0 || d > 366*24*time.Hour {
			t.Fatalf("accepted %s as %v", data, d)
		}
	})
}
