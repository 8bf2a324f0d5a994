-- The KPIs this fetch asks for in full (registered relation fetched).
INSERT INTO staging.fetched_kpi SELECT kpi_id FROM fetched
