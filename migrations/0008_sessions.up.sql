-- Sign-in sessions, shared by every replica through the database. The
-- browser holds a random opaque id in a cookie; the table holds only its
-- SHA-256, so that a copy of the table (a backup, a replica) signs nobody
-- in. A session ends at the first of: idle too long (last_seen), past its
-- absolute expiry (expires_at), revoked (signed out, or ended by its owner
-- or an admin).
CREATE TABLE sessions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    login       text NOT NULL CHECK (login <> ''),
    name        text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    groups      text[] NOT NULL DEFAULT '{}',
    role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    user_agent  text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_login ON sessions (lower(login), created_at DESC);
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;

-- Sign-ins under way: between the redirect to the identity provider and
-- its answer at /auth/callback. The browser holds the state in a cookie;
-- the row, keyed by the state's SHA-256, holds the nonce and the PKCE
-- verifier, and is deleted when the answer comes, so that an answer is
-- taken once, by any replica.
CREATE TABLE login_attempts (
    state_hash  bytea PRIMARY KEY CHECK (length(state_hash) = 32),
    nonce       text NOT NULL,
    verifier    text NOT NULL,
    return_to   text NOT NULL DEFAULT '/',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX login_attempts_expires ON login_attempts (expires_at);
