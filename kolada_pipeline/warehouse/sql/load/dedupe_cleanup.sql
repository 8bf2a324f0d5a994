-- load/dedupe_staging.sql's scratch tables.
DROP TABLE IF EXISTS duplicate_copy;
DROP TABLE IF EXISTS duplicate_key;
