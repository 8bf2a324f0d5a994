-- The tables kolada status lists (those this warehouse has), in the order data flows: Kolada's
-- data, the quarantine, then every published table.
SELECT schema_name || '.' || table_name AS name
FROM duckdb_tables()
WHERE (schema_name = 'core' AND table_name IN ('kpi', 'municipality', 'kpi_value', 'kpi_value_revision'))
   OR (schema_name = 'meta' AND table_name = 'rejected_row')
   OR schema_name = 'mart'
ORDER BY CASE schema_name WHEN 'core' THEN 1 WHEN 'meta' THEN 2 ELSE 3 END,
         CASE table_name WHEN 'kpi' THEN 1 WHEN 'municipality' THEN 2 WHEN 'kpi_value' THEN 3
                         WHEN 'kpi_followup' THEN 1 WHEN 'goal_kpi' THEN 2 WHEN 'goal_summary' THEN 3 ELSE 9 END,
         table_name
