package lineage

import (
	"log/slog"
	"testing"
)

// TestNewFollowerWithoutLogger checks that a follower given no logger
// discards what it would log, rather than writing to slog.Default, which
// the almanac binary does not configure.
func TestNewFollowerWithoutLogger(t *testing.T) {
	if h := NewFollower(nil, NewGraph(), nil).log.Handler(); h != slog.DiscardHandler {
		t.Errorf("NewFollower without a logger logs to %T, want slog.DiscardHandler", h)
	}
}
