package ui

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/store"
	"almanac/search"
)

// The Airflow fixture (testdata/openlineage/airflow_orders_daily.json):
// the DAG orders_daily ran daily from March 4 to 9, its task
// transform_orders copying raw events into fct_orders in about five
// minutes; on March 8 the task took 14 minutes (late), on March 9 it
// failed with an error message facet; on March 10 the DAG run started.
var (
	airflowDAG  = catalog.JobKey{Namespace: "airflow://prod", Name: "orders_daily"}
	airflowTask = catalog.JobKey{Namespace: "airflow://prod", Name: "orders_daily.transform_orders"}
)

const (
	lateTaskRun   = "01903a08-7d1e-7c3a-9b2f-4e5d6c7b8a08"
	failedTaskRun = "01903a09-7d1e-7c3a-9b2f-4e5d6c7b8a09"
	failedDAGRun  = "01902d09-7d1e-7c3a-9b2f-4e5d6c7b8a09"
	okTaskRun     = "01903a07-7d1e-7c3a-9b2f-4e5d6c7b8a07"
)

// pushAirflowFixture records the Airflow fixture's events as the
// OpenLineage endpoint would: decoded, derived and pushed.
func pushAirflowFixture(t *testing.T, st *store.Store) {
	t.Helper()
	b, err := os.ReadFile("testdata/openlineage/airflow_orders_daily.json")
	if err != nil {
		t.Fatal(err)
	}
	events, err := openlineage.DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	push, errs := openlineage.Derive(events)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := st.ApplyPush(t.Context(), push); err != nil {
		t.Fatal(err)
	}
}

func newPipelinePortal(t *testing.T) *portal {
	t.Helper()
	return newPortal(t, func(o *Options) { pushAirflowFixture(t, o.Store) })
}

// mustContain fails for each of wants that body lacks.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestJobsPage(t *testing.T) {
	p := newPipelinePortal(t)
	r := p.get(t, "/jobs")
	if r.status != 200 {
		t.Fatalf("/jobs: %d\n%s", r.status, r.body)
	}
	mustContain(t, "/jobs", r.body,
		`href="`+jobPath(airflowTask)+`"`, `href="`+jobPath(airflowDAG)+`"`,
		`href="/runs/`+failedTaskRun+`"><span class="badge status-failed">failed</span>`,
		`<span class="badge status-running">running</span>`,
		`<span class="failures">1</span> <span class="muted">of 6</span>`, // the task: one failure in six runs
		"Jobs 1–2 of 2")

	// Filtered by the latest run's status: only the task failed last.
	r = p.get(t, "/jobs?status=FAIL")
	if r.status != 200 || !strings.Contains(r.body, jobPath(airflowTask)) || strings.Contains(r.body, `href="`+jobPath(airflowDAG)+`"`) {
		t.Errorf("/jobs?status=FAIL: %d, want the task only\n%s", r.status, r.body)
	}
	// By namespace: none in another.
	r = p.get(t, "/jobs?namespace=dbt")
	if r.status != 200 || !strings.Contains(r.body, "No jobs match.") {
		t.Errorf("/jobs?namespace=dbt: %d, want no jobs", r.status)
	}
	// Ordered by the latest run's duration: the task first, the DAG's
	// latest run still going.
	r = p.get(t, "/jobs?sort=duration")
	if i, j := strings.Index(r.body, `href="`+jobPath(airflowTask)+`"`), strings.Index(r.body, `href="`+jobPath(airflowDAG)+`"`); i < 0 || j < 0 || i > j {
		t.Errorf("/jobs?sort=duration: the task (at %d) does not come before the DAG (at %d)", i, j)
	}
	// Bad filters are named.
	for path, want := range map[string]string{
		"/jobs?status=BROKEN": `status=&#34;BROKEN&#34; is not a run status`,
		"/jobs?sort=size":     `sort=&#34;size&#34; is not an order`,
		"/jobs?page=0":        `page=&#34;0&#34; is not a page number`,
	} {
		if r := p.get(t, path); r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d, want 400 saying %q\n%s", path, r.status, want, r.body)
		}
	}
}

