DROP INDEX dataset_metrics_run;
DROP INDEX runs_failed;
DROP INDEX runs_recent;
