package ui

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"almanac/catalog"
	"almanac/catalog/crawl/dbt"
	"almanac/catalog/crawl/openlineage"
	"almanac/catalog/crawl/postgres"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
	"almanac/graph"
)

// TestPortalAndAPIAgree renders every dataset of the demo warehouse and of
// the fixtures (the portal's own, dbt's jaffle_shop, the OpenLineage
// events, and a dataset several sources and a person describe) through the
// portal, its page and its row in the listing, and through GraphQL, and
// requires the same description, owners, tags and columns: both read
// through the same store reads and catalog.Merge, so that they can never
// disagree.
func TestPortalAndAPIAgree(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewDB(t)
	st := store.New(pool)
	fill(t, pool)
	crawlDemoWarehouse(t, st)
	// dbt's jaffle_shop, and the warehouse it builds, crawled after it:
	// the warehouse's comments are newer than dbt's docs, its kinds and
	// types better.
	jaffle, err := dbt.Crawl(ctx, dbt.Config{Source: "dbt:jaffle_shop", TargetDirs: []string{"../catalog/crawl/dbt/testdata/jaffle_shop_1.12"},
		Namespace: "duckdb://jaffle_shop"})
	if err != nil {
		t.Fatal(err)
	}
	crawlFixture(t, st, "dbt:jaffle_shop", func(context.Context) (catalog.Harvest, error) { return jaffle, nil })
	crawlFixture(t, st, "duckdb:jaffle_shop", func(context.Context) (catalog.Harvest, error) {
		var h catalog.Harvest
		for _, d := range jaffle.Datasets {
			if len(d.Columns) == 0 {
				continue
			}
			w := catalog.DatasetFacts{Key: d.Key, Platform: "duckdb", Kind: catalog.KindTable, Description: "Built by dbt.",
				Owners: []catalog.Owner{{Name: "duckdb", Kind: catalog.OwnerRole}}}
			for i, c := range d.Columns {
				w.Columns = append(w.Columns, catalog.Column{Name: c.Name, Ordinal: i + 1, Type: strings.ToUpper(cmp.Or(c.Type, "varchar")), Description: "Column " + c.Name + "."})
			}
			h.Datasets = append(h.Datasets, w)
		}
		return h, nil
	})
	pushOpenLineageFixtures(t, st)
	describeBySeveralSources(t, st)

	s, err := New(Options{Store: st, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	portal := httptest.NewServer(s.Handler())
	t.Cleanup(portal.Close)
	api := httptest.NewServer(graph.NewHandler(graph.Options{Store: st}))
	t.Cleanup(api.Close)

	// The listing, every page, removed datasets included: its rows by
	// dataset address.
	rows := map[string]datasetRow{}
	for page := 1; ; page++ {
		v, err := s.home(ctx, listFilter{IncludeRemoved: true, Page: page})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range v.Datasets {
			rows[r.URL] = r
		}
		if page >= v.Pager.Pages {
			break
		}
	}
	found, err := st.FindDatasets(ctx, store.DatasetFilter{IncludeRemoved: true}, store.Paging{Limit: 10_000, Total: true})
	if err != nil {
		t.Fatal(err)
	}
	datasets, err := st.DatasetsByIDs(ctx, found.IDs)
	if err != nil {
		t.Fatal(err)
	}
	if len(datasets) < 100 || len(rows) != len(datasets) {
		t.Fatalf("%d datasets, %d rows in the listing; want the same, and the fixtures' 100 or more", len(datasets), len(rows))
	}
	var multi int
	for _, d := range datasets {
		if len(d.Sources) > 1 {
			multi++
		}
		pd, err := s.dataset(ctx, d.Key)
		if err != nil || pd.Key != d.Key {
			t.Errorf("%s: the portal reads %s, %v", d.Key, pd.Key, err)
			continue
		}
		v, _, err := s.datasetPage(ctx, pd)
		if err != nil {
			t.Errorf("%s: %v", d.Key, err)
			continue
		}
		if resp, err := http.Get(portal.URL + datasetPath(d.Key)); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", datasetPath(d.Key), resp, err)
		} else {
			resp.Body.Close()
		}
		g := apiDataset(t, api.URL, d.Key)
		if want := base64.RawURLEncoding.EncodeToString([]byte("Dataset:" + strconv.FormatInt(d.ID, 10))); g.ID != want {
			t.Errorf("%s: the API answers another dataset (%s) than the portal", d.Key, g.ID)
			continue
		}

		// The dataset's page.
		page := agreed{Description: v.Description, DescriptionSource: v.DescriptionSource}
		for _, o := range v.Owners {
			page.Owners = append(page.Owners, strings.Join([]string{o.Name, o.Kind, o.Type, o.Source}, "|"))
		}
		for _, tg := range v.Tags {
			page.Tags = append(page.Tags, tg.Text+"|"+tg.Source)
		}
		for _, c := range v.Columns {
			page.Columns = append(page.Columns, strings.Join([]string{c.Name, c.Type, c.Description, c.DescriptionSource}, "|"))
		}
		viaAPI := agreed{Description: strings.TrimSpace(g.Description), DescriptionSource: g.DescriptionSource}
		if g.Description == "" {
			viaAPI.DescriptionSource = ""
		}
		for _, o := range g.Owners {
			viaAPI.Owners = append(viaAPI.Owners, strings.Join([]string{o.Name, strings.ToLower(o.Kind), o.Type, o.Source}, "|"))
		}
		for _, tg := range g.Tags {
			viaAPI.Tags = append(viaAPI.Tags, tg.Name+"|"+tg.Source)
		}
		for _, c := range g.Columns {
			viaAPI.Columns = append(viaAPI.Columns, strings.Join([]string{c.Name, c.Type, c.Description, c.DescriptionSource}, "|"))
		}
		if diff := gocmp.Diff(viaAPI, page); diff != "" {
			t.Errorf("%s: the page disagrees with the API (-api +page):\n%s", d.Key, diff)
		}

		// Its row in the listing.
		row, ok := rows[datasetPath(d.Key)]
		if !ok {
			t.Errorf("%s: not in the listing", d.Key)
			continue
		}
		var owners, tags []string
		for _, o := range g.Owners {
			if !slices.Contains(owners, o.Name) {
				owners = append(owners, o.Name)
			}
		}
		for _, tg := range g.Tags {
			tags = append(tags, tg.Name)
		}
		listed := datasetRow{Kind: row.Kind, Summary: row.Summary, Columns: row.Columns, Owners: row.Owners, Tags: row.Tags}
		want := datasetRow{Kind: kindLabel(catalog.Kind(g.Kind)), Summary: summary(g.Description, summaryLen),
			Columns: plural(len(g.Columns), "column"), Owners: owners, Tags: tags}
		if diff := gocmp.Diff(want, listed); diff != "" {
			t.Errorf("%s: the listing disagrees with the API (-api +listing):\n%s", d.Key, diff)
		}
	}
	if multi < 20 {
		t.Errorf("%d datasets have several sources; the fixtures should give some, where precedence matters", multi)
	}
	t.Logf("%d datasets agree, %d of them described by several sources", len(datasets), multi)
}

// agreed is what the portal and the API must agree on.
type agreed struct {
	Description, DescriptionSource string
	Owners, Tags, Columns          []string
}

// apiDataset is the part of GraphQL's Dataset that TestPortalAndAPIAgree
// compares.
type apiDatasetResult struct {
	ID, Kind, Description, DescriptionSource string
	Owners                                   []struct{ Name, Kind, Type, Source string }
	Tags                                     []struct{ Name, Source string }
	Columns                                  []struct{ Name, Type, Description, DescriptionSource string }
}

// apiDataset asks the GraphQL API at url for the dataset key.
func apiDataset(t *testing.T, url string, key catalog.Key) apiDatasetResult {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"query": `query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) {
			id kind description descriptionSource owners { name kind type source } tags { name source }
			columns { name type description descriptionSource } } }`,
		"variables": map[string]string{"ns": key.Namespace, "name": key.Name},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data   struct{ Dataset *apiDatasetResult }
		Errors json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	if r.Data.Dataset == nil {
		t.Fatalf("%s: the API has no such dataset: %s", key, r.Errors)
	}
	return *r.Data.Dataset
}

// crawlFixture crawls a source into st.
func crawlFixture(t *testing.T, st *store.Store, source string, harvest func(context.Context) (catalog.Harvest, error)) {
	t.Helper()
	if _, err := st.Crawl(context.Background(), source, harvest); err != nil {
		t.Fatalf("crawl %s: %v", source, err)
	}
}

// crawlDemoWarehouse builds the warehouse `make run` serves and crawls it.
func crawlDemoWarehouse(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	sql, err := os.ReadFile("../catalog/demo/data/warehouse.sql")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.EmptyDB(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, string(sql)); err != nil {
		t.Fatalf("build the demo warehouse: %v", err)
	}
	cfg := postgres.Config{Source: "postgres:demo", URL: url, Namespace: "postgres://warehouse.demo:5432"}
	crawlFixture(t, st, cfg.Source, func(ctx context.Context) (catalog.Harvest, error) { return postgres.Crawl(ctx, cfg) })
}

// pushOpenLineageFixtures applies every OpenLineage fixture event, one
// push each in file order, as the receiver would.
func pushOpenLineageFixtures(t *testing.T, st *store.Store) {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../catalog/crawl/openlineage/testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := openlineage.Decode(b)
		if err != nil {
			continue // a fixture of an invalid event
		}
		push, _ := openlineage.Derive([]openlineage.Event{e})
		var partial *store.PartialError
		if err := st.ApplyPush(context.Background(), push); err != nil && !errors.As(err, &partial) && !errors.Is(err, catalog.ErrInvalid) {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

// describeBySeveralSources has one dataset described by every kind of
// source, in an order where the newest word is not the best: lineage
// documents it, the warehouse comments and types it, dbt models it, a
// replica stops reporting it, and a person edits it.
func describeBySeveralSources(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	k := catalog.Key{Namespace: warehouseNS, Name: "warehouse.marts.described"}
	col := func(name, typ, desc string) catalog.Column {
		return catalog.Column{Name: name, Type: typ, Description: desc}
	}
	if err := st.ApplyPush(ctx, catalog.Push{Source: catalog.SourceOpenLineage, Datasets: []catalog.DatasetUpdate{{
		Facts: catalog.DatasetFacts{Key: k, Description: "As lineage describes it.", Owners: []catalog.Owner{{Name: "pipeline", Kind: catalog.OwnerTeam}},
			Columns: []catalog.Column{col("id", "long", "Lineage's id."), col("extra", "string", "")}},
		Asserts: catalog.FacetDescription | catalog.FacetOwners | catalog.FacetSchema}}}); err != nil {
		t.Fatal(err)
	}
	crawlFixture(t, st, "postgres:warehouse", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: k, Platform: "postgres", Kind: catalog.KindTable, Description: "Warehouse comment.",
			Owners:  []catalog.Owner{{Name: "analytics_owner", Kind: catalog.OwnerRole}},
			Columns: []catalog.Column{{Name: "id", Ordinal: 1, Type: "bigint", Description: "Warehouse id."}, {Name: "amount", Ordinal: 2, Type: "numeric"}}}}}, nil
	})
	crawlFixture(t, st, "dbt:analytics", func(context.Context) (catalog.Harvest, error) {
		return catalog.Harvest{Datasets: []catalog.DatasetFacts{{Key: k, Platform: "dbt", Kind: catalog.KindModel, Tags: []string{"finance"},
			Columns: []catalog.Column{col("amount", "", "dbt's amount.")}}}}, nil
	})
	replica := catalog.Harvest{Scopes: []catalog.Scope{{Namespace: warehouseNS, Prefix: "warehouse.marts.described"}}}
	crawlFixture(t, st, "postgres:replica", func(context.Context) (catalog.Harvest, error) {
		h := replica
		h.Datasets = []catalog.DatasetFacts{{Key: k, Platform: "postgres", Kind: catalog.KindTable, Description: "Replica comment.",
			Owners: []catalog.Owner{{Name: "replica_owner", Kind: catalog.OwnerRole}}, Tags: []string{"replica"},
			Columns: []catalog.Column{{Name: "gone", Ordinal: 1, Type: "text"}}}}
		return h, nil
	})
	crawlFixture(t, st, "postgres:replica", func(context.Context) (catalog.Harvest, error) { return replica, nil })
	ids, err := st.DatasetIDs(ctx, []catalog.Key{k})
	if err != nil {
		t.Fatal(err)
	}
	alice := catalog.Principal{Login: "alice@corp", Role: catalog.RoleEditor}
	if _, err := st.AddTag(ctx, alice, ids[k], "curated"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetColumnDescription(ctx, alice, ids[k], "amount", "Alice's amount."); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddOwner(ctx, alice, ids[k], catalog.Owner{Name: "alice@corp", Kind: catalog.OwnerUser, Type: "steward"}); err != nil {
		t.Fatal(err)
	}
}
