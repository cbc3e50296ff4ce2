DROP INDEX runs_running;
DROP INDEX slo_statuses_timed;
ALTER TABLE slo_statuses DROP COLUMN kind;
ALTER TABLE incident_detector DROP COLUMN swept_at;
