package olapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"almanac/catalog/memory"
	"almanac/catalog/pgtest"
	"almanac/lineage/olapi"
)

// BenchmarkIngest posts OpenLineage events from 8 concurrent clients while
// the worker derives facts from them, and reports the accepted events per
// second, the POST latency and the end-to-end rate (until every event is
// derived). It also reports the CPU time the whole machine spent an event
// (this process, its clients and PostgreSQL), from the start until every
// event is derived: the receiver and the worker share the cores, so that
// is what bounds both rates, and it varies less between runs than they do.
func BenchmarkIngest(b *testing.B) {
	const (
		clients   = 8
		perClient = 1000
	)
	// The garbage collector as almanac sets it (memory.heap_target);
	// GOGC=100 in the environment measures Go's default.
	memory.Tune(memory.DefaultHeapTarget)
	defer memory.Tune(0)
	e := newEnvB(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.rc.Run(ctx, 50*time.Millisecond)

	event := func(c, i int, typ string) []byte {
		return fmt.Appendf(nil, `{"eventType": %q, "eventTime": "2024-05-01T10:%02d:%02dZ", "producer": "bench",
			"run": {"runId": "00000000-0000-4000-8000-%06d%06d"}, "job": {"namespace": "bench", "name": "job-%d-%d"},
			"inputs": [{"namespace": "pg", "name": "t%d"}],
			"outputs": [{"namespace": "pg", "name": "t%d", "facets": {"schema": {"fields": [{"name": "id", "type": "int"}, {"name": "v", "type": "text"}]}}}]}`,
			typ, i/60%60, i%60, c, i/2, c, i/20, c*perClient+i, c*perClient+i+1)
	}
	for b.Loop() {
		var (
			mu  sync.Mutex
			lat []time.Duration
			wg  sync.WaitGroup
		)
		start, busy := time.Now(), pgtest.MachineBusy()
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{}
				var mine []time.Duration
				for i := range perClient {
					typ := "START"
					if i%2 == 1 {
						typ = "COMPLETE"
					}
					t0 := time.Now()
					resp, err := client.Post(e.srv.URL+"/api/v1/lineage", "application/json", bytes.NewReader(event(c, i, typ)))
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		accepted := time.Since(start)
		for {
			n, err := pendingEvents(ctx, e.st)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		derived, busy := time.Since(start), pgtest.MachineBusy()-busy
		total := float64(clients * perClient)
		slices.Sort(lat)
		b.ReportMetric(total/accepted.Seconds(), "accepted-events/s")
		b.ReportMetric(total/derived.Seconds(), "derived-events/s")
		if busy > 0 {
			b.ReportMetric(busy.Seconds()*1e6/total, "machine-cpu-us/event")
		}
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "post-p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "post-p99-ms")
		b.ReportMetric(0, "ns/op")
	}
}

func newEnvB(b *testing.B) *env {
	// newEnv takes a *testing.T for its helpers' t.Fatal; the benchmark
	// builds the same parts.
	return buildEnv(b, olapi.Config{})
}
