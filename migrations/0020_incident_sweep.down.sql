DROP INDEX runs_running;
ALTER TABLE incident_detector DROP COLUMN swept_at;
