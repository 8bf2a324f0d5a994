-- When the published warehouse last refreshed successfully, and last did so in full.
SELECT max(started_at) AS last_success_at,
       max(started_at) FILTER (WHERE mode = 'full') AS last_full_at
FROM meta.refresh_run
WHERE status = 'succeeded'
