-- An edition's record of which years have data: every (KPI, municipality, year) with a value
-- among the model's ($focus) Kolada KPIs and municipalities (and Riket), for `--diff`'s new years.
SELECT DISTINCT v.kpi_id, v.municipality_id, v.year
FROM core.kpi_value v
WHERE v.value IS NOT NULL
  AND v.kpi_id IN (SELECT kpi_id FROM mart.followed_kpi WHERE focus_municipality_id = $focus)
  AND v.municipality_id IN (SELECT municipality_id FROM mapping.model_municipality
                            WHERE focus_municipality_id = $focus
                            UNION SELECT '0000')
ORDER BY v.kpi_id, v.municipality_id, v.year;
