-- team_rollups keeps, per owning team, the aggregates its page shows with
-- the default parameters (figures, first page of datasets, stale
-- datasets, SLO statuses, trends: store.TeamAggregates as JSON), so that
-- no page view pays for them: a refresher on one replica at a time
-- recomputes a team's row when a change logged since change_seq (the
-- log's position the row is exact as of) concerns the team and the row
-- is older than the pages' max age (or an SLO of its datasets was
-- evaluated since: that logs no change), and every row after a few
-- minutes whatever the log says (the clock moves figures without it). A
-- team that owns nothing any more loses its row.
CREATE TABLE team_rollups (
    team        text PRIMARY KEY,
    computed_at timestamptz NOT NULL,
    change_seq  bigint NOT NULL,
    payload     jsonb NOT NULL
);
