-- API tokens: personal ones that act as their owner (their role, at most
-- the token's scopes) and service ones, owned by nobody, that producers
-- such as Airflow, Spark and dbt post lineage with. Only the SHA-256 hash
-- of a token's secret is kept; the secret is shown once, at creation.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash         bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    name         text NOT NULL CHECK (name <> ''),
    -- the login the token acts as; '' for a service token
    owner        text NOT NULL DEFAULT '',
    -- the role it acts with: its owner's when it was created
    role         text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0
                     AND scopes <@ ARRAY['read', 'write', 'lineage:write']),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   text NOT NULL DEFAULT ''
);
-- A name says which token is which: one live token of each name per owner,
-- and so one service principal "token:<name>" at a time.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (owner, lower(name)) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_owner ON api_tokens (owner, created_at DESC);
