package unitycatalog_test

// The in-test Unity Catalog server. What it serves comes from testdata/
// (see SOURCES.md there):
//
//   - catalogs and schemas: the objects of the HTTP exchanges recorded
//     against the open-source Java server (flavour oss) or Databricks
//     (flavour databricks), byte for byte, plus the sample catalog "unity"
//     and its schema "default" composed from their rows in h2db.decoded.json;
//   - tables: the sample tables of unity.default, composed from the rows of
//     UC_TABLES, UC_COLUMNS and UC_PROPERTIES as the server's TableInfoDAO
//     does (storage_location an absolute file: URI under the server's
//     working directory, here testdata/, with the trailing '/' Java's
//     Path.toUri gives a directory; created_at and updated_at the stored
//     wall-clock times read as UTC). Fields the row leaves null are left
//     out, so that every table response follows api/all.yaml exactly
//     (spec_test.go checks it);
//   - pagination as each server does it: next_page_token null on the last
//     page (oss) or absent (databricks), and on Databricks a first page of
//     tables that is empty but has a next one, which its documentation says
//     may happen.
//
// Not recorded anywhere, and made by the tests in the recorded shapes: the
// owners of the sample tables on Databricks (the e-mail address and group
// that own the recorded catalogs), error answers other than Databricks'
// recorded 400 (JSON {"error_code", "message", "details"} on Databricks,
// plain text on the open-source server behind its proxy), and lineage.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	oss        = "oss"
	databricks = "databricks"
)

// recording is one recorded HTTP exchange.
type recording struct {
	Request struct {
		Method  string `json:"method"`
		URLPath string `json:"url_path"`
		Body    string `json:"body"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"response"`
}

func readRecording(t testing.TB, flavor, journey, file string) recording {
	t.Helper()
	dir := map[string]string{oss: "oss_java", databricks: "managed_databricks"}[flavor]
	b, err := os.ReadFile(filepath.Join("testdata/recordings", dir, journey, file))
	if err != nil {
		t.Fatal(err)
	}
	var r recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s/%s/%s: %v", dir, journey, file, err)
	}
	return r
}

// listed returns the objects of a recorded list response, each as the
// bytes the server sent.
func listed(t testing.TB, r recording, field string) []json.RawMessage {
	t.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Response.Body), &body); err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	if err := json.Unmarshal(body[field], &out); err != nil {
		t.Fatalf("%s of %s: %v", field, r.Request.URLPath, err)
	}
	return out
}

// h2 is h2db.decoded.json: the rows of the sample database.
type h2 map[string]struct {
	Rows []map[string]any `json:"rows"`
}

func readH2(t testing.TB) h2 {
	t.Helper()
	b, err := os.ReadFile("testdata/etc/db/h2db.decoded.json")
	if err != nil {
		t.Fatal(err)
	}
	var db h2
	if err := json.Unmarshal(b, &db); err != nil {
		t.Fatal(err)
	}
	return db
}

