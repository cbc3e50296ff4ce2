package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// This file keeps team_rollups: each team's page aggregates, computed by
// a refresher behind the catalog's changes (ui.Server.RefreshTeamRollups)
// rather than by the first view of the page, which took 0.4 s and more
// for a team owning 5,000 datasets.

// TeamAggregates are the aggregates of a team's page with its default
// parameters, as a team rollup keeps them.
type TeamAggregates struct {
	Figures TeamFigures
	// Datasets is the first page of the team's datasets' ids, Total how
	// many it owns.
	Datasets []int64
	Total    int
	// Stale is the first of the ids of its stale datasets, StaleTotal
	// how many there are.
	Stale      []int64
	StaleTotal int
	SLOs       []SLOStatus
	Trends     TeamTrends
}

// TeamRollup is a team's aggregates as last computed: at ComputedAt,
// over the catalog as of the change log at ChangeSeq or later.
type TeamRollup struct {
	Team       string
	ComputedAt time.Time
	ChangeSeq  int64
	TeamAggregates
}

// TeamRollup reads team's rollup; catalog.ErrNotFound when there is none.
func (s *Store) TeamRollup(ctx context.Context, team string) (TeamRollup, error) {
	r := TeamRollup{Team: team}
	var payload []byte
	err := s.pool.QueryRow(ctx, `SELECT computed_at, change_seq, payload FROM team_rollups WHERE team = $1`, team).
		Scan(&r.ComputedAt, &r.ChangeSeq, &payload)
	if err != nil {
		return TeamRollup{}, fmt.Errorf("rollup of team %q: %w", team, translate(err))
	}
	if err := json.Unmarshal(payload, &r.TeamAggregates); err != nil {
		return TeamRollup{}, fmt.Errorf("rollup of team %q: %w", team, err)
	}
	return r, nil
}

// SaveTeamRollup stores r unless a rollup of its team computed later is
// stored already.
func (s *Store) SaveTeamRollup(ctx context.Context, r TeamRollup) error {
	payload, err := json.Marshal(r.TeamAggregates)
	if err != nil {
		return fmt.Errorf("save rollup of team %q: %w", r.Team, err)
	}
	if _, err := s.pool.Exec(ctx, `
		INSERT INTO team_rollups AS r (team, computed_at, change_seq, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (team) DO UPDATE SET computed_at = excluded.computed_at, change_seq = excluded.change_seq, payload = excluded.payload
		WHERE r.computed_at <= excluded.computed_at`, r.Team, r.ComputedAt, r.ChangeSeq, payload); err != nil {
		return fmt.Errorf("save rollup of team %q: %w", r.Team, err)
	}
	return nil
}

// DeleteTeamRollup removes team's rollup, if any.
func (s *Store) DeleteTeamRollup(ctx context.Context, team string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM team_rollups WHERE team = $1`, team); err != nil {
		return fmt.Errorf("delete rollup of team %q: %w", team, err)
	}
	return nil
}

// teamRollupLock is held, for a session, by the replica refreshing the
// team rollups.
const teamRollupLock = 0x7465616d726f6c

// LockTeamRollups takes the team rollups' advisory lock on a connection
// of its own, if no other replica holds it, and returns its release. When
// another holds it, ok is false: one replica refreshes them at a time.
func (s *Store) LockTeamRollups(ctx context.Context) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock team rollups: %w", translate(err))
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(teamRollupLock)).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("lock team rollups: %w", translate(err))
		}
		return nil, false, nil
	}
	return func() {
		//nolint:errcheck // the lock goes with the session anyway
		conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(teamRollupLock))
		conn.Release()
	}, true, nil
}

// TeamRollupsDue lists the teams whose rollups are due at now, in the
// order to compute them, and removes the rollups of teams that own no
// live dataset any more, in one batch. Due are: a team without a rollup
// (first, by name); one whose rollup predates the change log at seq and
// is at least maxAge old; and one whose rollup is at least every old or
// from the future (a clock set back); each group oldest first.
//
// Every team whose rollup predates the log is due, not only those whose
// datasets the changes name: ownership removed leaves no owners row to
// tie the change to the team, and runs, metrics and checks reach a team
// through job_io and keys; a pass over every changed team is one team at
// a time on one connection.
func (s *Store) TeamRollupsDue(ctx context.Context, seq int64, now time.Time, maxAge, every time.Duration) ([]string, error) {
	var teams []string
	batch := &pgx.Batch{}
	batch.Queue(`
		DELETE FROM team_rollups r WHERE NOT EXISTS (SELECT 1 FROM owners o
			JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
			JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL
			WHERE o.owner_kind = 'team' AND o.owner = r.team)`)
	batch.Queue(`
		WITH t AS (
			SELECT DISTINCT o.owner AS team
			FROM owners o
			JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
			JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL
			WHERE o.owner_kind = 'team')
		SELECT t.team FROM t LEFT JOIN team_rollups r ON r.team = t.team
		WHERE r.team IS NULL
		   OR (r.change_seq < $1 AND r.computed_at <= $2::timestamptz - $3::interval)
		   OR r.computed_at <= $2::timestamptz - $4::interval
		   OR r.computed_at > $2
		ORDER BY r.computed_at NULLS FIRST, t.team`, seq, now, maxAge, every).Query(func(rows pgx.Rows) error {
		var err error
		teams, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("team rollups due: %w", translate(err))
	}
	return teams, nil
}
