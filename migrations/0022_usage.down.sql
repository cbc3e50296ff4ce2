DROP TABLE dataset_popularity;
DROP TABLE query_reads;
DROP TABLE query_stats;
