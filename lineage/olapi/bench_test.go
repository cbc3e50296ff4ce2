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
// With -benchtime Nx the figures are over all N iterations, each posting
// new events.
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

	// Each iteration posts new events about new runs, jobs and datasets:
	// an event posted again is a duplicate delivery, stored once and
	// derived once, so a repeated iteration would measure only that.
	iteration := 0
	event := func(c, i int, typ string) []byte {
		return fmt.Appendf(nil, `{"eventType": %q, "eventTime": "2024-05-01T10:%02d:%02dZ", "producer": "bench",
			"run": {"runId": "00000000-%04d-4000-8000-%06d%06d"}, "job": {"namespace": "bench", "name": "job-%d-%d-%d"},
			"inputs": [{"namespace": "pg", "name": "i%d.t%d"}],
			"outputs": [{"namespace": "pg", "name": "i%d.t%d", "facets": {"schema": {"fields": [{"name": "id", "type": "int"}, {"name": "v", "type": "text"}]}}}]}`,
			typ, i/60%60, i%60, iteration, c, i/2, iteration, c, i/20, iteration, c*perClient+i, iteration, c*perClient+i+1)
	}
	var (
		mu                      sync.Mutex
		lat                     []time.Duration
		acceptedFor, derivedFor time.Duration
		machineBusy             time.Duration
		stored                  int
	)
	for b.Loop() {
		iteration++
		var wg sync.WaitGroup
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
		acceptedFor += accepted
		derivedFor += time.Since(start)
		machineBusy += pgtest.MachineBusy() - busy
		if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM openlineage_events`).Scan(&stored); err != nil {
			b.Fatal(err)
		}
		if want := iteration * clients * perClient; stored != want {
			b.Fatalf("after iteration %d, %d events stored, want %d", iteration, stored, want)
		}
	}
	total := float64(stored)
	slices.Sort(lat)
	b.ReportMetric(total/acceptedFor.Seconds(), "accepted-events/s")
	b.ReportMetric(total/derivedFor.Seconds(), "derived-events/s")
	if machineBusy > 0 {
		b.ReportMetric(machineBusy.Seconds()*1e6/total, "machine-cpu-us/event")
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "post-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "post-p99-ms")
	b.ReportMetric(0, "ns/op")
}

func newEnvB(b *testing.B) *env {
	// newEnv takes a *testing.T for its helpers' t.Fatal; the benchmark
	// builds the same parts.
	return buildEnv(b, olapi.Config{})
}
