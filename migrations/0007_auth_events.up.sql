-- Security events an admin reviews beside the edit history: sign-ins that
-- succeeded and failed, sign-outs, sessions ended, API tokens created, used
-- and revoked, role changes, requests refused for want of a right. Written
-- by the request that causes them; never updated.
CREATE TABLE auth_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CHECK (kind IN (
                    'login', 'logout', 'session_revoked',
                    'token_created', 'token_used', 'token_revoked',
                    'role_changed', 'access_denied')),
    outcome     text NOT NULL CHECK (outcome IN ('success', 'failure')),
    -- who acted: a login, "token:<id>" for a token without a person, or ''
    -- when nobody could be identified (a failed sign-in)
    actor       text NOT NULL DEFAULT '',
    -- what it was done to: the session's owner, the token's name, the
    -- user whose role changed; '' when it is the actor
    subject     text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT ''
);
CREATE INDEX auth_events_at ON auth_events (at DESC, id DESC);
CREATE INDEX auth_events_actor ON auth_events (lower(actor), at DESC);
