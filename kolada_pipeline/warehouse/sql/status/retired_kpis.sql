-- KPIs a follow-up model names that Kolada has retired (left out of the marts), with their title.
SELECT r.focus_municipality_id, r.kpi_id, coalesce(k.title, '') AS title
FROM mapping.retired_kpi r
LEFT JOIN core.kpi k USING (kpi_id)
ORDER BY 1, 2;
