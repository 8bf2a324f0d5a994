-- KPIs the warehouse knew that Kolada no longer lists.
SELECT kpi_id FROM core.kpi WHERE is_retired
