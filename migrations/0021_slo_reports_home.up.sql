-- SLO statuses had two homes: slo_reports (0013), kept by the evaluator
-- (catalog/sloreport) for every dataset it evaluates, and slo_statuses
-- (0017), kept by the incident detector from evaluations of its own, for
-- team pages. slo_reports is now the one home: team pages add up its
-- rows, and the detector judges the reports stored there rather than
-- evaluating again.
--
-- The statuses of datasets the evaluator has not stored move over, as
-- reports of an evaluation that no reader takes as current (seq 0, the
-- digest 'migrated', which no configuration has): readers evaluate such
-- a dataset themselves until the evaluator stores it again.
INSERT INTO slo_evaluations (dataset_id, seq, evaluated_at, declared_hash, anomalies)
SELECT d.id, 0, max(s.evaluated_at), 'migrated', '[]'
FROM slo_statuses s
JOIN datasets d ON d.namespace = s.dataset_namespace AND d.name = s.dataset_name
WHERE NOT EXISTS (SELECT 1 FROM slo_reports r WHERE r.dataset_id = d.id)
GROUP BY d.id
ON CONFLICT (dataset_id) DO UPDATE SET declared_hash = 'migrated', seq = 0;

INSERT INTO slo_reports (dataset_id, ordinal, source, name, kind, status, attainment, error, evaluated_at, slo, report)
SELECT d.id, (row_number() OVER (PARTITION BY d.id ORDER BY s.name, s.source) - 1)::int, s.source, s.name, '',
       s.status, s.attainment, '', s.evaluated_at,
       jsonb_build_object('Name', s.name, 'Source', s.source, 'Spec', jsonb_build_object('Objective', s.objective)),
       jsonb_build_object('Status', s.status, 'Summary', s.summary, 'Attainment', s.attainment)
FROM slo_statuses s
JOIN datasets d ON d.namespace = s.dataset_namespace AND d.name = s.dataset_name
WHERE NOT EXISTS (SELECT 1 FROM slo_reports r WHERE r.dataset_id = d.id);

DROP TABLE slo_statuses;

-- For one release, the previous one keeps reading and writing
-- slo_statuses (a rolling upgrade runs both): a view of slo_reports in
-- its shape, whose writes land in slo_reports. A dataset written through
-- it has its stored evaluation marked not current, so that readers of
-- this release evaluate it themselves until the evaluator stores it
-- again. Migration 0022 or later drops the view and its functions.
CREATE VIEW slo_statuses AS
SELECT d.namespace AS dataset_namespace, d.name AS dataset_name, r.source, r.name, r.status,
       coalesce(r.attainment, 0) AS attainment,
       coalesce((r.slo->'Spec'->>'Objective')::double precision, 0) AS objective,
       coalesce(r.report->>'Summary', '') AS summary, r.evaluated_at
FROM slo_reports r
JOIN datasets d ON d.id = r.dataset_id
WHERE r.status <> 'error';

CREATE FUNCTION slo_statuses_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    SELECT d.id INTO id FROM datasets d WHERE d.namespace = NEW.dataset_namespace AND d.name = NEW.dataset_name;
    IF id IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO slo_evaluations (dataset_id, seq, evaluated_at, declared_hash, anomalies)
    VALUES (id, 0, NEW.evaluated_at, 'migrated', '[]')
    ON CONFLICT (dataset_id) DO UPDATE SET declared_hash = 'migrated', seq = 0;
    IF EXISTS (SELECT 1 FROM slo_reports r WHERE r.dataset_id = id AND r.source = NEW.source AND r.name = NEW.name) THEN
        RETURN NULL; -- slo_statuses' key was (dataset, source, name)
    END IF;
    INSERT INTO slo_reports (dataset_id, ordinal, source, name, kind, status, attainment, error, evaluated_at, slo, report)
    VALUES (id, (SELECT coalesce(max(r.ordinal) + 1, 0) FROM slo_reports r WHERE r.dataset_id = id),
            NEW.source, NEW.name, '', NEW.status, NEW.attainment, '', NEW.evaluated_at,
            jsonb_build_object('Name', NEW.name, 'Source', NEW.source, 'Spec', jsonb_build_object('Objective', NEW.objective)),
            jsonb_build_object('Status', NEW.status, 'Summary', NEW.summary, 'Attainment', NEW.attainment));
    RETURN NEW;
END
$$;

CREATE FUNCTION slo_statuses_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE slo_evaluations e SET declared_hash = 'migrated', seq = 0
    FROM datasets d
    WHERE e.dataset_id = d.id AND d.namespace = OLD.dataset_namespace AND d.name = OLD.dataset_name;
    DELETE FROM slo_reports r USING datasets d
    WHERE r.dataset_id = d.id AND d.namespace = OLD.dataset_namespace AND d.name = OLD.dataset_name
      AND r.source = OLD.source AND r.name = OLD.name;
    RETURN OLD;
END
$$;

CREATE TRIGGER slo_statuses_insert INSTEAD OF INSERT ON slo_statuses FOR EACH ROW EXECUTE FUNCTION slo_statuses_insert();
CREATE TRIGGER slo_statuses_delete INSTEAD OF DELETE ON slo_statuses FOR EACH ROW EXECUTE FUNCTION slo_statuses_delete();

-- The detector reads the reports stored since it last looked, in the
-- order of their evaluation.
CREATE INDEX slo_evaluations_evaluated_id ON slo_evaluations (evaluated_at, dataset_id);
DROP INDEX slo_evaluations_evaluated_at;
