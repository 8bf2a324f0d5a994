-- Kolada's own count of municipalities with a value per KPI, year and gender, from the group of
-- all municipalities (registered relation group_rows: that group's data rows). Only well-formed
-- rows count; a malformed one leaves its cell unchecked (the values themselves pass the gate).
CREATE TABLE IF NOT EXISTS staging.kolada_count (
    kpi_id  VARCHAR NOT NULL,
    year    INTEGER NOT NULL,
    gender  VARCHAR NOT NULL,
    count   INTEGER NOT NULL
);
INSERT INTO staging.kolada_count
SELECT kpi_id, year, gender, max(count)
FROM group_rows
WHERE problem IS NULL AND count IS NOT NULL AND count > 0 AND NOT is_deleted
  AND regexp_full_match(kpi_id, '[NU]\d{5}') AND year IS NOT NULL AND gender IN ('T', 'K', 'M')
GROUP BY ALL;
