package unitycatalog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"almanac/catalog"
	"almanac/catalog/crawl/unitycatalog"
)

// requests counts the requests to a path prefix (and query part).
func requests(s *ucServer, prefix string) int {
	n := 0
	for _, r := range s.seen() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

const unityTables = "/api/2.1/unity-catalog/tables?catalog_name=unity&"

func isUnityTables(r *http.Request) bool {
	return r.URL.Path == "/api/2.1/unity-catalog/tables" && r.URL.Query().Get("catalog_name") == "unity"
}

// hasScope reports whether hv claims prefix complete.
func hasScope(hv catalog.Harvest, prefix string) bool {
	return slices.ContainsFunc(hv.Scopes, func(sc catalog.Scope) bool { return sc.Prefix == prefix })
}

// TestBadToken: a refused token fails the crawl at once, naming the source
// and the server, saying what to do, and never repeating the token.
func TestBadToken(t *testing.T) {
	s := newServer(t, databricks)
	s.token = "dapi-the-right-one"
	cfg := config(s)
	cfg.Token = "dapi-wrong-token-0123456789"
	hv, err := unitycatalog.Crawl(context.Background(), cfg)
	if err == nil {
		t.Fatal("crawl with a bad token succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"crawl unitycatalog:lake", "list catalogs of " + s.URL, "HTTP 401 Unauthorized", "refused the token", "UNAUTHENTICATED"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, cfg.Token) {
		t.Errorf("error %q shows the token", msg)
	}
	if n := len(s.seen()); n != 1 {
		t.Errorf("%d requests, want 1: a refused token is not retried", n)
	}
	if len(hv.Datasets) != 0 || len(hv.Scopes) != 0 || hv.DatasetsComplete {
		t.Errorf("harvest of a failed crawl = %+v", hv)
	}
}

// TestTokenEchoedIsRedacted: should a server or proxy repeat the token in
// an error, the crawl error does not.
func TestTokenEchoedIsRedacted(t *testing.T) {
	s := newServer(t, oss)
	s.token = "uc-secret-token"
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "bad header: Authorization: "+r.Header.Get("Authorization"), http.StatusBadRequest)
		return true
	}
	_, err := unitycatalog.Crawl(context.Background(), config(s))
	if err == nil || strings.Contains(err.Error(), s.token) || !strings.Contains(err.Error(), "Bearer xxxxx") {
		t.Errorf("error = %v, want the token masked", err)
	}
}

// TestForbiddenCatalog: a catalog whose schemas the token may not list is
// an error naming it; the rest is crawled, and the crawl claims no
// completeness, so nothing of that catalog is taken for gone.
func TestForbiddenCatalog(t *testing.T) {
	s := newServer(t, databricks)
	const cat = "hierarchy_catalog_1780172337"
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/2.1/unity-catalog/schemas" && r.URL.Query().Get("catalog_name") == cat {
			s.fail(w, http.StatusForbidden, "PERMISSION_DENIED", "User does not have USE CATALOG on Catalog '"+cat+"'.")
			return true
		}
		return false
	}
	hv := crawl(t, config(s))
	if len(hv.Errors) != 1 || hv.Errors[0].Object != cat ||
		!strings.Contains(hv.Errors[0].Message, "list schemas: HTTP 403 Forbidden") || !strings.Contains(hv.Errors[0].Message, "USE CATALOG") {
		t.Errorf("errors = %v, want one naming %s", hv.Errors, cat)
	}
	if n := requests(s, "/api/2.1/unity-catalog/schemas?catalog_name="+cat); n != 1 {
		t.Errorf("%d requests for the forbidden catalog, want 1", n)
	}
	if len(hv.Datasets) != 4 || !hasScope(hv, "unity.default.") {
		t.Errorf("%d datasets, scopes %v: want the sample read", len(hv.Datasets), hv.Scopes)
	}
	if hv.DatasetsComplete || hv.JobsComplete || slices.ContainsFunc(hv.Scopes, func(sc catalog.Scope) bool { return strings.Contains(sc.Prefix, cat) }) {
		t.Errorf("complete %v/%v, scopes %v: the crawl claims what it could not read", hv.DatasetsComplete, hv.JobsComplete, hv.Scopes)
	}
}

// TestRetries: 429 and 5xx answers are retried until the server answers;
// the crawl then has no error.
func TestRetries(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := newServer(t, oss)
			var failed atomic.Int32
			s.fault = func(w http.ResponseWriter, r *http.Request) bool {
				if isUnityTables(r) && failed.Add(1) <= 3 {
					w.Header().Set("Retry-After", "0")
					s.fail(w, status, "TEMPORARILY_UNAVAILABLE", "try again")
					return true
				}
				return false
			}
			hv := crawl(t, config(s))
			if len(hv.Errors) != 0 || len(hv.Datasets) != 4 || !hv.DatasetsComplete {
				t.Errorf("errors %v, %d datasets, complete %v", hv.Errors, len(hv.Datasets), hv.DatasetsComplete)
			}
			if n := requests(s, unityTables); n != 5 {
				t.Errorf("%d requests for the tables, want 3 refused + 2 pages", n)
			}
		})
	}
}

