package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the change log (change_log): every write appends to it,
// and followers (the search index, the lineage graph) read it.

// changeLogLock serialises writers of the change log until they commit, so
// that sequence numbers become visible in order ("changel" in ASCII).
const changeLogLock = 0x6368616e67656c

func changeRow(id int64, key catalog.Key, kind catalog.ChangeKind, source string, at time.Time) []any {
	return []any{"dataset", id, key.Namespace, key.Name, string(kind), source, at}
}

// changeRowDetails is changeRow saying what changed; no details is as
// changeRow.
func changeRowDetails(id int64, key catalog.Key, kind catalog.ChangeKind, source string, at time.Time, details []catalog.FieldChange) []any {
	if len(details) == 0 {
		return changeRow(id, key, kind, source, at)
	}
	return append(changeRow(id, key, kind, source, at), details)
}

// appendChanges appends to the change log under the change log lock, held
// until the transaction ends. Each row is entity, entity id, namespace,
// name, kind, source, time and, optionally, the details
// ([]catalog.FieldChange).
func appendChanges(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	for i, r := range rows {
		if len(r) == 7 {
			rows[i] = append(r, nil)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(changeLogLock)); err != nil {
		return fmt.Errorf("lock change log: %w", err)
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"change_log"},
		[]string{"entity", "entity_id", "namespace", "name", "kind", "source", "at", "details"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("append change log: %w", err)
	}
	return nil
}

// Changes returns change log entries after seq, oldest first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]catalog.Change, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT seq, entity, entity_id, namespace, name, kind, source, at
		FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read change log after %d: %w", after, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Change, error) {
		var c catalog.Change
		err := row.Scan(&c.Seq, &c.Entity, &c.EntityID, &c.Key.Namespace, &c.Key.Name, &c.Kind, &c.Source, &c.At)
		return c, err
	})
}

// ChangeFeed returns at most limit change log entries after seq that f
// selects, oldest first, with their details: the change feed of GraphQL
// and the event stream. Sequences become visible in order (writers hold
// the change log lock until they commit), so a reader that continues
// after the last sequence it saw misses nothing and sees nothing twice.
func (s *Store) ChangeFeed(ctx context.Context, after int64, f catalog.ChangeFilter, limit int) ([]catalog.Change, error) {
	kinds := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = string(k)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT seq, entity, entity_id, namespace, name, kind, source, at, coalesce(details, '[]')
		FROM change_log
		WHERE seq > $1 AND ($2 = '' OR entity = $2) AND (cardinality($3::text[]) = 0 OR kind = ANY($3))
		ORDER BY seq LIMIT $4`, after, f.Entity, kinds, limit)
	if err != nil {
		return nil, fmt.Errorf("read change feed after %d: %w", after, translate(err))
	}
	changes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Change, error) {
		var c catalog.Change
		err := row.Scan(&c.Seq, &c.Entity, &c.EntityID, &c.Key.Namespace, &c.Key.Name, &c.Kind, &c.Source, &c.At, &c.Details)
		if len(c.Details) == 0 {
			c.Details = nil
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read change feed after %d: %w", after, translate(err))
	}
	return changes, nil
}

// LastChangeSeq returns the sequence of the newest committed change log
// entry, or 0 when the log is empty. A reader that copies the catalog after
// calling it and then applies the changes after that sequence misses
// nothing.
func (s *Store) LastChangeSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM change_log`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("read last change sequence: %w", err)
	}
	return seq, nil
}

// ErrChangeLogDiverged is ChangesSince's error when the change log no
// longer holds the change a follower applied last as it was: the
// database was restored from an older backup, or failed over to a
// standby that lagged, and hands that change's sequence out again.
var ErrChangeLogDiverged = errors.New("the change log no longer holds the change applied last (restored from a backup, or failed over to a standby that lagged)")

// ChangesSince returns at most limit change log entries after seq, as
// Changes does, once it has checked, in the same statement, that the log
// still holds the entry seq with mark (its catalog.Change.Mark; any entry
// when mark is ""): ErrChangeLogDiverged otherwise. Followers that keep
// what they applied outside the database (the search index, the lineage
// graph) read the log through it, so that they never skip the changes a
// restored log makes under sequences they applied.
func (s *Store) ChangesSince(ctx context.Context, seq int64, mark string, limit int) ([]catalog.Change, error) {
	if seq <= 0 {
		return s.Changes(ctx, 0, limit)
	}
	changes, err := s.Changes(ctx, seq-1, limit+1)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 || changes[0].Seq != seq || (mark != "" && changes[0].Mark() != mark) {
		return nil, fmt.Errorf("change %d: %w", seq, ErrChangeLogDiverged)
	}
	return changes[1:], nil
}

// Position is a follower's place in the change log: the last change it
// applied, and that change's catalog.Change.Mark ("" when not known).
type Position struct {
	Seq  int64
	Mark string
}

// ChangesResuming returns at most limit change log entries after p, for a
// follower that keeps its position in the catalog as well as in memory
// (the incident detector, the SLO evaluator). When p.Mark is set (the
// follower applied that change itself) it checks the entry as
// ChangesSince does; when the log no longer holds it, it reads from the
// position the catalog keeps for the follower, stored, instead: a restored
// catalog's position, with its restored log. It returns the position it
// read after: p, or stored's with no mark when the log diverged.
func (s *Store) ChangesResuming(ctx context.Context, p Position, limit int, stored func(context.Context) (int64, error)) (Position, []catalog.Change, error) {
	if p.Mark == "" {
		changes, err := s.Changes(ctx, p.Seq, limit)
		return p, changes, err
	}
	changes, err := s.ChangesSince(ctx, p.Seq, p.Mark, limit)
	if !errors.Is(err, ErrChangeLogDiverged) {
		return p, changes, err
	}
	seq, err := stored(ctx)
	if err != nil {
		return p, nil, err
	}
	from := Position{Seq: seq}
	changes, err = s.Changes(ctx, seq, limit)
	return from, changes, err
}

// ChangeMark returns the Mark of the change log entry seq, "" when the
// log has none.
func (s *Store) ChangeMark(ctx context.Context, seq int64) (string, error) {
	c := catalog.Change{Seq: seq}
	err := s.pool.QueryRow(ctx, `SELECT entity, entity_id, kind, at FROM change_log WHERE seq = $1`, seq).
		Scan(&c.Entity, &c.EntityID, &c.Kind, &c.At)
	if errors.Is(err, catalog.ErrNotFound) { // the pool translates pgx.ErrNoRows
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read change %d: %w", seq, translate(err))
	}
	return c.Mark(), nil
}

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
