-- The warehouse's last successful refresh: its run id and when it finished (the data's date).
SELECT run_id, finished_at
FROM meta.refresh_run
WHERE status = 'succeeded'
ORDER BY finished_at DESC, run_id DESC
LIMIT 1;
