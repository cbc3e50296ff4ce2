package graph_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"almanac/graph"
)

// Bounds on what any one hostile document may cost the server: its answer
// comes well within the request's time limit (graph.DefaultTimeout, 10 s),
// lists at most 21 errors (20, then "and N more errors") in a small body,
// and the process's resident memory grows by at most maxExtraRSS.
const (
	maxTook          = 3 * time.Second
	maxResponseBytes = 32 << 10
	maxExtraRSS      = 50 << 20
)

// hostile is a request built to make parsing, validation, execution or
// the list of errors cost far more than its size, and how it must be
// answered.
type hostile struct {
	name   string
	query  string
	vars   map[string]any
	status int
	code   string // of the first error; "" for none
	msg    string // in the first error's message
	last   string // the code of the last of 21 errors, if there must be 21
}

// fill repeats unit between prefix and suffix as often as fits a request
// body of graph.DefaultMaxBodyBytes.
func fill(prefix, unit, suffix string) string {
	jsonLen := func(s string) int { b, _ := json.Marshal(s); return len(b) - 2 }
	n := (graph.DefaultMaxBodyBytes - 64 - jsonLen(prefix) - jsonLen(suffix)) / jsonLen(unit)
	return prefix + strings.Repeat(unit, n) + suffix
}

