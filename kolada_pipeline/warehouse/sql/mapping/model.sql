-- The municipalities' follow-up models (from mappings/<model>/), rewritten on every refresh.
-- Every table is keyed by the focus municipality, so several models live side by side. Key
-- columns are not null by being the key.
CREATE TABLE IF NOT EXISTS mapping.model_municipality (
    focus_municipality_id VARCHAR,
    municipality_id       VARCHAR,
    role                  VARCHAR CHECK (role IN ('focus', 'peer', 'region')),
    model_name            VARCHAR,
    PRIMARY KEY (focus_municipality_id, municipality_id, role)
);
CREATE TABLE IF NOT EXISTS mapping.goal_kpi (
    focus_municipality_id VARCHAR,
    goal                  INTEGER,
    kpi_id                VARCHAR,
    target                VARCHAR,
    higher_is_better      BOOLEAN,
    area                  VARCHAR,
    evidence              VARCHAR,
    note                  VARCHAR,
    is_local              BOOLEAN NOT NULL,
    PRIMARY KEY (focus_municipality_id, goal, kpi_id)
);
CREATE TABLE IF NOT EXISTS mapping.local_kpi (
    focus_municipality_id VARCHAR,
    kpi_id                VARCHAR,
    title                 VARCHAR NOT NULL,
    description           VARCHAR,
    PRIMARY KEY (focus_municipality_id, kpi_id)
);
CREATE TABLE IF NOT EXISTS mapping.local_value (
    focus_municipality_id VARCHAR,
    kpi_id                VARCHAR,
    municipality_id       VARCHAR,
    year                  INTEGER,
    gender                VARCHAR,
    value                 DOUBLE NOT NULL,
    PRIMARY KEY (focus_municipality_id, kpi_id, municipality_id, year, gender)
);
CREATE TABLE IF NOT EXISTS mapping.retired_kpi (
    focus_municipality_id VARCHAR,
    kpi_id                VARCHAR,
    PRIMARY KEY (focus_municipality_id, kpi_id)
);
COMMENT ON TABLE mapping.goal_kpi IS 'Which KPI follows up which goal, per focus municipality (the municipality''s own model)';
COMMENT ON TABLE mapping.retired_kpi IS 'KPIs a model names that Kolada has retired; left out of the marts and reported as warnings';
-- One row per model: its name and its settings from model.yaml.
CREATE TABLE IF NOT EXISTS mapping.model (
    focus_municipality_id VARCHAR PRIMARY KEY,
    model_name            VARCHAR NOT NULL,
    min_ranked_count      INTEGER NOT NULL DEFAULT 20   -- fewer municipalities with a value: no rank band
);
