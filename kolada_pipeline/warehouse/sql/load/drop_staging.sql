-- Staging is a run's scratch; it is not published.
DROP TABLE IF EXISTS staging.kpi_value;
DROP TABLE IF EXISTS staging.fetched_kpi;
DROP TABLE IF EXISTS staging.source;
DROP TABLE IF EXISTS staging.rejected_row;
DROP TABLE IF EXISTS staging.attempt;
DROP TABLE IF EXISTS staging.group_value;
