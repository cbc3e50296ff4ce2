DROP TABLE IF EXISTS change_log, crawl_runs, sources, schema_versions, tags, owners, foreign_keys, columns, dataset_facts, datasets;
DROP FUNCTION IF EXISTS change_log_notify();
