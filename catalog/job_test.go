package catalog_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
)

func TestMergeJob(t *testing.T) {
	key := catalog.JobKey{Namespace: "dbt", Name: "model.shop.orders"}
	k := func(name string) catalog.Key { return catalog.Key{Namespace: "pg", Name: name} }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { t := t0.Add(time.Duration(h) * time.Hour); return &t }
	src := func(source string, removed *time.Time, f catalog.JobFacts) catalog.SourceJob {
		f.Key = key
		return catalog.SourceJob{JobFacts: f, Source: source, UpdatedAt: t0, RemovedAt: removed}
	}
	for _, tt := range []struct {
		name  string
		facts []catalog.SourceJob
		want  catalog.Job
	}{{
		name: "live sources by name, text from the first that gives it",
		facts: []catalog.SourceJob{
			src("openlineage", nil, catalog.JobFacts{Type: "openlineage", Description: "Orders.", Properties: map[string]string{"a": "ol", "b": "ol"},
				Inputs: []catalog.Key{k("fx")}, Outputs: []catalog.Key{k("orders")}}),
			src("dbt:shop", nil, catalog.JobFacts{Type: "dbt_model", SQL: "select 1", Properties: map[string]string{"a": "dbt"},
				Inputs: []catalog.Key{k("raw"), k("fx")}, Outputs: []catalog.Key{k("orders")}}),
			src("airflow", at(1), catalog.JobFacts{Type: "task", Description: "Old.", CompiledSQL: "select 0", Inputs: []catalog.Key{k("gone")}}),
		},
		want: catalog.Job{Type: "dbt_model", Description: "Orders.", SQL: "select 1", CompiledSQL: "select 0",
			Properties: map[string]string{"a": "dbt", "b": "ol"}, Inputs: []catalog.Key{k("fx"), k("raw")}, Outputs: []catalog.Key{k("orders")}},
	}, {
		name: "no live source: what they said last, removed when the last stopped",
		facts: []catalog.SourceJob{
			src("openlineage", at(3), catalog.JobFacts{Type: "openlineage", Inputs: []catalog.Key{k("b")}}),
			src("dbt:shop", at(2), catalog.JobFacts{Type: "dbt_model", Inputs: []catalog.Key{k("a")}}),
		},
		want: catalog.Job{Type: "dbt_model", Properties: map[string]string{}, Inputs: []catalog.Key{k("a"), k("b")}, Outputs: []catalog.Key{}, RemovedAt: at(3)},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			got := catalog.MergeJob(7, key, t0, tt.facts)
			tt.want.ID, tt.want.Key, tt.want.CreatedAt, tt.want.UpdatedAt = 7, key, t0, t0
			if diff := cmp.Diff(tt.want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Sources" }, cmp.Ignore())); diff != "" {
				t.Errorf("MergeJob (-want +got):\n%s", diff)
			}
			if got.Sources[0].Source != "dbt:shop" {
				t.Errorf("sources %v: want dbt:shop, the first live one by name, first", got.SourceNames())
			}
			edges := got.Edges()
			if live := got.RemovedAt == nil; live != (len(edges.Inputs) > 0) {
				t.Errorf("edges of a job removed %v = %+v", got.RemovedAt, edges)
			}
		})
	}
}
