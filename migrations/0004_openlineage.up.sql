-- OpenLineage: raw events as received, runs of jobs, column lineage and
-- dataset aliases. Dataset-level lineage stays in job_io (0003).

-- Every event accepted by POST /api/v1/lineage, kept as received for
-- replay and debugging, then derived into catalog facts by a worker.
-- Processed events older than the configured retention are deleted.
CREATE TABLE openlineage_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- sha-256 of the body: a duplicate delivery is stored once
    digest        bytea NOT NULL UNIQUE,
    event_kind    text NOT NULL CHECK (event_kind IN ('run', 'dataset', 'job')),
    event_type    text NOT NULL DEFAULT '',
    event_time    timestamptz NOT NULL,
    run_id        text NOT NULL DEFAULT '',
    job_namespace text NOT NULL DEFAULT '',
    job_name      text NOT NULL DEFAULT '',
    body          json NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    -- why deriving facts from the event failed, if it did
    error         text NOT NULL DEFAULT ''
);
CREATE INDEX openlineage_events_pending ON openlineage_events (id) WHERE processed_at IS NULL;
CREATE INDEX openlineage_events_received ON openlineage_events (received_at);
CREATE INDEX openlineage_events_run ON openlineage_events (run_id) WHERE run_id <> '';

-- Runs of jobs. Events may arrive in any order: a terminal state (COMPLETE,
-- FAIL, ABORT) is never replaced by START or RUNNING.
CREATE TABLE runs (
    run_id               text PRIMARY KEY,
    job_id               bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source               text NOT NULL,
    state                text NOT NULL CHECK (state IN ('START', 'RUNNING', 'COMPLETE', 'FAIL', 'ABORT', 'OTHER')),
    state_at             timestamptz NOT NULL,
    started_at           timestamptz,
    ended_at             timestamptz,
    error_message        text NOT NULL DEFAULT '',
    parent_run_id        text NOT NULL DEFAULT '',
    parent_job_namespace text NOT NULL DEFAULT '',
    parent_job_name      text NOT NULL DEFAULT '',
    nominal_start        timestamptz,
    nominal_end          timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_job ON runs (job_id, state_at DESC);
CREATE INDEX runs_parent ON runs (parent_run_id) WHERE parent_run_id <> '';

-- Column lineage: output column <- input column, by dataset key like
-- job_io. column_name '' stands for the whole output dataset.
CREATE TABLE column_lineage (
    source                 text NOT NULL,
    namespace              text NOT NULL,
    name                   text NOT NULL,
    column_name            text NOT NULL,
    input_namespace        text NOT NULL,
    input_name             text NOT NULL,
    input_column           text NOT NULL,
    transformation_type    text NOT NULL DEFAULT '',
    transformation_subtype text NOT NULL DEFAULT '',
    description            text NOT NULL DEFAULT '',
    masking                boolean NOT NULL DEFAULT false,
    updated_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name, source, column_name, input_namespace, input_name, input_column,
                 transformation_type, transformation_subtype)
);
CREATE INDEX column_lineage_input ON column_lineage (input_namespace, input_name, input_column);

-- Other keys of a dataset (OpenLineage symlinks), per source like owners.
CREATE TABLE dataset_aliases (
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source     text NOT NULL,
    namespace  text NOT NULL,
    name       text NOT NULL,
    type       text NOT NULL DEFAULT '',
    PRIMARY KEY (dataset_id, source, namespace, name)
);
CREATE INDEX dataset_aliases_alias ON dataset_aliases (namespace, name);

-- run_supersedes says whether an event setting new_state at new_at
-- replaces a run's state: terminal states beat START and RUNNING whatever
-- the order of arrival, then the later event wins (catalog.Run.Supersedes).
CREATE FUNCTION run_supersedes(old_state text, old_at timestamptz, new_state text, new_at timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE WHEN new_state IN ('COMPLETE', 'FAIL', 'ABORT') THEN 2 WHEN new_state IN ('START', 'RUNNING') THEN 1 ELSE 0 END,
            new_at)
        >= (CASE WHEN old_state IN ('COMPLETE', 'FAIL', 'ABORT') THEN 2 WHEN old_state IN ('START', 'RUNNING') THEN 1 ELSE 0 END,
            old_at)
$$;
