-- SLOs people declare on a dataset through GraphQL, beside those of the
-- configuration and those harvested from sources. Each is kept as the
-- declaration its editor wrote (the keys of the configuration's slos
-- items: kind, objective, window, max_age…), so that it is evaluated by
-- the same code as every other SLO. Its source is "user:<login>" of who
-- wrote it last; a name is unique among the dataset's people's SLOs.
CREATE TABLE dataset_slos (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name <> ''),
    source      text NOT NULL CHECK (source LIKE 'user:%'),
    declaration jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    UNIQUE (dataset_id, name)
);

-- Creating, changing and deleting an SLO are edits like any other: the
-- audit log records them, before and after as the declaration's JSON.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_field_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_field_check
    CHECK (field IN ('description', 'column_description', 'tag', 'owner', 'slo'));
