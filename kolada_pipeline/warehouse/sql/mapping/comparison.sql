-- Fair comparisons: which of Kolada's municipality groups each model compares with, from the
-- most specific choice to the fallback. Key columns are not null by being the key.
-- model.yaml's comparison_groups: when a model lists any, they replace the three defaults.
CREATE TABLE IF NOT EXISTS mapping.model_comparison_group (
    focus_municipality_id VARCHAR,
    group_id              VARCHAR,
    PRIMARY KEY (focus_municipality_id, group_id)
);
-- kpis.csv's comparison_group column: a KPI's own group, instead of its area's similar group.
CREATE TABLE IF NOT EXISTS mapping.kpi_comparison_group (
    focus_municipality_id VARCHAR,
    kpi_id                VARCHAR,
    group_id              VARCHAR NOT NULL,
    PRIMARY KEY (focus_municipality_id, kpi_id)
);
-- Kolada's operating areas (core.kpi.operating_area) → RKA's "Liknande kommuner" areas, from the
-- reference file comparison_areas.csv shipped with the follow-up reference data.
CREATE TABLE IF NOT EXISTS mapping.comparison_area (
    operating_area VARCHAR PRIMARY KEY,
    area           VARCHAR NOT NULL
);
