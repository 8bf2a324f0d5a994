-- How many copies load/dedupe_staging.sql rejected.
SELECT count(*) FROM duplicate_copy
