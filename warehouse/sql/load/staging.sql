-- A run's scratch space: the values it fetched (after the boundary gate) and the KPIs it asked for.
CREATE OR REPLACE TABLE staging.kpi_value (
    kpi_id          VARCHAR NOT NULL,
    municipality_id VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    gender          VARCHAR NOT NULL,
    value           DOUBLE,
    count           INTEGER,
    status          VARCHAR,
    is_deleted      BOOLEAN NOT NULL,
    source_url      VARCHAR
);
CREATE OR REPLACE TABLE staging.fetched_kpi (kpi_id VARCHAR PRIMARY KEY);
