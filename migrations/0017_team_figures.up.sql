-- Team pages (issue 14 item 3) add up, per owning team, figures the
-- catalog already holds. Two are not in it as rows:
--
-- slo_statuses is each SLO as the incident detector last judged it
-- (catalog/incident evaluates the SLOs of every dataset whose
-- observations changed), so that a team's SLO attainment is one
-- aggregate rather than an evaluation of every SLO of every dataset per
-- page view. The detector replaces a dataset's rows whenever it
-- evaluates the dataset's SLOs.
CREATE TABLE slo_statuses (
    dataset_namespace text NOT NULL,
    dataset_name      text NOT NULL,
    source            text NOT NULL,
    name              text NOT NULL,
    status            text NOT NULL CHECK (status IN ('ok', 'at_risk', 'breached', 'no_data')),
    attainment        double precision NOT NULL,
    objective         double precision NOT NULL,
    summary           text NOT NULL DEFAULT '',
    evaluated_at      timestamptz NOT NULL,
    PRIMARY KEY (dataset_namespace, dataset_name, source, name)
);

-- team_snapshots keeps, per team and day, the figures that have no
-- history of their own (documentation coverage, SLOs met, size), so that
-- a team health report can say how they changed since the previous week
-- or month. The detector records one row per team per day.
CREATE TABLE team_snapshots (
    team               text NOT NULL,
    day                date NOT NULL,
    datasets           integer NOT NULL,
    described_datasets integer NOT NULL,
    columns            integer NOT NULL,
    described_columns  integer NOT NULL,
    slos               integer NOT NULL,
    slos_met           integer NOT NULL,
    row_count          bigint NOT NULL,
    bytes              bigint NOT NULL,
    PRIMARY KEY (team, day)
);

-- A team's datasets, read from the owner index without visiting the
-- owners of people and roles.
CREATE INDEX owners_team ON owners (owner, dataset_id) WHERE owner_kind = 'team';

-- Open incidents per dataset: a team's count probes only the open ones.
CREATE INDEX incidents_open ON incidents (dataset_namespace, dataset_name) WHERE resolved_at IS NULL;
