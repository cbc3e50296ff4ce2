package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"almanac/catalog"
	"almanac/catalog/auth"
	"almanac/catalog/pgtest"
	"almanac/catalog/store"
)

// The load test (`make loadtest`, issue #17): three `almanac serve`
// replicas on one database take mixed traffic through a load generator
// (vegeta, as a library); one replica is killed with SIGKILL half-way and
// restarted. Surviving replicas must answer everything, and every
// OpenLineage event acknowledged must be stored exactly once. Without
// $ALMANAC_LOADTEST it runs a short version at a low rate in `make test`,
// so that the harness cannot break unnoticed.

const (
	// asAlmanacEnv, set, makes the test binary the almanac command itself
	// (see TestMain): a replica the load test can SIGKILL is its own
	// process, of the same code, without building the binary first.
	asAlmanacEnv = "ALMANAC_TEST_AS_ALMANAC"
	// loadTestEnv asks for the full load test: "1" for 60 s, or a
	// duration. loadWorkersEnv sets its concurrency (default 8) and
	// loadRateEnv a fixed rate instead (requests a second).
	loadTestEnv    = "ALMANAC_LOADTEST"
	loadWorkersEnv = "ALMANAC_LOADTEST_WORKERS"
	loadRateEnv    = "ALMANAC_LOADTEST_RATE"
)

func TestMain(m *testing.M) {
	if os.Getenv(asAlmanacEnv) != "" {
		main() // os.Args[1:] are almanac's: serve -config …
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// loadSettings size a load test run.
type loadSettings struct {
	datasets int
	duration time.Duration // of the traffic, at least; the kill is at half
	// rate is requests a second; 0 is as fast as workers get answers
	// (vegeta's max-rate mode: each worker sends its next request when
	// its last one is answered).
	rate    int
	workers int
	// after is the least traffic after the killed replica is back.
	after time.Duration
}

func loadTestSettings(t *testing.T) loadSettings {
	v := os.Getenv(loadTestEnv)
	if v == "" {
		// In `make test`: small and slow, on 2 busy cores in CI.
		return loadSettings{datasets: 600, duration: 10 * time.Second, rate: 30, workers: 4, after: 2 * time.Second}
	}
	s := loadSettings{datasets: 5000, duration: 60 * time.Second, workers: 8, after: 10 * time.Second}
	if v != "1" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 4*time.Second {
			t.Fatalf("$%s=%q: want 1 or a duration of 4s or more", loadTestEnv, v)
		}
		s.duration = d
	}
	for env, p := range map[string]*int{loadWorkersEnv: &s.workers, loadRateEnv: &s.rate} {
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				t.Fatalf("$%s=%q: want a number", env, v)
			}
			*p = n
		}
	}
	if s.workers == 0 {
		t.Fatalf("$%s: want at least one worker", loadWorkersEnv)
	}
	return s
}

// replica is one `almanac serve` process of the load test.
type replica struct {
	base   string // http://127.0.0.1:port
	cfg    string
	log    *syncBuffer
	cmd    *exec.Cmd
	exited chan error
}

// start runs the replica's process; it returns at once.
func (r *replica) start() error {
	cmd := exec.Command(os.Args[0], "serve", "-config", r.cfg, "-log-level", "warn")
	// Nothing of the test's own ALMANAC_ environment, which the config
	// would read.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALMANAC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, asAlmanacEnv+"=1")
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.cmd, r.exited = cmd, exited
	return nil
}

// exit says how the process exited, and whether it has.
func (r *replica) exit() (bool, error) {
	select {
	case err := <-r.exited:
		r.exited <- err
		return true, err
	default:
		return false, nil
	}
}

// stop ends the process with sig and returns how it exited.
func (r *replica) stop(sig os.Signal, timeout time.Duration) error {
	if exited, err := r.exit(); exited {
		return err
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		return err
	}
	select {
	case err := <-r.exited:
		r.exited <- err
		return err
	case <-time.After(timeout):
		r.cmd.Process.Kill() //nolint:errcheck // already gone is fine
		return fmt.Errorf("no exit on %s after %s", sig, timeout)
	}
}

// procCPU is the CPU time process pid used, user and system (from /proc;
// 0 where there is none).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command's name, in parentheses: state is the 3rd
	// of stat's, utime the 14th, stime the 15th, in ticks of 1/100 s.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * 10 * time.Millisecond
}

// pgCPU is the CPU time of each PostgreSQL server process (by pid) on the
// database of pool, when the server runs on this machine.
func pgCPU(pool *pgxpool.Pool) map[int]time.Duration {
	rows, err := pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	cpu := map[int]time.Duration{}
	for _, pid := range pids {
		cpu[int(pid)] = procCPU(int(pid))
	}
	return cpu
}

