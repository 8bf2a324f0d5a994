-- The data's date: when the latest successful refresh finished.
SELECT max(finished_at) AS finished_at
FROM meta.refresh_run
WHERE status = 'succeeded';