func TestJobPage(t *testing.T) {
	p := newPipelinePortal(t)
	r := p.get(t, jobPath(airflowTask))
	if r.status != 200 {
		t.Fatalf("job page: %d\n%s", r.status, r.body)
	}
	mustContain(t, "the task's page", r.body,
		// The duration chart: six bars, the late one and the failed one marked.
		`<svg class="history durations" role="img"`, `class="r-pass r-late"`, `class="r-fail"`, `<line class="median"`,
		"Duration of the last 6 runs, oldest first: 1 failed, 4 succeeded, 1 succeeded, late; median 5m 12s",
		// The rule, in words; the late and failed rows marked.
		"Late: took longer than 7m 48s, 1.5× the median duration",
		`<tr class="run-late"><td><a class="mono" href="/runs/`+lateTaskRun+`"`,
		`<tr class="run-failed"><td><a class="mono" href="/runs/`+failedTaskRun+`"`,
		`duplicate key value violates unique constraint &#34;fct_orders_pkey&#34;`,
		// Parent DAG run, inputs, outputs, SQL, code, documentation.
		`<dt>Parent run</dt><dd><a class="mono" href="/runs/`+failedDAGRun+`">`, `of <a class="mono" href="`+jobPath(airflowDAG)+`">`,
		`href="`+datasetPath(rawEvents)+`"`, `href="`+datasetPath(fctOrders)+`"`,
		"INSERT INTO warehouse.marts.fct_orders\nSELECT e.order_id",
		`<a href="https://github.com/acme/airflow-dags/blob/4f2a9c1e/dags/orders_daily.py" rel="noopener nofollow">dags/orders_daily.py</a>`,
		` at <span class="mono">4f2a9c1e</span>`, "in https://github.com/acme/airflow-dags",
		"Copies the day&#39;s order events into <strong>fct_orders</strong>.",
	)
	if n := strings.Count(r.body, "<rect "); n != 6 {
		t.Errorf("the chart has %d bars, want 6", n)
	}

	// The DAG's page lists the task runs of its newest run that started
	// any: today's has not yet, yesterday's failed one has.
	r = p.get(t, jobPath(airflowDAG))
	mustContain(t, "the DAG's page", r.body, "Loads yesterday&#39;s orders into the marts.", `<span class="badge status-running">running</span>`,
		`Runs started by run <a class="mono" href="/runs/`+failedDAGRun+`">01902d09</a>`, `href="/runs/`+failedTaskRun+`"`)
	// It reads and writes through its tasks: no empty lists of its own.
	if strings.Contains(r.body, "inputs-heading") || strings.Contains(r.body, "outputs-heading") {
		t.Error("the DAG's page lists inputs and outputs of its own, which it has none of")
	}

	// Paging the history: the second page of two runs per page is not
	// reachable without the page's own link, but a bad one is named.
	if r := p.get(t, jobPath(airflowTask)+"?before=yesterday&after=x"); r.status != 400 {
		t.Errorf("a bad before=: %d, want 400", r.status)
	}
	if r := p.get(t, "/jobs/airflow:%2F%2Fprod/nothing"); r.status != 404 || !strings.Contains(r.body, "There is no job nothing") {
		t.Errorf("a job that does not exist: %d\n%s", r.status, r.body)
	}
}

