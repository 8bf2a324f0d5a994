-- Every table in the warehouse, as schema.table.
SELECT schema_name || '.' || table_name AS name FROM duckdb_tables()
