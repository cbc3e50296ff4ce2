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

// sloEvaluationSlack is how long before a rollup's computation an SLO
// evaluation may be dated and still be taken for one it missed: an
// evaluation is stored a little after the time it is dated.
const sloEvaluationSlack = 30 * time.Second

// teamRollupLock is held, for a session, by the replica refreshing the
// team rollups.
const teamRollupLock = 0x7465616d726f6c

// LockTeamRollups takes the team rollups' advisory lock on a connection
// of its own, if no other replica holds it, and returns its release. When
// another holds it, ok is false: one replica refreshes them at a time.
func (s *Store) LockTeamRollups(ctx context.Context) (release func(), ok bool, err error) {
	return s.tryLock(ctx, teamRollupLock, "team rollups")
}

// tryLock takes the session advisory lock key on a connection of its own,
// if no other session holds it, and returns its release; ok is false
// when another holds it.
func (s *Store) tryLock(ctx context.Context, key int64, what string) (release func(), ok bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", what, translate(err))
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Release()
		if err != nil {
			return nil, false, fmt.Errorf("lock %s: %w", what, translate(err))
		}
		return nil, false, nil
	}
	return func() {
		//nolint:errcheck // the lock goes with the session anyway
		conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
		conn.Release()
	}, true, nil
}

// TeamRollupsDue lists the teams whose rollups are due at now, in the
// order to compute them, and removes the rollups of teams that own no
// live dataset any more, in one batch. Due are: a team without a rollup
// (first, by name); one whose rollup is at least every old or from the
// future (a clock set back); and one whose rollup is at least maxAge old
// and that a change logged since it (after its change_seq, up to seq)
// concerns. Each group comes oldest first.
//
// A change concerns a team when it names a dataset the team owns (a
// dataset change by id, an incident by key), or a run of a job that
// reads or writes one (job_io); a change to anything else but column
// lineage, which no figure reads, concerns every team. A dataset the
// team stopped owning leaves no owners row to tie its change to the
// team, so a team whose count of live datasets differs from its
// rollup's is due too. SLO evaluations log no change: a team one of
// whose datasets was evaluated since its rollup was computed (less
// sloEvaluationSlack, for evaluations stored after their time) is due
// once the rollup is maxAge old. What else moves the figures without
// logging a change (the clock) waits for every.
//
// A rollup at least maxAge old that none of the changes up to seq
// concerns is marked as of seq (its change_seq moved to seq), so that
// pages take it for exact (ui.Server.teamRollupServed) while the log
// moves on for other teams.
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
			SELECT o.owner AS team, count(DISTINCT d.id) AS datasets
			FROM owners o
			JOIN dataset_facts f ON f.dataset_id = o.dataset_id AND f.source = o.source AND f.removed_at IS NULL
			JOIN datasets d ON d.id = o.dataset_id AND d.removed_at IS NULL
			WHERE o.owner_kind = 'team'
			GROUP BY o.owner),
		j AS (
			SELECT t.team, t.datasets, r.computed_at, r.change_seq, r.payload,
			       r.team IS NULL OR r.computed_at <= $2::timestamptz - $4::interval OR r.computed_at > $2 AS old,
			       r.change_seq < $1 AND r.computed_at <= $2::timestamptz - $3::interval AS judged
			FROM t LEFT JOIN team_rollups r ON r.team = t.team),
		c AS (
			SELECT j.team, j.computed_at, j.old, j.judged, j.judged AND (
			       (j.payload->'Figures'->>'Datasets')::bigint <> j.datasets
			       OR EXISTS (SELECT 1 FROM change_log c
			           WHERE c.seq > j.change_seq AND c.seq <= $1 AND c.entity NOT IN ('dataset', 'incident', 'run', 'column_lineage'))
			       OR EXISTS (SELECT 1 FROM change_log c
			           JOIN owners o ON o.owner_kind = 'team' AND o.owner = j.team AND o.dataset_id = c.entity_id
			           WHERE c.seq > j.change_seq AND c.seq <= $1 AND c.entity = 'dataset')
			       OR EXISTS (SELECT 1 FROM change_log c
			           JOIN datasets d ON d.namespace = c.namespace AND d.name = c.name
			           JOIN owners o ON o.owner_kind = 'team' AND o.owner = j.team AND o.dataset_id = d.id
			           WHERE c.seq > j.change_seq AND c.seq <= $1 AND c.entity = 'incident')
			       OR EXISTS (SELECT 1 FROM change_log c
			           JOIN job_io io ON io.job_id = c.entity_id
			           JOIN datasets d ON d.namespace = io.namespace AND d.name = io.name
			           JOIN owners o ON o.owner_kind = 'team' AND o.owner = j.team AND o.dataset_id = d.id
			           WHERE c.seq > j.change_seq AND c.seq <= $1 AND c.entity = 'run')) AS concerned
			FROM j),
		exact AS (
			UPDATE team_rollups r SET change_seq = $1 FROM c
			WHERE r.team = c.team AND c.judged AND NOT c.concerned AND NOT c.old)
		SELECT team FROM c WHERE old OR concerned
		   OR (computed_at <= $2::timestamptz - $3::interval AND EXISTS (SELECT 1 FROM slo_evaluations e
		       JOIN owners o ON o.owner_kind = 'team' AND o.owner = c.team AND o.dataset_id = e.dataset_id
		       WHERE e.evaluated_at > c.computed_at - $5::interval))
		ORDER BY computed_at NULLS FIRST, team`, seq, now, maxAge, every, sloEvaluationSlack).Query(func(rows pgx.Rows) error {
		var err error
		teams, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("team rollups due: %w", translate(err))
	}
	return teams, nil
}
