-- One published table, whole, in its stored order ($table: 'schema.table', from its contract).
SELECT * FROM query_table($table)
