-- Kolada KPIs a model follows for which the warehouse holds no value at all for the focus or its
-- peers: the model's rows for them stay empty (a KPI published for regions only, a series that
-- ended, a unit that does not report it). Reported by the refresh summary and kolada status.
SELECT f.focus_municipality_id, f.kpi_id, f.kpi_title
FROM mart.followed_kpi f
WHERE NOT f.is_local
  AND NOT EXISTS (
      SELECT 1 FROM core.kpi_value v
      JOIN mapping.model_municipality m
        ON m.municipality_id = v.municipality_id AND m.focus_municipality_id = f.focus_municipality_id
       AND m.role IN ('focus', 'peer')
      WHERE v.kpi_id = f.kpi_id)
ORDER BY f.focus_municipality_id, f.kpi_id
