-- An OpenLineage event that the store refuses on its own, every time, is
-- marked failed (processed, with its error) instead of holding up every
-- event received after it. Nothing of a failed event was applied, unlike
-- a processed event whose error names only the parts that were dropped.
ALTER TABLE openlineage_events ADD COLUMN failed_at timestamptz;
CREATE INDEX openlineage_events_failed ON openlineage_events (id) WHERE failed_at IS NOT NULL;
