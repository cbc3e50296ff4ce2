package graph

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// sizedCache is a cache for gqlgen that holds entries up to a total size
// rather than a number of them, dropping the least recently used first:
// gqlgen's own holds a thousand of any size, and the documents it caches
// may each be a megabyte (a long string) or hold a megabyte and more once
// parsed (15,000 tokens), so that a client sending a thousand distinct ones
// would have it keep gigabytes. An entry larger than a sixteenth of the
// whole is not kept, so that one cannot push out all the others.
type sizedCache[T any] struct {
	max  int
	size func(key string, value T) int

	mu    sync.Mutex
	used  int
	order *list.List // of *sizedEntry[T], the most recently used first
	items map[string]*list.Element
}

type sizedEntry[T any] struct {
	key   string
	value T
	size  int
}

var _ graphql.Cache[any] = (*sizedCache[any])(nil)

func newSizedCache[T any](max int, size func(key string, value T) int) *sizedCache[T] {
	return &sizedCache[T]{max: max, size: size, order: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value cached under key.
func (c *sizedCache[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero T
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*sizedEntry[T]).value, true
}

// Add caches value under key, dropping the least recently used entries
// until all fit.
func (c *sizedCache[T]) Add(_ context.Context, key string, value T) {
	n := c.size(key, value)
	if n > c.max/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	c.items[key] = c.order.PushFront(&sizedEntry[T]{key: key, value: value, size: n})
	c.used += n
	for c.used > c.max {
		c.remove(c.order.Back())
	}
}

func (c *sizedCache[T]) remove(e *list.Element) {
	en := c.order.Remove(e).(*sizedEntry[T])
	delete(c.items, en.key)
	c.used -= en.size
}
