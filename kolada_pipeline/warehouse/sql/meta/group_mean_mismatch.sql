-- The group-mean cross-check: where a group mean this project computed (mart.kpi_group_comparison)
-- differs from the value Kolada serves for the same group, KPI, year and gender by more than
-- 1e-9 relative. Reported in the quality report and kolada status; never fails a run.
CREATE TABLE IF NOT EXISTS meta.group_mean_mismatch (
    run_id          VARCHAR NOT NULL,
    kpi_id          VARCHAR NOT NULL,
    year            INTEGER NOT NULL,
    gender          VARCHAR NOT NULL,
    group_id        VARCHAR NOT NULL,
    computed_mean   DOUBLE,
    kolada_value    DOUBLE,
    members_with_value BIGINT,
    kolada_count    INTEGER,
    PRIMARY KEY (run_id, kpi_id, year, gender, group_id)
);
COMMENT ON TABLE meta.group_mean_mismatch IS 'Group means computed here that differ from the value Kolada serves for the group (relative difference above 1e-9), per run';
