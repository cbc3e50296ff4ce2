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
	// SQL, with words no dataset has, and long: a field of its own, it
	// leaves the datasets' ranking alone (TestJobsBesideDatasets).
	out[1].SQL = "INSERT INTO crm.customers SELECT id, email FROM stripe_customers_raw WHERE NOT churned_flag" + strings.Repeat(" AND id IS NOT NULL", 200)
	return out
}

// TestJobSQL: a job is found by a word of its SQL, shown where it
// matched; a dataset search never searches SQL.
func TestJobSQL(t *testing.T) {
	x := buildWith(t, corpusJobs())
	for _, tc := range []struct {
		query string
		jobs  bool
		want  string
		shown string // in the description shown: the SQL when only it matched
	}{
		{"churned", true, "customers.refresh_customers", "<mark>churned</mark>_flag"},
		{"stripe customers", true, "customers.refresh_customers", "refresh_<mark>customers</mark> into"},
		{"churned", false, "", ""},
	} {
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Search(t.Context(), Request{Query: q, Jobs: tc.jobs})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range res.Hits {
			got = append(got, h.Key.Name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q (jobs %v): %q, want %q", tc.query, tc.jobs, got, tc.want)
			continue
		}
		if tc.want == "" {
			continue
		}
		h := res.Hits[0]
		if d := h.Description.HTML(); !strings.Contains(d, tc.shown) {
			t.Errorf("%q: description shown %q, want it to hold %q", tc.query, d, tc.shown)
		}
	}
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
}

// TestSuggestJobs: the search box suggests jobs after datasets, marked as
// jobs, and never in place of the datasets it would suggest without
// them.
func TestSuggestJobs(t *testing.T) {
	without, with := buildCorpus(t), buildWith(t, corpusJobs())
	show := func(x *Index, typed string, n int) string {
		t.Helper()
		sugg, err := x.Suggest(t.Context(), typed, n)
		if err != nil {
			t.Fatal(err)
		}
		var b []string
		for _, s := range sugg {
			name := s.Key.Name
			if s.IsJob() {
				name = "job:" + name
			}
			b = append(b, name)
		}
		return strings.Join(b, " ")
	}
	for _, tc := range []struct {
		typed string
		n     int
		want  string
	}{
		{"load", 8, "job:orders_daily.load_orders"},
		{"refresh_cust", 8, "job:customers.refresh_customers"},
		{"revenue", 8, "warehouse.finance.revenue_recognition warehouse.finance.monthly_revenue warehouse.marts.fct_daily_revenue job:model.analytics.revenue"},
		// One job matches: it takes the last place, the datasets the rest.
		{"orders", 8, "warehouse.sandbox.orders events/orderItemsStream warehouse.staging.stg_orders warehouse.marts.fct_orders warehouse.raw.shop_orders warehouse.staging.stg_order_items warehouse.marts.fct_order_items job:orders_daily.load_orders"},
		{"orders", 1, "warehouse.sandbox.orders"}, // no place to keep for a job,
		{"_", 8, ""},
	} {
		got := show(with, tc.typed, tc.n)
		if got != tc.want {
			t.Errorf("Suggest(%q, %d) = %s, want %s (without jobs: %s)", tc.typed, tc.n, got, tc.want, show(without, tc.typed, tc.n))
		}
		datasets, _, _ := strings.Cut(got, "job:")
		if alone := show(without, tc.typed, tc.n); !strings.HasPrefix(alone, strings.TrimSpace(datasets)) {
			t.Errorf("Suggest(%q, %d) datasets: %s, not the first of %s", tc.typed, tc.n, datasets, alone)
		}
	}
}
