-- KPIs the warehouse already knows Kolada retired (the model check reports them as retired).
SELECT kpi_id FROM core.kpi WHERE is_retired
