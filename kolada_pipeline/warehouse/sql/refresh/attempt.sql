-- Every attempt of a stage that talks to Kolada, failed ones too (a Prefect task retry starts a
-- new client), so that the run counts every request and retry it made. Kept in staging: read by
-- refresh/attempt_totals.sql, dropped before publishing.
CREATE TABLE IF NOT EXISTS staging.attempt (
    stage     VARCHAR NOT NULL,
    requests  INTEGER NOT NULL,
    retries   INTEGER NOT NULL,
    succeeded BOOLEAN NOT NULL
);
INSERT INTO staging.attempt VALUES ($stage, $requests, $retries, $succeeded);
