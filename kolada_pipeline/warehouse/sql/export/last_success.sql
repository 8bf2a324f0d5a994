-- When the warehouse's data was last refreshed: the end of the last successful run.
SELECT max(finished_at) FROM meta.refresh_run WHERE status = 'succeeded'
