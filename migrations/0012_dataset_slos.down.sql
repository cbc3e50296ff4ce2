DELETE FROM audit_log WHERE field = 'slo';
ALTER TABLE audit_log DROP CONSTRAINT audit_log_field_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_field_check
    CHECK (field IN ('description', 'column_description', 'tag', 'owner'));
DROP TABLE dataset_slos;
