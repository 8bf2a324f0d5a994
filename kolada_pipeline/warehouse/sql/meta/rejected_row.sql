-- Rows the API-boundary quality gate refused, with why and where they came from.
CREATE TABLE IF NOT EXISTS meta.rejected_row (
    run_id          VARCHAR NOT NULL,
    kpi_id          VARCHAR,
    municipality_id VARCHAR,
    year            INTEGER,
    gender          VARCHAR,
    failed_check    VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    raw             VARCHAR NOT NULL,
    source_url      VARCHAR,
    rejected_at     TIMESTAMP NOT NULL
);
COMMENT ON TABLE meta.rejected_row IS 'Quarantine: rows from Kolada that failed the boundary checks and were kept out of core';
