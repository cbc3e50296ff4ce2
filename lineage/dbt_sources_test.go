package lineage_test

// These tests check the dbt crawler's jobs through the lineage graph: they
// live here, not beside the crawler, because nothing under catalog/ may
// import lineage/ (catalog/layering_test.go).

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/lineage"
)

// dbtTestdata holds the dbt crawler's fixtures.
const dbtTestdata = "../catalog/crawl/dbt/testdata"

const warehouseNS = "postgres://warehouse.internal:5432"

func crawlInto(t *testing.T, st *store.Store, cfg dbt.Config) catalog.CrawlRun {
	t.Helper()
	run, err := st.Crawl(context.Background(), cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return dbt.Crawl(ctx, cfg) })
	if err != nil {
		t.Fatalf("crawl %v: %v", cfg.TargetDirs, err)
	}
	return run
}

// manifestUpstream reads, for every model of a target directory's
// manifest, the relations its depends_on names (models, seeds, snapshots
// by alias, sources by identifier), as dataset keys in namespace ns: what
// the catalog must show upstream of the model, no more and no less.
func manifestUpstream(t *testing.T, dir, ns string) map[catalog.Key][]catalog.Key {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, dbt.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	type rel struct {
		ResourceType string `json:"resource_type"`
		Database     string `json:"database"`
		Schema       string `json:"schema"`
		Name         string `json:"name"`
		Alias        string `json:"alias"`
		Identifier   string `json:"identifier"`
		Config       struct {
			Materialized string `json:"materialized"`
		} `json:"config"`
		DependsOn struct {
			Nodes []string `json:"nodes"`
		} `json:"depends_on"`
	}
	var m struct {
		Nodes   map[string]rel `json:"nodes"`
		Sources map[string]rel `json:"sources"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	key := func(r rel) catalog.Key {
		name := r.Alias
		if r.ResourceType == "source" {
			name = r.Identifier
		}
		return catalog.Key{Namespace: ns, Name: r.Database + "." + r.Schema + "." + name}
	}
	out := map[catalog.Key][]catalog.Key{}
	for _, n := range m.Nodes {
		if n.ResourceType != "model" || n.Config.Materialized == "ephemeral" {
			continue
		}
		up := []catalog.Key{}
		for _, id := range n.DependsOn.Nodes {
			dep, ok := m.Nodes[id]
			if !ok {
				dep, ok = m.Sources[id]
			}
			if !ok || dep.Config.Materialized == "ephemeral" {
				t.Fatalf("%s: depends on %s, which this helper cannot resolve", dir, id)
			}
			up = append(up, key(dep))
		}
		slices.SortFunc(up, catalog.Key.Compare)
		out[key(n)] = slices.Compact(up)
	}
	return out
}

// prodTarget writes a later version of jaffle_shop_1.12 to a temporary
// target directory: customers no longer reads orders, and order_items no
// longer reads stg_products.
func prodTarget(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{dbt.CatalogFile, dbt.RunResultsFile} {
		b, err := os.ReadFile(filepath.Join(dbtTestdata+"/jaffle_shop_1.12", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(dbtTestdata + "/jaffle_shop_1.12/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	nodes := m["nodes"].(map[string]any)
	for id, drop := range map[string]string{
		"model.jaffle_shop.customers":   "model.jaffle_shop.orders",
		"model.jaffle_shop.order_items": "model.jaffle_shop.stg_products",
	} {
		deps := nodes[id].(map[string]any)["depends_on"].(map[string]any)
		deps["nodes"] = slices.DeleteFunc(deps["nodes"].([]any), func(v any) bool { return v == drop })
	}
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dbt.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTwoSourcesOfOneProject crawls two targets of one dbt project, dev
// and prod (a later version), as two sources writing to two warehouses
// with the same database and schema names. Each source's jobs are its own:
// upstream of every model is exactly what its own manifest says.
func TestTwoSourcesOfOneProject(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	follower := lineage.NewFollower(st, lineage.NewGraph(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := follower.Load(ctx); err != nil {
		t.Fatal(err)
	}
	prodDir := prodTarget(t)
	targets := []struct {
		cfg  dbt.Config
		want map[catalog.Key][]catalog.Key
	}{
		{dbt.Config{Source: "dbt:dev", Namespace: "postgres://dev:5432", TargetDirs: []string{dbtTestdata + "/jaffle_shop_1.12"}},
			manifestUpstream(t, dbtTestdata+"/jaffle_shop_1.12", "postgres://dev:5432")},
		{dbt.Config{Source: "dbt:prod", Namespace: "postgres://prod:5432", TargetDirs: []string{prodDir}},
			manifestUpstream(t, prodDir, "postgres://prod:5432")},
	}
	for _, tg := range targets {
		crawlInto(t, st, tg.cfg)
	}
	if err := follower.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}

	var shared int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT job_id FROM job_facts GROUP BY job_id HAVING count(*) > 1) x`).Scan(&shared); err != nil {
		t.Fatal(err)
	}
	if shared != 0 {
		t.Errorf("%d jobs are reported by both sources", shared)
	}
	for _, tg := range targets {
		var jobNSs []string
		rows, err := pool.Query(ctx, `SELECT DISTINCT j.namespace FROM jobs j JOIN job_facts f ON f.job_id = j.id WHERE f.source = $1`, tg.cfg.Source)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ns string
			if err := rows.Scan(&ns); err != nil {
				t.Fatal(err)
			}
			jobNSs = append(jobNSs, ns)
		}
		if want := []string{dbt.DefaultJobNamespace(tg.cfg.Source)}; !slices.Equal(jobNSs, want) {
			t.Errorf("job namespaces of %s = %v, want %v", tg.cfg.Source, jobNSs, want)
		}
		for model, want := range tg.want {
			jobs := datasetJobs(t, st, model)
			if diff := cmp.Diff(want, jobs.Upstream()); diff != "" {
				t.Errorf("%s: upstream of %s (-want +got):\n%s", tg.cfg.Source, model.Name, diff)
			}
			if len(jobs.Producers) != 1 || !slices.Equal(jobs.Producers[0].SourceNames(), []string{tg.cfg.Source}) {
				t.Errorf("%s: producers of %s = %+v, want one job of %[1]s", tg.cfg.Source, model.Name, jobs.Producers)
			}
			// The lineage graph the explorer reads agrees.
			sub, err := follower.Lineage(ctx, lineage.Query{Start: model, Direction: lineage.Upstream})
			if err != nil && len(want) > 0 {
				t.Fatal(err)
			}
			got := []catalog.Key{}
			for _, n := range sub.Nodes {
				if n.ID.Kind == lineage.DatasetNode && n.Distance == -1 {
					got = append(got, n.ID.Dataset())
				}
			}
			slices.SortFunc(got, catalog.Key.Compare)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: lineage graph upstream of %s (-want +got):\n%s", tg.cfg.Source, model.Name, diff)
			}
		}
	}
}

