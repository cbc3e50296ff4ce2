package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"almanac/catalog/store"
)

// noFollower follows nothing: the connection fails first.
type noFollower struct{}

func (noFollower) Seq() int64                    { return 0 }
func (noFollower) CatchUp(context.Context) error { return nil }

// TestFollowChangesWithoutLogger follows the change log of a server that
// refuses connections with no logger: the interruptions it would log are
// discarded, and it returns when ctx ends.
func TestFollowChangesWithoutLogger(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://almanac@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := store.New(pool).FollowChanges(ctx, noFollower{}, time.Second, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FollowChanges = %v, want the context's error", err)
	}
}
