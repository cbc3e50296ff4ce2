package store

import (
	"context"
	"testing"
	"time"

	"almanac/catalog"
)

// SetCrawlLockTimings sets how long a crawl waits for its source's lock
// and how often it checks it still holds it, for the test t.
func SetCrawlLockTimings(t *testing.T, wait, check time.Duration) {
	oldWait, oldCheck := crawlLockWait, crawlLockCheck
	crawlLockWait, crawlLockCheck = wait, check
	t.Cleanup(func() { crawlLockWait, crawlLockCheck = oldWait, oldCheck })
}

// StartDeadRun records a running crawl of source as a process would that
// then died: holding no crawl lock.
func (s *Store) StartDeadRun(ctx context.Context, source string) (catalog.CrawlRun, error) {
	return s.startRun(ctx, source)
}
