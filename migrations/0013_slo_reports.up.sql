-- What the dataset page and the API show of a dataset's SLOs and
-- anomalies, kept rather than evaluated on every read. A follower of the
-- change log (catalog/sloreport) re-evaluates a dataset when a change
-- names it or a job writing it, and every few minutes as time passes;
-- readers use the stored evaluation while no newer change names the
-- dataset (seq) and it is recent enough, and evaluate it themselves
-- otherwise.
CREATE TABLE slo_evaluations (
    dataset_id    bigint PRIMARY KEY REFERENCES datasets (id) ON DELETE CASCADE,
    -- The change log sequence the evaluation accounts for: a change of
    -- the dataset or of a job writing it after it makes it stale.
    seq           bigint NOT NULL,
    evaluated_at  timestamptz NOT NULL,
    -- A digest of the configuration's SLOs of the dataset it used: a
    -- reader with other ones (a changed configuration) evaluates itself.
    declared_hash text NOT NULL,
    -- The anomalies found, as JSON (store.Anomaly).
    anomalies     jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX slo_evaluations_evaluated_at ON slo_evaluations (evaluated_at);

-- One row per SLO of an evaluated dataset: the headline numbers as
-- columns, the SLO and the full report (burns, days) as JSON.
CREATE TABLE slo_reports (
    dataset_id       bigint NOT NULL REFERENCES slo_evaluations (dataset_id) ON DELETE CASCADE,
    ordinal          int NOT NULL,
    source           text NOT NULL,
    name             text NOT NULL,
    kind             text NOT NULL,
    status           text NOT NULL, -- ok, at_risk, breached, no_data, or error
    attainment       float8,
    budget_remaining float8,
    burn_fast        float8,
    burn_slow        float8,
    error            text NOT NULL DEFAULT '',
    evaluated_at     timestamptz NOT NULL,
    slo              jsonb NOT NULL,
    report           jsonb NOT NULL,
    PRIMARY KEY (dataset_id, ordinal)
);

-- SLO reports over time: the last evaluation of each SLO on each UTC
-- day, kept for the quality retention, so that attainment and budget can
-- be charted beyond one window.
CREATE TABLE slo_report_days (
    dataset_id       bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source           text NOT NULL,
    name             text NOT NULL,
    day              date NOT NULL,
    kind             text NOT NULL,
    status           text NOT NULL,
    attainment       float8,
    budget_remaining float8,
    good             float8 NOT NULL,
    total            float8 NOT NULL,
    evaluated_at     timestamptz NOT NULL,
    PRIMARY KEY (dataset_id, source, name, day)
);

-- How far the evaluator has read the change log.
CREATE TABLE slo_evaluator (
    singleton bool PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);

-- Readers ask for the newest change of a dataset or job: an index-only
-- backward scan instead of every change of it.
CREATE INDEX change_log_entity_seq ON change_log (entity, entity_id, seq);
DROP INDEX change_log_entity;