// epochMillis reads a stored TIMESTAMP ("2024-07-17 18:40:05.334") as UTC.
func epochMillis(t testing.TB, v any) int64 {
	t.Helper()
	ts, err := time.Parse("2006-01-02 15:04:05.999999", v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return ts.UnixMilli()
}

// sample composes the sample catalog, its schema and its tables.
type sample struct {
	catalog, schema json.RawMessage
	tables          []map[string]any // TableInfo, in UC_TABLES order
}

// composeSample builds the sample objects; owners, when set, gives the
// owner of each table by name (Databricks has one for everything).
func composeSample(t testing.TB, owners map[string]string) sample {
	t.Helper()
	db := readH2(t)
	root, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	// put sets key to the row's value, leaving out what the row leaves
	// null: the spec declares no field nullable.
	put := func(m map[string]any, key string, v any) {
		if v != nil {
			m[key] = v
		}
	}
	cat := db["UC_CATALOGS"].Rows[0]
	c := map[string]any{"name": cat["NAME"], "properties": map[string]string{}, "id": cat["ID"],
		"created_at": epochMillis(t, cat["CREATED_AT"])}
	put(c, "comment", cat["COMMENT"])
	sch := db["UC_SCHEMAS"].Rows[0]
	s := map[string]any{"name": sch["NAME"], "catalog_name": cat["NAME"], "properties": map[string]string{},
		"full_name": fmt.Sprint(cat["NAME"], ".", sch["NAME"]), "schema_id": sch["ID"],
		"created_at": epochMillis(t, sch["CREATED_AT"])}
	put(s, "comment", sch["COMMENT"])
	var out sample
	out.catalog, out.schema = mustJSON(t, c), mustJSON(t, s)

	for _, row := range db["UC_TABLES"].Rows {
		tb := map[string]any{
			"name": row["NAME"], "catalog_name": cat["NAME"], "schema_name": sch["NAME"],
			"table_type": row["TYPE"], "data_source_format": row["DATA_SOURCE_FORMAT"],
			"table_id": row["ID"], "properties": map[string]string{},
		}
		put(tb, "comment", row["COMMENT"])
		if v := row["CREATED_AT"]; v != nil {
			tb["created_at"] = epochMillis(t, v)
		}
		if v := row["UPDATED_AT"]; v != nil {
			tb["updated_at"] = epochMillis(t, v)
		}
		put(tb, "owner", row["OWNER"])
		put(tb, "created_by", row["CREATED_BY"])
		put(tb, "updated_by", row["UPDATED_BY"])
		if o := owners[row["NAME"].(string)]; o != "" {
			tb["owner"] = o
		}
		loc := row["URL"].(string)
		if !strings.Contains(loc, ":") {
			loc = "file://" + filepath.ToSlash(filepath.Join(root, loc)) + "/"
		}
		tb["storage_location"] = loc
		var cols []map[string]any
		for _, col := range db["UC_COLUMNS"].Rows {
			if col["TABLE_ID"] != row["ID"] {
				continue
			}
			ci := map[string]any{
				"name": col["NAME"], "type_text": col["TYPE_TEXT"], "type_json": col["TYPE_JSON"],
				"type_name": col["TYPE_NAME"], "position": col["ORDINAL_POSITION"], "nullable": col["NULLABLE"],
			}
			put(ci, "type_precision", col["TYPE_PRECISION"])
			put(ci, "type_scale", col["TYPE_SCALE"])
			put(ci, "type_interval_type", col["TYPE_INTERVAL_TYPE"])
			put(ci, "comment", col["COMMENT"])
			put(ci, "partition_index", col["PARTITION_INDEX"])
			cols = append(cols, ci)
		}
		slices.SortFunc(cols, func(a, b map[string]any) int { return int(a["position"].(float64) - b["position"].(float64)) })
		tb["columns"] = cols
		for _, p := range db["UC_PROPERTIES"].Rows {
			if p["ENTITY_ID"] == row["ID"] && p["ENTITY_TYPE"] == "table" {
				tb["properties"].(map[string]string)[p["PROPERTY_KEY"].(string)] = p["PROPERTY_VALUE"].(string)
			}
		}
		out.tables = append(out.tables, tb)
	}
	return out
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ucServer is the in-test server.
type ucServer struct {
	*httptest.Server
	flavor   string
	token    string // the Bearer token it requires; "" requires none
	pageSize int    // largest page it serves

	catalogs []json.RawMessage
	schemas  map[string][]json.RawMessage // by catalog
	tables   map[string][]json.RawMessage // by "catalog.schema"
	// lineage answers by table name; nil: the server has no lineage API.
	lineage map[string]any
	// full holds tables by full name as GET /tables/{full_name} answers
	// them, where that differs from their listing (Databricks lists views
	// without their dependencies).
	full map[string]json.RawMessage
	// fault, when set, may answer a request instead of the server
	// (returning true).
	fault func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	requests []string // path?query of each request, in order
}

// newServer starts a server of flavor serving the recorded catalogs and
// schemas and the composed sample.
func newServer(t testing.TB, flavor string) *ucServer {
	t.Helper()
	s := &ucServer{flavor: flavor, pageSize: 2, schemas: map[string][]json.RawMessage{}, tables: map[string][]json.RawMessage{}}
	var smp sample
	switch flavor {
	case oss:
		smp = composeSample(t, nil)
		s.catalogs = listed(t, readRecording(t, oss, "enhanced_catalog", "0001.json"), "catalogs")
		hier := readRecording(t, oss, "catalog_hierarchy", "0001.json")
		lc := readRecording(t, oss, "schema_lifecycle", "0001.json") // after its PATCH
		s.catalogs = append(s.catalogs, json.RawMessage(hier.Response.Body), json.RawMessage(lc.Response.Body))
		s.schemas[nameOf(t, hier.Response.Body)] = listed(t, readRecording(t, oss, "catalog_hierarchy", "0005.json"), "schemas")
		s.schemas[nameOf(t, lc.Response.Body)] = listed(t, readRecording(t, oss, "schema_lifecycle", "0004.json"), "schemas")
	case databricks:
		const user, group = "robert.pack@databricks.com", "_workspace_admins_reap_open_lakehouse_310942840210298"
		smp = composeSample(t, map[string]string{"marksheet": user, "marksheet_uniform": user, "numbers": user, "user_countries": group})
		s.catalogs = listed(t, readRecording(t, databricks, "enhanced_catalog", "0001.json"), "catalogs")
		hier := readRecording(t, databricks, "catalog_hierarchy", "0001.json")
		s.catalogs = append(s.catalogs, json.RawMessage(hier.Response.Body))
		s.schemas[nameOf(t, hier.Response.Body)] = listed(t, readRecording(t, databricks, "catalog_hierarchy", "0005.json"), "schemas")
	default:
		t.Fatalf("unknown flavour %q", flavor)
	}
	s.catalogs = append(s.catalogs, smp.catalog)
	s.schemas["unity"] = []json.RawMessage{smp.schema}
	for _, tb := range smp.tables {
		s.tables["unity.default"] = append(s.tables["unity.default"], mustJSON(t, tb))
	}
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

func nameOf(t testing.TB, body string) string {
	t.Helper()
	var v struct{ Name string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return v.Name
}

// seen returns the requests served so far.
func (s *ucServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *ucServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.URL.Path+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if s.fault != nil && s.fault(w, r) {
		return
	}
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		s.fail(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Credential was not sent or was of an unsupported type for this API.")
		return
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/2.1/unity-catalog/catalogs":
		s.list(w, r, "catalogs", s.catalogs)
	case "/api/2.1/unity-catalog/schemas":
		s.list(w, r, "schemas", s.schemas[q.Get("catalog_name")])
	case "/api/2.1/unity-catalog/tables":
		s.list(w, r, "tables", s.tables[q.Get("catalog_name")+"."+q.Get("schema_name")])
	case "/api/2.1/unity-catalog/tables/" + strings.TrimPrefix(r.URL.Path, "/api/2.1/unity-catalog/tables/"):
		s.getTable(w, strings.TrimPrefix(r.URL.Path, "/api/2.1/unity-catalog/tables/"))
	case "/api/2.0/lineage-tracking/table-lineage":
		if s.lineage == nil {
			s.fail(w, http.StatusNotFound, "NOT_FOUND", "no route for "+r.URL.Path)
			return
		}
		a, ok := s.lineage[q.Get("table_name")]
		if !ok {
			a = map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a)
	default:
		s.fail(w, http.StatusNotFound, "NOT_FOUND", "no route for "+r.URL.Path)
	}
}

// list serves one page of items. Page tokens are offsets ("o<n>"); on
// Databricks the first page of tables is empty and points at the next.
func (s *ucServer) list(w http.ResponseWriter, r *http.Request, field string, items []json.RawMessage) {
	q := r.URL.Query()
	size := s.pageSize
	if n, err := strconv.Atoi(q.Get("max_results")); err != nil || n < 0 {
		s.fail(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "max_results must be a non-negative integer")
		return
	} else if n > 0 {
		size = min(size, n)
	}
	from, to := 0, 0
	switch tok := q.Get("page_token"); {
	case tok == "" && s.flavor == databricks && field == "tables":
		// from = to = 0: an empty page with a next one.
	case tok == "":
		to = min(size, len(items))
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "o"))
		if err != nil || n > len(items) {
			s.fail(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "invalid page_token")
			return
		}
		from, to = n, min(n+size, len(items))
	}
	w.Header().Set("Content-Type", "application/json")
	var b strings.Builder
	b.WriteString("{")
	if s.flavor == oss || to > from {
		b.WriteString(`"` + field + `":[`)
		for i, it := range items[from:to] {
			if i > 0 {
				b.WriteString(",")
			}
			b.Write(it)
		}
		b.WriteString("]")
	}
	next := ""
	if to < len(items) || (to == 0 && from == 0 && s.flavor == databricks && field == "tables" && len(items) > 0) {
		next = fmt.Sprintf(`"o%d"`, to)
	}
	switch {
	case next != "":
		b.WriteString(sep(b.Len()) + `"next_page_token":` + next)
	case s.flavor == oss:
		b.WriteString(sep(b.Len()) + `"next_page_token":null`)
	}
	b.WriteString("}")
	fmt.Fprint(w, b.String())
}

func sep(n int) string {
	if n > 1 {
		return ","
	}
	return ""
}

// fail answers an error as the flavour's server does: Databricks with the
// JSON body of its recorded 400, the open-source server (behind its proxy)
// in plain text.
func (s *ucServer) fail(w http.ResponseWriter, status int, code, msg string) {
	if s.flavor == databricks {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg,
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.RequestInfo", "request_id": "test", "serving_data": ""}}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s: %s", status, http.StatusText(status), msg)
}

// getTable answers GET /tables/{full_name}: the table's full form, else
// its listing.
func (s *ucServer) getTable(w http.ResponseWriter, full string) {
	b, ok := s.full[full]
	if !ok {
		for _, list := range s.tables {
			for _, t := range list {
				var v struct {
					Name        string `json:"name"`
					CatalogName string `json:"catalog_name"`
					SchemaName  string `json:"schema_name"`
				}
				if json.Unmarshal(t, &v) == nil && v.CatalogName+"."+v.SchemaName+"."+v.Name == full {
					b, ok = t, true
				}
			}
		}
	}
	if !ok {
		s.fail(w, http.StatusNotFound, "TABLE_DOES_NOT_EXIST", "Table '"+full+"' does not exist.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b) //nolint:errcheck
}
