package store

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// Follower is what follows the change log: the search index, the lineage
// graph.
type Follower interface {
	// Seq is the last change log sequence applied.
	Seq() int64
	// CatchUp applies every change after Seq.
	CatchUp(ctx context.Context) error
}

// maxFollowBackoff bounds the wait between reconnections.
const maxFollowBackoff = 30 * time.Second

// FollowChanges keeps f in step with the change log until ctx ends: on a
// dedicated connection it LISTENs on catalog.ChangeChannel, catches up,
// and catches up again on each notification past f.Seq() and every poll
// regardless; when the connection fails it logs, waits (100 ms, doubling
// to 30 s) and starts again. It returns ctx's error.
func (s *Store) FollowChanges(ctx context.Context, f Follower, poll time.Duration, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		err := s.follow(ctx, f, poll)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(started) > maxFollowBackoff {
			backoff = 100 * time.Millisecond // it worked for a while
		}
		log.WarnContext(ctx, "following the change log was interrupted; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxFollowBackoff)
	}
}

// follow follows notifications on one connection until it fails.
func (s *Store) follow(ctx context.Context, f Follower, poll time.Duration) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connect for change notifications: %w", err)
	}
	// The connection leaves the pool: LISTEN state must not leak to other
	// users, and it is held for as long as the follower runs.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{catalog.ChangeChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen for changes: %w", err)
	}
	// Listening first, then catching up, misses nothing.
	if err := f.CatchUp(ctx); err != nil {
		return err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && wctx.Err() != nil && !conn.IsClosed():
			// Nothing heard for a while: poll.
		case err != nil:
			return fmt.Errorf("wait for changes: %w", err)
		default:
			if seq, perr := strconv.ParseInt(n.Payload, 10, 64); perr == nil && seq <= f.Seq() {
				continue // already applied
			}
		}
		if err := f.CatchUp(ctx); err != nil {
			return err
		}
	}
}
