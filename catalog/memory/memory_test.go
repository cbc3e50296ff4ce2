package memory

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// gcPercent is the collector's percent now.
func gcPercent(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// sink keeps a live heap of the size a case needs.
var sink [][]byte

// TestTune checks the percent Tune leaves after a collection: the most
// (400) while the live heap is far below the target, Go's default (100)
// once it is more than half the target, never less; and Go's own default
// again after Tune(0), or when the environment sets GOGC.
func TestTune(t *testing.T) {
	t.Cleanup(func() { Tune(0); sink = nil })
	collect := func() {
		// The tuner runs after a collection, in a finalizer.
		runtime.GC()
		drainFinalizers()
	}

	if !Tune(DefaultHeapTarget) {
		t.Fatal("Tune(1 GiB) does not tune")
	}
	collect()
	if got := gcPercent(t); got != maxPercent {
		t.Errorf("small live heap, 1 GiB target: percent %d, want %d", got, maxPercent)
	}

	// 96 MiB live against a target of 128 MiB: (128-96)/96 is 33 %, and
	// the percent stays at Go's default.
	for range 96 {
		sink = append(sink, make([]byte, 1<<20))
	}
	Tune(128 << 20)
	collect()
	if got := gcPercent(t); got != minPercent {
		t.Errorf("96 MiB live, 128 MiB target: percent %d, want %d", got, minPercent)
	}
	// Halfway: 96 MiB live, 288 MiB target, 200 %.
	Tune(288 << 20)
	collect()
	if got := gcPercent(t); got < 150 || got > 250 {
		t.Errorf("96 MiB live, 288 MiB target: percent %d, want about 200", got)
	}
	sink = nil

	if Tune(0) {
		t.Error("Tune(0) says it tunes")
	}
	collect()
	if got := gcPercent(t); got != minPercent {
		t.Errorf("after Tune(0): percent %d, want %d", got, minPercent)
	}

	t.Setenv("GOGC", "150")
	if Tune(DefaultHeapTarget) {
		t.Error("Tune tunes though GOGC is set")
	}
	collect()
	if got := gcPercent(t); got != minPercent {
		t.Errorf("GOGC set: percent %d, want it left at %d", got, minPercent)
	}
}
