-- The tables the marts are built from: every table in core and mapping, in name order.
SELECT schema_name || '.' || table_name AS name
FROM duckdb_tables()
WHERE database_name = current_database() AND schema_name IN ('core', 'mapping')
ORDER BY name
