-- The KPIs a run applies, with how many staged rows each: load.apply_values groups them into
-- batches of about BATCH_ROWS rows. A KPI fetched in full with no row at all is there too (its
-- held values were all deleted by Kolada).
SELECT kpi_id, sum(n)::BIGINT AS n
FROM (
    SELECT kpi_id, count(*) AS n FROM staging.kpi_value GROUP BY kpi_id
    UNION ALL
    SELECT kpi_id, 0 FROM staging.fetched_kpi
)
GROUP BY kpi_id
ORDER BY kpi_id