// numbered writes format (with one %d) n times, numbered from 0.
func numbered(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// hostileDocuments are the review's documents and their relatives, one of
// each kind that made parsing or validation grow faster than the document:
// directives, spreads defined or not, aliases, fields and fragments that
// conflict, nesting, long lists, objects, strings and names, variables,
// operations, arguments; then valid documents at the limits, and
// operations whose fields fail by the hundred.
func hostileDocuments() []hostile {
	const tooLarge, tooDeep, invalid = "QUERY_TOO_LARGE", "DEPTH_LIMIT_EXCEEDED", "GRAPHQL_VALIDATION_FAILED"
	long := strings.Repeat("x", 1000<<10)
	// Each fragment spreads the next one, the last none.
	chain := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ...F0 }")
		for i := range n {
			fmt.Fprintf(&b, " fragment F%d on Query { __typename ...F%d }", i, i+1)
		}
		fmt.Fprintf(&b, " fragment F%d on Query { __typename }", n)
		return b.String()
	}
	// A selection set spreading n fragments, half of them asking for
	// a: name, half for a: description: every pair of one of each conflicts.
	conflicting := func(n int) string {
		var b strings.Builder
		b.WriteString("{ dataset {" + numbered(" ...F%d", n) + " } }")
		for i := range n {
			fmt.Fprintf(&b, " fragment F%d on Dataset { a: %s }", i, []string{"name", "description"}[i%2])
		}
		return b.String()
	}
	return []hostile{
		// Refused by what their tokens count, before they are parsed.
		{name: "1 MiB of unknown directives", query: fill("{ __typename", " @a", " }"),
			status: 422, code: tooLarge, msg: "directives, more than the limit of 500"},
		{name: "1 MiB of known directives", query: fill("{ __typename", " @skip(if: false)", " }"),
			status: 422, code: tooLarge, msg: "directives, more than the limit of 500"},
		{name: "60k undefined spreads", query: "{ __typename" + strings.Repeat(" ...F", 60000) + " }",
			status: 422, code: tooLarge, msg: "has 60000 fragment spreads, more than the limit of 250"},
		{name: "200k undefined spreads", query: "{ __typename" + strings.Repeat(" ...F", 200000) + " }",
			status: 422, code: tooLarge, msg: "has 200000 fragment spreads, more than the limit of 250"},
		{name: "1 MiB of one defined spread", query: fill("{ __typename", " ...F", " } fragment F on Query { __typename }"),
			status: 422, code: tooLarge, msg: "fragment spreads, more than the limit of 250"},
		{name: "1 MiB of distinct fragments", query: "{ __typename }" + numbered(" fragment F%d on Query { __typename }", 25000),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "100k aliases of one field", query: `{ dataset(namespace: "n", name: "m") {` + strings.Repeat(" a: name", 100000) + " } }",
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "10k levels of selections", query: "{" + strings.Repeat(" a {", 10000) + " b" + strings.Repeat(" }", 10001),
			status: 422, code: tooDeep, msg: "nests braces and brackets 10001 levels deep, more than the limit of 100"},
		{name: "10k levels of inline fragments", query: "{" + strings.Repeat(" ... {", 10000) + " __typename" + strings.Repeat(" }", 10001),
			status: 422, code: tooDeep, msg: "10001 levels deep"},
		{name: "10k levels of lists in an argument", query: `{ dataset(namespace: "n", name: ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + ") { name } }",
			status: 422, code: tooDeep, msg: "10001 levels deep"},
		{name: "1 MiB list argument", query: fill(`{ dataset(namespace: "n", name: [`, "1, ", "]) { name } }"),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB object argument", query: fill(`{ datasets(filter: {`, "prefix: 1, ", "}) { totalCount } }"),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB of variables", query: fill("query(", "$v: Int ", ") { __typename }"),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB of operations", query: fill("", "query q { __typename } ", ""),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB of arguments", query: fill("{ __typename(", "a: 1 ", ") }"),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB of comments", query: fill("", "#\n", "{ __typename }"),
			status: 422, code: tooLarge, msg: "tokens, more than the limit of 15000"},
		{name: "1 MiB name", query: "{ " + long + " }",
			status: 422, code: tooLarge, msg: "has a name of 1024000 bytes at line 1, column 3, more than the limit of 128"},
		{name: "1 MiB directive name", query: "{ __typename @" + long + " }",
			status: 422, code: tooLarge, msg: "has a name of 1024000 bytes at line 1, column 15"},

		// Refused by what they hold once parsed, before validation.
		{name: "4k copies of one field", query: "{" + strings.Repeat(" a: __typename", 4000) + " }",
			status: 422, code: tooLarge, msg: "has 4000 fields, more than the limit of 500"},
		{name: "fragment chain", query: chain(200),
			status: 422, code: tooLarge, msg: "costs more than 30000 to validate"},
		{name: "operations spreading one large fragment", query: strings.Repeat("query { ...F } ", 70) + "fragment F on Query {" + strings.Repeat(" __typename", 450) + " }",
			status: 422, code: tooLarge, msg: "costs more than 30000 to validate"},

		// Within the document limits: validation finds up to hundreds of
		// thousands of errors, of which 20 are listed, then one counting
		// the rest.
		{name: "500 unknown fields", query: "{" + strings.Repeat(" x", 500) + " }",
			status: 422, code: invalid, msg: `Cannot query field "x" on type "Query".`, last: "TOO_MANY_ERRORS"},
		{name: "500 conflicting fields", query: "{ dataset {" + strings.Repeat(" a: name a: description", 249) + " } }",
			status: 422, code: invalid, msg: "conflict", last: "TOO_MANY_ERRORS"},
		{name: "250 conflicting fragments", query: conflicting(250),
			status: 422, code: invalid, msg: "conflict", last: "TOO_MANY_ERRORS"},
		{name: "250 undefined spreads", query: "{ __typename" + numbered(" ...F%d", 250) + " }",
			status: 422, code: invalid, msg: `Unknown fragment "F0".`, last: "TOO_MANY_ERRORS"},
		{name: "1,000 unused variables", query: "query(" + numbered(" $v%d: Int", 1000) + ") { __typename }",
			status: 422, code: invalid, msg: `Variable "$v0" is never used`, last: "TOO_MANY_ERRORS"},
		{name: "500 anonymous operations", query: strings.Repeat("{ __typename } ", 500),
			status: 422, code: invalid, msg: "This anonymous operation must be the only defined operation.", last: "TOO_MANY_ERRORS"},
		{name: "3,000 unknown arguments", query: "{ __typename(" + numbered(" a%d: 1", 3000) + ") }",
			status: 422, code: invalid, msg: `Unknown argument "a0" on field "Query.__typename".`, last: "TOO_MANY_ERRORS"},
		{name: "500 directives", query: "{ __typename" + strings.Repeat(" @a", 500) + " }",
			status: 422, code: invalid, msg: `Unknown directive "@a".`, last: "TOO_MANY_ERRORS"},
		{name: "1 MiB string for an Int", query: "{ datasets(first: \"" + long + "\") { totalCount } }",
			status: 422, code: invalid, msg: "… (1024"},

		// Valid documents at the limits: answered.
		{name: "500 copies of one field", query: "{" + strings.Repeat(" a: __typename", 500) + " }", status: 200},
		{name: "1 MiB string argument", query: `{ dataset(namespace: "n", name: "` + long + `") { name } }`,
			status: 200, code: "BAD_USER_INPUT", msg: "1024000 bytes, at most 1024"},
		{name: "1 MiB block string argument", query: `{ dataset(namespace: "n", name: """` + strings.Repeat("x\n", 300<<10) + `""") { name } }`,
			status: 200, code: "BAD_USER_INPUT", msg: "bytes, at most 1024"},

		// Refused before they run: fragments that expand to billions of
		// fields, and a variable echoed by a thousand failing fields.
		{name: "fragment fan-out", query: fanOut(100),
			status: 422, code: tooLarge, msg: "more than the limit of 10000"},
		{name: "one 1 MiB variable in 200 fields", query: "query($v: String) {" + numbered(` a%d: dataset(namespace: "", name: $v) { name }`, 200) + " }",
			vars: map[string]any{"v": strings.Repeat("x", 1000<<10)}, status: 422, code: tooLarge, msg: "bytes of arguments to its fields, more than the limit of 2097152"},

		// Run: every field fails, 20 errors are listed.
		{name: "240 failing fields", query: "{" + numbered(` a%d: dataset(id: "x") { name }`, 240) + " }",
			status: 200, code: "BAD_USER_INPUT", msg: `"x" is not an Almanac ID`, last: "TOO_MANY_ERRORS"},
	}
}

// TestHostileDocuments sends each hostile request to the real handler and
// checks its answer: the status and code it should have, at most 21
// errors in a small body, within maxTook, and at most maxExtraRSS more
// resident memory. Unbounded, 1 MiB of unknown directives took 3.5 s,
// 1.1 GB of RSS and answered 103 MB of errors; 60,000 undefined spreads
// took 22 s, 200,000 more than four minutes.
func TestHostileDocuments(t *testing.T) {
	e := newEnv(t, graph.Options{})
	for _, h := range hostileDocuments() {
		t.Run(strings.ReplaceAll(h.name, " ", "_"), func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"query": h.query, "variables": h.vars})
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > graph.DefaultMaxBodyBytes {
				t.Fatalf("the request is %d bytes, more than a body may hold", len(body))
			}
			m := sendMeasured(t, e.url, body)
			t.Logf("%d-byte request: %d in %s, %d bytes, %d errors, %.1f MB more RSS, %.1f MB allocated",
				len(body), m.Status, m.took.Round(time.Millisecond), m.bytes, len(m.Errors), float64(m.extraRSS)/(1<<20), float64(m.allocated)/(1<<20))
			if m.Status != h.status || m.code() != h.code {
				t.Errorf("status %d code %q, want %d %q", m.Status, m.code(), h.status, h.code)
			}
			if len(m.Errors) > 0 && !strings.Contains(m.Errors[0].Message, h.msg) {
				t.Errorf("first error %.300q, want it to contain %q", m.Errors[0].Message, h.msg)
			}
			if h.last != "" {
				if last, _ := m.Errors[len(m.Errors)-1].Extensions["code"].(string); last != h.last || len(m.Errors) != 21 {
					t.Errorf("%d errors, the last with code %q; want 21, the last %q", len(m.Errors), last, h.last)
				}
			}
			m.check(t)
		})
	}
}

// TestHostileDocumentsInParallel sends four of the largest hostile
// documents at once, as the review did (140 MB to 3.6 GB of RSS): each is
// answered in time, and together they cost at most maxExtraRSS.
func TestHostileDocumentsInParallel(t *testing.T) {
	e := newEnv(t, graph.Options{})
	var bodies [][]byte
	for _, h := range hostileDocuments() {
		switch h.name {
		case "1 MiB of unknown directives", "200k undefined spreads", "1 MiB of one defined spread", "500 conflicting fields":
			b, err := json.Marshal(map[string]any{"query": h.query})
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, b)
		}
	}
	if len(bodies) != 4 {
		t.Fatalf("found %d of the 4 documents", len(bodies))
	}
	before := startMeasure(t)
	var wg sync.WaitGroup
	results := make([]measured, len(bodies))
	for i, b := range bodies {
		wg.Go(func() { results[i] = send(t, e.url, b) })
	}
	wg.Wait()
	extra, allocated := before.stop(t)
	t.Logf("4 requests in parallel: %.1f MB more RSS, %.1f MB allocated", float64(extra)/(1<<20), float64(allocated)/(1<<20))
	if extra > maxExtraRSS {
		t.Errorf("resident memory grew by %d MB, more than %d MB", extra>>20, maxExtraRSS>>20)
	}
	for _, r := range results {
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("status %d, want 422", r.Status)
		}
		r.check(t)
	}
}

// measured is a response, with what it cost the process that served it.
type measured struct {
	response
	bytes     int
	took      time.Duration
	extraRSS  int64 // the growth of the peak resident memory while served
	allocated uint64
}

// check applies the bounds every hostile document must keep.
func (m measured) check(t *testing.T) {
	t.Helper()
	if m.took > maxTook {
		t.Errorf("answered in %s, more than %s", m.took, maxTook)
	}
	if m.bytes > maxResponseBytes {
		t.Errorf("a %d-byte response, more than %d", m.bytes, maxResponseBytes)
	}
	if len(m.Errors) > 21 {
		t.Errorf("%d errors, more than 21", len(m.Errors))
	}
	if m.extraRSS > maxExtraRSS {
		t.Errorf("resident memory grew by %d MB, more than %d MB", m.extraRSS>>20, maxExtraRSS>>20)
	}
}

// sendMeasured posts body, measuring the memory it costs.
func sendMeasured(t *testing.T, url string, body []byte) measured {
	before := startMeasure(t)
	m := send(t, url, body)
	m.extraRSS, m.allocated = before.stop(t)
	return m
}

// send posts body as a JSON GraphQL request, giving up at twice the
// handler's time limit.
func send(t *testing.T, url string, body []byte) measured {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return measured{}
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 2 * graph.DefaultTimeout}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("no answer after %s: %v", time.Since(start), err)
		return measured{}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	m := measured{took: time.Since(start), bytes: len(raw)}
	m.Status = res.StatusCode
	if err != nil {
		t.Error(err)
		return m
	}
	if err := json.Unmarshal(raw, &m.response); err != nil {
		t.Errorf("response %d is not GraphQL JSON: %v\n%.300s", res.StatusCode, err, raw)
	}
	return m
}

// memoryMark is where a measurement of memory starts.
type memoryMark struct {
	rss   int64
	alloc uint64
}

// startMeasure returns memory to the system, then starts measuring the
// growth of the process's resident memory at its peak (Linux's VmHWM,
// reset through /proc/self/clear_refs) and the bytes it allocates.
func startMeasure(t *testing.T) memoryMark {
	t.Helper()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatalf("resetting the peak resident memory: %v", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memoryMark{rss: procStatus(t, "VmRSS"), alloc: ms.TotalAlloc}
}

// stop returns how much the peak resident memory grew since m, and the
// bytes allocated.
func (m memoryMark) stop(t *testing.T) (extraRSS int64, allocated uint64) {
	t.Helper()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return procStatus(t, "VmHWM") - m.rss, ms.TotalAlloc - m.alloc
}

// procStatus returns a memory figure of /proc/self/status in bytes.
func procStatus(t *testing.T, name string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", name)
	return 0
}
