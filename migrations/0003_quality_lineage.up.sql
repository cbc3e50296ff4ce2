-- Jobs and the lineage derived from them, following OpenLineage: a job
-- reads input datasets and writes output datasets, so dataset-level
-- lineage is input → job → output. Jobs are keyed like datasets, by
-- (namespace, name); what each source says about a job lives in job_facts
-- and job_io, one row set per source, replaced by that source's next crawl.
-- Runs and column lineage will hang off jobs.id.
CREATE TABLE jobs (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace  text NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (namespace, name)
);

CREATE TABLE job_facts (
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source       text NOT NULL,
    type         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    sql          text NOT NULL DEFAULT '',
    compiled_sql text NOT NULL DEFAULT '',
    properties   jsonb NOT NULL DEFAULT '{}',
    content_hash bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- set when a complete crawl of the source stopped reporting the job;
    -- its inputs and outputs stay, as history
    removed_at   timestamptz,
    PRIMARY KEY (job_id, source)
);
CREATE INDEX job_facts_source ON job_facts (source);

-- The datasets a job reads (in) and writes (out), by key rather than by
-- dataset id: a job may name a dataset no source has described yet.
CREATE TABLE job_io (
    job_id    bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source    text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('in', 'out')),
    namespace text NOT NULL,
    name      text NOT NULL,
    PRIMARY KEY (job_id, source, direction, namespace, name)
);
CREATE INDEX job_io_dataset ON job_io (namespace, name, direction);

-- Data-quality checks as each source defines them (dbt tests…), keyed by
-- the source and the check's name in it.
CREATE TABLE quality_checks (
    source            text NOT NULL,
    name              text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name      text NOT NULL,
    column_name       text NOT NULL DEFAULT '',
    type              text NOT NULL DEFAULT '',
    severity          text NOT NULL DEFAULT '',
    definition        text NOT NULL DEFAULT '',
    properties        jsonb NOT NULL DEFAULT '{}',
    content_hash      bytea NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    removed_at        timestamptz,
    PRIMARY KEY (source, name)
);
CREATE INDEX quality_checks_dataset ON quality_checks (dataset_namespace, dataset_name);

-- Outcomes of checks: append-only history, one row per check and run.
CREATE TABLE quality_results (
    source            text NOT NULL,
    check_name        text NOT NULL,
    run_id            text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name      text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pass', 'fail', 'warn', 'error', 'skipped')),
    failures          bigint,
    message           text NOT NULL DEFAULT '',
    started_at        timestamptz NOT NULL,
    duration          interval NOT NULL DEFAULT '0',
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, check_name, run_id)
);
CREATE INDEX quality_results_check ON quality_results (source, check_name, started_at DESC);
CREATE INDEX quality_results_dataset ON quality_results (dataset_namespace, dataset_name, started_at DESC);

-- Freshness observations (dbt source freshness…): append-only history.
CREATE TABLE freshness_observations (
    source            text NOT NULL,
    dataset_namespace text NOT NULL,
    dataset_name      text NOT NULL,
    observed_at       timestamptz NOT NULL,
    max_loaded_at     timestamptz,
    status            text NOT NULL CHECK (status IN ('pass', 'warn', 'error', 'runtime error')),
    warn_after        text NOT NULL DEFAULT '',
    error_after       text NOT NULL DEFAULT '',
    criteria          text NOT NULL DEFAULT '',
    message           text NOT NULL DEFAULT '',
    run_id            text NOT NULL DEFAULT '',
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, dataset_namespace, dataset_name, observed_at)
);
CREATE INDEX freshness_observations_dataset ON freshness_observations (dataset_namespace, dataset_name, observed_at DESC);
