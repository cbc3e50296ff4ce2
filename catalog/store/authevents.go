package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"almanac/catalog"
)

// RecordAuthEvent appends e to the security log; its ID and At (now, when
// zero) are the log's.
func (s *Store) RecordAuthEvent(ctx context.Context, e catalog.AuthEvent) error {
	return recordAuthEvent(ctx, s.pool, e)
}

// execer runs a statement: the pool, or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// recordAuthEvent is RecordAuthEvent through q, so that an event can be
// recorded in the transaction of what it records.
func recordAuthEvent(ctx context.Context, q execer, e catalog.AuthEvent) error {
	e, err := e.Normalize()
	if err != nil {
		return err
	}
	outcome := "failure"
	if e.Success {
		outcome = "success"
	}
	var at *time.Time
	if !e.At.IsZero() {
		at = &e.At
	}
	_, err = q.Exec(ctx, `
		INSERT INTO auth_events (at, kind, outcome, actor, subject, detail, remote_addr)
		VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, $7)`,
		at, e.Kind, outcome, e.Actor, e.Subject, e.Detail, e.RemoteAddr)
	if err != nil {
		return fmt.Errorf("record %s event: %w", e.Kind, translate(err))
	}
	return nil
}

// AuthEventFilter selects events of the security log. Its zero value
// selects every event.
type AuthEventFilter struct {
	// Kinds are the kinds of event; none for every kind.
	Kinds []catalog.AuthEventKind
	// Actor is the login (or "token:<name>" for a service token) of who acted, in any case.
	Actor string
	// FailuresOnly keeps only refusals.
	FailuresOnly bool
	// Since and Until bound when the events happened: Since <= at < Until.
	// A zero time leaves that end open.
	Since, Until time.Time
	// After continues a listing past the event it names (newest first,
	// then by id); the zero cursor starts at the newest.
	After AuditCursor
}

// AuthEvents lists at most limit events of the security log that f
// selects, newest first (by time, then by id).
func (s *Store) AuthEvents(ctx context.Context, f AuthEventFilter, limit int) ([]catalog.AuthEvent, error) {
	kinds := make([]string, len(f.Kinds))
	for i, k := range f.Kinds {
		kinds[i] = string(k)
	}
	var since, until, after *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	if !f.After.At.IsZero() {
		after = &f.After.At
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, kind, outcome = 'success', actor, subject, detail, remote_addr
		FROM auth_events
		WHERE (cardinality($1::text[]) = 0 OR kind = ANY($1))
		  AND ($2 = '' OR lower(actor) = lower($2))
		  AND (NOT $3 OR outcome = 'failure')
		  AND ($4::timestamptz IS NULL OR at >= $4)
		  AND ($5::timestamptz IS NULL OR at < $5)
		  AND ($6::timestamptz IS NULL OR (at, id) < ($6, $7))
		ORDER BY at DESC, id DESC
		LIMIT $8`,
		kinds, f.Actor, f.FailuresOnly, since, until, after, f.After.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("read security log: %w", translate(err))
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.AuthEvent, error) {
		var e catalog.AuthEvent
		err := row.Scan(&e.ID, &e.At, &e.Kind, &e.Success, &e.Actor, &e.Subject, &e.Detail, &e.RemoteAddr)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read security log: %w", translate(err))
	}
	return events, nil
}