// Test429Storm: a server that keeps answering 429 is asked a bounded
// number of times; the schema is an error naming it, the others are read,
// and the schema is not claimed complete.
func Test429Storm(t *testing.T) {
	s := newServer(t, databricks)
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if isUnityTables(r) {
			w.Header().Set("Retry-After", "1")
			s.fail(w, http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", "Too many requests. Please wait a moment and try again.")
			return true
		}
		return false
	}
	hv := crawl(t, config(s))
	if len(hv.Errors) != 1 || hv.Errors[0].Object != "unity.default" {
		t.Fatalf("errors = %v, want one naming unity.default", hv.Errors)
	}
	for _, want := range []string{"list tables: HTTP 429 Too Many Requests: REQUEST_LIMIT_EXCEEDED", "after 5 attempts"} {
		if !strings.Contains(hv.Errors[0].Message, want) {
			t.Errorf("message %q lacks %q", hv.Errors[0].Message, want)
		}
	}
	if n := requests(s, unityTables); n != 5 {
		t.Errorf("%d requests, want 5 (Config.Attempts' default)", n)
	}
	if len(hv.Datasets) != 0 || hasScope(hv, "unity.default.") || hv.DatasetsComplete {
		t.Errorf("datasets %d, scopes %v, complete %v", len(hv.Datasets), hv.Scopes, hv.DatasetsComplete)
	}
	if !hasScope(hv, "hierarchy_catalog_1780172337.default.") {
		t.Errorf("scopes %v: the schemas read are complete", hv.Scopes)
	}
}

// TestTruncatedPage: a page cut short is an error naming the schema and
// the page; what the pages before held is reported, the schema is not
// complete. A cut catalog list fails the crawl.
func TestTruncatedPage(t *testing.T) {
	s := newServer(t, oss)
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if isUnityTables(r) && r.URL.Query().Get("page_token") != "" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"tables":[{"name":"numbers","catalog_name":"unity","schema_name":"def`)
			return true
		}
		return false
	}
	hv := crawl(t, config(s))
	if len(hv.Errors) != 1 || hv.Errors[0].Object != "unity.default" ||
		!strings.Contains(hv.Errors[0].Message, "list tables: page 2: invalid JSON response") || !strings.Contains(hv.Errors[0].Message, "cut short") {
		t.Errorf("errors = %v", hv.Errors)
	}
	if n := requests(s, unityTables); n != 2 {
		t.Errorf("%d requests: a page that is not JSON is not retried", n)
	}
	if len(hv.Datasets) != 2 || hasScope(hv, "unity.default.") || hv.DatasetsComplete {
		t.Errorf("%d datasets, scopes %v, complete %v: want page 1's two, and no claim", len(hv.Datasets), hv.Scopes, hv.DatasetsComplete)
	}

	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/2.1/unity-catalog/catalogs" {
			fmt.Fprint(w, `{"catalogs":[{"name":"demo",`)
			return true
		}
		return false
	}
	_, err := unitycatalog.Crawl(context.Background(), config(s))
	if err == nil || !strings.Contains(err.Error(), "crawl unitycatalog:lake: list catalogs of "+s.URL+": invalid JSON response") {
		t.Errorf("error = %v", err)
	}
}

// TestUnreachable: a server that cannot be reached is tried a bounded
// number of times, then fails the crawl naming source and server.
func TestUnreachable(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	cfg := unitycatalog.Config{Source: "unitycatalog:lake", URL: gone.URL, Attempts: 3, RetryDelay: 1}
	_, err := unitycatalog.Crawl(context.Background(), cfg)
	if err == nil {
		t.Fatal("crawl of a closed server succeeded")
	}
	for _, want := range []string{"crawl unitycatalog:lake: list catalogs of " + gone.URL, "connection refused", "after 3 attempts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestPageTokenLoop: a server handing back a token it gave before would
// be followed forever; the listing stops with an error instead.
func TestPageTokenLoop(t *testing.T) {
	s := newServer(t, oss)
	s.fault = func(w http.ResponseWriter, r *http.Request) bool {
		if isUnityTables(r) {
			fmt.Fprint(w, `{"tables":[],"next_page_token":"again"}`)
			return true
		}
		return false
	}
	hv := crawl(t, config(s))
	if len(hv.Errors) != 1 || !strings.Contains(hv.Errors[0].Message, `next_page_token "again" was given before`) {
		t.Errorf("errors = %v", hv.Errors)
	}
}

// TestConfigErrors: an unusable Config fails before any request.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  unitycatalog.Config
		want string
	}{
		{unitycatalog.Config{URL: "http://x"}, "empty source name"},
		{unitycatalog.Config{Source: "unitycatalog:x"}, "empty server URL"},
		{unitycatalog.Config{Source: "unitycatalog:x", URL: "localhost:8080"}, "want http(s)://host[:port]"},
		{unitycatalog.Config{Source: "unitycatalog:x", URL: "https://token:dapi123@host"}, "put the token in token"},
		{unitycatalog.Config{Source: "unitycatalog:x", URL: "http://x", Include: []string{"["}}, `pattern "["`},
	} {
		_, err := unitycatalog.Crawl(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Crawl(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "dapi123") {
			t.Errorf("error %q shows the password", err)
		}
	}
}
