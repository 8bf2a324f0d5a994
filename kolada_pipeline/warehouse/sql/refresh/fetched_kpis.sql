-- KPIs whose whole history the warehouse holds (an incremental run fetches only their changes).
SELECT kpi_id FROM meta.fetched_kpi
