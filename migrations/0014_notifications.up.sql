-- Notifications: who follows what, how far the notifier has read the
-- change log, and the deliveries that failed for good. The queue of
-- deliveries itself is River's (river_job), migrated by rivermigrate after
-- these files.

-- A person follows a dataset (namespace, name), a team (name) or a saved
-- search (name is the query), and hears of it on one of the configured
-- channels.
CREATE TABLE follows (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login      text NOT NULL CHECK (login <> ''),
    kind       text NOT NULL CHECK (kind IN ('dataset', 'team', 'search')),
    namespace  text NOT NULL DEFAULT '' CHECK ((kind = 'dataset') = (namespace <> '')),
    name       text NOT NULL CHECK (name <> ''),
    channel    text NOT NULL CHECK (channel <> ''),
    created_at timestamptz NOT NULL,
    UNIQUE (login, kind, namespace, name)
);
-- Who follows a target: what a fan-out asks for every event.
CREATE INDEX follows_target ON follows (kind, namespace, name);

-- How far the notifier has read the change log. Replicas take this row
-- FOR UPDATE while they enqueue a batch, so each change is fanned out
-- once.
CREATE TABLE notifier (
    singleton bool PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);

-- Deliveries given up on: refused by the receiver (4xx: failed, never
-- retried) or still failing after the last attempt (5xx, timeout,
-- receiver down: dead). The admins' dead-letter view lists them.
CREATE TABLE notification_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint NOT NULL,
    channel     text NOT NULL,
    recipient   text NOT NULL DEFAULT '',
    event       text NOT NULL,
    namespace   text NOT NULL DEFAULT '',
    name        text NOT NULL DEFAULT '',
    incident_id bigint,
    status      text NOT NULL CHECK (status IN ('failed', 'dead')),
    attempts    int NOT NULL,
    http_status int,
    error       text NOT NULL,
    body        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    UNIQUE (job_id)
);
CREATE INDEX notification_failures_at ON notification_failures (id DESC);
