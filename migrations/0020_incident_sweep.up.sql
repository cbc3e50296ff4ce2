-- The incident detector's sweep (catalog/incident) judges what time
-- alone changes: SLOs of freshness and on-time delivery breached because
-- nothing arrived, and runs still running past their job's usual time.
--
-- swept_at is when a replica last claimed the sweep, so that of several
-- serve processes sharing the database one sweeps each interval.
ALTER TABLE incident_detector ADD COLUMN swept_at timestamptz;

-- kind is the SLO's kind (slo.Kind), so that the sweep re-evaluates only
-- the datasets with an SLO that time can breach; '' for statuses recorded
-- before it was kept, which the sweep evaluates once to learn it.
ALTER TABLE slo_statuses ADD COLUMN kind text NOT NULL DEFAULT '';
CREATE INDEX slo_statuses_timed ON slo_statuses (kind) WHERE kind IN ('', 'freshness', 'on_time');

-- Runs not ended: the sweep's candidates for a run running late.
CREATE INDEX runs_running ON runs (job_id) WHERE state IN ('START', 'RUNNING');
