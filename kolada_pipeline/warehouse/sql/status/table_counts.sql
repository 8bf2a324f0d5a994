-- Row counts of the tables kolada status lists, in the order data flows.
SELECT 'core.kpi' AS table_name, count(*) AS row_count FROM core.kpi
UNION ALL SELECT 'core.municipality', count(*) FROM core.municipality
UNION ALL SELECT 'core.kpi_value', count(*) FROM core.kpi_value
UNION ALL SELECT 'core.kpi_value_revision', count(*) FROM core.kpi_value_revision
UNION ALL SELECT 'meta.rejected_row', count(*) FROM meta.rejected_row
UNION ALL SELECT 'mart.kpi_followup', count(*) FROM mart.kpi_followup
UNION ALL SELECT 'mart.goal_kpi', count(*) FROM mart.goal_kpi
UNION ALL SELECT 'mart.goal_summary', count(*) FROM mart.goal_summary
UNION ALL SELECT 'mart.kpi_group_comparison', count(*) FROM mart.kpi_group_comparison
UNION ALL SELECT 'mart.indicator_followup', count(*) FROM mart.indicator_followup
UNION ALL SELECT 'mart.objective_followup', count(*) FROM mart.objective_followup
UNION ALL SELECT 'mart.assignment_followup', count(*) FROM mart.assignment_followup
UNION ALL SELECT 'mart.unit_summary', count(*) FROM mart.unit_summary
UNION ALL SELECT 'mart.goal_followup', count(*) FROM mart.goal_followup;