// waitReady polls /readyz until it answers 200.
func (r *replica) waitReady(timeout time.Duration) error {
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exited, err := r.exit(); exited {
			return fmt.Errorf("%s exited: %v", r.base, err)
		}
		code, body := getBody(r.base + "/readyz")
		if code == http.StatusOK {
			return nil
		}
		last = fmt.Sprint(code, " ", body)
	}
	return fmt.Errorf("%s not ready after %s: %s", r.base, timeout, last)
}

// The traffic's endpoints, and their share of requests in twentieths.
const (
	epSearch = iota
	epDataset
	epGraphQL
	epOpenLineage
	endpoints
)

var (
	endpointNames = [endpoints]string{"search", "dataset page", "graphql", "openlineage POST"}
	endpointShare = [endpoints]int{12, 5, 2, 1} // 60 %, 25 %, 10 %, 5 %
)

// loadNamespace is the warehouse the generated catalog describes.
const loadNamespace = "postgres://warehouse.load:5432"

// loadWords are the words of the generated catalog's names and texts,
// and of the searches.
var loadWords = strings.Fields(`
	order customer revenue invoice payment refund shipment product inventory supplier
	account ledger balance transaction session event click campaign channel budget
	employee salary department region country city store warehouse carrier route
	subscription plan churn cohort retention signup trial license renewal discount
	price margin cost forecast target quota pipeline lead opportunity contract vendor
	ticket incident alert metric daily weekly monthly snapshot history audit`)

