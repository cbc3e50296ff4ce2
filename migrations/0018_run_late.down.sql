DELETE FROM incidents WHERE cause = 'run_late';
ALTER TABLE incidents DROP CONSTRAINT incidents_cause_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_cause_check
    CHECK (cause IN ('check_failed', 'run_failed', 'schema_breaking', 'slo_breach'));
