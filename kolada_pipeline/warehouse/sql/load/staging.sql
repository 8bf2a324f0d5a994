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
    source_id       INTEGER NOT NULL   -- the page it came from: staging.source
);
-- One row per fetched page URL, so that a URL is stored once, not on every value.
CREATE OR REPLACE TABLE staging.source (source_id INTEGER PRIMARY KEY, url VARCHAR NOT NULL);
CREATE OR REPLACE TABLE staging.fetched_kpi (kpi_id VARCHAR PRIMARY KEY);
-- Rows this fetch quarantined; load/keep_rejections.sql moves them to meta.rejected_row once
-- the fetch has completed.
CREATE OR REPLACE TABLE staging.rejected_row AS FROM meta.rejected_row LIMIT 0;
-- Kolada's own values for municipality groups (load/stage_group_value.sql): the group of all
-- municipalities' count for the completeness check, the comparison groups' values for the
-- group-mean cross-check. A group's value is the unweighted mean of its members with a value.
CREATE OR REPLACE TABLE staging.group_value (
    kpi_id   VARCHAR NOT NULL,
    group_id VARCHAR NOT NULL,
    year     INTEGER NOT NULL,
    gender   VARCHAR NOT NULL,
    value    DOUBLE,
    count    INTEGER NOT NULL,
    PRIMARY KEY (kpi_id, group_id, year, gender)
);
