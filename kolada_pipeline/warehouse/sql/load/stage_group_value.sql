-- Kolada's own values for municipality groups (registered relation group_rows: the data rows of
-- the groups asked for) into staging.group_value. Only well-formed group rows count, and a row
-- already staged (the group of all municipalities comes in two passes) is not staged again.
INSERT INTO staging.group_value
SELECT kpi_id, municipality_id, year, gender, any_value(value), max(count)
FROM group_rows r
WHERE problem IS NULL AND count IS NOT NULL AND count > 0 AND NOT is_deleted
  AND regexp_full_match(kpi_id, '[NU]\d{5}') AND year IS NOT NULL AND gender IN ('T', 'K', 'M')
  AND municipality_id LIKE 'G%'
  AND NOT EXISTS (
      SELECT 1 FROM staging.group_value g
      WHERE g.kpi_id = r.kpi_id AND g.group_id = r.municipality_id AND g.year = r.year AND g.gender = r.gender)
GROUP BY kpi_id, municipality_id, year, gender;
