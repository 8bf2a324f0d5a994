-- The KPIs whose whole history the warehouse has fetched. An incremental run fetches a KPI
-- new to this list in full (from_date would miss its history), the others only since from_date.
CREATE TABLE IF NOT EXISTS meta.fetched_kpi (
    kpi_id          VARCHAR PRIMARY KEY,
    first_run_id    VARCHAR NOT NULL,
    last_full_fetch TIMESTAMP NOT NULL
);
