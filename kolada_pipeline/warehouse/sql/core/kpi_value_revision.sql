-- Kolada revises history. One row for every value it changed or deleted after this warehouse
-- first held it.
CREATE TABLE IF NOT EXISTS core.kpi_value_revision (
    kpi_id          VARCHAR NOT NULL,
    municipality_id VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    gender          VARCHAR NOT NULL,
    old_value       DOUBLE NOT NULL,
    new_value       DOUBLE,
    change          VARCHAR NOT NULL CHECK (change IN ('revised', 'deleted')),
    detected_at     TIMESTAMP NOT NULL,
    run_id          VARCHAR NOT NULL
);
COMMENT ON TABLE core.kpi_value_revision IS 'Values Kolada changed (revised) or removed (deleted, new_value NULL) after the warehouse first held them';
