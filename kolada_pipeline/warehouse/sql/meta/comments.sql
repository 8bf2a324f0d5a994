-- COMMENT ON statements for the registered relation contract_comment(table_name, column_name,
-- comment), built from the table contracts (*.yml). COMMENT ON takes no parameters, so the text
-- is quoted here: a single quote is doubled. Table and column names are checked identifiers.
SELECT CASE WHEN column_name IS NULL
            THEN 'COMMENT ON TABLE ' || table_name || ' IS '
            ELSE 'COMMENT ON COLUMN ' || table_name || '.' || column_name || ' IS '
       END || '''' || replace(comment, '''', '''''') || '''' AS statement
FROM contract_comment
WHERE EXISTS (
    SELECT 1 FROM duckdb_tables() t
    WHERE t.schema_name || '.' || t.table_name = contract_comment.table_name)
