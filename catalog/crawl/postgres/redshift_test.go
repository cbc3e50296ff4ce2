package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"almanac/catalog"
	"almanac/catalog/pgtest"
)

var updateRedshift = flag.Bool("update-redshift", false, "rewrite the golden harvests of testdata/redshift")

// recording is a file of testdata/redshift: what Redshift answered to each
// of the crawler's catalog queries.
type recording struct {
	Comment string           `json:"comment"`
	Queries []*recordedQuery `json:"queries"`
}

type recordedQuery struct {
	Name    string      `json:"name"`
	Args    []string    `json:"args,omitempty"`
	Columns []string    `json:"columns,omitempty"`
	Rows    [][]*string `json:"rows,omitempty"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
	used bool
}

// recorded replays a recording: the querier of the Redshift crawler in
// tests. A query that was not recorded, or whose columns differ from the
// recording's, fails the test.
type recorded struct {
	t   *testing.T
	rec *recording
}

func (r *recorded) query(ctx context.Context, q rsQuery, args ...any) ([][]*string, error) {
	r.t.Helper()
	var want []string
	for _, a := range args {
		want = append(want, fmt.Sprint(a))
	}
	for _, rq := range r.rec.Queries {
		if rq.Name != q.name || !slices.Equal(rq.Args, want) {
			continue
		}
		rq.used = true
		if rq.Error != nil {
			return nil, &pgconn.PgError{Severity: "ERROR", Code: rq.Error.Code, Message: rq.Error.Message}
		}
		if !slices.Equal(rq.Columns, q.columns) {
			r.t.Errorf("query %s: recorded columns %v, the query's %v", q.name, rq.Columns, q.columns)
		}
		return rq.Rows, nil
	}
	r.t.Errorf("query %s %v was not recorded", q.name, want)
	return nil, fmt.Errorf("not recorded")
}

func loadRecording(t *testing.T, name string) *recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "redshift", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &rec
}

// TestRedshiftRecorded crawls recorded answers of Redshift's system views
// and compares the harvest with a golden file (-update-redshift rewrites
// it). Every recorded query must be asked.
func TestRedshiftRecorded(t *testing.T) {
	for _, tc := range []struct {
		recording string
		include   []string
	}{
		{recording: "tickit"},
		{recording: "no_table_info", include: []string{"public"}},
	} {
		t.Run(tc.recording, func(t *testing.T) {
			rec := loadRecording(t, tc.recording)
			flt, err := newFilter(tc.include, nil)
			if err != nil {
				t.Fatal(err)
			}
			ns := RedshiftNamespace("examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com", 5439)
			h, err := crawlRedshift(context.Background(), "redshift:dw", ns, []string{"dev"}, flt, newRedactor("", ""),
				func(context.Context, string) (rsQuerier, func(), error) { return &recorded{t, rec}, func() {}, nil })
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range rec.Queries {
				if !q.used {
					t.Errorf("recorded query %s %v was not asked", q.Name, q.Args)
				}
			}
			got, err := json.MarshalIndent(h, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "redshift", tc.recording+".harvest.json")
			if *updateRedshift {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), strings.TrimSpace(string(got))); diff != "" {
				t.Errorf("harvest (-%s +got):\n%s", golden, diff)
			}
		})
	}
}

// TestRedshiftFacts pins what the golden file says of the parts that are
// Redshift's own, so that an -update cannot quietly lose them.
func TestRedshiftFacts(t *testing.T) {
	rec := loadRecording(t, "tickit")
	h, err := crawlRedshift(context.Background(), "redshift:dw", "redshift://examplecluster.us-west-2:5439", []string{"dev"}, filter{}, newRedactor("", ""),
		func(context.Context, string) (rsQuerier, func(), error) { return &recorded{t, rec}, func() {}, nil })
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]catalog.DatasetFacts{}
	for _, d := range h.Datasets {
		byName[strings.TrimPrefix(d.Key.Name, "dev.")] = d
	}
	sales, users, lbv, mv, ext, category := byName["public.sales"], byName["public.users"], byName["public.sales_lbv"], byName["public.mv_tickets_sold"], byName["spectrum.sales_ext"], byName["public.category"]
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"datasets", len(h.Datasets), 9},
		{"sales size", *sales.SizeBytes, int64(168 << 20)},
		{"sales rows (visible)", *sales.RowEstimate, int64(172401)},
		{"sales keys", [3]string{sales.Properties[PropDistStyle], sales.Properties[PropDistKey], sales.Properties[PropSortKey]}, [3]string{"KEY(listid)", "listid", "dateid"}},
		{"users interleaved key", [2]string{users.Properties[PropSortKey], users.Properties[PropSortKeyStyle]}, [2]string{"userid, city", "interleaved"}},
		{"empty table", [2]int64{*category.SizeBytes, *category.RowEstimate}, [2]int64{0, 0}},
		{"late-binding view", [3]any{lbv.Kind, lbv.Properties[PropLateBinding], len(lbv.Columns)}, [3]any{catalog.KindView, "true", 8}},
		{"late-binding view's query", lbv.Definition, "select salesid, listid, sellerid, buyerid, eventid, qtysold, pricepaid, commission from public.sales"},
		{"materialized view", [3]any{mv.Kind, mv.Properties[PropStale], mv.SizeBytes == nil}, [3]any{catalog.KindMaterializedView, "true", true}},
		{"external table", [3]any{ext.Kind, ext.Properties[PropExternal], ext.Columns[2].Type}, [3]any{catalog.KindTable, "EXTERNAL TABLE", "decimal(8,2)"}},
		{"types", [3]string{sales.Columns[7].Type, users.Columns[1].Type, users.Columns[2].Type}, [3]string{"numeric(8,2)", "character(8)", "character varying(30)"}},
		{"owner", users.Owners, []catalog.Owner{{Name: "dbadmin", Kind: catalog.OwnerRole, Type: "technical"}}},
		{"scopes", h.Scopes, []catalog.Scope{{Namespace: "redshift://examplecluster.us-west-2:5439", Prefix: "dev."}, {Namespace: "redshift://examplecluster.us-west-2:5439", Prefix: "view:dev."}}},
	} {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.what, diff)
		}
	}
	// Views become jobs reading what they select from, late-binding ones
	// included.
	jobs := map[string][]string{}
	for _, j := range h.Jobs {
		for _, in := range j.Inputs {
			jobs[j.Key.Name] = append(jobs[j.Key.Name], in.Name)
		}
	}
	want := map[string][]string{
		"view:dev.public.event_summary":   {"dev.public.event", "dev.public.sales"},
		"view:dev.public.mv_tickets_sold": {"dev.public.sales"},
		"view:dev.public.recent_buyers":   {"dev.public.sales"},
		"view:dev.public.sales_lbv":       {"dev.public.sales"},
	}
	if diff := cmp.Diff(want, jobs); diff != "" {
		t.Errorf("view jobs (-want +got):\n%s", diff)
	}
	// recent_buyers is Redshift's SQL (APPROXIMATE COUNT, DATEADD,
	// GETDATE), which PostgreSQL's parser refuses: its column lineage
	// comes from parsing in Redshift's dialect.
	var buyers []string
	for _, cl := range h.ColumnLineage {
		if cl.Output.Name == "dev.public.recent_buyers" && cl.Column == "buyers" {
			buyers = append(buyers, cl.InputColumn+" "+cl.Type+" "+cl.Subtype)
		}
	}
	if !slices.Contains(buyers, "buyerid DIRECT AGGREGATION") {
		t.Errorf("lineage of recent_buyers.buyers: %v, want buyerid, aggregated", buyers)
	}
	if len(h.Errors) > 0 {
		t.Errorf("errors: %v", h.Errors)
	}
}

func TestRedshiftNamespace(t *testing.T) {
	for _, c := range []struct {
		host string
		port uint16
		want string
	}{
		{"examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com", 5439, "redshift://examplecluster.us-west-2:5439"},
		{"Analytics.cq8kz1example.eu-central-1.redshift.amazonaws.com", 0, "redshift://analytics.eu-central-1:5439"},
		{"etl-wg.123456789012.us-east-1.redshift-serverless.amazonaws.com", 5439, "redshift://etl-wg.us-east-1:5439"},
		{"dw.cn1.cn-north-1.redshift.amazonaws.com.cn", 5439, "redshift://dw.cn-north-1:5439"},
		{"redshift-proxy.internal", 15439, "redshift://redshift-proxy.internal:15439"},
	} {
		if got := RedshiftNamespace(c.host, c.port); got != c.want {
			t.Errorf("RedshiftNamespace(%q, %d) = %q, want %q", c.host, c.port, got, c.want)
		}
	}
}

func TestViewSelect(t *testing.T) {
	for def, want := range map[string]string{
		" SELECT a.x\n   FROM a;": "SELECT a.x\n   FROM a;",
		"create view public.v as select x from public.t with no schema binding;":        "select x from public.t",
		"CREATE OR REPLACE VIEW \"s\".\"v\" AS SELECT 1 AS one\nWITH NO SCHEMA BINDING": "SELECT 1 AS one",
		"create view s.v as select x as \"as\" from s.t with no schema binding":         "select x as \"as\" from s.t",
	} {
		got, late := viewSelect(def)
		if got != want || late != strings.Contains(strings.ToLower(def), "no schema binding") {
			t.Errorf("viewSelect(%q) = %q, %v; want %q", def, got, late, want)
		}
	}
}

// TestRedshiftQuerierOnPostgres runs the production querier on a real
// server: it reads every value as text, NULL as nil, and refuses a result
// whose columns are not the query's.
func TestRedshiftQuerierOnPostgres(t *testing.T) {
	ctx := context.Background()
	_, dbURL := pgtest.NewDB(t)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	q := pgxQuerier{conn}
	rows, err := q.query(ctx, rsQuery{name: "probe", sql: `SELECT 42::int AS n, NULL::text AS nothing, true AS yes, $1::text AS arg`,
		columns: []string{"n", "nothing", "yes", "arg"}}, "public")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || text(rows[0][0]) != "42" || rows[0][1] != nil || text(rows[0][2]) != "t" || text(rows[0][3]) != "public" {
		t.Errorf("rows %v", rows)
	}
	if _, err := q.query(ctx, rsSearchPath, quoteIdent("public")); err != nil {
		t.Errorf("search_path: %v", err)
	}
	_, err = q.query(ctx, rsQuery{name: "probe", sql: `SELECT 1 AS a`, columns: []string{"b"}})
	if err == nil || err.Error() != "query probe: columns [a], want [b]" {
		t.Errorf("error %v", err)
	}
}

// TestCrawlRedshiftNotRedshift points the Redshift crawler at PostgreSQL,
// which has no SVV_ views: the crawl fails naming the database and the
// view it could not read.
func TestCrawlRedshiftNotRedshift(t *testing.T) {
	_, dbURL := pgtest.NewDB(t)
	h, err := CrawlRedshift(context.Background(), Config{Source: "redshift:dw", URL: dbURL})
	if err == nil || !regexp.MustCompile(`^crawl redshift:dw: no database could be read: .*list relations \(svv_tables\): ERROR: relation "svv_tables" does not exist`).MatchString(err.Error()) {
		t.Fatalf("error %v", err)
	}
	if len(h.Errors) != 1 || !strings.Contains(h.Errors[0].Message, "svv_tables") {
		t.Errorf("errors %v", h.Errors)
	}
}
