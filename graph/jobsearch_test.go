package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/graph"
)

// jobSearchPage is what the tests select of searchJobs.
type jobSearchPage struct {
	SearchJobs struct {
		TotalCount int
		Warnings   []string
		Edges      []struct {
			Node struct {
				Namespace, Name, Type string
				Matched               []string
				NameHighlight         string
				DescriptionHighlight  string
				Job                   *struct {
					Description string
					LatestRun   *struct{ State string }
				}
			}
		}
	}
}

// TestSearchJobs: searchJobs finds the fixture's jobs (indexed from
// PostgreSQL) by name, by a word of the description or of the SQL, and with kind:job
// written out, the job itself read from PostgreSQL; search, whose hits
// are datasets, finds none and says where jobs are found.
func TestSearchJobs(t *testing.T) {
	e := newEnv(t, graph.Options{})
	const q = `query($q: String!) { searchJobs(query: $q) { totalCount warnings edges { node {
		namespace name type matched nameHighlight descriptionHighlight job { description latestRun { state } } } } } }`
	find := func(query string) jobSearchPage {
		t.Helper()
		var p jobSearchPage
		e.decode(t, e.post(t, q, map[string]any{"q": query}), &p)
		return p
	}
	names := func(p jobSearchPage) []string {
		var out []string
		for _, e := range p.SearchJobs.Edges {
			out = append(out, e.Node.Namespace+" "+e.Node.Name)
		}
		return out
	}

	// By name: the DAG, with its description and latest run from PostgreSQL.
	p := find("analytics_daily")
	if diff := cmp.Diff([]string{dagJob.Namespace + " " + dagJob.Name}, names(p)); diff != "" {
		t.Fatalf("searchJobs(analytics_daily) (-want +got):\n%s", diff)
	}
	n := p.SearchJobs.Edges[0].Node
	if n.Type != "airflow_dag" || n.NameHighlight != "<mark>analytics_daily</mark>" || n.Job == nil ||
		n.Job.Description != "Builds the analytics marts every morning." || n.Job.LatestRun == nil || n.Job.LatestRun.State != "FAIL" {
		t.Errorf("searchJobs(analytics_daily) hit: %+v, job %+v", n, n.Job)
	}
	if !slices.Contains(n.Matched, "exact name") {
		t.Errorf("searchJobs(analytics_daily) matched %q, want exact name", n.Matched)
	}

	// By a word of the description only.
	p = find("morning")
	if diff := cmp.Diff([]string{dagJob.Namespace + " " + dagJob.Name}, names(p)); diff != "" {
		t.Errorf("searchJobs(morning) (-want +got):\n%s", diff)
	} else if d := p.SearchJobs.Edges[0].Node.DescriptionHighlight; !strings.Contains(d, "<mark>morning</mark>") {
		t.Errorf("searchJobs(morning) description highlight %q", d)
	}

	// By a word of the SQL only: a job crawled after the index was
	// built, caught up from the change log.
	if _, err := e.store.Crawl(t.Context(), "spark:etl", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Jobs: []catalog.JobFacts{{Key: catalog.JobKey{Namespace: "spark://etl", Name: "etl.load_ledger"}, Type: "spark_application",
			SQL: "INSERT INTO finance.ledger SELECT * FROM quarantine_bucket WHERE settled"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.search.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	p = find("quarantine")
	if diff := cmp.Diff([]string{"spark://etl etl.load_ledger"}, names(p)); diff != "" {
		t.Errorf("searchJobs(quarantine) (-want +got):\n%s", diff)
	} else if d := p.SearchJobs.Edges[0].Node.DescriptionHighlight; !strings.Contains(d, "<mark>quarantine</mark>_bucket") {
		t.Errorf("searchJobs(quarantine) description highlight %q, want the SQL", d)
	}

	// kind:job written out, as the portal's search box takes it; the
	// dbt models are found by a word of their names.
	p = find("revenue kind:job")
	if diff := cmp.Diff([]string{revenueJob.Namespace + " " + revenueJob.Name}, names(p)); diff != "" {
		t.Errorf("searchJobs(revenue kind:job) (-want +got):\n%s", diff)
	}
	if p.SearchJobs.TotalCount != 1 || len(p.SearchJobs.Warnings) != 0 {
		t.Errorf("searchJobs(revenue kind:job): total %d, warnings %q", p.SearchJobs.TotalCount, p.SearchJobs.Warnings)
	}

	// No dataset is ever a job hit.
	p = find("orders")
	for _, name := range names(p) {
		if !strings.HasPrefix(name, ordersJob.Namespace+" ") && !strings.HasPrefix(name, dagJob.Namespace+" ") {
			t.Errorf("searchJobs(orders) found %s", name)
		}
	}
	if !slices.Contains(names(p), ordersJob.Namespace+" "+ordersJob.Name) {
		t.Errorf("searchJobs(orders) = %q, lacks %s", names(p), ordersJob.Name)
	}

	// search keeps its datasets-only shape: kind:job there finds nothing,
	// and a warning names searchJobs.
	var s struct {
		Search struct {
			TotalCount int
			Warnings   []string
		}
	}
	e.decode(t, e.post(t, `{ search(query: "revenue kind:job") { totalCount warnings } }`, nil), &s)
	if s.Search.TotalCount != 0 || !slices.ContainsFunc(s.Search.Warnings, func(w string) bool { return strings.Contains(w, "searchJobs") }) {
		t.Errorf("search(revenue kind:job): %+v", s.Search)
	}
}

// TestSearchJobsReadsPostgresOnlyForJobs: hits from the index alone read
// nothing from PostgreSQL; selecting their jobs, with latest runs and
// inputs, reads a few statements for the whole page.
func TestSearchJobsReadsPostgresOnlyForJobs(t *testing.T) {
	e := newEnv(t, graph.Options{})
	addBulkJobs(t, e)
	if err := e.search.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, query string
		max         int64
	}{
		{"index fields", `{ searchJobs(query: "namespace:bulk", first: 50) { totalCount edges { node { namespace name type matched nameHighlight } } } }`, 0},
		{"jobs", `{ searchJobs(query: "namespace:bulk", first: 50) { edges { node { name job { description latestRun { state } inputs { name } } } } } }`, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.stmts.n.Store(0)
			r := e.post(t, tt.query, nil)
			if len(r.Errors) > 0 || strings.Count(string(r.Data), `"name":"job`) < 50 {
				t.Fatalf("errors %+v, data %.300s", r.Errors, r.Data)
			}
			if n := e.stmts.n.Load(); n > tt.max {
				t.Errorf("%d statements, want at most %d", n, tt.max)
			}
		})
	}
}
