DROP INDEX dataset_metrics_run;
DROP INDEX runs_recent;
