DELETE FROM audit_log WHERE field = 'link';
ALTER TABLE audit_log DROP CONSTRAINT audit_log_field_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_field_check
    CHECK (field IN ('description', 'column_description', 'tag', 'owner', 'slo'));
DROP TABLE dataset_links;
DROP INDEX change_log_kind_seq;
DROP INDEX change_log_feed_entity_seq;
ALTER TABLE change_log DROP COLUMN details;
