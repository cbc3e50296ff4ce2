-- Usage and popularity (catalog/usage.go). query_stats keeps one snapshot
-- per crawl of each statement that pg_stat_statements counted, with its
-- cumulative calls and the calls since the previous snapshot (reads,
-- reset-aware), so that "queries in 30 days" sums deltas. query_reads says
-- which datasets each statement reads. dataset_popularity is the score
-- that the home page's popular order and search ranking read, refreshed
-- when usage is ingested.
CREATE TABLE query_stats (
    source text NOT NULL,
    namespace text NOT NULL,
    database text NOT NULL,
    queryid bigint NOT NULL,
    role text NOT NULL,
    query text NOT NULL,
    calls bigint NOT NULL CHECK (calls >= 0),
    reads bigint NOT NULL CHECK (reads >= 0),
    stats_reset timestamptz,
    observed_at timestamptz NOT NULL,
    PRIMARY KEY (source, namespace, database, queryid, role, observed_at)
);
CREATE INDEX query_stats_database ON query_stats (namespace, database, observed_at);

CREATE TABLE query_reads (
    source text NOT NULL,
    namespace text NOT NULL,
    database text NOT NULL,
    queryid bigint NOT NULL,
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    PRIMARY KEY (source, namespace, database, queryid, dataset_id)
);
CREATE INDEX query_reads_dataset ON query_reads (dataset_id);

CREATE TABLE dataset_popularity (
    dataset_id bigint PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
    jobs integer NOT NULL,
    runs bigint NOT NULL,
    queries bigint NOT NULL,
    score double precision NOT NULL,
    computed_at timestamptz NOT NULL
);
CREATE INDEX dataset_popularity_score ON dataset_popularity (score DESC);
