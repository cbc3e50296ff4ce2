package search

import (
	"container/list"
	"strconv"
	"sync"
)

// cacheSize is how many results the in-process cache keeps. Popular
// queries repeat ("orders", "customer"), and those that match the most
// datasets are the slowest to run.
const cacheSize = 512

// resultCache is a least-recently-used cache of results. Entries are keyed
// by the index generation, which every write advances, so a cached result
// is never older than the index.
type resultCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	res Results
}

func newResultCache(max int) *resultCache {
	return &resultCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func cacheKey(gen uint64, req Request) string {
	return strconv.FormatUint(gen, 10) + "\x00" + req.Query.String() + "\x00" + strconv.FormatBool(req.IncludeRemoved) +
		"\x00" + strconv.FormatBool(req.Jobs) + "\x00" + strconv.Itoa(req.Offset) + "\x00" + strconv.Itoa(req.Limit)
}

func (c *resultCache) get(key string) (Results, bool) {
	if c == nil {
		return Results{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry).res, true
	}
	return Results{}, false
}

func (c *resultCache) put(key string, res Results) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*cacheEntry).res = res
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key, res})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}
