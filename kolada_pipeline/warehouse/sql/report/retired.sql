-- KPIs the model ($focus) names that Kolada has retired. Retired KPIs are no longer in Kolada's
-- metadata, so core.kpi usually has no title for them.
SELECT r.kpi_id, k.title
FROM mapping.retired_kpi r
LEFT JOIN core.kpi k ON k.kpi_id = r.kpi_id
WHERE r.focus_municipality_id = $focus
ORDER BY r.kpi_id;
