package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestSizedCache checks that the cache keeps entries up to a total size,
// dropping the least recently used, and never keeps one larger than a
// sixteenth of the whole.
func TestSizedCache(t *testing.T) {
	ctx := context.Background()
	c := newSizedCache(160, func(key, _ string) int { return len(key) })
	a := strings.Repeat("a", 10)
	for i := range 16 {
		c.Add(ctx, fmt.Sprintf("%09d.", i), "v") // 10 bytes each: 160 in all
	}
	if _, ok := c.Get(ctx, "000000000."); !ok {
		t.Fatal("the first entry is gone before the cache is full")
	}
	// The first was used last; the second is now the least recently used.
	c.Add(ctx, a, "a")
	if _, ok := c.Get(ctx, "000000001."); ok {
		t.Error("the least recently used entry was kept")
	}
	for _, k := range []string{"000000000.", a, "000000015."} {
		if _, ok := c.Get(ctx, k); !ok {
			t.Errorf("%q was dropped", k)
		}
	}
	c.Add(ctx, strings.Repeat("x", 11), "too large")
	if _, ok := c.Get(ctx, strings.Repeat("x", 11)); ok {
		t.Error("kept an entry larger than a sixteenth of the cache")
	}
	if c.used > c.max {
		t.Errorf("holds %d bytes, more than %d", c.used, c.max)
	}
}