func TestRunsPages(t *testing.T) {
	p := newPipelinePortal(t)
	r := p.get(t, "/runs")
	if r.status != 200 {
		t.Fatalf("/runs: %d\n%s", r.status, r.body)
	}
	// 6 DAG runs and their 6 task runs, and today's DAG run: 13, newest
	// (today's) first.
	if n := strings.Count(r.body, `<tr`); n != 14 {
		t.Errorf("/runs lists %d rows, want 13 runs and the header", n-1)
	}
	if i := strings.Index(r.body, "/runs/01902d10"); i < 0 || i > strings.Index(r.body, "/runs/"+failedDAGRun) {
		t.Errorf("/runs does not list today's run first")
	}
	r = p.get(t, "/runs?status=FAIL")
	if got := regexp.MustCompile(`href="/runs/([0-9a-f-]+)"`).FindAllStringSubmatch(r.body, -1); len(got) != 2 {
		t.Errorf("/runs?status=FAIL links %v, want the failed task run and its DAG run", got)
	}
	if r := p.get(t, "/runs?status=LATE"); r.status != 400 {
		t.Errorf("/runs?status=LATE: %d, want 400", r.status)
	}

	// The late run: its duration against the median, the dataset it
	// changed with the rows it wrote, its parent.
	r = p.get(t, "/runs/"+lateTaskRun)
	if r.status != 200 {
		t.Fatalf("the late run: %d\n%s", r.status, r.body)
	}
	mustContain(t, "the late run's page", r.body,
		`<span class="badge status-late">late</span>`, "14m 0s", "(the job's median: 5m 12s)",
		`<h2 id="changed-heading">Datasets it changed</h2>`, `href="`+datasetPath(fctOrders)+`"`, "<td>10.3k</td>", "<td>482.6 KiB</td>",
		`href="/runs/01902d08-7d1e-7c3a-9b2f-4e5d6c7b8a08"`, "2026-03-08 02:00 UTC to 2026-03-09 02:00 UTC")
	// The failed run: its error message; it changed nothing.
	r = p.get(t, "/runs/"+failedTaskRun)
	mustContain(t, "the failed run's page", r.body, `<strong>Error:</strong> duplicate key value violates unique constraint`)
	if i := strings.Index(r.body, "changed-heading"); i < 0 || !strings.Contains(r.body[i:i+200], "None.") {
		t.Errorf("the failed run's page lists datasets it changed")
	}
	// The DAG run lists the task run it started.
	r = p.get(t, "/runs/"+failedDAGRun)
	mustContain(t, "the DAG run's page", r.body, "Runs it started", `href="/runs/`+failedTaskRun+`"`)
	if strings.Contains(r.body, "changed-heading") || strings.Contains(r.body, "read-heading") {
		t.Error("the DAG run's page lists datasets it changed and read, which its tasks did")
	}
	if r := p.get(t, "/runs/no-such-run"); r.status != 404 {
		t.Errorf("a run that does not exist: %d, want 404", r.status)
	}
}

// TestJobLinks: the dataset page links its producing and consuming jobs'
// pages.
func TestJobLinks(t *testing.T) {
	p := newPipelinePortal(t)
	for _, k := range []catalog.Key{fctOrders, rawEvents} {
		r := p.get(t, datasetPath(k))
		mustContain(t, "the page of "+k.Name, r.body, `<a class="mono" href="`+jobPath(airflowTask)+`">`)
	}
}

