-- load/apply_values.sql's scratch tables.
DROP TABLE IF EXISTS value_change;
DROP TABLE IF EXISTS incoming;
