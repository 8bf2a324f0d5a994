-- Remember what the marts were just built from. Parameters: $inputs, $run_id, $now.
DELETE FROM meta.mart_build;
INSERT INTO meta.mart_build VALUES ($inputs, $run_id, $now);
