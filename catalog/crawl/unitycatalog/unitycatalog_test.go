package unitycatalog_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"almanac/catalog"
	"almanac/catalog/crawl/unitycatalog"
)

// config is a crawl of s that retries at once, so that tests of retries
// take no time.
func config(s *ucServer) unitycatalog.Config {
	return unitycatalog.Config{
		Source: "unitycatalog:lake", URL: s.URL, Token: s.token,
		RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond,
	}
}

func crawl(t *testing.T, cfg unitycatalog.Config) catalog.Harvest {
	t.Helper()
	hv, err := unitycatalog.Crawl(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return hv
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sampleFacts is what a crawl reports of the sample tables; owners gives
// the owner of each table, if any.
func sampleFacts(t *testing.T, owners map[string]catalog.Owner) []catalog.DatasetFacts {
	t.Helper()
	name := func(n string) catalog.Key { return catalog.Key{Namespace: "unity-catalog", Name: "unity.default." + n} }
	file := func(p string) catalog.Key { return catalog.Key{Namespace: "file", Name: p} }
	at := func(ts string) string {
		tm, err := time.Parse("2006-01-02 15:04:05.999", ts)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC().Format(time.RFC3339Nano)
	}
	props := func(full, id, typ, loc, created string, kv ...string) map[string]string {
		m := map[string]string{
			"uc.full_name": full, "uc.table_id": id, "uc.table_type": typ, "uc.data_source_format": "DELTA",
			"uc.storage_location": loc, "uc.created_at": at(created), "uc.updated_at": at(created),
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m["table."+kv[i]] = kv[i+1]
		}
		return m
	}
	root := abs(t, "testdata")
	marks := []catalog.Column{
		{Name: "id", Ordinal: 1, Type: "int", Description: "ID primary key"},
		{Name: "name", Ordinal: 2, Type: "string", Description: "Name of the entity"},
		{Name: "marks", Ordinal: 3, Type: "int", Nullable: true, Description: "Marks of the entity"},
	}
	owned := func(n string) []catalog.Owner {
		if o, ok := owners[n]; ok {
			return []catalog.Owner{o}
		}
		return nil
	}
	managed := root + "/etc/data/managed/unity/default/tables/marksheet"
	numbers := root + "/etc/data/external/unity/default/tables/numbers"
	countries := root + "/etc/data/external/unity/default/tables/user_countries"
	want := []catalog.DatasetFacts{
		{
			Key: file("/tmp/marksheet_uniform"), Platform: "unitycatalog", Kind: catalog.KindTable, Description: "Uniform table",
			Properties: props("unity.default.marksheet_uniform", "9a73eb46-adf0-4457-9bd8-9ab491865e0d", "EXTERNAL",
				"file:///tmp/marksheet_uniform", "2024-07-17 18:40:05.611", "key1", "value1", "key2", "value2"),
			Columns: marks, Owners: owned("marksheet_uniform"),
			Aliases: []catalog.Alias{{Key: name("marksheet_uniform"), Type: "TABLE"}},
		},
		{
			Key: file(countries), Platform: "unitycatalog", Kind: catalog.KindTable, Description: "Partitioned table",
			PartitionKey: "country",
			Properties: props("unity.default.user_countries", "26ed93b5-9a18-4726-8ae8-c89dfcfea069", "EXTERNAL",
				"file://"+countries+"/", "2024-07-17 18:40:05.622"),
			Columns: []catalog.Column{
				{Name: "first_name", Ordinal: 1, Type: "string", Description: "string column"},
				{Name: "age", Ordinal: 2, Type: "bigint", Description: "long column"},
				{Name: "country", Ordinal: 3, Type: "string", Description: "partition column"},
			},
			Owners:  owned("user_countries"),
			Aliases: []catalog.Alias{{Key: name("user_countries"), Type: "TABLE"}},
		},
		{
			Key: file(numbers), Platform: "unitycatalog", Kind: catalog.KindTable, Description: "External table",
			Properties: props("unity.default.numbers", "32025924-be53-4d67-ac39-501a86046c01", "EXTERNAL",
				"file://"+numbers+"/", "2024-07-17 18:40:05.617", "key1", "value1", "key2", "value2"),
			Columns: []catalog.Column{
				{Name: "as_int", Ordinal: 1, Type: "int", Description: "Int column"},
				{Name: "as_double", Ordinal: 2, Type: "double", Description: "Double column"},
			},
			Owners:  owned("numbers"),
			Aliases: []catalog.Alias{{Key: name("numbers"), Type: "TABLE"}},
		},
		{
			Key: file(managed), Platform: "unitycatalog", Kind: catalog.KindTable, Description: "Managed table",
			Properties: props("unity.default.marksheet", "c389adfa-5c8f-497b-8f70-26c2cca4976d", "MANAGED",
				"file://"+managed+"/", "2024-07-17 18:40:05.595", "key1", "value1", "key2", "value2"),
			Columns: marks, Owners: owned("marksheet"),
			Aliases: []catalog.Alias{{Key: name("marksheet"), Type: "TABLE"}},
		},
	}
	slices.SortFunc(want, func(a, b catalog.DatasetFacts) int { return a.Key.Compare(b.Key) })
	return want
}

// TestCrawlOpenSource crawls the open-source server's shapes two items a
// page: every catalog, schema and table page is followed, the sample
// tables come out keyed by their storage location with their Unity
// Catalog name as alias, and every schema read is a scope.
func TestCrawlOpenSource(t *testing.T) {
	s := newServer(t, oss)
	hv := crawl(t, config(s))
	if diff := cmp.Diff(sampleFacts(t, nil), hv.Datasets); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	if len(hv.Errors) != 0 {
		t.Errorf("errors: %v", hv.Errors)
	}
	if !hv.DatasetsComplete || !hv.JobsComplete {
		t.Errorf("complete = %v, %v; want a complete crawl", hv.DatasetsComplete, hv.JobsComplete)
	}
	var scopes []string
	for _, sc := range hv.Scopes {
		if sc.Namespace != "unity-catalog" {
			t.Errorf("scope %+v outside the namespace of names", sc)
		}
		scopes = append(scopes, sc.Prefix)
	}
	want := []string{
		"hierarchy_catalog_1780995836.analytics_schema_1780995836.",
		"hierarchy_catalog_1780995836.staging_schema_1780995836.",
		"hierarchy_catalog_1780995836.test_schema_1780995836.",
		"schema_lc_catalog_1780995836.schema_lc_1780995836.",
		"unity.default.",
		"view:hierarchy_catalog_1780995836.analytics_schema_1780995836.",
		"view:hierarchy_catalog_1780995836.staging_schema_1780995836.",
		"view:hierarchy_catalog_1780995836.test_schema_1780995836.",
		"view:schema_lc_catalog_1780995836.schema_lc_1780995836.",
		"view:unity.default.",
	}
	if diff := cmp.Diff(want, scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	// Five catalogs two a page is three pages; the sample's four tables
	// two.
	var catalogPages, tablePages int
	for _, r := range s.seen() {
		switch {
		case strings.HasPrefix(r, "/api/2.1/unity-catalog/catalogs?"):
			catalogPages++
		case strings.HasPrefix(r, "/api/2.1/unity-catalog/tables?catalog_name=unity&"):
			tablePages++
		}
	}
	if catalogPages != 3 || tablePages != 2 {
		t.Errorf("%d pages of catalogs and %d of tables, want 3 and 2:\n%s", catalogPages, tablePages, strings.Join(s.seen(), "\n"))
	}
}

// TestCrawlDatabricks crawls Databricks' shapes: next_page_token absent on
// the last page, an empty first page of tables that has a next one, owners
// as e-mail addresses (a user) and group names (a team), the
// information_schema of every catalog left out.
func TestCrawlDatabricks(t *testing.T) {
	s := newServer(t, databricks)
	s.token = "dapi-secret"
	hv := crawl(t, config(s))
	user := catalog.Owner{Name: "robert.pack@databricks.com", Kind: catalog.OwnerUser, Type: "technical"}
	team := catalog.Owner{Name: "_workspace_admins_reap_open_lakehouse_310942840210298", Kind: catalog.OwnerTeam, Type: "technical"}
	want := sampleFacts(t, map[string]catalog.Owner{"marksheet": user, "marksheet_uniform": user, "numbers": user, "user_countries": team})
	if diff := cmp.Diff(want, hv.Datasets); diff != "" {
		t.Errorf("datasets (-want +got):\n%s", diff)
	}
	if len(hv.Errors) != 0 || !hv.DatasetsComplete {
		t.Errorf("errors %v, complete %v", hv.Errors, hv.DatasetsComplete)
	}
	for _, r := range s.seen() {
		if strings.Contains(r, "information_schema") {
			t.Errorf("requested %s", r)
		}
	}
	if !slices.ContainsFunc(hv.Scopes, func(sc catalog.Scope) bool { return sc.Prefix == "hierarchy_catalog_1780172337.default." }) {
		t.Errorf("scopes %v lack the recorded catalog's default schema", hv.Scopes)
	}
}
