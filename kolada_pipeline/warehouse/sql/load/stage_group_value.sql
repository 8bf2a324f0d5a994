-- Kolada's own values for municipality groups (registered relation group_rows: the data rows of
-- the groups asked for) into staging.group_value. Only well-formed group rows count, and the first
-- answer for a cell is kept (a cell repeated on a later page, or by a retried request, is ignored).
INSERT OR IGNORE INTO staging.group_value
SELECT kpi_id, municipality_id, year, gender, any_value(value), max(count)
FROM group_rows
WHERE problem IS NULL AND count IS NOT NULL AND count > 0 AND NOT is_deleted
  AND regexp_full_match(kpi_id, '[NU]\d{5}') AND year IS NOT NULL AND gender IN ('T', 'K', 'M')
  AND municipality_id LIKE 'G%'
GROUP BY kpi_id, municipality_id, year, gender;
