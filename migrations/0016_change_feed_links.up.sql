-- The change feed tells tools what changed, not only that something did:
-- each change log entry may carry its field changes (documentation,
-- owners, tags, columns, links) as a JSON array of
-- {"field", "column", "before", "after"}; NULL when the entry says no
-- more than its kind (a run, a quality result, lineage).
ALTER TABLE change_log ADD COLUMN details jsonb;
-- Readers of the feed filtered to a kind of change or of entity continue
-- from a sequence; without these a rare one scans the whole log after it.
CREATE INDEX change_log_kind_seq ON change_log (kind, seq);
CREATE INDEX change_log_feed_entity_seq ON change_log (entity, seq);

-- Links from a dataset to where its work is tracked or documented
-- elsewhere (a runbook, a dashboard, a ticket board), added by its
-- owners. Only http and https URLs are stored; the store validates them.
CREATE TABLE dataset_links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    title       text NOT NULL CHECK (title <> '' AND length(title) <= 200),
    url         text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    added_by    text NOT NULL,
    added_at    timestamptz NOT NULL,
    UNIQUE (dataset_id, url)
);

-- Adding and removing a link are edits like any other: the audit log
-- records them, before and after as "title <url>".
ALTER TABLE audit_log DROP CONSTRAINT audit_log_field_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_field_check
    CHECK (field IN ('description', 'column_description', 'tag', 'owner', 'slo', 'link'));
