DROP INDEX openlineage_events_failed;
ALTER TABLE openlineage_events DROP COLUMN failed_at;
