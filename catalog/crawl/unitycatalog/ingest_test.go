package unitycatalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/crawl/unitycatalog"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// sparkEvent is an OpenLineage run event as the Spark integration sends
// it for a job reading one Unity Catalog table by its name and writing
// another, keyed by its location with its name as a symlink.
func sparkEvent(readName, writePath string) []byte {
	return fmt.Appendf(nil, `{
 "eventType": "COMPLETE", "eventTime": "2026-06-09T09:10:00Z",
 "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark",
 "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
 "run": {"runId": "0190f3a4-7b5e-7c1d-9a41-8f2d3c4b5a69"},
 "job": {"namespace": "spark", "name": "marks_app.execute_insert_into_table"},
 "inputs": [{"namespace": "unity-catalog", "name": %q}],
 "outputs": [{"namespace": "file", "name": %q, "facets": {
  "symlinks": {"_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.40.0/integration/spark",
   "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/SymlinksDatasetFacet.json",
   "identifiers": [{"namespace": "unity-catalog", "name": "unity.default.numbers", "type": "TABLE"}]}}}]
}`, readName, writePath)
}

// TestOneDatasetEach crawls the sample catalog, the Delta logs of the same
// tables, and takes a Spark job's OpenLineage event about them: each table
// is one dataset, with the Delta log's structure, Unity Catalog's comments
// and properties, and the job's lineage, whichever name the event used.
func TestOneDatasetEach(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	s := newServer(t, oss)
	ucCfg := config(s)
	ucCrawl := func(ctx context.Context) (catalog.Harvest, error) { return unitycatalog.Crawl(ctx, ucCfg) }
	run, err := st.Crawl(ctx, ucCfg.Source, ucCrawl)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != catalog.CrawlSucceeded || run.Counts.Created != 4 {
		t.Fatalf("first crawl: %s, %+v, %v", run.Status, run.Counts, run.Errors)
	}
	deltaCfg := delta.Config{Source: "delta:lake", Roots: []string{"testdata/etc/data"}}
	run, err = st.Crawl(ctx, deltaCfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, deltaCfg) })
	if err != nil {
		t.Fatal(err)
	}
	// marksheet_uniform's row says it lives in /tmp/marksheet_uniform,
	// where the quickstart writes it, not under testdata: its Delta log
	// here is another dataset.
	if run.Counts.Seen != 4 || run.Counts.Created != 1 {
		t.Errorf("delta crawl counts %+v: want 3 of its 4 tables already known", run.Counts)
	}

	marks := abs(t, "testdata/etc/data/managed/unity/default/tables/marksheet")
	numbers := abs(t, "testdata/etc/data/external/unity/default/tables/numbers")
	ev, err := openlineage.Decode(sparkEvent("unity.default.marksheet", numbers))
	if err != nil {
		t.Fatal(err)
	}
	push, errs := openlineage.Derive([]openlineage.Event{ev})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPush(ctx, push); err != nil {
		t.Fatal(err)
	}

	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM datasets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		rows, _ := pool.Query(ctx, `SELECT namespace || ' ' || name FROM datasets ORDER BY 1`)
		var keys []string
		for rows.Next() {
			var k string
			rows.Scan(&k)
			keys = append(keys, k)
		}
		t.Errorf("%d datasets, want 5 (the 4 tables and marksheet_uniform's log):\n%v", n, keys)
	}
	for _, name := range []string{"marksheet", "numbers", "user_countries", "marksheet_uniform"} {
		k := catalog.Key{Namespace: "unity-catalog", Name: "unity.default." + name}
		if _, err := readDataset(ctx, st, k); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("%s is a dataset of its own (%v): want it an alias only", k, err)
		}
	}

	d, err := readDataset(ctx, st, catalog.Key{Namespace: "file", Name: numbers})
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, f := range d.Sources {
		sources = append(sources, f.Source)
	}
	slices.Sort(sources)
	if diff := cmp.Diff([]string{"delta:lake", "openlineage", "unitycatalog:lake"}, sources); diff != "" {
		t.Errorf("sources of numbers (-want +got):\n%s", diff)
	}
	var cols []string
	for _, c := range d.Columns {
		cols = append(cols, fmt.Sprintf("%s %s %q (%s, %s)", c.Name, c.Type, c.Description, c.TypeSource, c.DescriptionSource))
	}
	wantCols := []string{
		`as_int integer "Int column" (delta:lake, unitycatalog:lake)`,
		`as_double double "Double column" (delta:lake, unitycatalog:lake)`,
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("columns of numbers (-want +got):\n%s", diff)
	}
	if d.Description != "External table" || d.Properties["uc.table_type"] != "EXTERNAL" || d.Properties[delta.PropVersion] != "0" {
		t.Errorf("numbers: description %q, properties %v", d.Description, d.Properties)
	}

	// The job read marksheet by its Unity Catalog name and wrote numbers
	// by its location: both ends are the crawled datasets.
	job := catalog.JobKey{Namespace: "spark", Name: "marks_app.execute_insert_into_table"}
	jobs, err := st.JobsByKeys(ctx, []catalog.JobKey{job})
	if err != nil || jobs[job] == nil {
		t.Fatalf("job %s: %v, %v", job, jobs, err)
	}
	lj := jobs[job].Edges()
	if diff := cmp.Diff([]catalog.Key{{Namespace: "file", Name: marks}}, lj.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]catalog.Key{{Namespace: "file", Name: numbers}}, lj.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	// Crawling again changes nothing.
	run, err = st.Crawl(ctx, ucCfg.Source, ucCrawl)
	if err != nil || run.Counts.Unchanged != 4 || run.Counts.Updated+run.Counts.Created+run.Counts.Removed != 0 {
		t.Errorf("second crawl: %+v, %v", run.Counts, err)
	}
}

