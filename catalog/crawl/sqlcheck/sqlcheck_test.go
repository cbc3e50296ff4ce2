package sqlcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"almanac/catalog"
	"almanac/catalog/pgtest"
)

// warehouse is a database with known bad rows: orders 3 and 4 have no
// customer, order 5 names customer 99 who does not exist, order 6 has the
// status "lost", and code "a" appears twice.
const warehouse = `
CREATE TABLE customers (id int PRIMARY KEY);
INSERT INTO customers VALUES (1), (2);
CREATE TABLE orders (id int, customer_id int, status text, code text, loaded_at timestamptz);
INSERT INTO orders VALUES
	(1, 1, 'placed', 'a', now() - interval '2 hours'),
	(2, 2, 'shipped', 'a', now() - interval '1 hour'),
	(3, NULL, 'placed', 'b', now() - interval '3 hours'),
	(4, NULL, NULL, 'c', now() - interval '3 hours'),
	(5, 99, 'shipped', 'd', now() - interval '3 hours'),
	(6, 1, 'lost', NULL, now() - interval '3 hours');
CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS $$ INSERT INTO customers VALUES (3) RETURNING 1 $$;
`

func newWarehouse(t *testing.T) string {
	t.Helper()
	url := pgtest.EmptyDB(t)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), warehouse); err != nil {
		t.Fatal(err)
	}
	return url
}

var orders = catalog.Key{Namespace: "postgres://localhost:5432", Name: "wh.public.orders"}

