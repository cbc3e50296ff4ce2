// Package memory lets the garbage collector use memory the operator
// allows to spend less CPU.
//
// Go collects when the heap has grown by GOGC percent (100) over what the
// last collection left live. Almanac's busiest work allocates a great
// deal that dies young (the OpenLineage receiver decodes every event, its
// worker derives them, a search build analyses every dataset), and a
// fixed higher GOGC would grow the heap with the live heap; a memory
// limit (GOMEMLIMIT) makes a process whose live heap comes near it
// collect without pause.
//
// Tune sets the percent after each collection so that the heap may grow
// up to a target (bytedance/gopkg's gctuner, after Uber's GOGC tuning),
// within 100 (never more often than Go's default) and 400: with a target
// of 1 GiB, a live heap of 100 MB grows to 500 MB before the next
// collection, one of 400 MB to 1 GiB, one of 600 MB to 1.2 GB as without
// it. BenchmarkIngest (./lineage/olapi) spent 5-10 % less CPU an event.
package memory

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bytedance/gopkg/util/gctuner"
)

// DefaultHeapTarget is the heap target of a process that is not told
// otherwise (memory.heap_target): 1 GiB.
const DefaultHeapTarget = 1 << 30

const (
	minPercent = 100
	maxPercent = 400
)

var (
	mu     sync.Mutex
	tuning bool
	bounds sync.Once
)

// Tune sets the collector's percent after each collection so that the
// heap may grow up to target, and says whether it does: not when target
// is 0, nor when the environment sets GOGC or GOMEMLIMIT (the operator's
// own choice stands). A later call replaces the target; Tune(0) stops,
// leaving Go's default percent.
func Tune(target uint64) bool {
	mu.Lock()
	defer mu.Unlock()
	if target == 0 || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		if tuning {
			gctuner.Tuning(0)
			// The tuner runs in a finalizer after each collection; one
			// may be running now and set its percent after ours.
			drainFinalizers()
			debug.SetGCPercent(minPercent)
			tuning = false
		}
		return false
	}
	// Once, before the tuner first runs: it reads the bounds without
	// synchronisation.
	bounds.Do(func() {
		gctuner.SetMinGCPercent(minPercent)
		gctuner.SetMaxGCPercent(maxPercent)
	})
	gctuner.Tuning(target)
	tuning = true
	return true
}

// drainFinalizers waits until the finalizers queued so far have run: they
// run one at a time, in one goroutine, so a finalizer queued by a
// collection now runs after them. It gives up after a second.
func drainFinalizers() {
	done := make(chan struct{})
	// Big enough not to share a block with other small objects, whose
	// finalizers could then wait for them.
	sentinel := new([64]byte)
	runtime.SetFinalizer(sentinel, func(*[64]byte) { close(done) })
	sentinel = nil
	runtime.GC()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
}
