-- People's edits (descriptions, tags, owners) as an audit history: who
-- changed which field of which dataset, when, from what to what. Each entry
-- is written in the transaction of the edit it records.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    field       text NOT NULL CHECK (field IN ('description', 'column_description', 'tag', 'owner')),
    column_name text NOT NULL DEFAULT '',
    -- NULL when the value was absent before (an added tag) or after (a
    -- removed owner)
    before      text,
    after       text
);
CREATE INDEX audit_log_dataset ON audit_log (dataset_id, id DESC);

