-- The KPIs fetched in full now have their whole history in the warehouse.
INSERT INTO meta.fetched_kpi SELECT kpi_id, $run_id, $now FROM staging.fetched_kpi
ON CONFLICT (kpi_id) DO UPDATE SET last_full_fetch = excluded.last_full_fetch;
