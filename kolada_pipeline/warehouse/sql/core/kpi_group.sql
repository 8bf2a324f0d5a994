-- Kolada's KPI groups the pipeline follows (the Agenda 2030 groups), with their members.
-- Key columns are not null by being the key.
CREATE TABLE IF NOT EXISTS core.kpi_group (
    kpi_group_id VARCHAR PRIMARY KEY,
    title        VARCHAR NOT NULL
);
COMMENT ON TABLE core.kpi_group IS 'Kolada KPI groups, e.g. G2KPI130255 Agenda 2030 - 17 mål';
CREATE TABLE IF NOT EXISTS core.kpi_group_member (
    kpi_group_id VARCHAR,
    kpi_id       VARCHAR,
    member_title VARCHAR,
    PRIMARY KEY (kpi_group_id, kpi_id)
);
