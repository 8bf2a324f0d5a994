-- The number of rows of one table, named by $table ('schema.table').
SELECT count(*) FROM query_table($table)
