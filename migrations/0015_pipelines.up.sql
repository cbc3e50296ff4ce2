-- The pipeline pages: /runs lists the newest runs of every job, /jobs
-- orders jobs by how many of their runs failed, and a run's page reads
-- what the run measured of its datasets.
CREATE INDEX runs_recent ON runs (state_at DESC, run_id);
CREATE INDEX runs_failed ON runs (job_id) WHERE state IN ('FAIL', 'ABORT');
CREATE INDEX dataset_metrics_run ON dataset_metrics (run_id) WHERE run_id <> '';
