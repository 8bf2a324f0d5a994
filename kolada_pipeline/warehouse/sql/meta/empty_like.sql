-- No rows, but the columns and types of $table ('schema.table').
SELECT * FROM query_table($table) LIMIT 0
