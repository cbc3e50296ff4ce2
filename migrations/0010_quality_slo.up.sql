-- The value a check measured (a row count, a null fraction, a Great
-- Expectations observed_value), as JSON text; '' when the source reports
-- none. Kept per result so that a check's history can be charted and a
-- relative expectation ("within 10 % of the last 7 runs") judged.
ALTER TABLE quality_results ADD COLUMN observed text NOT NULL DEFAULT '';

-- Retention deletes results older than a cut-off but the newest of each
-- check: it reads them by time.
CREATE INDEX quality_results_started ON quality_results (started_at);
