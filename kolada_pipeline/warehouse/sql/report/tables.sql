-- The report's check that the warehouse is built: every schema-qualified table it holds.
SELECT table_schema || '.' || table_name AS qualified_name
FROM information_schema.tables
ORDER BY 1;