// seedLoadCatalog writes a catalog of n datasets (5–15 columns each,
// descriptions and column names from loadWords, owners and tags, and
// every fourth a dbt model of two earlier ones) as one crawl would, and
// returns their keys.
func seedLoadCatalog(t *testing.T, st *store.Store, n int) []catalog.Key {
	t.Helper()
	rnd := rand.New(rand.NewPCG(17, 4))
	word := func() string { return loadWords[rnd.IntN(len(loadWords))] }
	sentence := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = word()
		}
		return strings.ToUpper(w[0][:1]) + strings.Join(w, " ")[1:] + "."
	}
	types := []string{"bigint", "text", "numeric(12,2)", "timestamp with time zone", "boolean", "date"}
	h := catalog.Harvest{Scopes: []catalog.Scope{{Namespace: loadNamespace, Prefix: "warehouse."}}}
	keys := make([]catalog.Key, n)
	for i := range n {
		keys[i] = catalog.Key{Namespace: loadNamespace, Name: fmt.Sprintf("warehouse.s%02d.%s_%s_%d", i/200, word(), word(), i)}
		d := catalog.DatasetFacts{Key: keys[i], Platform: "postgres", Kind: catalog.KindTable, Description: sentence(6 + rnd.IntN(8)),
			Owners: []catalog.Owner{{Name: fmt.Sprintf("team_%02d", i%20), Kind: catalog.OwnerTeam}},
			Tags:   []string{word()}}
		for c := range 5 + rnd.IntN(11) {
			col := catalog.Column{Name: fmt.Sprintf("%s_%s_%d", word(), word(), c), Ordinal: c + 1, Type: types[rnd.IntN(len(types))], Nullable: c > 0, PrimaryKey: c == 0}
			if c%2 == 0 {
				col.Description = sentence(4 + rnd.IntN(6))
			}
			d.Columns = append(d.Columns, col)
		}
		if i%4 == 3 {
			d.Kind = catalog.KindView
			h.Jobs = append(h.Jobs, catalog.JobFacts{Key: catalog.JobKey{Namespace: "dbt://load", Name: "model." + keys[i].Name},
				Type: catalog.JobDBTModel, Inputs: []catalog.Key{keys[rnd.IntN(i)], keys[rnd.IntN(i)]}, Outputs: []catalog.Key{keys[i]}})
		}
		h.Datasets = append(h.Datasets, d)
	}
	if _, err := st.Crawl(t.Context(), "postgres:load", func(context.Context) (catalog.Harvest, error) { return h, nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// loadTraffic makes the load test's requests: endpoints by their share,
// replicas in turn among those in rotation, as a load balancer would
// send them. It is called by vegeta's workers concurrently.
type loadTraffic struct {
	replicas []*replica
	// inRotation says which replicas the balancer sends requests to:
	// one leaves at its first failed connection (passive health
	// checking) and returns once its /readyz answers 200.
	inRotation []atomic.Bool
	keys       []catalog.Key
	token      string // lineage:write
	runPrefix  string
	mix        []int // endpoint of each request in a round of 20
	n, turn    atomic.Uint64

	mu     sync.Mutex
	events map[string][]byte // OpenLineage event bodies by runId
}

func newLoadTraffic(replicas []*replica, keys []catalog.Key, token string) *loadTraffic {
	lt := &loadTraffic{replicas: replicas, inRotation: make([]atomic.Bool, len(replicas)), keys: keys, token: token,
		runPrefix: fmt.Sprintf("%08x", rand.Uint32()), events: map[string][]byte{}}
	for ep, share := range endpointShare {
		for range share {
			lt.mix = append(lt.mix, ep)
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(lt.mix), func(i, j int) { lt.mix[i], lt.mix[j] = lt.mix[j], lt.mix[i] })
	for i := range lt.inRotation {
		lt.inRotation[i].Store(true)
	}
	return lt
}

// base is the next replica in rotation (any, when none is).
func (lt *loadTraffic) base() string {
	for range lt.replicas {
		i := int(lt.turn.Add(1) % uint64(len(lt.replicas)))
		if lt.inRotation[i].Load() {
			return lt.replicas[i].base
		}
	}
	return lt.replicas[int(lt.turn.Load()%uint64(len(lt.replicas)))].base
}

func (lt *loadTraffic) key() catalog.Key { return lt.keys[rand.IntN(len(lt.keys))] }

func (lt *loadTraffic) target(tgt *vegeta.Target) error {
	n := lt.n.Add(1)
	base := lt.base()
	*tgt = vegeta.Target{Method: "GET", Header: http.Header{}}
	switch lt.mix[n%uint64(len(lt.mix))] {
	case epSearch:
		q := loadWords[rand.IntN(len(loadWords))]
		switch rand.IntN(4) {
		case 0:
			q += " " + loadWords[rand.IntN(len(loadWords))]
		case 1:
			q += " kind:view"
		case 2:
			q += fmt.Sprintf(" owner:team_%02d", rand.IntN(20))
		}
		tgt.URL = base + "/search?q=" + url.QueryEscape(q)
	case epDataset:
		k := lt.key()
		tgt.URL = base + "/datasets/" + url.PathEscape(k.Namespace) + "/" + k.Name
	case epGraphQL:
		k := lt.key()
		query := `query($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) { id description
			columns { name type nullable description } owners { name kind source } tags { name source } } }`
		if rand.IntN(2) == 0 {
			query = `query($ns: String!, $name: String!) { lineage(namespace: $ns, name: $name, depth: 2) { nodes { id kind distance more } edges { from to } }
				impact(namespace: $ns, name: $name) { distance datasets { name owners { name kind } } } }`
		}
		tgt.Method, tgt.URL = "POST", base+"/graphql"
		tgt.Body = fmt.Appendf(nil, `{"query":%q,"variables":{"ns":%q,"name":%q}}`, query, k.Namespace, k.Name)
		tgt.Header.Set("Content-Type", "application/json")
	case epOpenLineage:
		runID, body := lt.event(n)
		// The fragment names the event in vegeta's result; it is not sent.
		tgt.Method, tgt.URL, tgt.Body = "POST", base+"/api/v1/lineage#"+runID, body
		tgt.Header.Set("Content-Type", "application/json")
		tgt.Header.Set("Authorization", "Bearer "+lt.token)
	}
	return nil
}

// event is the n-th request's OpenLineage event, a run of its own, kept
// to be posted again.
func (lt *loadTraffic) event(n uint64) (runID string, body []byte) {
	runID = fmt.Sprintf("%s-0000-4000-8000-%012x", lt.runPrefix, n)
	in, out := lt.key(), lt.key()
	body = fmt.Appendf(nil, `{"eventType":"COMPLETE","eventTime":%q,"producer":"https://almanac.test/loadtest",`+
		`"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",`+
		`"run":{"runId":%q},"job":{"namespace":"airflow","name":"load.task_%02d"},`+
		`"inputs":[{"namespace":%q,"name":%q}],"outputs":[{"namespace":%q,"name":%q}]}`,
		time.Now().UTC().Format(time.RFC3339Nano), runID, n%30, in.Namespace, in.Name, out.Namespace, out.Name)
	lt.mu.Lock()
	lt.events[runID] = body
	lt.mu.Unlock()
	return runID, body
}

// loadHit is one request's outcome.
type loadHit struct {
	endpoint, replica int
	start, latency    time.Duration // start since the traffic began
	code              uint16
	err               string // "" when answered with success
	runID             string // of an OpenLineage POST
	path              string // the URL's path and query
}

// hit reads vegeta's result of one request.
func (lt *loadTraffic) hit(res *vegeta.Result, began time.Time) loadHit {
	h := loadHit{replica: -1, start: res.Timestamp.Sub(began), latency: res.Latency, code: res.Code, err: res.Error}
	u, frag, _ := strings.Cut(res.URL, "#")
	for i, r := range lt.replicas {
		if strings.HasPrefix(u, r.base+"/") {
			h.replica = i
		}
	}
	path := strings.TrimPrefix(u, lt.replicas[max(h.replica, 0)].base)
	h.path = path
	switch {
	case strings.HasPrefix(path, "/search"):
		h.endpoint = epSearch
	case strings.HasPrefix(path, "/datasets/"):
		h.endpoint = epDataset
	case path == "/graphql":
		h.endpoint = epGraphQL
		// GraphQL answers errors with 200 and an errors list first.
		if h.err == "" && bytes.HasPrefix(res.Body, []byte(`{"errors"`)) {
			h.err = "graphql: " + string(res.Body)
		}
	default:
		h.endpoint, h.runID = epOpenLineage, frag
		if h.err == "" && res.Code != http.StatusCreated {
			h.err = fmt.Sprintf("status %d, want 201", res.Code)
		}
	}
	if h.err != "" && len(res.Body) > 0 {
		h.err += ": " + strings.TrimSpace(string(res.Body))
	}
	return h
}

// TestLoadTest runs three replicas on one generated catalog under mixed
// traffic (search 60 %, dataset pages 25 %, GraphQL 10 %, OpenLineage
// POSTs 5 %), kills one with SIGKILL half-way and restarts it on its
// index directory, as a burst of OpenLineage events reaches it. The
// balancer drops it at its first failed connection and sends it traffic
// again once /readyz says it is ready. The
// surviving replicas must answer every request, the restarted one too
// once back; every OpenLineage event acknowledged (201) must be stored
// exactly once and become a run, and the events the killed replica never
// acknowledged, posted again to a survivor as a producer retries, too.
// It logs throughput and latency per endpoint and per replica before,
// during and after the kill, and the CPU the processes used.
func TestLoadTest(t *testing.T) {
	s := loadTestSettings(t)
	ctx := t.Context()
	pool, catalogURL := pgtest.NewDB(t)
	st := store.New(pool)
	seedStart := time.Now()
	keys := seedLoadCatalog(t, st, s.datasets)
	seeded := time.Since(seedStart)
	tokens := auth.NewTokens(st, auth.TokenOptions{})
	_, token, err := tokens.Create(ctx, catalog.Principal{Login: "root@corp", Role: catalog.RoleAdmin},
		catalog.TokenRequest{Name: "loadtest", Scopes: []catalog.TokenScope{catalog.ScopeLineageWrite}, ExpiresAt: time.Now().Add(time.Hour), Service: true})
	if err != nil {
		t.Fatal(err)
	}

	// Each replica's pool is 10 connections, not serve's 20: three of
	// them share the server's 100 with other tests.
	sep := "?"
	if strings.Contains(catalogURL, "?") {
		sep = "&"
	}
	replicas := make([]*replica, 3)
	for i := range replicas {
		addr := freeAddr(t)
		replicas[i] = &replica{base: "http://" + addr, log: &syncBuffer{},
			cfg: writeFile(t, fmt.Sprintf("database_url: %s%spool_max_conns=10\nlisten: %s\nsearch:\n  index_dir: %s\n",
				catalogURL, sep, addr, filepath.Join(t.TempDir(), "index")))}
	}
	t.Cleanup(func() {
		for i, r := range replicas {
			if r.cmd != nil {
				r.stop(syscall.SIGKILL, 10*time.Second) //nolint:errcheck // stopped already when the test got that far
			}
			if t.Failed() {
				t.Logf("replica %d's log:\n%s", i, r.log.String())
			}
		}
	})
	startUp := time.Now()
	for _, r := range replicas {
		if err := r.start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range replicas {
		if err := r.waitReady(2 * time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	readyIn := time.Since(startUp)
	// Ready replicas still have background work to do: the incident
	// detectors' first catch-up records every team's snapshot of the day
	// (once per replica after it starts, in one statement: 3 s for the
	// three replicas on 600 datasets, but about 100 s each, one after the
	// other, on 5,000 datasets at a load average of 20), and the first
	// OpenLineage event posted is the first its worker derives. The
	// traffic starts once they are done, or after two minutes.
	settleStart := time.Now()
	post := func(base string, body []byte) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/lineage", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := post(replicas[1].base, fmt.Appendf(nil, `{"eventType":"COMPLETE","eventTime":%q,"producer":"https://almanac.test/loadtest",`+
		`"schemaURL":"https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",`+
		`"run":{"runId":"01900000-0000-4000-8000-000000000000"},"job":{"namespace":"airflow","name":"load.warmup"}}`,
		time.Now().UTC().Format(time.RFC3339Nano))); err != nil || code != http.StatusCreated {
		t.Fatalf("warm-up event: %d %v", code, err)
	}
	settled := waitIdle(pool, 2*time.Minute)
	settleIn := time.Since(settleStart)

	// The first replica started is killed: the likeliest to lead the
	// job queue.
	const victim = 0
	lt := newLoadTraffic(replicas, keys, token)
	rate := vegeta.Rate{Freq: s.rate, Per: time.Second}
	opts := []func(*vegeta.Attacker){vegeta.Timeout(30 * time.Second), vegeta.MaxBody(4 << 10), vegeta.KeepAlive(true)}
	if s.rate == 0 {
		opts = append(opts, vegeta.Workers(uint64(s.workers)), vegeta.MaxWorkers(uint64(s.workers)))
	} else {
		opts = append(opts, vegeta.Workers(uint64(s.workers)), vegeta.MaxWorkers(uint64(8*s.workers)))
	}
	attacker := vegeta.NewAttacker(opts...)
	loadBefore := loadAverage()
	// CPU time of each replica's process, PostgreSQL's server processes
	// of the database and the load generator (this process) at the
	// traffic's start, the kill, the victim's return and the end.
	var (
		cpu   [4][]time.Duration
		pgcpu [4]map[int]time.Duration
	)
	sampleCPU := func(i int) {
		for _, r := range replicas {
			cpu[i] = append(cpu[i], procCPU(r.cmd.Process.Pid))
		}
		cpu[i] = append(cpu[i], 0, procCPU(os.Getpid()))
		pgcpu[i] = pgCPU(pool)
	}
	sampleCPU(0)
	began := time.Now()
	statements := watchStatements(pool, began, 500*time.Millisecond)
	results := attacker.Attack(lt.target, rate, 0, "loadtest")

	// The kill, the restart and the end of the traffic.
	var killAt, backAt time.Duration
	const burstSize = 20
	burst := make(chan [2]string, burstSize) // runId, status and error
	var burstAcked atomic.Int32
	var restartErr error
	controlled := make(chan struct{})
	go func() {
		defer close(controlled)
		defer attacker.Stop()
		time.Sleep(time.Until(began.Add(s.duration / 2)))
		r := replicas[victim]
		sampleCPU(1)
		// A burst of events posted to the victim as it dies, one a
		// millisecond, so that some are in flight: stored and
		// acknowledged, stored but not acknowledged, or neither.
		var wg sync.WaitGroup
		for i := range burstSize {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				runID, body := lt.event(lt.n.Add(1))
				code, err := post(r.base, body)
				burst <- [2]string{runID, fmt.Sprint(code, " ", err)}
				if code == http.StatusCreated {
					burstAcked.Add(1)
				}
			})
		}
		time.Sleep(burstSize / 2 * time.Millisecond)
		killAt = time.Since(began)
		r.stop(syscall.SIGKILL, 10*time.Second) //nolint:errcheck // killed: exits with the signal
		wg.Wait()
		close(burst)
		if restartErr = r.start(); restartErr != nil {
			return
		}
		if restartErr = r.waitReady(2 * time.Minute); restartErr != nil {
			return
		}
		backAt = time.Since(began)
		sampleCPU(2)
		lt.inRotation[victim].Store(true)
		time.Sleep(time.Until(began.Add(max(s.duration, backAt+s.after))))
	}()
	var hits []loadHit
	for res := range results {
		h := lt.hit(res, began)
		if h.err != "" && h.code == 0 && h.replica >= 0 {
			lt.inRotation[h.replica].Store(false)
		}
		hits = append(hits, h)
	}
	<-controlled
	elapsed := time.Since(began)
	long := statements()
	sampleCPU(3)
	loadAfter := loadAverage()
	if restartErr != nil {
		t.Fatalf("the killed replica, restarted: %v", restartErr)
	}

	// Failures: on the killed replica from the kill until it was back,
	// expected; anything else not.
	expected := func(h loadHit) bool {
		return h.replica == victim && h.start+h.latency >= killAt && h.start < backAt
	}
	var unexpected []loadHit
	var resumed int
	acked, unacked := map[string]bool{}, []string{}
	for _, h := range hits {
		switch {
		case h.err == "" && h.replica == victim && h.start >= backAt:
			resumed++
		case h.err != "" && !expected(h):
			unexpected = append(unexpected, h)
		}
		if h.endpoint == epOpenLineage {
			if h.err == "" {
				acked[h.runID] = true
			} else {
				unacked = append(unacked, h.runID)
			}
		}
	}
	for b := range burst {
		if strings.HasPrefix(b[1], "201 ") {
			acked[b[0]] = true
		} else {
			unacked = append(unacked, b[0])
		}
	}
	for i, h := range unexpected {
		if i == 10 {
			t.Errorf("… and %d more", len(unexpected)-i)
			break
		}
		t.Errorf("replica %d, %s at %s: %s", h.replica, endpointNames[h.endpoint], h.start.Round(time.Millisecond), h.err)
	}
	if resumed == 0 {
		t.Errorf("the restarted replica answered nothing after it was back at %s", backAt.Round(time.Millisecond))
	}

	// The events the killed replica did not acknowledge: some may have
	// been stored all the same; a producer posts them again, here to a
	// survivor, and they must be stored once.
	storedUnacked, err := storedEvents(ctx, st, unacked)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range unacked {
		lt.mu.Lock()
		body := lt.events[id]
		lt.mu.Unlock()
		code, err := post(replicas[1].base, body)
		if err != nil {
			t.Fatal(err)
		}
		if code != http.StatusCreated {
			t.Errorf("event %s posted again: %d, want 201", id, code)
		}
		acked[id] = true
	}
	lost, dup, failed := checkEventsStoredOnce(t, st, slices.Sorted(maps.Keys(acked)))

	// The replicas stop cleanly, the restarted one too.
	for i, r := range replicas {
		if err := r.stop(syscall.SIGTERM, 30*time.Second); err != nil {
			t.Errorf("replica %d on SIGTERM: %v", i, err)
		}
	}

	var report strings.Builder
	quiet := "idle"
	if !settled {
		quiet = "still running (given up waiting)"
	}
	fmt.Fprintf(&report, "load test: 3 replicas on one database, %d generated datasets (seeded in %s, replicas ready in %s, background work %s after %s more)\n",
		s.datasets, seeded.Round(100*time.Millisecond), readyIn.Round(100*time.Millisecond), quiet, settleIn.Round(100*time.Millisecond))
	if s.rate == 0 {
		fmt.Fprintf(&report, "traffic: %s, max rate with %d workers (each sends its next request when answered)\n", elapsed.Round(100*time.Millisecond), s.workers)
	} else {
		fmt.Fprintf(&report, "traffic: %s at %d requests/s\n", elapsed.Round(100*time.Millisecond), s.rate)
	}
	fmt.Fprintf(&report, "replica %d killed (SIGKILL) at %s, restarted, ready and back in rotation at %s (%s later)\n",
		victim, killAt.Round(100*time.Millisecond), backAt.Round(100*time.Millisecond), (backAt - killAt).Round(100*time.Millisecond))
	fmt.Fprintf(&report, "load average (1, 5, 15 min) before: %s; after: %s\n\n", loadBefore, loadAfter)
	var cpuUsed [3][]time.Duration
	for p := range cpuUsed {
		cpuUsed[p] = make([]time.Duration, len(cpu[p]))
		for r := range cpu[p] {
			cpuUsed[p][r] = cpu[p+1][r] - cpu[p][r]
		}
		// PostgreSQL's processes of the phase's end, each from the
		// phase's start or its own (those that ended within the phase
		// are not counted).
		pgUsed := &cpuUsed[p][len(replicas)]
		for pid, c := range pgcpu[p+1] {
			*pgUsed += c - pgcpu[p][pid]
		}
	}
	cpuUsed[1][victim] = cpu[2][victim] // the restarted process, from its start
	writeLoadTable(&report, hits, cpuUsed, victim, expected, [3]time.Duration{0, killAt, backAt}, elapsed)
	fmt.Fprintf(&report, "\nopenlineage: %d events acknowledged during the traffic and a burst of %d posted to replica %d as it was killed (%d of the burst acknowledged);\n",
		len(acked)-len(unacked)-int(burstAcked.Load()), burstSize, victim, burstAcked.Load())
	fmt.Fprintf(&report, "%d not acknowledged (all on the killed replica), %d of them stored all the same; ", len(unacked), storedUnacked)
	fmt.Fprintf(&report, "those posted again to a survivor; of all %d: %d lost, %d duplicated, %d without their run\n",
		len(acked), lost, dup, failed)
	writeSlowest(&report, hits, long)
	t.Logf("\n%s", report.String())
}

// storedEvents counts the runIds of which an event is stored.
func storedEvents(ctx context.Context, st *store.Store, runIDs []string) (int, error) {
	var n int
	err := st.Pool().QueryRow(ctx, `SELECT count(DISTINCT run_id) FROM openlineage_events WHERE run_id = ANY($1)`, runIDs).Scan(&n)
	return n, err
}

// checkEventsStoredOnce waits for the stored events to be processed, then
// checks that each runId has exactly one event stored, applied without
// error, and its run: it returns how many were lost (no event), duplicated
// and without a run.
func checkEventsStoredOnce(t *testing.T, st *store.Store, runIDs []string) (lost, dup, noRun int) {
	t.Helper()
	ctx := t.Context()
	poll(t, "openlineage events processed", func() (bool, string) {
		var n int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM openlineage_events WHERE processed_at IS NULL`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == 0, fmt.Sprint(n, " not processed")
	})
	rows, err := st.Pool().Query(ctx, `
		SELECT x.run_id, count(e.id), count(e.failed_at), min(e.error),
			(SELECT count(*) FROM runs r WHERE r.run_id = x.run_id AND r.state = 'COMPLETE')
		FROM unnest($1::text[]) AS x(run_id)
		LEFT JOIN openlineage_events e ON e.run_id = x.run_id
		GROUP BY x.run_id`, runIDs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var reported int
	for rows.Next() {
		var (
			id                  string
			events, failed, run int
			msg                 *string
		)
		if err := rows.Scan(&id, &events, &failed, &msg, &run); err != nil {
			t.Fatal(err)
		}
		bad := ""
		switch {
		case events == 0:
			lost++
			bad = "lost"
		case events > 1:
			dup++
			bad = fmt.Sprintf("stored %d times", events)
		case failed > 0 || run == 0:
			noRun++
			bad = fmt.Sprintf("no run (error %v)", deref(msg))
		}
		if bad != "" {
			if reported++; reported <= 10 {
				t.Errorf("acknowledged openlineage event of run %s: %s", id, bad)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lost, dup, noRun
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// writeLoadTable writes requests, rate, latency and errors per endpoint
// for the phases starting at phases (before, during, after the kill).
// Rows after the endpoints' are all requests, then each replica's, with
// the CPU time its process used in each phase (cpu), then the CPU time of
// PostgreSQL and of the load generator (the last two of cpu).
func writeLoadTable(w *strings.Builder, hits []loadHit, cpu [3][]time.Duration, victim int, expected func(loadHit) bool, phases [3]time.Duration, end time.Duration) {
	replicas := len(cpu[0]) - 2
	type cell struct {
		m                  vegeta.Metrics
		errors, onVictim   int
		requests, answered int
	}
	names := append(endpointNames[:], "all")
	for i := range replicas {
		name := fmt.Sprintf("replica %d", i)
		if i == victim {
			name += " (killed)"
		}
		names = append(names, name)
	}
	names = append(names, "PostgreSQL", "load generator")
	var cells [3][]cell
	for p := range cells {
		cells[p] = make([]cell, len(names))
	}
	phaseOf := func(d time.Duration) int {
		switch {
		case d >= phases[2]:
			return 2
		case d >= phases[1]:
			return 1
		}
		return 0
	}
	began := time.Time{}
	for _, h := range hits {
		p := phaseOf(h.start)
		if expected(h) { // in flight at the kill, or before the balancer noticed
			p = 1
		}
		row := []*cell{&cells[p][h.endpoint], &cells[p][endpoints]}
		if h.replica >= 0 {
			row = append(row, &cells[p][endpoints+1+h.replica])
		}
		for _, c := range row {
			c.requests++
			switch {
			case h.err == "":
				c.answered++
				c.m.Add(&vegeta.Result{Code: h.code, Timestamp: began.Add(h.start), Latency: h.latency})
			case expected(h):
				c.onVictim++
			default:
				c.errors++
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\trequests to\trequests\tanswered/s\tp50\tp90\tp99\tmax\terrors\tfailed on killed replica\tCPU/s\t")
	for p, phase := range []string{"before", "during", "after"} {
		length := end - phases[p]
		if p < 2 {
			length = phases[p+1] - phases[p]
		}
		for ep, name := range names {
			c := &cells[p][ep]
			c.m.Close()
			ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
			cpuShare := ""
			if r := ep - endpoints - 1; r >= 0 {
				cpuShare = fmt.Sprintf("%.2f", cpu[p][r].Seconds()/length.Seconds())
			}
			if ep > endpoints+replicas {
				fmt.Fprintf(tw, "%s (%.1f s)\t%s\t\t\t\t\t\t\t\t\t%s\t\n", phase, length.Seconds(), name, cpuShare)
				continue
			}
			fmt.Fprintf(tw, "%s (%.1f s)\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", phase, length.Seconds(), name, c.requests,
				float64(c.answered)/length.Seconds(), ms(c.m.Latencies.P50), ms(c.m.Latencies.P90), ms(c.m.Latencies.P99), ms(c.m.Latencies.Max), c.errors, c.onVictim, cpuShare)
		}
	}
	tw.Flush()
}

// waitIdle waits until no other session runs a statement on pool's
// database for a second, or timeout has passed; it says whether it was.
func waitIdle(pool *pgxpool.Pool, timeout time.Duration) bool {
	quiet := 0
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		var active int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`).Scan(&active)
		if err != nil || active > 0 {
			quiet = 0
			continue
		}
		if quiet++; quiet == 4 {
			return true
		}
	}
	return false
}

// loadAverage is /proc/loadavg's first three fields ("" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// longStatement is a statement seen running on the database for longer
// than watchStatements' least.
type longStatement struct {
	pid          int
	start        time.Duration // since the traffic began
	ran          time.Duration // the longest it was seen running
	waits, query string
}

// watchStatements samples pg_stat_activity every 100 ms until the
// returned function is called, which returns the statements of other
// sessions seen running for least or longer, with the wait events they
// were seen in: the database's side of a slow request.
func watchStatements(pool *pgxpool.Pool, began time.Time, least time.Duration) func() []longStatement {
	ctx, cancel := context.WithCancel(context.Background())
	type id struct {
		pid   int
		start time.Time
	}
	seen := map[id]*longStatement{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			rows, err := pool.Query(ctx, `SELECT pid, query_start, now() - query_start,
				coalesce(wait_event_type || ':' || wait_event, 'cpu'), left(regexp_replace(query, '\s+', ' ', 'g'), 160)
				FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'
				AND pid <> pg_backend_pid() AND now() - query_start >= $1`, least)
			if err != nil {
				continue
			}
			for rows.Next() {
				var (
					k           id
					ran         time.Duration
					wait, query string
				)
				if rows.Scan(&k.pid, &k.start, &ran, &wait, &query) != nil {
					continue
				}
				l := seen[k]
				if l == nil {
					l = &longStatement{pid: k.pid, start: k.start.Sub(began), query: query}
					seen[k] = l
				}
				l.ran = max(l.ran, ran)
				if !slices.Contains(strings.Split(l.waits, " "), wait) {
					l.waits = strings.TrimSpace(l.waits + " " + wait)
				}
			}
			rows.Close()
		}
	}()
	return func() []longStatement {
		cancel()
		<-done
		var long []longStatement
		for _, l := range seen {
			long = append(long, *l)
		}
		slices.SortFunc(long, func(a, b longStatement) int { return cmp.Compare(a.start, b.start) })
		return long
	}
}

// writeSlowest writes the ten slowest answered requests and the
// statements seen running long, so that a tail can be told from the
// database's side.
func writeSlowest(w *strings.Builder, hits []loadHit, long []longStatement) {
	var answered []loadHit
	for _, h := range hits {
		if h.err == "" {
			answered = append(answered, h)
		}
	}
	slices.SortFunc(answered, func(a, b loadHit) int { return cmp.Compare(b.latency, a.latency) })
	fmt.Fprintf(w, "\nslowest requests:\n")
	for _, h := range answered[:min(10, len(answered))] {
		fmt.Fprintf(w, "  at %6.1f s  %8.1f ms  replica %d  %s %s\n", h.start.Seconds(), float64(h.latency)/float64(time.Millisecond),
			h.replica, endpointNames[h.endpoint], h.path)
	}
	fmt.Fprintf(w, "statements seen running 0.5 s or longer: %d", len(long))
	if len(long) > 15 {
		fmt.Fprintf(w, " (the 15 longest)")
		slices.SortFunc(long, func(a, b longStatement) int { return cmp.Compare(b.ran, a.ran) })
		long = long[:15]
		slices.SortFunc(long, func(a, b longStatement) int { return cmp.Compare(a.start, b.start) })
	}
	fmt.Fprintln(w)
	for _, l := range long {
		fmt.Fprintf(w, "  from %6.1f s  %8.1f ms+  pid %d  [%s]  %s\n", l.start.Seconds(), float64(l.ran)/float64(time.Millisecond), l.pid, l.waits, l.query)
	}
}
