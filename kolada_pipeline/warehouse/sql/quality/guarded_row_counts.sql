-- Row counts of the tables the row-count guard watches (state.GUARDED_TABLES, in that order).
SELECT 'core.kpi_value' AS table_name, count(*) AS row_count FROM core.kpi_value
UNION ALL SELECT 'mart.kpi_followup', count(*) FROM mart.kpi_followup
UNION ALL SELECT 'mart.goal_kpi', count(*) FROM mart.goal_kpi
UNION ALL SELECT 'mart.goal_summary', count(*) FROM mart.goal_summary
