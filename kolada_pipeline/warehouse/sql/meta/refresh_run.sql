-- What each refresh did. Failed runs publish nothing, so they are kept in the run journal beside
-- the warehouse and copied in here by the next successful run.
CREATE TABLE IF NOT EXISTS meta.refresh_run (
    run_id         VARCHAR PRIMARY KEY,
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    mode           VARCHAR NOT NULL CHECK (mode IN ('full', 'incremental')),
    from_date      DATE,
    kpis           INTEGER,
    requests       INTEGER,
    retries        INTEGER,
    rows_fetched   BIGINT,
    rows_inserted  BIGINT,
    rows_revised   BIGINT,
    rows_deleted   BIGINT,
    rows_rejected  BIGINT,
    status         VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    error          VARCHAR,
    gate_passed    BOOLEAN,
    data_docs      VARCHAR,
    base_url       VARCHAR
);
COMMENT ON TABLE meta.refresh_run IS 'One row per refresh: mode, from_date, requests, rows inserted/revised/deleted/rejected, outcome';
