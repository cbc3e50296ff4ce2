CREATE INDEX change_log_entity ON change_log (entity, entity_id);
DROP INDEX change_log_entity_seq;
DROP TABLE slo_evaluator;
DROP TABLE slo_report_days;
DROP TABLE slo_reports;
DROP TABLE slo_evaluations;
