package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"almanac/catalog"
)

// This file keeps the raw OpenLineage events (openlineage_events) that the
// receiver accepts, until the worker derives a push from them (push.go).

// RawEvent is an OpenLineage event as received, with what is needed to
// find it again.
type RawEvent struct {
	ID     int64
	Digest []byte // sha-256 of Body
	Kind   string // "run", "dataset" or "job"
	Type   string // eventType, "" when absent
	Time   time.Time
	RunID  string
	Job    catalog.JobKey
	Body   []byte
}

// openLineageLock makes one replica at a time derive facts from the raw
// events ("olproc" in ASCII).
const openLineageLock = 0x6f6c70726f63

// StoreEvents keeps raw events for the worker to derive facts from. A
// duplicate delivery (same body) is stored once; the count of newly
// stored events is returned.
func (s *Store) StoreEvents(ctx context.Context, events []RawEvent) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n := len(events)
	digests, bodies := make([][]byte, n), make([]string, n)
	kinds, types, runs, jns, jnames := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	for i, e := range events {
		digests[i], bodies[i], kinds[i], types[i], times[i] = e.Digest, string(e.Body), e.Kind, e.Type, e.Time
		runs[i], jns[i], jnames[i] = e.RunID, e.Job.Namespace, e.Job.Name
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO openlineage_events (digest, event_kind, event_type, event_time, run_id, job_namespace, job_name, body)
		SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::json[])
		ON CONFLICT (digest) DO NOTHING`, digests, kinds, types, times, runs, jns, jnames, bodies)
	if err != nil {
		return 0, fmt.Errorf("store %d openlineage events: %w", n, translate(err))
	}
	return int(tag.RowsAffected()), nil
}

// Outcome is what deriving facts from one stored event came to.
type Outcome struct {
	// Err is why some or all of the event could not be used; nil when
	// all of it was.
	Err error
	// Failed says that nothing of the event was applied: it could not be
	// decoded, or the store refused it on its own.
	Failed bool
}

// ProcessEvents hands up to limit events not processed yet, oldest first,
// to derive, and marks them processed with the outcome derive returned for
// each (by index; shorter means success), failed ones with the time they
// failed. When derive fails as a whole the events stay unprocessed, to be
// tried again. Only one caller across all replicas runs at a time: the
// others return 0 at once. It returns how many events were processed.
func (s *Store) ProcessEvents(ctx context.Context, limit int, derive func(ctx context.Context, events []RawEvent) ([]Outcome, error)) (int, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("process openlineage events: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(openLineageLock)).Scan(&locked); err != nil {
		return 0, fmt.Errorf("process openlineage events: lock: %w", err)
	}
	if !locked {
		return 0, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(openLineageLock)) //nolint:errcheck // the lock goes with the session anyway

	rows, err := conn.Query(ctx, `
		SELECT id, digest, event_kind, event_type, event_time, run_id, job_namespace, job_name, body::text
		FROM openlineage_events WHERE processed_at IS NULL ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return 0, fmt.Errorf("read openlineage events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (RawEvent, error) {
		var (
			e    RawEvent
			body string
		)
		err := row.Scan(&e.ID, &e.Digest, &e.Kind, &e.Type, &e.Time, &e.RunID, &e.Job.Namespace, &e.Job.Name, &body)
		e.Body = []byte(body)
		return e, err
	})
	if err != nil {
		return 0, fmt.Errorf("read openlineage events: %w", err)
	}
	if len(events) == 0 {
		return 0, nil
	}
	outcomes, err := derive(ctx, events)
	if err != nil {
		return 0, fmt.Errorf("process %d openlineage events: %w", len(events), err)
	}
	ids, msgs, failed := make([]int64, len(events)), make([]string, len(events)), make([]bool, len(events))
	for i, e := range events {
		ids[i] = e.ID
		if i < len(outcomes) {
			if o := outcomes[i]; o.Err != nil {
				msgs[i] = o.Err.Error()
			}
			failed[i] = outcomes[i].Failed
		}
	}
	if _, err := conn.Exec(ctx, `
		UPDATE openlineage_events e SET processed_at = $4, error = x.msg, failed_at = CASE WHEN x.failed THEN $4::timestamptz END
		FROM unnest($1::bigint[], $2::text[], $3::bool[]) AS x(id, msg, failed) WHERE e.id = x.id`, ids, msgs, failed, s.now()); err != nil {
		return 0, fmt.Errorf("mark openlineage events processed: %w", err)
	}
	return len(events), nil
}

// FailedEvents counts the events marked failed.
func (s *Store) FailedEvents(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM openlineage_events WHERE failed_at IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count failed openlineage events: %w", err)
	}
	return n, nil
}

// PruneEvents deletes the processed raw events received before t, and
// returns how many.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM openlineage_events WHERE processed_at IS NOT NULL AND received_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune openlineage events: %w", err)
	}
	return tag.RowsAffected(), nil
}
