-- The runs meta.refresh_run already holds (the journal's other runs are copied in).
SELECT run_id FROM meta.refresh_run
