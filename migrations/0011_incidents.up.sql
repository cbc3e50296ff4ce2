-- Incidents: a dataset broken for one cause (a failing check, a failed
-- run, a breaking schema change, an SLO breach), from opened to resolved.
-- Datasets are named by key, as checks are, so that an incident outlives
-- a dataset's removal as history.
CREATE TABLE incidents (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_namespace text NOT NULL,
    dataset_name      text NOT NULL,
    cause             text NOT NULL CHECK (cause IN ('check_failed', 'run_failed', 'schema_breaking', 'slo_breach')),
    -- which check, job or column; '' when the kind says it all
    cause_key         text NOT NULL DEFAULT '',
    severity          text NOT NULL CHECK (severity IN ('warn', 'error')),
    title             text NOT NULL,
    detail            text NOT NULL DEFAULT '',
    opened_at         timestamptz NOT NULL,
    opened_by         text NOT NULL,
    -- the time of the newest evidence of the cause (the failing result,
    -- the failed run, the schema version), as its source tells it: the
    -- detector does not reopen an incident for evidence no newer
    last_seen_at      timestamptz NOT NULL,
    acknowledged_at   timestamptz,
    acknowledged_by   text NOT NULL DEFAULT '',
    resolved_at       timestamptz,
    resolved_by       text NOT NULL DEFAULT '',
    resolution        text NOT NULL DEFAULT '',
    -- the downstream datasets and their owners when it opened
    impact            jsonb NOT NULL DEFAULT '[]',
    -- the post-incident review: cause, impact, follow-up actions
    review            jsonb
);
-- One open incident per cause: a detector that sees the same failure
-- twice, or two replicas that see it at once, open it once.
CREATE UNIQUE INDEX incidents_one_open ON incidents (dataset_namespace, dataset_name, cause, cause_key)
    WHERE resolved_at IS NULL;
CREATE INDEX incidents_dataset ON incidents (dataset_namespace, dataset_name, id DESC);
CREATE INDEX incidents_resolved ON incidents (resolved_at DESC) WHERE resolved_at IS NOT NULL;

-- The timeline of each incident: opened, acknowledged, resolved, reviewed.
CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('opened', 'acknowledged', 'resolved', 'reviewed')),
    actor       text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

-- How far the incident detector has read the change log, so that a
-- restart neither misses changes nor reads the whole log again.
CREATE TABLE incident_detector (
    singleton bool PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);