// TestSearchFindsJobs: a search lists the jobs that match beside the
// datasets, and counts them in the Kind facet, whose link searches jobs
// alone, linking their pages.
func TestSearchFindsJobs(t *testing.T) {
	p := newPortal(t, func(o *Options) {
		pushAirflowFixture(t, o.Store)
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
	r := p.get(t, "/search?q=orders")
	if r.status != 200 {
		t.Fatalf("search: %d\n%s", r.status, r.body)
	}
	mustContain(t, "the search for orders", r.body,
		`<h2 id="job-hits-heading">Jobs <span class="count">2</span></h2>`,
		`href="`+jobPath(airflowTask)+`"`, `href="/search?q=orders+kind%3Ajob"`)
	if i := strings.Index(r.body, `class="dataset-list search-results"`); i < 0 || strings.Contains(r.body[i:strings.Index(r.body, "job-hits-heading")], "/jobs/") {
		t.Errorf("the dataset results link a job")
	}
	r = p.get(t, "/search?q=orders+kind%3Ajob")
	mustContain(t, "the search for jobs", r.body, "1–2 of 2 jobs", `href="`+jobPath(airflowTask)+`"`, `href="`+jobPath(airflowDAG)+`"`)
	if strings.Contains(r.body, `href="`+datasetPath(fctOrders)+`"`) {
		t.Errorf("the search for jobs lists a dataset")
	}
}

// TestLineageLinksJobs: the job nodes of the lineage drawing link their
// jobs' pages.
func TestLineageLinksJobs(t *testing.T) {
	p, _ := newLineagePortal(t)
	r := p.get(t, lineagePath(fctOrders))
	if r.status != 200 {
		t.Fatalf("lineage: %d", r.status)
	}
	body := htmlUnescape(r.body)
	for _, j := range []string{"model.fct_orders", "model.v_daily_revenue"} {
		if want := `href="` + jobPath(catalog.JobKey{Namespace: "dbt", Name: j}) + `"`; !strings.Contains(body, want) {
			t.Errorf("the drawing lacks %s", want)
		}
	}
}

// newJobSearchPortal is the Airflow fixture's portal with a search index.
func newJobSearchPortal(t *testing.T) *portal {
	t.Helper()
	return newPortal(t, func(o *Options) {
		pushAirflowFixture(t, o.Store)
		x, err := search.Open(t.Context(), filepath.Join(t.TempDir(), "index"), o.Store, search.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		o.Search = x
	})
}

// TestJobSearchExport: the export of a search for jobs (kind:job) holds
// the jobs the search page lists, with a job's columns: type, the state
// of its latest run and its page; a dataset search's export has no job.
func TestJobSearchExport(t *testing.T) {
	p := newJobSearchPortal(t)
	r := p.get(t, "/search/export?q=orders+kind%3Ajob")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV export of jobs: %d %s\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
	records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, rec := range records[1:] {
		got[rec[2]] = []string{rec[1], rec[3], rec[4], rec[5], rec[9]}
	}
	want := map[string][]string{
		airflowTask.Name: {airflowTask.Namespace, "airflow_task", "FAIL", "2026-03-09T02:02:20Z", jobPath(airflowTask)},
		airflowDAG.Name:  {airflowDAG.Namespace, "airflow_dag", "START", "2026-03-10T02:00:00Z", jobPath(airflowDAG)},
	}
	if diff := cmp.Diff([]string{"rank", "namespace", "name", "type", "latest_run_state", "latest_run_at", "matched", "description", "removed", "path"}, records[0]); diff != "" {
		t.Errorf("CSV header (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV export of jobs (-want +got):\n%s", diff)
	}

	r = p.get(t, "/search/export?q=orders+kind%3Ajob&format=json")
	var doc struct {
		Query   string
		Results []struct {
			Rank           int
			Name           string
			Type           string
			LatestRunState string `json:"latest_run_state"`
			URL            string
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("JSON export of jobs: %v\n%s", err, r.body)
	}
	if doc.Query != "orders kind:job" || len(doc.Results) != len(records)-1 {
		t.Fatalf("JSON export of jobs: %+v, CSV %v", doc, records)
	}
	for i, res := range doc.Results {
		if res.Rank != i+1 || res.Name != records[i+1][2] || res.Type != records[i+1][3] || res.LatestRunState != records[i+1][4] || res.URL != records[i+1][9] {
			t.Errorf("JSON export result %d %+v disagrees with the CSV's %v", i, res, records[i+1])
		}
	}

	r = p.get(t, "/search/export?q=orders")
	if strings.Contains(r.body, "/jobs/") || strings.Contains(r.body, airflowTask.Name) {
		t.Errorf("the export of a dataset search holds a job:\n%s", r.body)
	}
}

// TestSuggestJobs: the search box suggests jobs after datasets, marked as
// jobs and linking their pages.
func TestSuggestJobs(t *testing.T) {
	p := newJobSearchPortal(t)
	r := p.get(t, "/search/suggest?q=orders")
	var got []suggestion
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("suggest: %v\n%s", err, r.body)
	}
	jobs := map[string]suggestion{}
	sawJob := false
	for _, s := range got {
		if s.Kind == search.KindJob {
			sawJob = true
			jobs[s.Name] = s
		} else if sawJob {
			t.Errorf("the dataset %s is suggested after a job: %+v", s.Name, got)
		}
	}
	want := map[string]suggestion{
		airflowDAG.Name:  {Name: airflowDAG.Name, Namespace: airflowDAG.Namespace, Kind: "job", URL: jobPath(airflowDAG)},
		airflowTask.Name: {Name: airflowTask.Name, Namespace: airflowTask.Namespace, Kind: "job", URL: jobPath(airflowTask)},
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("jobs suggested for orders (-want +got):\n%s\nall: %+v", diff, got)
	}
}
