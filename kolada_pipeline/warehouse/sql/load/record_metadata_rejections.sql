-- Quarantine metadata records the boundary gate refused (registered relation rejected;
-- parameters $run_id, $now).
INSERT INTO meta.rejected_row
SELECT $run_id, kpi_id, municipality_id, year, gender, failed_check, reason, raw, source_url, $now
FROM rejected
