-- A run that took well over its job's usual time (catalog.LateThreshold)
-- opens an incident of its own cause, run_late.
ALTER TABLE incidents DROP CONSTRAINT incidents_cause_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_cause_check
    CHECK (cause IN ('check_failed', 'run_failed', 'run_late', 'schema_breaking', 'slo_breach'));