// TestCrawlRemovesJobsOfEarlierKeys ingests jaffle_shop as an earlier
// version of the crawler reported it (jobs in namespace "dbt", named by
// unique_id), then crawls it: the old jobs are marked removed and leave
// the lineage, which is then exactly the manifest's.
func TestCrawlRemovesJobsOfEarlierKeys(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	cfg := dbt.Config{Source: "dbt:analytics", Namespace: warehouseNS, TargetDirs: []string{dbtTestdata + "/jaffle_shop_1.12"}}
	old, err := dbt.Crawl(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	old.JobsComplete = false
	for i, j := range old.Jobs {
		old.Jobs[i].Key = catalog.JobKey{Namespace: "dbt", Name: j.Properties[dbt.PropUniqueID]}
	}
	if _, err := st.Crawl(ctx, cfg.Source, func(context.Context) (catalog.Harvest, error) { return old, nil }); err != nil {
		t.Fatal(err)
	}
	follower := lineage.NewFollower(st, lineage.NewGraph(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := follower.Load(ctx); err != nil {
		t.Fatal(err)
	}

	crawlInto(t, st, cfg)
	if err := follower.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	var live, removed int
	if err := pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE f.removed_at IS NULL), count(*) FILTER (WHERE f.removed_at IS NOT NULL)
		FROM jobs j JOIN job_facts f ON f.job_id = j.id WHERE j.namespace = 'dbt'`).Scan(&live, &removed); err != nil {
		t.Fatal(err)
	}
	if live != 0 || removed != len(old.Jobs) {
		t.Errorf("jobs of the old keys: %d live, %d removed; want 0 live, %d removed", live, removed, len(old.Jobs))
	}
	for model, want := range manifestUpstream(t, dbtTestdata+"/jaffle_shop_1.12", warehouseNS) {
		jobs := datasetJobs(t, st, model)
		if diff := cmp.Diff(want, jobs.Upstream()); diff != "" {
			t.Errorf("upstream of %s (-want +got):\n%s", model.Name, diff)
		}
		around, err := st.JobsOfDatasets(ctx, []catalog.Key{model})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range append(around[model].Producers, around[model].Consumers...) {
			if k.Namespace == "dbt" {
				t.Errorf("%s: job %s of the old keys is still around", model.Name, k)
			}
		}
		sub, err := follower.Lineage(ctx, lineage.Query{Start: model, Direction: lineage.Both})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range sub.Nodes {
			if n.ID.Kind == lineage.JobNode && n.ID.Namespace == "dbt" {
				t.Errorf("%s: job %s of the old keys is still in the lineage graph", model.Name, n.ID)
			}
		}
	}
}

// datasetJobs reads the jobs around the dataset key as the portal does:
// the keys of the jobs its live sources say write or read it, then the
// jobs, merged.
func datasetJobs(t *testing.T, st *store.Store, key catalog.Key) catalog.DatasetJobs {
	t.Helper()
	ctx := context.Background()
	around, err := st.JobsOfDatasets(ctx, []catalog.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	a := around[key]
	jobs, err := st.JobsByKeys(ctx, append(slices.Clone(a.Producers), a.Consumers...))
	if err != nil {
		t.Fatal(err)
	}
	var d catalog.DatasetJobs
	for _, k := range a.Producers {
		d.Producers = append(d.Producers, *jobs[k])
	}
	for _, k := range a.Consumers {
		d.Consumers = append(d.Consumers, *jobs[k])
	}
	return d
}