func mustExpect(t *testing.T, s string) Expectation {
	t.Helper()
	e, err := ParseExpectation(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTemplates runs each template's SQL on the table with known bad
// rows and checks the count it finds.
func TestTemplates(t *testing.T) {
	url := newWarehouse(t)
	for _, tc := range []struct {
		tmpl Template
		want string // observed
	}{
		{Template{Kind: "not_null", Table: "public.orders", Column: "customer_id"}, "2"},
		{Template{Kind: "unique", Table: "orders", Column: "code"}, "1"},
		{Template{Kind: "accepted_values", Table: "public.orders", Column: "status", Values: []string{"placed", "shipped"}}, "1"},
		{Template{Kind: "row_count", Table: "public.orders"}, "6"},
		{Template{Kind: "relationships", Table: "public.orders", Column: "customer_id", ToTable: "public.customers", ToColumn: "id"}, "1"},
	} {
		t.Run(tc.tmpl.Kind, func(t *testing.T) {
			sql, args, err := Expand(tc.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			c := Check{Name: tc.tmpl.Kind, Dataset: orders, Type: tc.tmpl.Kind, SQL: sql, Args: args, Expect: mustExpect(t, "= 0")}
			r := Run(context.Background(), url, c, nil, "run-1")
			if r.Observed != tc.want {
				t.Errorf("%s observed %q (%s: %s), want %s", sql, r.Observed, r.Status, r.Message, tc.want)
			}
			wantStatus := catalog.QualityFail
			if tc.want == "0" {
				wantStatus = catalog.QualityPass
			}
			if tc.tmpl.Kind != "row_count" && r.Status != wantStatus {
				t.Errorf("status %s, want %s", r.Status, wantStatus)
			}
		})
	}
	// freshness: the newest load is an hour old.
	sql, _, err := Expand(Template{Kind: "freshness", Table: "public.orders", Column: "loaded_at"})
	if err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), url, Check{Name: "fresh", Dataset: orders, SQL: sql, Expect: mustExpect(t, "between 3500 and 3700")}, nil, "run-1")
	if r.Status != catalog.QualityPass {
		t.Errorf("freshness: %s %s (observed %s), want an age of about 3600 s", r.Status, r.Message, r.Observed)
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tc := range []struct {
		tmpl Template
		want string
	}{
		{Template{Kind: "not_nul", Table: "t", Column: "c"}, `unknown template "not_nul"`},
		{Template{Kind: "not_null", Table: "a.b.c", Column: "c"}, "table must be schema.table or table"},
		{Template{Kind: "unique", Table: "t"}, "template unique needs a column"},
		{Template{Kind: "accepted_values", Table: "t", Column: "c"}, "needs values"},
		{Template{Kind: "relationships", Table: "t", Column: "c", ToTable: "u"}, "needs to_column"},
	} {
		if _, _, err := Expand(tc.tmpl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Expand(%+v) = %v, want %q", tc.tmpl, err, tc.want)
		}
	}
	// A name cannot break out of its quotes.
	sql, _, err := Expand(Template{Kind: "not_null", Table: `orders"; DROP TABLE x; --`, Column: "c"})
	if err != nil || !strings.Contains(sql, `"orders""; DROP TABLE x; --"`) {
		t.Errorf("quoted: %s, %v", sql, err)
	}
}

// TestRun covers what a query can do: pass, fail, warn, and every way of
// not returning one number, each an error result with the reason.
func TestRun(t *testing.T) {
	url := newWarehouse(t)
	for _, tc := range []struct {
		name, sql, expect, severity string
		timeout                     time.Duration
		status, message, observed   string
	}{
		{name: "pass", sql: "SELECT count(*) FROM orders WHERE id > 100", expect: "= 0", status: "pass", observed: "0"},
		{name: "fail", sql: "SELECT count(*) FROM orders WHERE customer_id IS NULL;", expect: "= 0", status: "fail", observed: "2",
			message: "got 2, want = 0"},
		{name: "warn", sql: "SELECT count(*) FROM orders", expect: "between 100 and 200", severity: "warn", status: "warn", observed: "6",
			message: "got 6, want between 100 and 200"},
		{name: "numeric", sql: "SELECT avg(id) FROM orders", expect: "<= 10", status: "pass", observed: "3.5"},
		{name: "timeout", sql: "SELECT count(*) FROM pg_sleep(5)", expect: "= 0", timeout: 200 * time.Millisecond, status: "error",
			message: "the query ran longer than its timeout of 200ms"},
		{name: "write through a function", sql: "SELECT sneaky()", expect: "= 1", status: "error",
			message: "query: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)"},
		{name: "write", sql: "DELETE FROM orders", expect: "= 0", status: "error", message: "query: syntax error"},
		{name: "no row", sql: "SELECT id FROM orders WHERE false", expect: "= 0", status: "error", message: "the query returned no row, want one number"},
		{name: "two rows", sql: "SELECT id FROM orders", expect: "= 0", status: "error", message: "the query returned more than one row"},
		{name: "text", sql: "SELECT 'many'", expect: "= 0", status: "error", message: `the query returned text "many", want a number`},
		{name: "two columns", sql: "SELECT 1, 2", expect: "= 0", status: "error", message: "the query returned 2 columns, want one number"},
		{name: "null", sql: "SELECT max(id) FROM orders WHERE false", expect: "= 0", status: "error", message: "the query returned NULL"},
		{name: "no table", sql: "SELECT count(*) FROM nope", expect: "= 0", status: "error", message: `query: relation "nope" does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Check{Name: tc.name, Dataset: orders, Type: "sql", SQL: tc.sql, Expect: mustExpect(t, tc.expect), Severity: tc.severity, Timeout: tc.timeout}
			start := time.Now()
			r := Run(context.Background(), url, c, nil, "run-1")
			if r.Status != tc.status || !strings.HasPrefix(r.Message, tc.message) || r.Observed != tc.observed {
				t.Errorf("got %s %q observed %q, want %s %q observed %q", r.Status, r.Message, r.Observed, tc.status, tc.message, tc.observed)
			}
			if err := r.Validate(); err != nil {
				t.Errorf("the result cannot be recorded: %v", err)
			}
			if tc.timeout > 0 && time.Since(start) > 3*time.Second {
				t.Errorf("a check with a timeout of %s took %s", tc.timeout, time.Since(start))
			}
		})
	}
	// Nothing was written.
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM customers)").Scan(&n); err != nil || n != 8 {
		t.Errorf("rows after the checks = %d, %v; want 8: a check wrote", n, err)
	}
	// No server: an error result, not a panic or a hang.
	r := Run(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", Check{Name: "down", Dataset: orders, SQL: "SELECT 1", Expect: mustExpect(t, "= 1")}, nil, "run-1")
	if r.Status != catalog.QualityError || !strings.HasPrefix(r.Message, "connect: ") {
		t.Errorf("no server: %s %q", r.Status, r.Message)
	}
}

func TestExpectations(t *testing.T) {
	for _, tc := range []struct {
		expect  string
		v       float64
		history []float64
		ok      bool
		why     string
	}{
		{"= 0", 0, nil, true, ""},
		{"== 0", 1, nil, false, "got 1, want = 0"},
		{"<> 3", 3, nil, false, "got 3, want != 3"},
		{"< 10", 10, nil, false, "got 10, want < 10"},
		{"<= 10", 10, nil, true, ""},
		{"> 1.5", 2, nil, true, ""},
		{">= -1", -2, nil, false, "got -2, want >= -1"},
		{"between 100 and 200", 100, nil, true, ""},
		{"BETWEEN 100 AND 200", 201, nil, false, "got 201, want between 100 and 200"},
		{"change within 10% of last 3 runs", 105, []float64{100, 100, 100, 1}, true, ""},
		{"change within 10% of last 3 runs", 120, []float64{100, 100, 100}, false, "got 120, 20.0% from the mean 100 of the last 3 runs; want within 10%"},
		{"change within 10 % of the last 1 run", 5, nil, true, "got 5; no earlier run to compare with"},
	} {
		e := mustExpect(t, tc.expect)
		ok, why := e.Judge(tc.v, tc.history)
		if ok != tc.ok || why != tc.why {
			t.Errorf("%q.Judge(%v, %v) = %v %q, want %v %q", tc.expect, tc.v, tc.history, ok, why, tc.ok, tc.why)
		}
		if again, err := ParseExpectation(e.String()); err != nil || !cmp.Equal(again, e) {
			t.Errorf("%q does not read back: %v %v", e.String(), again, err)
		}
	}
	for _, bad := range []string{"", "0", "= zero", "between 2 and 1", "change within 10% of last 0 runs", "~ 3", "= NaN"} {
		if _, err := ParseExpectation(bad); err == nil {
			t.Errorf("ParseExpectation(%q) = nil error", bad)
		}
	}
}
