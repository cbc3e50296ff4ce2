DROP TRIGGER slo_statuses_insert ON slo_statuses;
DROP TRIGGER slo_statuses_delete ON slo_statuses;
DROP FUNCTION slo_statuses_insert();
DROP FUNCTION slo_statuses_delete();
DROP VIEW slo_statuses;

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
INSERT INTO slo_statuses
SELECT d.namespace, d.name, r.source, r.name, r.status, coalesce(r.attainment, 0),
       coalesce((r.slo->'Spec'->>'Objective')::double precision, 0), coalesce(r.report->>'Summary', ''), r.evaluated_at
FROM slo_reports r JOIN datasets d ON d.id = r.dataset_id
WHERE r.status IN ('ok', 'at_risk', 'breached', 'no_data')
ON CONFLICT DO NOTHING;

CREATE INDEX slo_evaluations_evaluated_at ON slo_evaluations (evaluated_at);
DROP INDEX slo_evaluations_evaluated_id;
