package search

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"almanac/catalog"
)

// corpusJobs are jobs named like the corpus's datasets, as Airflow and
// dbt name them: they would outrank datasets if a dataset search found
// them.
func corpusJobs() []Dataset {
	var out []Dataset
	for i, name := range []string{"orders_daily.load_orders", "customers.refresh_customers", "model.analytics.revenue", "payments_hourly.sync_payments"} {
		out = append(out, FromJob(catalog.Job{ID: int64(i + 1), Key: catalog.JobKey{Namespace: "airflow://prod", Name: name},
			Type: "airflow_task", Description: "Loads " + name + " into the warehouse.", UpdatedAt: corpusNow}))
	}
	return out
}

func buildWith(t *testing.T, extra []Dataset) *Index {
	t.Helper()
	x, err := Build(t.TempDir(), func(yield func(Dataset) error) error {
		for _, d := range append(corpus(), extra...) {
			if err := yield(d); err != nil {
				return err
			}
		}
		return nil
	}, Options{Now: func() time.Time { return corpusNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestJobsBesideDatasets: jobs in the index leave every query of the
// relevance suite with the same number of datasets and the same first
// five in the same order (what rank.txt pins), and are found by a search
// for jobs (Request.Jobs with kind:job), with their own ids. Deeper hits
// may trade places: BM25's statistics (documents in all, average field
// lengths) count the jobs too.
func TestJobsBesideDatasets(t *testing.T) {
	without, with := buildCorpus(t), buildWith(t, corpusJobs())
	show := func(x *Index, q Query, jobs bool) string {
		res, err := x.Search(t.Context(), Request{Query: q, Limit: 5, Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d:", res.Total)
		for _, h := range res.Hits {
			fmt.Fprintf(&b, " %s/%s#%d", h.Kind, h.Key.Name, h.ID)
		}
		return b.String()
	}
	for _, c := range append(readRankCases(t), rankCase{query: "orders"}, rankCase{query: "load orders"}, rankCase{query: "revenue"}) {
		q, err := Parse(c.query)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := show(without, q, false), show(with, q, false); a != b {
			t.Errorf("%q: datasets without jobs indexed: %s\nwith: %s", c.query, a, b)
		}
	}
	q, err := Parse("orders kind:job")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := show(with, q, true), "1: job/orders_daily.load_orders#1"; got != want {
		t.Errorf("jobs for orders: %s, want %s", got, want)
	}
	q, _ = Parse("revenue")
	if got, want := show(with, q, true), "1: job/model.analytics.revenue#3"; got != want {
		t.Errorf("jobs for revenue: %s, want %s", got, want)
	}
	// Suggestions are datasets only.
	sugg, err := with.Suggest(t.Context(), "orders_daily", 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sugg {
		if s.Kind == KindJob {
			t.Errorf("suggested the job %s", s.Key.Name)
		}
	}
}
