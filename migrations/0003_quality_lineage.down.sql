DROP TABLE freshness_observations;
DROP TABLE quality_results;
DROP TABLE quality_checks;
DROP TABLE job_io;
DROP TABLE job_facts;
DROP TABLE jobs;
