-- Kolada's KPI metadata. A KPI that disappears from Kolada's metadata is kept, marked retired,
-- so that a follow-up model naming it can be told "retired" rather than "unknown".
CREATE TABLE IF NOT EXISTS core.kpi (
    kpi_id                VARCHAR PRIMARY KEY,
    title                 VARCHAR NOT NULL,
    description           VARCHAR,
    is_divided_by_gender  BOOLEAN,
    municipality_type     VARCHAR,
    auspice               VARCHAR,
    operating_area        VARCHAR,
    perspective           VARCHAR,
    publication_date      VARCHAR,
    prel_publication_date VARCHAR,
    publ_period           VARCHAR,
    has_ou_data           BOOLEAN,
    is_retired            BOOLEAN NOT NULL DEFAULT false,
    first_seen_at         TIMESTAMP NOT NULL,
    last_seen_at          TIMESTAMP NOT NULL
);
COMMENT ON TABLE core.kpi IS 'Kolada KPI metadata (Källa: Kolada); retired KPIs are kept with is_retired = true';
COMMENT ON COLUMN core.kpi.kpi_id IS 'Kolada KPI id, N##### or U#####';
COMMENT ON COLUMN core.kpi.is_divided_by_gender IS 'true when Kolada publishes values for women (K) and men (M) besides the total (T)';
COMMENT ON COLUMN core.kpi.is_retired IS 'true when the KPI was known before but Kolada no longer lists it';
