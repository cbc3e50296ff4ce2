package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"almanac/catalog"
	"almanac/catalog/store"
)

// Team rollups: each team's page aggregates with the default parameters,
// kept in PostgreSQL (store.TeamRollup) by a refresher that one replica
// at a time runs behind the catalog's changes, so that the first view of
// a team's page on any replica, after a start or a quiet spell, reads one
// row rather than aggregates over the team's datasets (0.4 s and more
// for 5,000 of them). Other page numbers and stale_days are read live.

// defaultTeamParams are the team page's parameters without a query: the
// page a rollup keeps.
var defaultTeamParams = teamParams{Page: 1, StaleDays: defaultStaleDays}

// teamRollupEvery is how old a rollup gets at most even while the change
// log stands still: incidents acknowledged or resolved by people, SLO
// evaluations and the clock (stale datasets, the trends' days) move the
// figures without logging a change.
const teamRollupEvery = 5 * time.Minute

// teamRollupServed says whether a team page takes rollup r while the
// change log is at seq: when it is exact (nothing logged since it was
// computed, or nothing that concerns its team: the refresher marks
// those) and younger than twice teamRollupEvery, or inexact and younger
// than twice the max age (the max age and one refresher's pass).
// An older rollup means no refresher keeps up: the page reads its
// aggregates live, as without one.
func (s *Server) teamRollupServed(r store.TeamRollup, seq int64, now time.Time) bool {
	age := now.Sub(r.ComputedAt)
	if age < 0 {
		return false
	}
	if r.ChangeSeq >= seq {
		return age < 2*teamRollupEvery
	}
	return age < 2*s.teams.maxAge
}

// RefreshTeamRollups makes one pass of the team rollups' refresher, unless
// another replica is making one: it removes the rollups of teams that own
// nothing any more and computes, one team at a time and one read at a
// time, the rollups of teams that have none (first), those older than
// Options.TeamsMaxAge that a change logged since concerns, and those
// older than teamRollupEvery (store.TeamRollupsDue). It returns the
// teams computed, in order. An error of one team is logged and the pass
// goes on; the first is returned.
func (s *Server) RefreshTeamRollups(ctx context.Context) ([]string, error) {
	release, ok, err := s.store.LockTeamRollups(ctx)
	if err != nil || !ok {
		return nil, err
	}
	defer release()
	seq, err := s.store.LastChangeSeq(ctx)
	if err != nil {
		return nil, err
	}
	due, err := s.store.TeamRollupsDue(ctx, seq, s.now(), s.teams.maxAge, teamRollupEvery)
	if err != nil {
		return nil, err
	}
	var (
		done  []string
		first error
	)
	for _, team := range due {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		if err := s.refreshTeamRollup(ctx, team); err != nil {
			s.log.WarnContext(ctx, "team rollup not refreshed", "team", team, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		done = append(done, team)
	}
	return done, first
}

// refreshTeamRollup computes team's rollup, or removes it when the team
// owns nothing any more.
func (s *Server) refreshTeamRollup(ctx context.Context, team string) error {
	// The log's position is read before the aggregates, so that the
	// rollup claims no change it may have missed.
	seq, err := s.store.LastChangeSeq(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	a, err := s.readAggregates(ctx, team, defaultTeamParams, now, 1)
	if errors.Is(err, catalog.ErrNotFound) {
		return s.store.DeleteTeamRollup(ctx, team)
	}
	if err != nil {
		return fmt.Errorf("rollup of team %q: %w", team, err)
	}
	return s.store.SaveTeamRollup(ctx, store.TeamRollup{Team: team, ComputedAt: now, ChangeSeq: seq, TeamAggregates: a})
}

// teamRollupTick is how often RunTeamRollups looks for due rollups: a
// third of the max age, from one to five seconds.
func (s *Server) teamRollupTick() time.Duration {
	return min(max(s.teams.maxAge/3, time.Second), 5*time.Second)
}

// RunTeamRollups refreshes the team rollups (RefreshTeamRollups) every
// few seconds until ctx ends. Every replica runs it; one at a time makes
// a pass.
func (s *Server) RunTeamRollups(ctx context.Context) error {
	t := time.NewTicker(s.teamRollupTick())
	defer t.Stop()
	for {
		start := time.Now()
		teams, err := s.RefreshTeamRollups(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.WarnContext(ctx, "team rollups not all refreshed", "err", err)
		}
		if len(teams) > 0 {
			s.log.DebugContext(ctx, "team rollups refreshed", "teams", len(teams), "took", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
