DROP TABLE dataset_metrics;
