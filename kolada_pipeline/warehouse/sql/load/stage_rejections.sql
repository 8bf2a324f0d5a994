-- Quarantine value rows the boundary gate refused into the run's staging (registered relation
-- rejected; parameters $run_id, $now). They move to meta.rejected_row when the fetch completes
-- (load/keep_rejections.sql), so an attempt that fails halfway leaves none behind.
INSERT INTO staging.rejected_row
SELECT $run_id, kpi_id, municipality_id, year, gender, failed_check, reason, raw, source_url, $now
FROM rejected
