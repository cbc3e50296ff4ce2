-- Datasets are keyed by (namespace, name) following the OpenLineage naming
-- conventions. What each source says about a dataset lives in the *_facts
-- tables beside it, one row set per source, so that a crawl replaces only
-- its own source's facts.
CREATE TABLE datasets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace   text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- set when no source reports the dataset any more (soft delete)
    removed_at  timestamptz,
    UNIQUE (namespace, name)
);

CREATE TABLE dataset_facts (
    dataset_id    bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source        text NOT NULL,
    platform      text NOT NULL DEFAULT '',
    kind          text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    definition    text NOT NULL DEFAULT '',
    row_estimate  bigint,
    size_bytes    bigint,
    partition_key text NOT NULL DEFAULT '',
    partitions    jsonb NOT NULL DEFAULT '[]',
    properties    jsonb NOT NULL DEFAULT '{}',
    -- sha-256 of everything the source asserted, so that an unchanged
    -- crawl can skip the dataset without reading its facts back
    content_hash  bytea NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    removed_at    timestamptz,
    PRIMARY KEY (dataset_id, source)
);
CREATE INDEX dataset_facts_source ON dataset_facts (source);

CREATE TABLE columns (
    dataset_id   bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source       text NOT NULL,
    name         text NOT NULL,
    ordinal      integer NOT NULL DEFAULT 0,
    data_type    text NOT NULL DEFAULT '',
    nullable     boolean NOT NULL DEFAULT true,
    default_expr text NOT NULL DEFAULT '',
    description  text NOT NULL DEFAULT '',
    primary_key  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dataset_id, source, name)
);

CREATE TABLE foreign_keys (
    dataset_id       bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source           text NOT NULL,
    name             text NOT NULL,
    columns          text[] NOT NULL,
    target_namespace text NOT NULL,
    target_name      text NOT NULL,
    target_columns   text[] NOT NULL,
    PRIMARY KEY (dataset_id, source, name)
);
CREATE INDEX foreign_keys_target ON foreign_keys (target_namespace, target_name);

CREATE TABLE owners (
    dataset_id     bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source         text NOT NULL,
    owner          text NOT NULL,
    owner_kind     text NOT NULL CHECK (owner_kind IN ('user', 'team', 'role')),
    ownership_type text NOT NULL DEFAULT '',
    PRIMARY KEY (dataset_id, source, owner, ownership_type)
);
CREATE INDEX owners_owner ON owners (owner);

CREATE TABLE tags (
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    source     text NOT NULL,
    tag        text NOT NULL,
    PRIMARY KEY (dataset_id, source, tag)
);
CREATE INDEX tags_tag ON tags (tag);

-- A new version whenever a source reports different columns for a dataset.
CREATE TABLE schema_versions (
    dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    source      text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    columns     jsonb NOT NULL,
    diff        jsonb NOT NULL,
    PRIMARY KEY (dataset_id, version)
);

-- Sources as configured; crawl runs name them.
CREATE TABLE sources (
    name       text PRIMARY KEY,
    type       text NOT NULL,
    namespace  text NOT NULL DEFAULT '',
    schedule   text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE crawl_runs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    counts      jsonb NOT NULL DEFAULT '{}',
    errors      jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX crawl_runs_source ON crawl_runs (source, started_at DESC);

-- The change log every derived view (search index, SLOs, webhooks) follows.
-- Writers append under an advisory lock held to commit, so sequences become
-- visible in order and a reader that remembers the last one it applied
-- never skips an entry.
CREATE TABLE change_log (
    seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity    text NOT NULL,
    entity_id bigint NOT NULL,
    namespace text NOT NULL DEFAULT '',
    name      text NOT NULL DEFAULT '',
    kind      text NOT NULL,
    source    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_log_entity ON change_log (entity, entity_id);

CREATE FUNCTION change_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('almanac_changes', (SELECT max(seq)::text FROM new_rows));
    RETURN NULL;
END
$$;

CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_notify();

