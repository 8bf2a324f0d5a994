-- The last successful run: its id, whether the publish gate passed, and its quality report.
SELECT run_id, gate_passed, data_docs
FROM meta.refresh_run
WHERE status = 'succeeded'
ORDER BY started_at DESC
LIMIT 1;
