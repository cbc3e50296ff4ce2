DROP INDEX quality_results_started;
ALTER TABLE quality_results DROP COLUMN observed;