// TestFailedCrawlsKeepWhatIsStored: a bad token, a 429 storm and a cut
// page each leave every stored table as it was; a complete crawl that no
// longer sees a table marks the crawl's facts on it removed.
func TestFailedCrawlsKeepWhatIsStored(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	s := newServer(t, databricks)
	s.token = "dapi-right"
	cfg := config(s)
	crawlNow := func() catalog.CrawlRun {
		t.Helper()
		run, _ := st.Crawl(ctx, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return unitycatalog.Crawl(ctx, cfg) })
		return run
	}
	if run := crawlNow(); run.Status != catalog.CrawlSucceeded || run.Counts.Created != 4 {
		t.Fatalf("first crawl: %s %+v %v", run.Status, run.Counts, run.Errors)
	}
	numbers := catalog.Key{Namespace: "file", Name: abs(t, "testdata/etc/data/external/unity/default/tables/numbers")}
	live := func(what string) {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM dataset_facts WHERE source = $1 AND removed_at IS NULL`, cfg.Source).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Errorf("after %s: %d live tables of the source, want 4", what, n)
		}
	}

	cfg.Token = "dapi-wrong"
	if run := crawlNow(); run.Status != catalog.CrawlFailed || len(run.Errors) != 1 || run.Errors[0].Object != cfg.Source {
		t.Errorf("bad token: %s %v", run.Status, run.Errors)
	}
	live("a bad token")
	cfg.Token = "dapi-right"

	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if isUnityTables(r) {
			s.fail(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "slow down")
			return true
		}
		return false
	}
	if run := crawlNow(); run.Status != catalog.CrawlPartial || len(run.Errors) != 1 || run.Errors[0].Object != "unity.default" {
		t.Errorf("429 storm: %s %v", run.Status, run.Errors)
	}
	live("a 429 storm")

	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if isUnityTables(r) && r.URL.Query().Get("page_token") == "o2" {
			fmt.Fprint(w, `{"tables":[{"name":"numbers"`)
			return true
		}
		return false
	}
	if run := crawlNow(); run.Status != catalog.CrawlPartial || run.Counts.Removed != 0 {
		t.Errorf("cut page: %s %+v %v", run.Status, run.Counts, run.Errors)
	}
	live("a cut page")

	// numbers is dropped: a complete crawl removes it, wherever it lives.
	s.fault = nil
	s.tables["unity.default"] = slices.DeleteFunc(slices.Clone(s.tables["unity.default"]), func(b json.RawMessage) bool {
		return nameOf(t, string(b)) == "numbers"
	})
	if run := crawlNow(); run.Status != catalog.CrawlSucceeded || run.Counts.Removed != 1 {
		t.Errorf("crawl after a drop: %s %+v %v", run.Status, run.Counts, run.Errors)
	}
	d, err := readDataset(ctx, st, numbers)
	if err != nil || d.RemovedAt == nil {
		t.Errorf("dropped table %s: removed %v, %v", numbers, d.RemovedAt, err)
	}
}

// readDataset reads the dataset key as the portal and the API do: its id,
// then the dataset, then the foreign keys of other datasets that point at
// it. A key of no dataset is catalog.ErrNotFound.
func readDataset(ctx context.Context, st *store.Store, key catalog.Key) (catalog.Dataset, error) {
	ids, err := st.DatasetIDs(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	id, ok := ids[key]
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	ds, err := st.DatasetsByIDs(ctx, []int64{id})
	if err != nil {
		return catalog.Dataset{}, err
	}
	if len(ds) == 0 {
		return catalog.Dataset{}, fmt.Errorf("dataset %s: %w", key, catalog.ErrNotFound)
	}
	refs, err := st.ReferencedBy(ctx, []catalog.Key{key})
	if err != nil {
		return catalog.Dataset{}, err
	}
	ds[0].Referenced = refs[key]
	return ds[0], nil
}
