-- The incident detector's sweep (catalog/incident) judges what time
-- alone changes: runs still running past their job's usual time.
--
-- swept_at is when a replica last claimed the sweep, so that of several
-- serve processes sharing the database one sweeps each interval.
ALTER TABLE incident_detector ADD COLUMN swept_at timestamptz;

-- Runs not ended: the sweep's candidates for a run running late.
CREATE INDEX runs_running ON runs (job_id) WHERE state IN ('START', 'RUNNING');
