-- Dataset metrics: row counts, sizes and column profiles as runs observe
-- them (OpenLineage's dataQualityMetrics and outputStatistics facets).
-- Append-only history by dataset key, like quality_results: a run may
-- report a dataset no source described. Delivering the same event again
-- records nothing new. Observations older than the OpenLineage retention
-- are pruned with the raw events, the newest of each dataset kept.
CREATE TABLE dataset_metrics (
    namespace      text NOT NULL,
    name           text NOT NULL,
    -- the event time
    observed_at    timestamptz NOT NULL,
    source         text NOT NULL,
    -- 'in' when a run read the dataset, 'out' when it wrote it, '' for an
    -- observation no run made (a dataset event)
    direction      text NOT NULL CHECK (direction IN ('in', 'out', '')),
    run_id         text NOT NULL DEFAULT '',
    job_namespace  text NOT NULL DEFAULT '',
    job_name       text NOT NULL DEFAULT '',
    row_count      bigint CHECK (row_count >= 0),
    bytes          bigint CHECK (bytes >= 0),
    file_count     bigint CHECK (file_count >= 0),
    -- column name -> {nullCount, distinctCount, sum, count, min, max, quantiles}
    column_metrics jsonb NOT NULL DEFAULT '{}',
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, name, observed_at, source, direction, run_id, job_namespace, job_name)
);
CREATE INDEX dataset_metrics_observed ON dataset_metrics (observed_at);
