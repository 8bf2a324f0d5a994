-- Every value Kolada holds for the followed KPIs, all units, all years. Rows without a value
-- (Kolada's count-0 placeholders) are not stored: absence means "no value", never zero.
-- Key columns are not null by being the key.
CREATE TABLE IF NOT EXISTS core.kpi_value (
    kpi_id          VARCHAR,
    municipality_id VARCHAR,
    year            INTEGER,
    gender          VARCHAR CHECK (gender IN ('T', 'K', 'M')),
    value           DOUBLE NOT NULL,
    count           INTEGER,
    status          VARCHAR,
    first_seen_at   TIMESTAMP NOT NULL,
    last_changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kpi_id, municipality_id, year, gender)
);
COMMENT ON TABLE core.kpi_value IS 'Kolada values, one per kpi, unit, year and gender (Källa: Kolada)';
COMMENT ON COLUMN core.kpi_value.gender IS 'T total, K women (kvinnor), M men (män)';
COMMENT ON COLUMN core.kpi_value.value IS 'The value as published by Kolada (Källa: Kolada)';
COMMENT ON COLUMN core.kpi_value.count IS 'Kolada''s count: for a group, how many members had a value';
COMMENT ON COLUMN core.kpi_value.first_seen_at IS 'When this warehouse first held the value (UTC)';
COMMENT ON COLUMN core.kpi_value.last_changed_at IS 'When Kolada last revised the value, as detected here (UTC)';
