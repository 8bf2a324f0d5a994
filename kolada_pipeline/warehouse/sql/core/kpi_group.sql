-- Kolada's KPI groups the pipeline follows (the Agenda 2030 groups), with their members.
CREATE TABLE IF NOT EXISTS core.kpi_group (
    kpi_group_id VARCHAR PRIMARY KEY,
    title        VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS core.kpi_group_member (
    kpi_group_id VARCHAR NOT NULL,
    kpi_id       VARCHAR NOT NULL,
    member_title VARCHAR,
    PRIMARY KEY (kpi_group_id, kpi_id)
);
COMMENT ON TABLE core.kpi_group IS 'Kolada KPI groups, e.g. G2KPI130255 Agenda 2030 - 17 mål';
