package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/store"
)

// TestApplyPushResolvesAliases declares hive://metastore db.t an alias of
// s3://bucket /warehouse/t, after a crawl described db.t and OpenLineage
// named it as a job's input. The job's input moves onto the dataset; later
// pushes naming the alias write to the dataset (job inputs, docs, metrics,
// quality checks); what the crawl said about db.t stays on db.t.
func TestApplyPushResolvesAliases(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	canonical := catalog.Key{Namespace: "s3://bucket", Name: "/warehouse/t"}
	alias := catalog.Key{Namespace: "hive://metastore", Name: "db.t"}
	reader := catalog.JobKey{Namespace: "ns", Name: "reader"}
	crawled := catalog.DatasetFacts{Key: alias, Description: "crawled", Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "int"}}}
	if _, err := st.Crawl(ctx, "hive:metastore", harvest(crawled)); err != nil {
		t.Fatal(err)
	}
	push := func(p catalog.Push) {
		t.Helper()
		p.Source = catalog.SourceOpenLineage
		if err := st.ApplyPush(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	push(catalog.Push{
		Datasets: []catalog.DatasetUpdate{{Facts: catalog.DatasetFacts{Key: alias}}},
		Jobs:     []catalog.JobUpdate{{Job: catalog.JobFacts{Key: reader, Type: "openlineage", Inputs: []catalog.Key{alias}}}},
	})
	seq := lastSeq(t, st)
	declare := catalog.Push{Datasets: []catalog.DatasetUpdate{{
		Facts:   catalog.DatasetFacts{Key: canonical, Aliases: []catalog.Alias{{Key: alias, Type: "TABLE"}}},
		Asserts: catalog.FacetAliases,
	}}}
	push(declare)
	var got []string
	for _, c := range changesAfter(t, st, seq) {
		got = append(got, c.Entity+" "+c.Key.String()+" "+string(c.Kind))
	}
	want := []string{
		"dataset s3://bucket//warehouse/t created",
		// db.t stays live: the crawl still reports it.
		"dataset hive://metastore/db.t updated",
		"job ns/reader updated",
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes of the declaration (-want +got):\n%s", diff)
	}
	// Declaring it again moves nothing.
	seq = lastSeq(t, st)
	push(declare)
	if c := changesAfter(t, st, seq); len(c) != 0 {
		t.Errorf("changes of a repeated declaration = %+v, want none", c)
	}

	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	push(catalog.Push{
		Datasets: []catalog.DatasetUpdate{{Facts: catalog.DatasetFacts{Key: alias, Platform: "hive", Description: "from openlineage"}, Asserts: catalog.FacetDescription}},
		Jobs:     []catalog.JobUpdate{{Job: catalog.JobFacts{Key: catalog.JobKey{Namespace: "ns", Name: "writer"}, Type: "openlineage", Outputs: []catalog.Key{alias}}}},
		Metrics:  []catalog.DatasetMetrics{{Dataset: alias, ObservedAt: t0, Direction: catalog.MetricsWritten, RowCount: ptr[int64](7)}},
		Checks:   []catalog.QualityCheck{{Dataset: alias, Name: "ns/writer: not_null(id)", Type: "not_null", Column: "id"}},
	})
	var edges []string
	if err := st.LineageJobs(ctx, nil, func(j catalog.JobEdges) error {
		for _, in := range j.Inputs {
			edges = append(edges, in.String()+" -> "+j.Key.String())
		}
		for _, o := range j.Outputs {
			edges = append(edges, j.Key.String()+" -> "+o.String())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(edges)
	if diff := cmp.Diff([]string{"ns/writer -> s3://bucket//warehouse/t", "s3://bucket//warehouse/t -> ns/reader"}, edges); diff != "" {
		t.Errorf("edges (-want +got):\n%s", diff)
	}
	if m, err := st.LatestMetrics(ctx, canonical); err != nil || *m.Value.RowCount != 7 {
		t.Errorf("metrics of %s = %+v, %v", canonical, m, err)
	}
	if _, err := st.LatestMetrics(ctx, alias); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("metrics recorded on the alias: %v", err)
	}
	d, err := readDataset(ctx, st, canonical)
	if err != nil {
		t.Fatal(err)
	}
	if d.Description != "from openlineage" {
		t.Errorf("description of %s = %q, want the one pushed for its alias", canonical, d.Description)
	}
	a, err := readDataset(ctx, st, alias)
	if err != nil {
		t.Fatal(err)
	}
	if a.RemovedAt != nil || a.Description != "crawled" || len(a.Columns) != 1 {
		t.Errorf("alias %s = removed %v, description %q, %d columns; want what the crawl said kept", alias, a.RemovedAt, a.Description, len(a.Columns))
	}
}

// TestAliasCycleResolvesOneWay checks that two datasets declaring each
// other aliases do not swap: the second declaration, made by an alias,
// lands on the first dataset, and both keys lead to it.
func TestAliasCycleResolvesOneWay(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	a := catalog.Key{Namespace: "s3://bucket", Name: "/a"}
	b := catalog.Key{Namespace: "hive://metastore", Name: "db.a"}
	job := catalog.JobKey{Namespace: "ns", Name: "j"}
	for _, u := range []catalog.DatasetUpdate{
		{Facts: catalog.DatasetFacts{Key: a, Aliases: []catalog.Alias{{Key: b}}}, Asserts: catalog.FacetAliases},
		{Facts: catalog.DatasetFacts{Key: b, Aliases: []catalog.Alias{{Key: a}}}, Asserts: catalog.FacetAliases},
	} {
		if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{u}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage,
		Jobs: []catalog.JobUpdate{{Job: catalog.JobFacts{Key: job, Type: "openlineage", Inputs: []catalog.Key{a, b}}}}}); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.JobsByKeys(ctx, []catalog.JobKey{job})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.Key{a}, jobs[job].Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if _, err := readDataset(ctx, st, b); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("alias %s became a dataset: %v", b, err)
	}
}

// TestApplyPushRefusesRunOfAnotherJob checks the store's own guard: a run
// id recorded for one job is not taken over by another, in one push or
// two, and the refusal names both jobs.
func TestApplyPushRefusesRunOfAnotherJob(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	owner, other := catalog.JobKey{Namespace: "ns", Name: "owner"}, catalog.JobKey{Namespace: "ns", Name: "other"}
	jobs := []catalog.JobUpdate{{Job: catalog.JobFacts{Key: owner, Type: "openlineage"}}, {Job: catalog.JobFacts{Key: other, Type: "openlineage"}}}
	err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Jobs: jobs, Runs: []catalog.Run{
		{ID: "r1", Job: owner, State: catalog.RunStart, StateAt: t0},
		{ID: "r1", Job: other, State: catalog.RunComplete, StateAt: t0.Add(time.Minute)},
	}})
	var pe *store.PartialError
	if !errors.As(err, &pe) || !errors.Is(err, catalog.ErrInvalid) {
		t.Fatalf("ApplyPush = %v, want a *PartialError refusing the second run", err)
	}
	err = st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Runs: []catalog.Run{
		{ID: "r1", Job: other, State: catalog.RunFail, StateAt: t0.Add(time.Hour)},
	}})
	want := "run r1 belongs to job ns/owner: not recorded as a run of job ns/other: invalid"
	if !errors.As(err, &pe) || err.Error() != want {
		t.Errorf("ApplyPush = %v, want %q", err, want)
	}
	runs, err := st.RunsByIDs(ctx, []string{"r1"})
	if r := runs["r1"]; err != nil || r.Job != owner || r.State != catalog.RunStart {
		t.Errorf("run r1 = %+v, %v; want the START of ns/owner untouched", r, err)
	}
}
