-- Row counts of the tables kolada status lists, in the order data flows.
SELECT 'core.kpi' AS table_name, count(*) AS row_count FROM core.kpi
UNION ALL SELECT 'core.municipality', count(*) FROM core.municipality
UNION ALL SELECT 'core.kpi_value', count(*) FROM core.kpi_value
UNION ALL SELECT 'core.kpi_value_revision', count(*) FROM core.kpi_value_revision
UNION ALL SELECT 'meta.rejected_row', count(*) FROM meta.rejected_row
UNION ALL SELECT 'mart.kpi_followup', count(*) FROM mart.kpi_followup
UNION ALL SELECT 'mart.goal_kpi', count(*) FROM mart.goal_kpi
UNION ALL SELECT 'mart.goal_summary', count(*) FROM mart.goal_summary;
