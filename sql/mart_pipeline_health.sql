-- mart_pipeline_health: every source's every data interval, as BI sees the pipeline.
-- Grain: source_id x interval_key (one etl_batch row), dated by the local day of window_start.
-- quarantine_share = quarantined / (loaded + quarantined); slices = crawled slices (split ones excluded),
-- coverage_ratio = complete slices / slices; errors = number of errors recorded for the batch.
-- {{ json_len(x) }} is a dialect macro (listening.warehouse.render_sql).
-- Parameters: :start_key, :end_key, :built_at.
DELETE FROM mart_pipeline_health WHERE date_key BETWEEN :start_key AND :end_key;

INSERT INTO mart_pipeline_health (
    source_id, interval_key, date_key, window_start, window_end, status, coverage, fetched, parsed, loaded,
    quarantined, quarantine_share, slices, slices_complete, coverage_ratio, errors, attempts, last_loaded_at,
    built_at
)
SELECT
    e.source_id,
    e.interval_key,
    e.date_key,
    e.window_start,
    e.window_end,
    e.status,
    e.coverage,
    e.fetched,
    e.parsed,
    e.loaded,
    e.quarantined,
    CASE WHEN e.loaded + e.quarantined > 0 THEN e.quarantined * 1.0 / (e.loaded + e.quarantined) END,
    COALESCE(c.slices, 0),
    COALESCE(c.slices_complete, 0),
    CASE WHEN c.slices > 0 THEN c.slices_complete * 1.0 / c.slices END,
    COALESCE({{ json_len(e.errors) }}, 0),
    e.attempts,
    e.last_loaded_at,
    :built_at
FROM etl_batch e
LEFT JOIN (
    SELECT
        source_id,
        interval_key,
        SUM(CASE WHEN status <> 'split' THEN 1 ELSE 0 END) AS slices,
        SUM(CASE WHEN status = 'complete' THEN 1 ELSE 0 END) AS slices_complete
    FROM etl_coverage
    GROUP BY source_id, interval_key
) AS c ON c.source_id = e.source_id AND c.interval_key = e.interval_key
WHERE e.date_key BETWEEN :start_key AND :end_key;
