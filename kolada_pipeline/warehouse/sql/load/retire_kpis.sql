-- Mark as retired the KPIs Kolada no longer lists (registered relation listed_kpis: every KPI id
-- in Kolada's answer, rejected records included). Returns the ids newly retired.
UPDATE core.kpi SET is_retired = true
WHERE NOT is_retired AND kpi_id NOT IN (SELECT kpi_id FROM listed_kpis)
RETURNING kpi_id
