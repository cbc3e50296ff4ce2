package delta_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/delta"
	"almanac/catalog/pgtest"
	"almanac/catalog/slo"
	"almanac/catalog/store"
)

// TestIngestFixtures ingests every Delta fixture into a real catalog, then
// again: the second crawl writes nothing.
func TestIngestFixtures(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := delta.Config{Source: "delta:lake", Roots: []string{"testdata"}}
	crawl := func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, cfg) }
	run, err := st.Crawl(ctx, cfg.Source, crawl)
	if err != nil {
		t.Fatal(err)
	}
	// Freshness: the commits of the tables' recent histories that
	// changed data, recorded once.
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 8, Created: 8, Columns: 20, Freshness: 50}, run.Counts); diff != "" {
		t.Errorf("first crawl counts (-want +got):\n%s", diff)
	}
	if run.Status != catalog.CrawlSucceeded {
		t.Errorf("status %s, errors %v", run.Status, run.Errors)
	}
	abs, err := filepath.Abs("testdata/delta-0.8.0-partitioned")
	if err != nil {
		t.Fatal(err)
	}
	d, err := readDataset(ctx, st, catalog.Key{Namespace: "file", Name: abs})
	if err != nil {
		t.Fatal(err)
	}
	if d.Platform != "delta" || d.PartitionKey != "year, month, day" || len(d.Columns) != 4 || d.Properties[delta.PropVersion] != "0" {
		t.Errorf("partitioned table = %+v", d)
	}

	run, err = st.Crawl(ctx, cfg.Source, crawl)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(catalog.CrawlCounts{Seen: 8, Unchanged: 8, Columns: 20}, run.Counts); diff != "" {
		t.Errorf("second crawl counts (-want +got):\n%s", diff)
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

// TestCommitsAreUpdates crawls simple_table (five commits 40 s apart in
// April 2020: WRITE, MERGE, WRITE, UPDATE, DELETE) into a real catalog:
// each commit becomes a freshness observation, once however often it is
// crawled, and a freshness SLO counting Delta commits is evaluated on
// them; one counting the crawls that changed the dataset on the crawl
// that created it; one counting runs has no data.
func TestCommitsAreUpdates(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := delta.Config{Source: "delta:lake", Roots: []string{"testdata/simple_table"}}
	crawl := func(ctx context.Context) (catalog.Harvest, error) { return delta.Crawl(ctx, cfg) }
	for i, want := range []int{5, 0} {
		run, err := st.Crawl(ctx, cfg.Source, crawl)
		if err != nil {
			t.Fatal(err)
		}
		if run.Counts.Freshness != want {
			t.Errorf("crawl %d recorded %d commits, want %d", i+1, run.Counts.Freshness, want)
		}
	}
	abs, err := filepath.Abs("testdata/simple_table")
	if err != nil {
		t.Fatal(err)
	}
	key := catalog.Key{Namespace: "file", Name: abs}
	page := store.FreshnessPage{Dataset: key, Limit: 10}
	fresh, err := st.FreshnessPages(ctx, []store.FreshnessPage{page})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range fresh[page] {
		got = append(got, fmt.Sprintf("%s %s %s: %s", o.Source, o.Value.MaxLoadedAt.UTC().Format("15:04:05.000"), o.Value.Status, o.Value.Message))
	}
	want := []string{
		"delta:lake 06:23:46.537 pass: commit of version 4 (DELETE)",
		"delta:lake 06:23:34.187 pass: commit of version 3 (UPDATE)",
		"delta:lake 06:23:24.143 pass: commit of version 2 (WRITE)",
		"delta:lake 06:23:16.254 pass: commit of version 1 (MERGE)",
		"delta:lake 06:23:06.154 pass: commit of version 0 (WRITE)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}

	// An hour after the first commit, with a maximum age of 5 minutes:
	// fresh for the 5 min 40.383 s after it, stale since.
	first := time.UnixMilli(1587968586154)
	spec := func(from slo.UpdateSource) slo.Spec {
		return slo.Spec{Kind: slo.Freshness, Objective: 0.99, Window: time.Hour, MaxAge: 5 * time.Minute, Updates: from}
	}
	declared := []slo.SLO{
		{Name: "commits", Dataset: key, Source: "config", Spec: spec(slo.UpdatesDeltaCommits)},
		{Name: "runs", Dataset: key, Source: "config", Spec: spec(slo.UpdatesRuns)},
	}
	reports, err := st.DatasetSLOs(ctx, []catalog.Key{key}, declared, first.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r := reports[key][0].Report; r.Status != slo.StatusBreached || math.Abs(r.Good-(5+40.383/60)) > 1e-6 || r.Total != 60 {
		t.Errorf("from commits: %s, %v of %v minutes good", r.Status, r.Good, r.Total)
	}
	if r := reports[key][1].Report; r.Status != slo.StatusNoData {
		t.Errorf("from runs: %s, want no data", r.Status)
	}

	// The crawl that created the dataset is its one crawl change: fresh
	// for 5 minutes after it.
	created := time.Now()
	declared = []slo.SLO{{Name: "crawls", Dataset: key, Source: "config", Spec: spec(slo.UpdatesCrawlChanges)}}
	for _, tc := range []struct {
		after  time.Duration
		status slo.Status
	}{{time.Minute, slo.StatusOK}, {20 * time.Minute, slo.StatusBreached}} {
		reports, err = st.DatasetSLOs(ctx, []catalog.Key{key}, declared, created.Add(tc.after))
		if err != nil {
			t.Fatal(err)
		}
		if r := reports[key][0].Report; r.Status != tc.status || r.Total == 0 {
			t.Errorf("from crawl changes, %s after: %s (%v of %v)", tc.after, r.Status, r.Good, r.Total)
		}
	}
}
