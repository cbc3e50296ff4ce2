DROP FUNCTION run_supersedes;
DROP TABLE dataset_aliases;
DROP TABLE column_lineage;
DROP TABLE runs;
DROP TABLE openlineage_events;
