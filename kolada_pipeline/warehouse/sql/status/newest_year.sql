-- The newest year each followed KPI has a value in, and how many municipalities have one then.
SELECT v.kpi_id,
       coalesce(k.title, '') AS title,
       max(v.year) AS newest_year,
       count(DISTINCT v.municipality_id) FILTER (WHERE v.year = newest.year AND m.type = 'K') AS municipalities_that_year
FROM core.kpi_value v
JOIN (SELECT kpi_id, max(year) AS year FROM core.kpi_value GROUP BY kpi_id) newest USING (kpi_id)
LEFT JOIN core.kpi k USING (kpi_id)
LEFT JOIN core.municipality m USING (municipality_id)
GROUP BY v.kpi_id, k.title
ORDER BY newest_year DESC, v.kpi_id;
